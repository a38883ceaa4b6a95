/**
 * `@hakube/store/mvcc` — the MVCC key space and watch hub of hakube-store, as a pure library.
 *
 * Purpose: apply already-ordered etcd v3 KV requests (Range, Put, DeleteRange, Txn, Compact) with the
 * semantics of etcd 3.4, and serve watches over the result. The store's Raft apply loop drives it; the
 * api-server's memory backend uses it in-process.
 *
 * Guarantees:
 * - Synchronous and deterministic: no I/O, timers, clock or randomness; the same request sequence
 *   gives the same responses, events and state image bytes.
 * - One global revision (1 when empty; the first write makes 2); every mutating request, including a
 *   txn with many writes or a lease revoke, bumps it exactly once; reads and no-op deletes do not.
 * - History is retained for range-at-revision and watch replay until `compact(rev)`; afterwards
 *   revisions below `rev` fail with "mvcc: required revision has been compacted", and only what
 *   revisions >= `rev` need is kept.
 * - Expected failures are typed results (`Result<T>` with a {@link StoreError} carrying etcd's exact
 *   message and gRPC code); broken invariants throw.
 * - Watches are ordered, unique, reliable while history is retained, and atomic (one revision's
 *   events in one response); a watch from a compacted revision gets `compactRevision` and is canceled.
 *
 * Non-guarantees:
 * - Request limits (`--max-txn-ops`, `--max-request-bytes`) are checks the server calls
 *   (`checkTxnRequest`, `checkRequestBytes`); the store applies the txn-ops limit it was configured with.
 * - Leases: the store records lease ids on keys and revokes their keys; TTLs belong to the lessor.
 * - HashKV is stable across members of hakube-store but not bit-compatible with etcd's.
 * - Returned `Uint8Array`s may alias internal state: callers must not mutate them.
 * - Sort order of ties in sorted ranges is key order (etcd promises nothing for large results).
 */
export { StoreError, type StoreErrorCode } from '../errors.js'
export { prefixRangeEnd } from './bytes.js'
export { type CommitListener, MvccStore, type MvccStoreOptions } from './kv-store.js'
export {
  deserialize,
  deserializePrefix,
  type HashKvResult,
  hashKV,
  imageDigest,
  serialize,
} from './state-image.js'
export type {
  CompactResponse,
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  DeleteRangeResponse,
  EventType,
  KeyValue,
  MvccEvent,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  Result,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from './types.js'
export {
  checkDeleteRangeRequest,
  checkPutRequest,
  checkRangeRequest,
  checkRequestBytes,
  checkTxnRequest,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MAX_TXN_OPS,
} from './validate.js'
export {
  type WatchCreateRequest,
  type WatchFilter,
  WatchHub,
  type WatchHubStats,
  type WatchResponse,
  type WatchSink,
} from './watch-hub.js'
