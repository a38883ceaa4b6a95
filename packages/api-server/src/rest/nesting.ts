/**
 * How deep a request body nests, found before anything parses it.
 *
 * kube-apiserver's JSON decoder refuses a document nested deeper than 10,000 levels (Go's
 * encoding/json scanner, `invalid character '{' exceeded max depth`), and the create and update
 * handlers answer 400 `the object provided is unrecognized (must be of type X): couldn't get
 * version/kind; json parse error: ...` (transformDecodeError with summarizeData's first 30 bytes).
 *
 * Here the limits are lower: the YAML parser, structuredClone, JSON.stringify, zod and the patch
 * and managed-fields walks all recurse, and Node's stack ends between about 850 (YAML flow
 * mappings) and 4,000 levels for them. No object this server serves nests more than a few dozen
 * levels (managed fields' FieldsV1 included), so a body deeper than {@link MAX_BODY_DEPTH} (JSON)
 * or {@link MAX_YAML_BODY_DEPTH} (YAML) gets the same 400 before any recursive code sees it, with
 * at least twice the depth left as stack, and the process never meets a stack overflow from a body.
 *
 * The scan is iterative and linear. JSON is measured exactly (strings skipped). YAML is
 * over-estimated so that it is never under: flow brackets are counted even inside quotes, and each
 * line adds its indentation and its leading `- ` / `? ` indicators.
 */
import { statusErrors } from '@hakube/api'

/** Deepest JSON body nesting served (kube's own limit, Go's maxNestingDepth, is 10,000). */
export const MAX_BODY_DEPTH = 500

/**
 * Deepest YAML body nesting served: the YAML parser spends many frames a level, its stack ends
 * near 850 flow levels, and near 1,200 V8 aborts the process compiling a regular expression.
 */
export const MAX_YAML_BODY_DEPTH = 100

/** Go encoding/json's maxNestingDepth. */
const GO_MAX_NESTING_DEPTH = 10_000

export interface TooDeep {
  /** The opening character where the limit was passed. */
  char: string
}

/** JSON: the first `{` or `[` (outside strings) that opens level `limit + 1`, if any. */
export function jsonTooDeep(text: string, limit: number): TooDeep | undefined {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c /* \ */) i++
      else if (c === 0x22 /* " */) inString = false
      continue
    }
    if (c === 0x22) inString = true
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return { char: text[i] ?? '' }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--
  }
  return undefined
}

/**
 * YAML: an over-estimate of the nesting; the opening character or indicator that passed `limit`.
 * Block levels are the distinct indentations open on a stack (a block scalar's indented lines count
 * too), plus compact `- - x` / `? x` indicators; flow brackets count wherever they are.
 */
export function yamlTooDeep(text: string, limit: number): TooDeep | undefined {
  const indents: number[] = []
  const top = () => indents[indents.length - 1] as number
  let flow = 0
  let i = 0
  while (i < text.length) {
    const lineStart = i
    while (i < text.length && text[i] === ' ') i++
    if (i < text.length && text[i] !== '\n' && text[i] !== '\r') {
      const indent = i - lineStart
      while (indents.length > 0 && top() > indent) indents.pop()
      if (indents.length === 0 || top() < indent) indents.push(indent)
      // `- x` / `? x`: the node after the indicator is one level further in, at its own column.
      while (i + 1 < text.length && (text[i] === '-' || text[i] === '?') && text[i + 1] === ' ') {
        i += 2
        while (i < text.length && text[i] === ' ') i++
        indents.push(i - lineStart)
      }
    }
    const block = indents.length
    if (block + flow > limit) return { char: text[i - 1] ?? ' ' }
    for (; i < text.length && text[i] !== '\n'; i++) {
      const c = text[i]
      if (c === '{' || c === '[') {
        if (block + ++flow > limit) return { char: c }
      } else if ((c === '}' || c === ']') && flow > 0) flow--
    }
    i++
  }
  return undefined
}

const YAML_MEDIA_TYPES = new Set([
  'application/yaml',
  'application/x-yaml',
  'text/yaml',
  'application/apply-patch+yaml',
])

/**
 * Throws kube's 400 for a body of `mediaType` nested deeper than the limits above; protobuf
 * and empty bodies pass (protobuf messages nest only as deep as their schema).
 */
export function checkBodyNesting(kind: string, mediaType: string, raw: unknown): void {
  if (mediaType === 'application/vnd.kubernetes.protobuf') return
  const bytes = Buffer.isBuffer(raw) ? raw : typeof raw === 'string' ? Buffer.from(raw) : undefined
  if (bytes === undefined || bytes.length === 0) return
  const text = bytes.toString('utf8')
  if (YAML_MEDIA_TYPES.has(mediaType)) {
    const deep = yamlTooDeep(text, MAX_YAML_BODY_DEPTH)
    if (deep !== undefined)
      throw unrecognized(kind, `yaml: exceeded max depth of ${MAX_YAML_BODY_DEPTH}`, bytes)
    return
  }
  const deep = jsonTooDeep(text, MAX_BODY_DEPTH)
  if (deep === undefined) return
  // Past Go's own limit the text is kube's word for word; below it, the limit is named.
  const beyondGo = jsonTooDeep(text, GO_MAX_NESTING_DEPTH)
  const what =
    beyondGo === undefined
      ? `invalid character '${deep.char}' exceeded max depth of ${MAX_BODY_DEPTH}`
      : `invalid character '${beyondGo.char}' exceeded max depth`
  throw unrecognized(kind, `couldn't get version/kind; json parse error: ${what}`, bytes)
}

/** transformDecodeError without a kind from the data. */
function unrecognized(kind: string, cause: string, body: Buffer) {
  return statusErrors.badRequest(
    `the object provided is unrecognized (must be of type ${kind}): ${cause} (${summarizeData(body, 30)})`,
  )
}

/** handlers' summarizeData: the first bytes as text for a JSON object, else as hex. */
export function summarizeData(data: Buffer, maxLength: number): string {
  if (data.length === 0) return '<empty>'
  const head = data.subarray(0, maxLength)
  const more = data.length > maxLength ? ' ...' : ''
  return data[0] === 0x7b ? `${head.toString('utf8')}${more}` : `${head.toString('hex')}${more}`
}
