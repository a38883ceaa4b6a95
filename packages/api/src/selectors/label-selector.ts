/**
 * Label selectors: the string syntax of `?labelSelector=` (k8s.io/apimachinery pkg/labels/selector.go,
 * v0.32: lexer, parser and error texts) and the metav1.LabelSelector of specs
 * (LabelSelectorAsSelector). Terms are ANDed; an empty selector matches everything.
 */
import { errorString, invalid, notSupported } from '../validation/field-errors.js'
import { isQualifiedName, isValidLabelValue } from '../validation/name-rules.js'

/**
 * The metav1.LabelSelector that specs carry, as `labelSelectorAsSelector` reads it. objects/meta.ts's
 * zod schema produces this shape; it is declared here so that selectors do not import objects (which
 * import selectors to validate a workload's selector against its template).
 */
export interface MetaLabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: ReadonlyArray<{ key: string; operator: string; values?: readonly string[] }>
}

export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt'

export interface LabelRequirement {
  readonly key: string
  readonly operator: LabelOperator
  /** Sorted, de-duplicated (Go's sets.String.List()). */
  readonly values: readonly string[]
}

export type Labels = Readonly<Record<string, string>> | undefined

/** A parsed label selector. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[]
  matches(labels: Labels): boolean
  /** True for the selector that matches everything. */
  readonly empty: boolean
  /** Canonical string form (`a=b,c in (d,e)`), as Selector.String(). */
  toString(): string
}

/** Thrown by {@link parseLabelSelector}; `message` is Kubernetes' text. */
export class LabelSelectorError extends Error {
  override name = 'LabelSelectorError'
}

const BINARY_OPERATORS = ['in', 'notin', '=', '==', '!=', 'gt', 'lt']
const VALID_OPERATORS = [...BINARY_OPERATORS, 'exists', '!']

export function requirementMatches(r: LabelRequirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, r.key)
  const value = has ? labels![r.key]! : ''
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(value)
    case 'notin':
    case '!=':
      return !has || !r.values.includes(value)
    case 'exists':
      return has
    case '!':
      return !has
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1 || !/^[+-]?\d+$/.test(value) || !/^[+-]?\d+$/.test(r.values[0]!))
        return false
      const a = BigInt(value)
      const b = BigInt(r.values[0]!)
      return r.operator === 'gt' ? a > b : a < b
    }
  }
}

