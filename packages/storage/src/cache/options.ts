/**
 * The watch cache's options and kube-apiserver's flags for them: `--watch-cache` (on/off, the
 * integrator's choice of wrapping or not) and `--watch-cache-sizes resource[.group]#size,...`.
 */
import { StorageError } from '../errors.js'

export interface CachedStorageOptions {
  /**
   * Ring size per resource (`--watch-cache-sizes`, keyed by the resource's plural as it appears in
   * `/registry/<resource>/`); 0 turns the cache off for that resource (its reads go to the store).
   */
  sizes?: Readonly<Record<string, number>>
  /**
   * Ring size of every resource not in `sizes`: 100 as kube's `--default-watch-cache-size`; 0 caches
   * only the resources `sizes` lists. A size is the ring's starting (and smallest) capacity: it
   * grows while its oldest event is fresher than `eventFreshMs`, as kube's (ring.ts).
   */
  defaultSize?: number
  /** The most events a ring grows to (kube's upper bound, 100 × 1024). */
  maxSize?: number
  /** A ring full of events younger than this grows instead of dropping one (kube: 75 s); 0: fixed. */
  eventFreshMs?: number
  /** Resources whose cache starts at once (kube starts them all at startup); the rest on first use. */
  eager?: readonly string[]
  /** Events a watcher may have queued before it is ended as too slow. Default 100. */
  watcherBufferSize?: number
  /** Period of the BOOKMARKs progressNotify watchers get (kube: about a minute). Default 60 s. */
  bookmarkIntervalMs?: number
  /** How long a consistent list waits for the cache to catch up before it reads the store. Default 3 s. */
  consistentReadWaitMs?: number
  /**
   * Serve consistent (quorum) lists from the cache once it has caught up with the store's current
   * revision (kube 1.31+'s ConsistentListFromCache). Default: on only when the inner storage can be
   * asked for watch progress ({@link WatchProgressRequester}), as kube requires etcd's progress
   * requests; without them the cache catches up only on a change or on the inner watch's periodic
   * progress, so a list of a quiet resource would wait for `consistentReadWaitMs`.
   */
  consistentListFromCache?: boolean
  /** First retry delay after the inner list or watch failed (doubling up to 5 s). Default 100 ms. */
  retryDelayMs?: number
}

/** kube's `--default-watch-cache-size`. */
export const DEFAULT_WATCH_CACHE_SIZE = 100
/** kube's watch cache upper bound (defaultUpperBoundCapacity). */
export const DEFAULT_MAX_WATCH_CACHE_SIZE = 100 * 1024
/** kube's eventFreshDuration: how long an event should stay in the ring, room permitting. */
export const DEFAULT_EVENT_FRESH_MS = 75_000
export const DEFAULT_WATCHER_BUFFER_SIZE = 100
export const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000
/** kube's bound on a consistent read waiting for the watch cache (`blockTimeout` 3 s). */
export const DEFAULT_CONSISTENT_READ_WAIT_MS = 3_000

/**
 * An optional capability of an inner storage: ask the store to send a progress notification (a
 * BOOKMARK at its current revision) on every open watch once it is in sync (etcd's
 * WatchProgressRequest). With it, a consistent list needs no change to happen before the cache
 * knows it is up to date.
 */
export interface WatchProgressRequester {
  requestWatchProgress(): void | Promise<void>
}

export function canRequestProgress(s: object): s is WatchProgressRequester {
  return typeof (s as Partial<WatchProgressRequester>).requestWatchProgress === 'function'
}

/**
 * Parses `--watch-cache-sizes` values (`pods#1000,deployments.apps#0`, repeated or comma-separated)
 * into sizes by plural (the group, after the first dot, is dropped: hakube's keys have none).
 */
export function parseWatchCacheSizes(values: string | readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  const list = typeof values === 'string' ? [values] : values
  for (const entry of list.flatMap((v) => v.split(','))) {
    const text = entry.trim()
    if (text === '') continue
    const m = /^([a-z0-9][a-z0-9.-]*)#([0-9]+)$/.exec(text)
    if (m === null) {
      throw new StorageError('InvalidObject', {
        detail: `invalid --watch-cache-sizes entry ${JSON.stringify(text)}: want resource[.group]#size`,
      })
    }
    const plural = (m[1] as string).split('.')[0] as string
    out[plural] = Number(m[2])
  }
  return out
}

/** The resource of a key or prefix under `/registry/<resource>/`, or undefined (spans resources). */
export function resourceOf(keyOrPrefix: string): string | undefined {
  const m = /^\/registry\/([^/]+)\//.exec(keyOrPrefix)
  return m === null ? undefined : m[1]
}
