/**
 * The minimal object shapes the client needs. They are deliberately narrow and local: the full
 * Kubernetes schemas (zod) live in `../objects` and `../status`, and these will be reconciled with
 * them once their API settles. Anything structurally compatible (a Pod, a Lease) fits `KubeObject`.
 *
 * Guarantees: none at runtime; these are types only, and the client does not validate bodies
 * beyond "is a JSON object" (watch events are checked for `type` and `object`).
 */

/** The part of `metadata` the client reads. Other fields pass through untouched. */
export interface ObjectMeta {
  name?: string
  generateName?: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  deletionTimestamp?: string
}

/**
 * Any Kubernetes object. `apiVersion` and `kind` are optional because items of a `<Kind>List` may
 * leave them out (the list's kind names them).
 */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
}

/** `metav1.ListMeta`. */
export interface ListMeta {
  resourceVersion?: string
  continue?: string
  remainingItemCount?: number
}

/** A `<Kind>List`. */
export interface KubeList<T> {
  apiVersion?: string
  kind?: string
  metadata: ListMeta
  items: T[]
}

import type { StatusDetails } from '../status.js'

export type { StatusCause, StatusDetails } from '../status.js'

/** A `meta/v1 Status` body, as every api-server error (and some deletes) answer. */
export interface StatusBody {
  kind: 'Status'
  apiVersion: string
  metadata?: ListMeta
  status?: 'Success' | 'Failure'
  message?: string
  reason?: string
  details?: StatusDetails
  code?: number
}

/** Event types of a watch stream (`watch.EventType` in apimachinery). */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

/**
 * One decoded watch event. ERROR events carry a Status (410 Expired when the requested
 * resourceVersion is too old); BOOKMARK events carry an object whose only meaningful field is
 * `metadata.resourceVersion`.
 */
export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }
  | { type: 'ERROR'; object: StatusBody }

/** True when `value` looks like a Status body (`kind: "Status"`). */
export function isStatus(value: unknown): value is StatusBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'Status' &&
    typeof (value as { apiVersion?: unknown }).apiVersion === 'string'
  )
}