function requirementString(r: LabelRequirement): string {
  switch (r.operator) {
    case '!':
      return `!${r.key}`
    case 'exists':
      return r.key
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${r.values.join(',')})`
    case 'gt':
      return `${r.key}>${r.values[0] ?? ''}`
    case 'lt':
      return `${r.key}<${r.values[0] ?? ''}`
    default:
      return `${r.key}${r.operator}${r.values[0] ?? ''}`
  }
}

/** Builds a selector from requirements (sorted by key, as Kubernetes keeps them). */
export function selectorFromRequirements(reqs: readonly LabelRequirement[]): LabelSelector {
  const requirements = [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return {
    requirements,
    empty: requirements.length === 0,
    matches: (labels) => requirements.every((r) => requirementMatches(r, labels)),
    toString: () => requirements.map(requirementString).join(','),
  }
}

/** A selector matching everything (labels.Everything()). */
export const EVERYTHING: LabelSelector = selectorFromRequirements([])

/** A selector matching nothing (labels.Nothing()), what a nil metav1.LabelSelector converts to. */
export const NOTHING: LabelSelector = {
  requirements: [],
  empty: false,
  matches: () => false,
  toString: () => '',
}

/** `SelectorFromSet`: equality on each key. */
export function selectorFromSet(set: Readonly<Record<string, string>>): LabelSelector {
  return selectorFromRequirements(
    Object.entries(set).map(([key, v]) => ({ key, operator: '=', values: [v] })),
  )
}

/** NewRequirement: validates key, operator arity and values; throws with the aggregated field errors. */
export function newRequirement(
  key: string,
  operator: LabelOperator,
  values: readonly string[],
): LabelRequirement {
  const errs = []
  const keyMsgs = isQualifiedName(key)
  if (keyMsgs.length > 0) errs.push(invalid('key', key, keyMsgs.join('; ')))
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0)
        errs.push(invalid('values', values, "for 'in', 'notin' operators, values set can't be empty"))
      break
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1)
        errs.push(invalid('values', values, 'exact-match compatibility requires one single value'))
      break
    case 'exists':
    case '!':
      if (values.length !== 0)
        errs.push(invalid('values', values, 'values set must be empty for exists and does not exist'))
      break
    case 'gt':
    case 'lt':
      if (values.length !== 1)
        errs.push(invalid('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"))
      values.forEach((v, i) => {
        if (!/^[+-]?\d+$/.test(v))
          errs.push(invalid(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"))
      })
      break
    default:
      errs.push(notSupported('operator', operator, VALID_OPERATORS))
  }
  values.forEach((v, i) => {
    const msgs = isValidLabelValue(v)
    if (msgs.length > 0) errs.push(invalid(`values[${i}][${key}]`, v, msgs.join('; ')))
  })
  if (errs.length > 0) {
    const msgs = [...new Set(errs.map(errorString))]
    throw new LabelSelectorError(msgs.length === 1 ? msgs[0]! : `[${msgs.join(', ')}]`)
  }
  const sorted = [...new Set(values)].sort()
  return { key, operator, values: sorted }
}

// Lexer ---------------------------------------------------------------------------------------

type Tok = 'error' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '('
interface Item {
  tok: Tok
  lit: string
}

const KEYWORDS: Record<string, Tok> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  in: 'in',
  '<': '<',
  '!=': '!=',
  notin: 'notin',
  '(': '(',
}
const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n'
const isSpecial = (c: string) => '=!(),><'.includes(c)

function lex(s: string): Item[] {
  const items: Item[] = []
  let pos = 0
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' })
      return items
    }
    if (isSpecial(s[pos]!)) {
      // Longest run of special symbols that is still a keyword.
      let buf = ''
      let last: Item | undefined
      while (pos < s.length && isSpecial(s[pos]!)) {
        buf += s[pos]
        const tok = KEYWORDS[buf]
        if (tok) last = { tok, lit: buf }
        else if (last) break
        pos++
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` })
      if (!last) pos++
    } else {
      let buf = ''
      while (pos < s.length && !isSpecial(s[pos]!) && !isWhitespace(s[pos]!)) buf += s[pos++]
      items.push({ tok: KEYWORDS[buf] ?? 'id', lit: buf })
    }
  }
}

// Parser (same states and messages as labels.Parser) --------------------------------------------

class Parser {
  private pos = 0
  constructor(private readonly items: Item[]) {}

