/** The watch cache: a {@link CachedStorage} wraps any Storage (see cached-storage.ts). */
export { CachedStorage } from './cached-storage.js'
export {
  type CachedStorageOptions,
  DEFAULT_BOOKMARK_INTERVAL_MS,
  DEFAULT_CONSISTENT_READ_WAIT_MS,
  DEFAULT_EVENT_FRESH_MS,
  DEFAULT_MAX_WATCH_CACHE_SIZE,
  DEFAULT_WATCH_CACHE_SIZE,
  DEFAULT_WATCHER_BUFFER_SIZE,
  parseWatchCacheSizes,
  resourceOf,
  type WatchProgressRequester,
} from './options.js'
export type { CachePhase, ResourceCacheStats } from './resource-cache.js'
