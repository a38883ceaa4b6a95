/**
 * The storage interface hakube-apiserver is written against: a simplified k8s.io/apiserver
 * `storage.Interface` over an etcd-style MVCC key space.
 *
 * Model:
 * - Objects are JSON-serializable values stored as UTF-8 JSON bytes under Kubernetes' key layout
 *   (`/registry/<resource>/<namespace>/<name>`, cluster-scoped `/registry/<resource>/<name>`; see
 *   {@link objectKey}). Every read returns the object with its `modRevision` (its `resourceVersion`)
 *   and `createRevision`.
 * - One global, increasing store revision; every successful write bumps it exactly once.
 *
 * Guarantees (every backend):
 * - Writes are linearizable; `create`/`update`/`delete` are atomic compare-and-swaps (one etcd Txn).
 * - Default reads are linearizable ("quorum"); `consistency: 'any'` may be stale but never goes back
 *   in time on the same endpoint; a read at an exact revision sees exactly that revision.
 * - List pages continued with the first page's revision together form one snapshot at that revision.
 * - A watch delivers every change after `afterRevision` to keys it covers, once, in revision order,
 *   then either runs until closed or ends with exactly one terminal ERROR event.
 * - Every operation settles within its timeout, with a {@link StorageError} on failure.
 *
 * Non-guarantees:
 * - A write that fails with Timeout or Unavailable and `outcomeUnknown` may have been applied.
 * - BOOKMARK events are best effort (etcd only sends progress when the watch is in sync).
 * - Value objects returned are fresh parses (callers may mutate them), but nothing is frozen.
 */
import type { StorageError } from './errors.js'

/** An object as stored: its decoded JSON value and its revisions. */
export interface StoredObject<T = unknown> {
  key: string
  value: T
  /** Revision of the last write to the key (Kubernetes' `metadata.resourceVersion`). */
  modRevision: number
  /** Revision of the create of this generation of the key. */
  createRevision: number
}

/** Per-call options every operation accepts. */
export interface CallOptions {
  /** Overrides the backend's default timeout for this call. */
  timeoutMs?: number
}

export interface GetOptions extends CallOptions {
  /** Read at this exact revision (must not be compacted or in the future). */
  revision?: number
  /** false: a serializable read (may be stale); default true (linearizable). Ignored with `revision`. */
  consistent?: boolean
}

/**
 * 'quorum': the latest state, linearizable (Kubernetes' unset resourceVersion);
 * 'any': any recent state, served locally (resourceVersion=0).
 */
export type ListConsistency = 'quorum' | 'any'

export interface ListOptions extends CallOptions {
  /** Key prefix; Kubernetes lists `/registry/pods/` (all namespaces) or `/registry/pods/ns/`. */
  prefix: string
  /** Read at this exact revision; a continued list must pass the first page's `revision`. */
  revision?: number
  /** Ignored when `revision` is set. Default 'quorum'. */
  consistency?: ListConsistency
  /** At most this many items (0/absent: no limit). */
  limit?: number
  /** Start strictly after this key (the previous page's `continueAfter`). */
  continueAfter?: string
}

export interface ListResult<T = unknown> {
  items: StoredObject<T>[]
  /** The revision the list was read at; pass it with `continueAfter` to get the next page. */
  revision: number
  /** Present when more items remain: the last key of this page. */
  continueAfter?: string
  /** Present when more items remain: how many (at `revision`). */
  remainingItemCount?: number
}

export interface DeleteOptions extends CallOptions {
  /** Delete only if the key's mod revision is this one (else Conflict). */
  expectedModRevision?: number
}

export interface WatchOptions {
  /** Watch one key. Exactly one of `key` and `prefix` must be set. */
  key?: string
  /** Watch every key under this prefix. */
  prefix?: string
  /**
   * Deliver every change with revision > afterRevision (history is replayed first). 0: only changes
   * after the watch is established.
   */
  afterRevision: number
  /** Also set `prevObject` on MODIFIED events (DELETED always carries the prior object). */
  prevKv?: boolean
  /** Ask the store for periodic progress (BOOKMARK events). */
  progressNotify?: boolean
}

