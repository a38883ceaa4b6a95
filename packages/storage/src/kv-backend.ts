/**
 * The internal seam between the storage semantics (kv-storage.ts: key layout, JSON, optimistic
 * concurrency, pagination, event mapping) and a key-value engine speaking etcd v3 requests: the
 * in-process MVCC library (memory.ts) or a remote etcd v3 cluster over gRPC (etcd3.ts).
 *
 * Requests and responses use the MVCC library's camelCase shapes. Every method either resolves or
 * rejects with a StorageError (mapped by the engine: compacted → TooOld, deadline → Timeout, ...).
 */
import type { MvccEvent, RangeRequest, RangeResponse, TxnRequest, TxnResponse } from '@hakube/store/mvcc'
import type { StorageError } from './errors.js'
import type { Readiness } from './interface.js'

export interface KvCallOptions {
  /** Absolute deadline (Date.now() ms). */
  deadline: number
}

export interface KvWatchRequest {
  key: Uint8Array
  rangeEnd?: Uint8Array
  /** First revision to deliver; 0 = the next revision. */
  startRevision: number
  progressNotify: boolean
}

/** What an engine's watch reports; prev_kv is always requested. */
export type KvWatchMessage =
  /** The watch is established; `revision` is the store revision when it was created. */
  | { kind: 'created'; revision: number }
  /** Events of one or more whole revisions, in order, never repeated. */
  | { kind: 'events'; events: MvccEvent[] }
  /** Everything up to `revision` was delivered. */
  | { kind: 'progress'; revision: number }
  /** Terminal. */
  | { kind: 'error'; error: StorageError }

export interface KvWatch {
  close(): void
}

export interface KvEngine {
  readonly name: string
  range(req: RangeRequest, serializable: boolean, opts: KvCallOptions): Promise<RangeResponse>
  txn(req: TxnRequest, opts: KvCallOptions): Promise<TxnResponse>
  compact(revision: number, opts: KvCallOptions): Promise<void>
  /** Grants a lease of `ttlSeconds` (etcd LeaseGrant) and resolves with its id. */
  leaseGrant(ttlSeconds: number, opts: KvCallOptions): Promise<bigint>
  watch(req: KvWatchRequest, sink: (msg: KvWatchMessage) => void): KvWatch
  readiness(opts: KvCallOptions): Promise<Readiness>
  close(): Promise<void>
}
