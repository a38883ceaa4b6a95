/**
 * Decoding a request body into a typed object the way kube-apiserver's JSON decoder does:
 * `null` means unset, type mismatches are 400 BadRequest (`Pod in version "v1" cannot be handled
 * as a Pod: json: cannot unmarshal ...`), and unknown fields are dropped, warned about or
 * rejected according to `fieldValidation` (Ignore | Warn | Strict; the server default is Warn).
 *
 * The Go type names in mismatch messages are approximations (`int32`, `string`, `bool`,
 * `object`, `array`); Kubernetes prints the Go struct type (`[]v1.Container`).
 */
import type { z } from 'zod'
import { badRequest, type StatusError } from '../status.js'
import { decodeGoBase64 } from './base64.js'
import { apiVersionOf, type ResourceInfo } from './registry.js'

/**
 * Deepest nesting decodeObject walks. Go's JSON decoder stops at 10,000; the walks here (and zod's)
 * recurse, and Node's stack ends near 2,000 levels for some of them, so a body the api-server did
 * not already refuse for depth is refused here rather than overflowing the stack.
 */
export const MAX_DECODE_DEPTH = 1000

/** Whether `value` nests deeper than `limit` objects/arrays (iterative: no stack to overflow). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top
    if (v === null || typeof v !== 'object') continue
    if (depth + 1 > limit) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}

/** `[]byte` fields (base64 on the wire) per kind: Go's decoder refuses values that do not decode. */
const BYTES_MAPS: Readonly<Record<string, readonly string[]>> = {
  ConfigMap: ['binaryData'],
  Secret: ['data'],
}

/**
 * Checks and canonicalizes the `[]byte` map values of `object` (Go decodes them, and encodes them
 * back on the way out: `\n` dropped, unused trailing bits cleared); the first bad one's message.
 */
function decodeBytesMaps(kind: string, object: Record<string, unknown>): string | undefined {
  for (const field of BYTES_MAPS[kind] ?? []) {
    const m = object[field]
    if (!isPlainObject(m)) continue
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') continue
      const r = decodeGoBase64(v)
      if (!r.ok) return `illegal base64 data at input byte ${r.offset}`
      m[k] = r.bytes.toString('base64')
    }
  }
  return undefined
}

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict'

export type DecodeResult<T> =
  | { ok: true; object: T; unknownFields: string[]; warnings: string[] }
  | { ok: false; error: StatusError }

/** Removes `null` members recursively, as Go's decoder leaves such fields at their zero value. */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v)
    return out
  }
  return value
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * Paths present in `input` but absent from the schema's output (`spec.containers[0].imagee`),
 * in document order: the fields a strip-mode zod parse dropped.
 */
export function listUnknownFields(input: unknown, parsed: unknown, path = ''): string[] {
  const out: string[] = []
  if (Array.isArray(input) && Array.isArray(parsed)) {
    input.forEach((v, i) => {
      out.push(...listUnknownFields(v, parsed[i], `${path}[${i}]`))
    })
  } else if (isPlainObject(input) && isPlainObject(parsed)) {
    for (const [k, v] of Object.entries(input)) {
      const p = path === '' ? k : `${path}.${k}`
      if (!(k in parsed)) out.push(p)
      else out.push(...listUnknownFields(v, parsed[k], p))
    }
  }
  return out
}

function jsonTypeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array'
  if (v === null) return 'null'
  if (typeof v === 'boolean') return 'bool'
  if (typeof v === 'number') return `number ${v}`
  return typeof v
}

function goTypeOf(expected: string | undefined): string {
  switch (expected) {
    case 'number':
    case 'int':
      return 'int32'
    case 'boolean':
      return 'bool'
    case 'array':
      return 'array'
    case 'object':
    case 'record':
      return 'object'
    default:
      return expected ?? 'string'
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<PropertyKey, unknown>)[k]
  }
  return cur
}

function goPath(path: readonly PropertyKey[]): string {
  let s = ''
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s === '' ? String(k) : `.${String(k)}`
  return s
}

/** `json: cannot unmarshal string into Go struct field Pod.spec.containers of type array`. */
function mismatchMessage(kind: string, issue: z.core.$ZodIssue, input: unknown): string {
  const got = valueAt(input, issue.path)
  const expected = 'expected' in issue ? String(issue.expected) : undefined
  const field = `${kind}.${goPath(issue.path)}`
  if (issue.code === 'too_big' || issue.code === 'too_small') {
    return `json: cannot unmarshal number ${String(got)} into Go struct field ${field} of type int32`
  }
  if (got === undefined) return `json: missing required field "${goPath(issue.path)}"`
  return `json: cannot unmarshal ${jsonTypeOf(got).split(' ')[0]} into Go struct field ${field} of type ${goTypeOf(expected)}`
}

/** Parses `body` (already JSON- or YAML-decoded) as an object of `resource`'s kind. */
export function decodeObject<T = Record<string, unknown>>(
  resource: Pick<ResourceInfo, 'group' | 'version' | 'kind' | 'schema'>,
  body: unknown,
  fieldValidation: FieldValidation = 'Warn',
): DecodeResult<T> {
  const { kind, version } = resource
  const prefix = `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${kind}`
  if (!isPlainObject(body)) {
    return {
      ok: false,
      error: badRequest(
        `${prefix}: json: cannot unmarshal ${jsonTypeOf(body).split(' ')[0]} into Go value of type struct`,
      ),
    }
  }
  if (nestsDeeperThan(body, MAX_DECODE_DEPTH))
    return { ok: false, error: badRequest(`${prefix}: json: exceeded max depth of ${MAX_DECODE_DEPTH}`) }
  const input = dropNulls(body)
  const parsed = resource.schema.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    return { ok: false, error: badRequest(`${prefix}: ${mismatchMessage(kind, issue, input)}`) }
  }
  // A value Go cannot decode is an error; unknown fields are only reported when there is none.
  const bytesError = decodeBytesMaps(kind, parsed.data as Record<string, unknown>)
  if (bytesError !== undefined) return { ok: false, error: badRequest(`${prefix}: ${bytesError}`) }
  const unknownFields = listUnknownFields(input, parsed.data)
  const messages = unknownFields.map((f) => `unknown field ${JSON.stringify(f)}`)
  if (fieldValidation === 'Strict' && messages.length > 0) {
    return { ok: false, error: badRequest(`${prefix}: strict decoding error: ${messages.join(', ')}`) }
  }
  const object = parsed.data as Record<string, unknown>
  // apiVersion and kind are always set on what is stored and returned.
  const typed = { apiVersion: apiVersionOf(resource), kind, ...object } as T
  return { ok: true, object: typed, unknownFields, warnings: fieldValidation === 'Warn' ? messages : [] }
}

/** Parses a `fieldValidation` query value; undefined for anything else (the server answers 400). */
export function parseFieldValidation(v: string | undefined): FieldValidation | undefined {
  if (v === undefined || v === '') return 'Warn'
  return v === 'Ignore' || v === 'Warn' || v === 'Strict' ? v : undefined
}