export type WatchEvent<T = unknown> =
  | { type: 'ADDED'; object: StoredObject<T>; revision: number }
  | { type: 'MODIFIED'; object: StoredObject<T>; prevObject?: StoredObject<T>; revision: number }
  | {
      type: 'DELETED'
      /** The object as it was before the delete, with `modRevision` = the deletion revision (as Kubernetes). */
      object: StoredObject<T>
      /** The object exactly as it was stored before the delete. */
      prevObject: StoredObject<T>
      revision: number
    }
  /** Every change up to `revision` has been delivered. */
  | { type: 'BOOKMARK'; revision: number }
  /** Terminal: TooOld (afterRevision compacted; HTTP 410), Unavailable (store lost) or InvalidObject. */
  | { type: 'ERROR'; error: StorageError }

export type WatchHandler<T = unknown> = (event: WatchEvent<T>) => void

export interface Watch {
  /** Stops the watch; the handler gets nothing more (no ERROR event). Idempotent. */
  close(): void
}

export type Readiness = { ok: true } | { ok: false; reason: string }

export interface Storage {
  /** The backend's name: 'memory' or 'etcd3'. */
  readonly backend: string

  get<T = unknown>(key: string, options?: GetOptions): Promise<StoredObject<T>>
  list<T = unknown>(options: ListOptions): Promise<ListResult<T>>
  /** Creates the key; AlreadyExists if it exists. Resolves with the stored object. */
  create<T = unknown>(key: string, value: T, options?: CallOptions): Promise<StoredObject<T>>
  /**
   * Replaces the value if the key's mod revision is `expectedModRevision`: Conflict (with the current
   * mod revision) if it is not, NotFound if the key does not exist.
   */
  update<T = unknown>(
    key: string,
    value: T,
    expectedModRevision: number,
    options?: CallOptions,
  ): Promise<StoredObject<T>>
  /** Deletes the key and resolves with the deleted object; NotFound, or Conflict on a failed precondition. */
  delete<T = unknown>(key: string, options?: DeleteOptions): Promise<StoredObject<T>>
  /**
   * Writes the key unconditionally, attached to a new lease of `ttlSeconds`: unless written again,
   * the key is deleted (a DELETED event) once the lease expires. This is what k8s.io/apiserver's etcd3
   * store does for an update with a TTL (kube-apiserver's master leases, `/registry/masterleases/`);
   * on etcd3 it is an etcd lease, the memory backend expires it with a timer of this process.
   */
  putWithTtl<T = unknown>(
    key: string,
    value: T,
    ttlSeconds: number,
    options?: CallOptions,
  ): Promise<StoredObject<T>>
  /**
   * Starts a watch; events go to `handler` in order. Resolves once the watch is established (or has
   * already ended with an ERROR event, e.g. TooOld).
   */
  watch<T = unknown>(options: WatchOptions, handler: WatchHandler<T>): Promise<Watch>
  /**
   * Compacts history below `revision` (kube-apiserver's compactor does this periodically): reads at
   * and watches from older revisions then fail TooOld. Compacting to an already compacted revision is
   * a no-op; a future revision is InvalidObject.
   */
  compact(revision: number, options?: CallOptions): Promise<void>
  /** The store's current revision (linearizable). */
  currentRevision(options?: CallOptions): Promise<number>
  /** How many keys have this prefix (for Kubernetes' object count metrics). */
  count(prefix: string, options?: CallOptions): Promise<number>
  /** For /readyz: ok, or why not (no quorum, unreachable, closed). Never rejects. */
  readiness(options?: CallOptions): Promise<Readiness>
  /** Closes the backend: open watches end (without ERROR events) and later calls fail Unavailable. */
  close(): Promise<void>
}

/** Kubernetes' key layout: `/registry/<resource>/<namespace>/<name>` or `/registry/<resource>/<name>`. */
export function objectKey(resource: string, namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === ''
    ? `/registry/${resource}/${name}`
    : `/registry/${resource}/${namespace}/${name}`
}

/** The prefix of every object of a resource, or of one namespace's objects of it. */
export function resourcePrefix(resource: string, namespace?: string): string {
  return namespace === undefined || namespace === ''
    ? `/registry/${resource}/`
    : `/registry/${resource}/${namespace}/`
}
