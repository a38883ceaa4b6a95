/**
 * Query parameters as kube-apiserver reads them (the ParameterCodec's url.Values conversions in
 * k8s.io/apimachinery pkg/runtime/conversion.go): the first value of a repeated parameter wins,
 * integers are Go's `strconv.ParseInt(s, 10, 64)` (400 with its text on anything else, including a
 * value beyond int64), and booleans are lenient: only `0` and `false` (any case) are false, every
 * other value, the empty one included, is true.
 */
import { statusErrors } from '@hakube/api'

export type Query = Record<string, unknown>

export function queryParam(query: Query, name: string): string | undefined {
  const v = query[name]
  if (Array.isArray(v)) return v.length > 0 ? String(v[0]) : undefined
  return v === undefined ? undefined : String(v)
}

/** Every value of a repeated parameter (`dryRun=All&dryRun=All`), in order. */
export function queryValues(query: Query, name: string): string[] {
  const v = query[name]
  if (v === undefined) return []
  return Array.isArray(v) ? v.map(String) : [String(v)]
}

/** Convert_Slice_string_To_Pointer_bool: undefined when absent. */
export function optionalBoolParam(query: Query, name: string): boolean | undefined {
  const v = queryParam(query, name)
  if (v === undefined) return undefined
  return !(v === '0' || v.toLowerCase() === 'false')
}

/** Convert_Slice_string_To_bool: false when absent, `0` or `false`; true for anything else. */
export function boolParam(query: Query, name: string): boolean {
  return optionalBoolParam(query, name) ?? false
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * Go's `strconv.ParseInt(s, 10, 64)`; the error text is Go's own, which kube-apiserver answers with
 * as a 400 BadRequest. Values beyond 2^53 come back rounded, which no caller cares about.
 */
export function parseInt64(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s))
    throw statusErrors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`)
  const n = BigInt(s)
  if (n < INT64_MIN || n > INT64_MAX)
    throw statusErrors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`)
  return Number(n)
}

/**
 * An int64 parameter (limit, timeoutSeconds, gracePeriodSeconds): undefined when absent, 400 as
 * kube answers for anything ParseInt refuses (an empty value included).
 */
export function int64Param(query: Query, name: string): number | undefined {
  const v = queryParam(query, name)
  return v === undefined ? undefined : parseInt64(v)
}

/** A non-negative int64 parameter (limit, timeoutSeconds): negative values count as 0. */
export function intParam(query: Query, name: string): number | undefined {
  const n = int64Param(query, name)
  return n === undefined ? undefined : Math.max(0, n)
}