  /** In value context `in`/`notin` are plain identifiers. */
  private look(values: boolean): Item {
    const it = this.items[this.pos]!
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it
  }
  private next(values: boolean): Item {
    const it = this.look(values)
    this.pos++
    return it
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = []
    for (;;) {
      const { tok, lit } = this.look(true)
      if (tok === 'id' || tok === '!') {
        let r: LabelRequirement
        try {
          r = this.requirement()
        } catch (e) {
          throw new LabelSelectorError(`unable to parse requirement: ${(e as Error).message}`)
        }
        reqs.push(r)
        const t = this.next(true)
        if (t.tok === 'eos') return reqs
        if (t.tok === ',') {
          const t2 = this.look(true)
          if (t2.tok !== 'id' && t2.tok !== '!')
            throw new LabelSelectorError(`found '${t2.lit}', expected: identifier after ','`)
        } else {
          throw new LabelSelectorError(`found '${t.lit}', expected: ',' or 'end of string'`)
        }
      } else if (tok === 'eos') {
        return reqs
      } else {
        throw new LabelSelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`)
      }
    }
  }

  private requirement(): LabelRequirement {
    let op: LabelOperator | undefined
    let t = this.next(true)
    if (t.tok === '!') {
      op = '!'
      t = this.next(true)
    }
    if (t.tok !== 'id') throw new Error(`found '${t.lit}', expected: identifier`)
    const key = t.lit
    const keyMsgs = isQualifiedName(key)
    if (keyMsgs.length > 0) throw new Error(errorString(invalid('<nil>', key, keyMsgs.join('; '))))
    const after = this.look(true).tok
    if (after === 'eos' || after === ',') {
      if (op !== '!') op = 'exists'
    }
    if (op === 'exists' || op === '!') return newRequirement(key, op, [])
    const opTok = this.next(false)
    const ops: Partial<Record<Tok, LabelOperator>> = {
      in: 'in',
      '=': '=',
      '==': '==',
      '>': 'gt',
      '<': 'lt',
      notin: 'notin',
      '!=': '!=',
    }
    const operator = ops[opTok.tok]
    if (!operator) throw new Error(`found '${opTok.lit}', expected: ${BINARY_OPERATORS.join(', ')}`)
    const values = operator === 'in' || operator === 'notin' ? this.setValues() : this.exactValue()
    return newRequirement(key, operator, values)
  }

  private setValues(): string[] {
    const t = this.next(true)
    if (t.tok !== '(') throw new Error(`found '${t.lit}' expected: '('`)
    const { tok, lit } = this.look(true)
    if (tok === 'id' || tok === ',') {
      const s = this.identifiers()
      if (this.next(true).tok !== ')') throw new Error(`found '${lit}', expected: ')'`)
      return s
    }
    if (tok === ')') {
      this.next(true)
      return ['']
    }
    throw new Error(`found '${lit}', expected: ',', ')' or identifier`)
  }

  private identifiers(): string[] {
    const s = new Set<string>()
    for (;;) {
      const t = this.next(true)
      if (t.tok === 'id') {
        s.add(t.lit)
        const t2 = this.look(true)
        if (t2.tok === ',') continue
        if (t2.tok === ')') return [...s]
        throw new Error(`found '${t2.lit}', expected: ',' or ')'`)
      }
      if (t.tok === ',') {
        if (s.size === 0) s.add('')
        const t2 = this.look(true)
        if (t2.tok === ')') {
          s.add('')
          return [...s]
        }
        if (t2.tok === ',') {
          this.next(true)
          s.add('')
        }
        continue
      }
      throw new Error(`found '${t.lit}', expected: ',', or identifier`)
    }
  }

  private exactValue(): string[] {
    const { tok } = this.look(true)
    if (tok === 'eos' || tok === ',') return ['']
    const t = this.next(true)
    if (t.tok === 'id') return [t.lit]
    throw new Error(`found '${t.lit}', expected: identifier`)
  }
}

/** labels.Parse: throws {@link LabelSelectorError} with Kubernetes' message on bad input. */
export function parseLabelSelector(selector: string): LabelSelector {
  return selectorFromRequirements(new Parser(lex(selector)).parse())
}

/**
 * metav1.LabelSelectorAsSelector: nil → matches nothing, `{}` → matches everything;
 * throws {@link LabelSelectorError} (`"Foo" is not a valid label selector operator`).
 */
export function labelSelectorAsSelector(sel: MetaLabelSelector | undefined): LabelSelector {
  if (!sel) return NOTHING
  const reqs: LabelRequirement[] = []
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push(newRequirement(k, '=', [v]))
  const ops: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' }
  for (const e of sel.matchExpressions ?? []) {
    const op = ops[e.operator]
    if (!op)
      throw new LabelSelectorError(`${JSON.stringify(e.operator)} is not a valid label selector operator`)
    reqs.push(newRequirement(e.key, op, e.values ?? []))
  }
  return selectorFromRequirements(reqs)
}
