/**
 * Field selectors (`?fieldSelector=`): parsing as k8s.io/apimachinery pkg/fields/selector.go
 * (v0.32: `=`, `==`, `!=`, terms split on unescaped `,`, values unescaped with `\`), the fields
 * each kind accepts (the field-label conversion funcs of pkg/apis/core/v1/conversion.go; other
 * kinds take only metadata.name and metadata.namespace) and each object's selectable field set.
 */

export interface FieldTerm {
  readonly field: string
  readonly operator: '=' | '!='
  readonly value: string
}

export interface FieldSelector {
  readonly terms: readonly FieldTerm[]
  readonly empty: boolean
  matches(fields: Readonly<Record<string, string>>): boolean
  /** For `metadata.name=x` alone: the name (lets the server read one key instead of listing). */
  requiresExactMatch(field: string): string | undefined
  toString(): string
}

export class FieldSelectorError extends Error {
  override name = 'FieldSelectorError'
}

function splitTerms(s: string): string[] {
  if (s === '') return []
  const terms: string[] = []
  let start = 0
  let inSlash = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (inSlash) inSlash = false
    else if (c === '\\') inSlash = true
    else if (c === ',') {
      terms.push(s.slice(start, i))
      start = i + 1
    }
  }
  terms.push(s.slice(start))
  return terms
}

/** fields.UnescapeValue. */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s
  let out = ''
  let inSlash = false
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=')
        throw new FieldSelectorError(`invalid field selector: invalid escape sequence: \\${c}`)
      out += c
      inSlash = false
    } else if (c === '\\') inSlash = true
    else if (c === ',' || c === '=') {
      throw new FieldSelectorError(
        `invalid field selector: unescaped character in value: ${c.codePointAt(0)}`,
      )
    } else out += c
  }
  if (inSlash) throw new FieldSelectorError('invalid field selector: invalid escape sequence: \\')
  return out
}

/** fields.EscapeValue. */
export function escapeFieldValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/=/g, '\\=')
}

function selectorFromTerms(terms: readonly FieldTerm[]): FieldSelector {
  return {
    terms,
    empty: terms.length === 0,
    matches: (fields) => terms.every((t) => ((fields[t.field] ?? '') === t.value) === (t.operator === '=')),
    requiresExactMatch: (field) => {
      const t = terms.find((x) => x.field === field && x.operator === '=')
      return t?.value
    },
    toString: () => terms.map((t) => `${t.field}${t.operator}${escapeFieldValue(t.value)}`).join(','),
  }
}

/** fields.ParseSelector: throws {@link FieldSelectorError} with Kubernetes' message. Terms are sorted. */
export function parseFieldSelector(selector: string): FieldSelector {
  const parts = splitTerms(selector).sort()
  const terms: FieldTerm[] = []
  for (const part of parts) {
    if (part === '') continue
    const m = /^(.*?)(!=|==|=)(.*)$/s.exec(part)
    if (!m) throw new FieldSelectorError(`invalid selector: '${selector}'; can't understand '${part}'`)
    terms.push({ field: m[1]!, operator: m[2] === '!=' ? '!=' : '=', value: unescapeFieldValue(m[3]!) })
  }
  return selectorFromTerms(terms)
}

const POD_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'spec.hostNetwork',
  'status.phase',
  'status.podIP',
  'status.podIPs',
  'status.nominatedNodeName',
]
const EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
  'metadata.namespace',
  'metadata.name',
]

/** Kinds with their own field-label conversion (error `field label not supported: X`). */
export const SUPPORTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Pod: POD_FIELDS,
  Node: ['metadata.name', 'spec.unschedulable'],
  Event: EVENT_FIELDS,
  Namespace: ['status.phase', 'metadata.name'],
  Secret: ['type', 'metadata.namespace', 'metadata.name'],
  Service: ['metadata.namespace', 'metadata.name', 'spec.clusterIP', 'spec.type'],
}

/**
 * Checks a parsed selector's fields for `kind` and applies the renames Kubernetes does
 * (`spec.host` → `spec.nodeName` for pods). Throws {@link FieldSelectorError} with the
 * message the api-server puts in its 400 BadRequest.
 */
export function convertFieldSelector(kind: string, sel: FieldSelector): FieldSelector {
  const allowed = SUPPORTED_FIELDS[kind]
  const terms = sel.terms.map((t) => {
    if (kind === 'Pod' && t.field === 'spec.host') return { ...t, field: 'spec.nodeName' }
    if (allowed) {
      if (!allowed.includes(t.field)) throw new FieldSelectorError(`field label not supported: ${t.field}`)
    } else if (t.field !== 'metadata.name' && t.field !== 'metadata.namespace') {
      throw new FieldSelectorError(
        `"${t.field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
      )
    }
    return t
  })
  return selectorFromTerms(terms)
}

type Obj = Record<string, unknown>
const get = (o: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>((cur, k) => (cur && typeof cur === 'object' ? (cur as Obj)[k] : undefined), o)
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v))

/**
 * The selectable fields of an object (the registries' GetAttrs / ToSelectableFields): always
 * metadata.name and metadata.namespace, plus the kind's own.
 */
export function objectFields(kind: string, obj: unknown): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': str(get(obj, 'metadata.name')),
    'metadata.namespace': str(get(obj, 'metadata.namespace')),
  }
  const set = (f: string, v: unknown) => {
    fields[f] = str(v)
  }
  switch (kind) {
    case 'Pod': {
      for (const f of [
        'spec.nodeName',
        'spec.restartPolicy',
        'spec.schedulerName',
        'spec.serviceAccountName',
        'status.phase',
        'status.nominatedNodeName',
      ]) {
        set(f, get(obj, f))
      }
      set('spec.hostNetwork', get(obj, 'spec.hostNetwork') === true ? 'true' : 'false')
      const ips = (get(obj, 'status.podIPs') as { ip: string }[] | undefined) ?? []
      set('status.podIP', ips[0]?.ip ?? get(obj, 'status.podIP'))
      set('status.podIPs', ips.map((x) => x.ip).join(','))
      break
    }
    case 'Node':
      set('spec.unschedulable', get(obj, 'spec.unschedulable') === true ? 'true' : 'false')
      break
    case 'Event':
      for (const f of EVENT_FIELDS) if (!f.startsWith('metadata.') && f !== 'source') set(f, get(obj, f))
      set('source', get(obj, 'source.component') || get(obj, 'reportingComponent'))
      break
    case 'Namespace':
      set('status.phase', get(obj, 'status.phase'))
      break
    case 'Secret':
      set('type', get(obj, 'type'))
      break
    case 'Service':
      set('spec.clusterIP', get(obj, 'spec.clusterIP'))
      set('spec.type', get(obj, 'spec.type'))
      break
    case 'ReplicaSet':
      set('status.replicas', get(obj, 'status.replicas') ?? 0)
      break
  }
  return fields
}
