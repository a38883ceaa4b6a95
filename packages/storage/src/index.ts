/**
 * `@hakube/storage` — the storage interface hakube-apiserver is written against, and its backends.
 *
 * Purpose: Kubernetes-style object storage (JSON values under `/registry/...` keys, resourceVersion =
 * the store's mod revision) with optimistic concurrency, paginated lists at a revision and watches
 * from a revision, over either the store's MVCC library in-process (`memory`) or an etcd v3 cluster
 * (`etcd3`: hakube-store or a real etcd 3.4).
 *
 * Guarantees: see {@link Storage} (src/interface.ts); both backends pass one shared contract suite.
 * Every failure is a {@link StorageError} with a stable code; every call has a timeout. With
 * `compactionIntervalMs`, either backend compacts its history as kube-apiserver does (compactor.ts);
 * a memory store never serves a revision of an earlier process (memory.ts).
 *
 * The etcd3 backend's values are on their own entry, `@hakube/storage/etcd3` (src/etcd3-entry.ts), so
 * that this one never loads gRPC: {@link openStorage} imports the backend only when it is chosen.
 *
 * {@link CachedStorage} (src/cache/) wraps either backend with kube-apiserver's watch cache: one store
 * watch per resource fans out to every API watch, and lists are served from memory.
 *
 * Non-guarantees: a write failing with `outcomeUnknown` may have been applied; the memory backend is
 * not durable; the etcd3 backend has no TLS or auth.
 */

export {
  CachedStorage,
  type CachedStorageOptions,
  type CachePhase,
  DEFAULT_WATCH_CACHE_SIZE,
  parseWatchCacheSizes,
  type ResourceCacheStats,
  type WatchProgressRequester,
} from './cache/index.js'
export { COMPACT_REV_KEY, DEFAULT_COMPACTION_INTERVAL_MS } from './compactor.js'
export { isStorageError, STORAGE_ERRORS, StorageError, type StorageErrorCode } from './errors.js'
export type {
  CallOptions,
  DeleteOptions,
  GetOptions,
  ListConsistency,
  ListOptions,
  ListResult,
  Readiness,
  Storage,
  StoredObject,
  Watch,
  WatchEvent,
  WatchHandler,
  WatchOptions,
} from './interface.js'
export { objectKey, resourcePrefix } from './interface.js'
export {
  type CompactionOptions,
  DEFAULT_READINESS_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './kv-storage.js'
export { createMemoryStorage, MemoryStorage, type MemoryStorageOptions } from './memory.js'
export { openStorage, type StorageBackendName, type StorageConfig } from './select.js'
