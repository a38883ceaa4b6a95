/** Query parameters as kube-apiserver reads them: the first value of a repeated parameter wins. */
import { statusErrors } from '@hakube/api'

export type Query = Record<string, unknown>

export function queryParam(query: Query, name: string): string | undefined {
  const v = query[name]
  if (Array.isArray(v)) return v.length > 0 ? String(v[0]) : undefined
  return v === undefined ? undefined : String(v)
}

export function boolParam(query: Query, name: string): boolean {
  const v = queryParam(query, name)
  return v === 'true' || v === '1'
}

/** A non-negative integer parameter (limit, timeoutSeconds); 400 for anything else. */
export function intParam(query: Query, name: string): number | undefined {
  const v = queryParam(query, name)
  if (v === undefined || v === '') return undefined
  if (!/^-?[0-9]+$/.test(v)) throw statusErrors.badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`)
  const n = Number(v)
  return n < 0 ? 0 : n
}
