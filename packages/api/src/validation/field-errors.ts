/**
 * Kubernetes field errors: the `field.ErrorList` of k8s.io/apimachinery
 * (pkg/util/validation/field/errors.go, v0.32), with the same type names, bodies and aggregation,
 * so that an Invalid Status built from them prints exactly as kube-apiserver's does.
 */

/** `field.ErrorType` values; they travel as `details.causes[].reason`. */
export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid'

/** One field error. `badValue` is rendered as Go's `%v`/`%q`/`%#v` would (see {@link formatGoValue}). */
export interface FieldError {
  readonly type: FieldErrorType
  /** Dotted path with indices, e.g. `spec.containers[0].image`. */
  readonly field: string
  readonly badValue?: unknown
  readonly detail: string
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
}

/** Marker for a value Go renders as a typed struct/map (`%#v`), carried through unchanged. */
export class GoValue {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

/**
 * Go's `%#v` for the values validation reports: strings quoted, numbers and booleans bare,
 * `map[string]string{...}` (keys sorted, as fmt does), `[]string{...}`; other objects as JSON
 * (newer apimachinery prints JSON; v0.32 printed Go syntax for structs, which we cannot reproduce).
 */
export function formatGoValue(value: unknown): string {
  if (value instanceof GoValue) return value.text
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return goQuote(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return `[]string{${value.map(goQuote).join(', ')}}`
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>)
    if (entries.every(([, v]) => typeof v === 'string')) {
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      return `map[string]string{${entries.map(([k, v]) => `${goQuote(k)}:${goQuote(v as string)}`).join(', ')}}`
    }
  }
  return JSON.stringify(value)
}

/** Go's `%q` for printable strings (JSON escaping is the same for everything validation meets). */
export function goQuote(s: string): string {
  return JSON.stringify(s)
}

/** `(*Error).ErrorBody()`: the message without the field path, as used in Status causes. */
export function errorBody(e: FieldError): string {
  let s = TYPE_TEXT[e.type]
  const omitValue =
    e.type === 'FieldValueRequired' ||
    e.type === 'FieldValueForbidden' ||
    e.type === 'FieldValueTooLong' ||
    e.type === 'InternalError' ||
    !('badValue' in e)
  if (!omitValue) s = `${s}: ${formatGoValue(e.badValue)}`
  if (e.detail.length > 0) s += `: ${e.detail}`
  return s
}

/** `(*Error).Error()`: `spec.containers: Required value`. */
export function errorString(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`
}

/**
 * `ErrorList.ToAggregate().Error()`: one error alone, or `[a, b]` with duplicates removed.
 * Returns '' for an empty list.
 */
export function aggregateMessage(errs: readonly FieldError[]): string {
  const seen = new Set<string>()
  for (const e of errs) seen.add(errorString(e))
  const msgs = [...seen]
  if (msgs.length === 0) return ''
  if (msgs.length === 1) return msgs[0]!
  return `[${msgs.join(', ')}]`
}

// Constructors, named after field.Required / field.Invalid / ... -------------------------------

export const required = (field: string, detail = ''): FieldError => ({
  type: 'FieldValueRequired',
  field,
  detail,
})
export const invalid = (field: string, badValue: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  badValue,
  detail,
})
export const duplicate = (field: string, badValue: unknown): FieldError => ({
  type: 'FieldValueDuplicate',
  field,
  badValue,
  detail: '',
})
export const notFound = (field: string, badValue: unknown): FieldError => ({
  type: 'FieldValueNotFound',
  field,
  badValue,
  detail: '',
})
export const forbidden = (field: string, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  detail,
})
/** field.NotSupported: `Unsupported value: "X": supported values: "A", "B"`. */
export const notSupported = (field: string, badValue: unknown, valid: readonly string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  badValue,
  detail: valid.length > 0 ? `supported values: ${valid.map(goQuote).join(', ')}` : '',
})
/** field.TooLong: `Too long: may not be more than N bytes` (v0.32 wording). */
export const tooLong = (field: string, maxLength: number): FieldError => ({
  type: 'FieldValueTooLong',
  field,
  detail: maxLength >= 0 ? `may not be more than ${maxLength} bytes` : 'value is too long',
})
export const tooMany = (field: string, actual: number, max: number): FieldError => ({
  type: 'FieldValueTooMany',
  field,
  badValue: actual,
  detail: `must have at most ${max} ${max === 1 ? 'item' : 'items'}`,
})

/** `field.Path` building: `child('spec', 'containers')`, `index(p, 0)`, `key(p, 'cpu')`. */
export function child(parent: string, ...names: string[]): string {
  return [parent, ...names].filter((s) => s.length > 0).join('.')
}
export function index(parent: string, i: number): string {
  return `${parent}[${i}]`
}
export function key(parent: string, k: string): string {
  return `${parent}[${k}]`
}
