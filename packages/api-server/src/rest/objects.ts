/**
 * Object metadata the server owns (k8s.io/apiserver pkg/registry/rest create.go / update.go and
 * meta.go): uid, creationTimestamp, resourceVersion (= the store's mod revision, never stored in the
 * value, as the etcd3 store's versioner does), generation for the kinds whose strategy tracks it, and
 * generateName's random suffix.
 */
import { randomInt, randomUUID } from 'node:crypto'
import { apiVersionOf, type ResourceInfo, type StatusError, statusErrors } from '@hakube/api'
import type { StoredObject } from '@hakube/storage'

export type Meta = Record<string, unknown> & {
  name?: string
  generateName?: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  finalizers?: string[]
}
export type Obj = Record<string, unknown> & { metadata?: Meta; spec?: unknown; status?: unknown }

/** Kinds whose strategies set generation 1 on create and bump it on spec changes (apps/v1 here). */
const GENERATION_KINDS = new Set(['Deployment', 'ReplicaSet'])

export function tracksGeneration(kind: string): boolean {
  return GENERATION_KINDS.has(kind)
}

/** RFC 3339 with seconds, as metav1.Time marshals. */
export function nowRfc3339(nowMs: number = Date.now()): string {
  return new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** k8s.io/apimachinery util/rand's alphabet (no vowels, no confusable digits). */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789'
/** names.SimpleNameGenerator: the prefix plus 5 random characters. */
export function generateName(prefix: string): string {
  let s = ''
  for (let i = 0; i < 5; i++) s += ALPHANUMS[randomInt(ALPHANUMS.length)]
  return `${prefix}${s}`
}

export function newUid(): string {
  return randomUUID()
}

export function metaOf(obj: Obj): Meta {
  if (obj.metadata === undefined || obj.metadata === null || typeof obj.metadata !== 'object')
    obj.metadata = {}
  return obj.metadata
}

/** What goes to the client: the stored value with apiVersion, kind and resourceVersion filled in. */
export function toWire(resource: ResourceInfo, stored: StoredObject<unknown>): Obj {
  const value = (stored.value ?? {}) as Obj
  const { apiVersion: _a, kind: _k, ...rest } = value
  const metadata = { ...(value.metadata ?? {}), resourceVersion: String(stored.modRevision) }
  return { apiVersion: apiVersionOf(resource), kind: resource.kind, ...rest, metadata }
}

/** What goes to the store: a copy without resourceVersion and selfLink. */
export function forStorage(obj: Obj): Obj {
  const copy = structuredClone(obj)
  const m = metaOf(copy)
  delete m.resourceVersion
  delete m['selfLink']
  return copy
}

const UINT64_MAX = 2n ** 64n - 1n

/**
 * A `resourceVersion` string as a revision: undefined for unset, NaN for what Go's
 * `strconv.ParseUint(rv, 10, 64)` refuses (garbage, or beyond uint64).
 */
export function parseResourceVersion(rv: unknown): number | undefined {
  if (rv === undefined || rv === '') return undefined
  if (typeof rv !== 'string' || !/^[0-9]+$/.test(rv) || BigInt(rv) > UINT64_MAX) return Number.NaN
  return Number(rv)
}

/** The etcd3 store's 400 for a resourceVersion the versioner cannot parse (ParseResourceVersion). */
export function invalidResourceVersion(rv: unknown): StatusError {
  const text = typeof rv === 'string' ? rv : JSON.stringify(rv)
  const why = /^[0-9]+$/.test(text) ? 'value out of range' : 'invalid syntax'
  const q = JSON.stringify(text)
  return statusErrors.badRequest(
    `invalid resource version: resourceVersion: Invalid value: ${q}: strconv.ParseUint: parsing ${q}: ${why}`,
  )
}
