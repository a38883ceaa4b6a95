/**
 * `CachedStorage`: kube-apiserver's watch cache (k8s.io/apiserver/pkg/storage/cacher) as a decorator
 * of any {@link Storage}. Per resource (`/registry/<resource>/`), one {@link ResourceCache} (one inner
 * list, then ONE inner watch) serves:
 * - watches of a key or prefix inside the resource: replayed from the ring of recent events when
 *   `afterRevision` is inside it; afterRevision 0 starts at the cache's revision; a position the ring
 *   has dropped ends at once with a TooOld ERROR (kube's 410), one older than the cache itself (it
 *   started later, nothing dropped yet) is handed to the inner store;
 * - lists with consistency 'any' (kube's resourceVersion=0): the cache's state, which may lag but
 *   never goes back (an answer from the cache is refused while it is older than any answer given);
 * - consistent lists, as kube 1.31+: the store's current revision read first, then the cache's state
 *   once it has caught up (at most `consistentReadWaitMs`, else the store answers); a first page with
 *   `limit` comes from the cache at its revision, and its continues (with `revision`) go to the store
 *   at that revision, which is the same snapshot. The cache learns it has caught up from a change or
 *   from the inner watch's progress (BOOKMARK); when nothing changes in a resource, only a progress
 *   request makes that prompt, so this is on by default only over a WatchProgressRequester (options.ts)
 *   (kube likewise needs etcd's progress requests), and requests are batched (progress.ts).
 * Rings start at the resource's size (`--watch-cache-sizes`, default 100) and grow while their events
 * are fresh, as kube's (ring.ts).
 * Everything else (lists at an exact revision, get, writes, compact, currentRevision, count,
 * readiness) goes to the inner storage; so do keys outside `/registry/<resource>/` and resources with
 * size 0. Caches start on first use, or at once for `eager` resources.
 *
 * Guarantees: as {@link Storage}, except that objects from the cache are shared and frozen
 * (freeze.ts) and that a watcher too slow to keep up is ended with an Unavailable ERROR (watcher.ts).
 * When the inner watch fails, the cache re-watches from its revision (watchers notice nothing) or, if
 * that history was compacted, re-lists and ends its watchers with TooOld (resource-cache.ts); reads
 * wait for it (bounded) or go to the store meanwhile.
 */
import { StorageError } from '../errors.js'
import type {
  CallOptions,
  DeleteOptions,
  GetOptions,
  ListOptions,
  ListResult,
  Readiness,
  Storage,
  StoredObject,
  Watch,
  WatchHandler,
  WatchOptions,
} from '../interface.js'
import {
  type CachedStorageOptions,
  canRequestProgress,
  DEFAULT_BOOKMARK_INTERVAL_MS,
  DEFAULT_CONSISTENT_READ_WAIT_MS,
  DEFAULT_EVENT_FRESH_MS,
  DEFAULT_MAX_WATCH_CACHE_SIZE,
  DEFAULT_WATCH_CACHE_SIZE,
  DEFAULT_WATCHER_BUFFER_SIZE,
  resourceOf,
} from './options.js'
import { ProgressBatcher } from './progress.js'
import { ResourceCache, type ResourceCacheStats } from './resource-cache.js'

const isCount = (n: unknown): boolean => n === undefined || (Number.isSafeInteger(n) && (n as number) >= 0)

export class CachedStorage implements Storage {
  private readonly caches = new Map<string, ResourceCache>()
  private readonly opts: Required<Omit<CachedStorageOptions, 'eager' | 'sizes'>> & {
    sizes: Readonly<Record<string, number>>
  }
  private closed = false
  private readonly progress: ProgressBatcher | undefined

  constructor(
    readonly inner: Storage,
    options: CachedStorageOptions = {},
  ) {
    this.opts = {
      sizes: options.sizes ?? {},
      defaultSize: options.defaultSize ?? DEFAULT_WATCH_CACHE_SIZE,
      watcherBufferSize: options.watcherBufferSize ?? DEFAULT_WATCHER_BUFFER_SIZE,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
      consistentReadWaitMs: options.consistentReadWaitMs ?? DEFAULT_CONSISTENT_READ_WAIT_MS,
      consistentListFromCache: options.consistentListFromCache ?? canRequestProgress(inner),
      retryDelayMs: options.retryDelayMs ?? 100,
      maxSize: options.maxSize ?? DEFAULT_MAX_WATCH_CACHE_SIZE,
      eventFreshMs: options.eventFreshMs ?? DEFAULT_EVENT_FRESH_MS,
    }
    this.progress = canRequestProgress(inner) ? new ProgressBatcher(inner) : undefined
    for (const resource of options.eager ?? []) this.cacheOf(`/registry/${resource}/`)?.start()
  }

  get backend(): string {
    return this.inner.backend
  }

  /** Per cached resource: its phase, revision, sizes, watchers and inner watches (for metrics, tests). */
  stats(): Record<string, ResourceCacheStats> {
    const out: Record<string, ResourceCacheStats> = {}
    for (const [resource, cache] of this.caches) out[resource] = cache.stats()
    return out
  }

  /** The cache of the resource `keyOrPrefix` is inside, created (not started) on demand. */
  private cacheOf(keyOrPrefix: string): ResourceCache | undefined {
    if (this.closed) return undefined
    const resource = resourceOf(keyOrPrefix)
    if (resource === undefined) return undefined
    let cache = this.caches.get(resource)
    if (cache === undefined) {
      const size = this.opts.sizes[resource] ?? this.opts.defaultSize
      if (!(size > 0)) return undefined
      const progress = this.progress
      cache = new ResourceCache(this.inner, `/registry/${resource}/`, {
        ring: {
          minCapacity: size,
          maxCapacity: Math.max(size, this.opts.maxSize),
          freshMs: this.opts.eventFreshMs,
        },
        watcherBufferSize: this.opts.watcherBufferSize,
        bookmarkIntervalMs: this.opts.bookmarkIntervalMs,
        retryDelayMs: this.opts.retryDelayMs,
        ...(progress !== undefined && { requestProgress: () => progress.request() }),
      })
      this.caches.set(resource, cache)
    }
    return cache
  }

  /**
   * For kube's resourceVersion=N lists (NotOlderThan, `consistency: 'any'` here): waits until the
   * cache of `prefix`'s resource has reached `revision` (at most `timeoutMs`, default
   * consistentReadWaitMs), as kube's cacher waits before answering "too large resource version".
   * True when it has, or when `prefix` is not cached (the store answers such lists).
   */
  async waitUntilFresh(prefix: string, revision: number, timeoutMs?: number): Promise<boolean> {
    const cache = this.cacheOf(prefix)
    if (cache === undefined) return true
    return cache.waitFor(revision, timeoutMs ?? this.opts.consistentReadWaitMs)
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('Unavailable', { detail: 'storage is closed' })
  }

  async list<T = unknown>(options: ListOptions): Promise<ListResult<T>> {
    const { prefix, continueAfter } = options
    const valid =
      typeof prefix === 'string' &&
      prefix.length > 0 &&
      isCount(options.limit) &&
      (continueAfter === undefined || continueAfter.startsWith(prefix))
    // Exact revisions (continues, resourceVersionMatch=Exact) and bad input: the store answers.
    const cache = valid && options.revision === undefined ? this.cacheOf(prefix) : undefined
    if (cache === undefined) return this.inner.list<T>(options)
    this.checkOpen()
    const wait = Math.min(this.opts.consistentReadWaitMs, options.timeoutMs ?? Number.POSITIVE_INFINITY)
    let minRevision: number | undefined
    if (options.consistency === 'any') {
      if ((await cache.waitFor(0, wait)) && cache.freshEnoughForAny()) minRevision = 0
    } else if (this.opts.consistentListFromCache) {
      const current = await this.inner.currentRevision(options)
      if (await cache.waitFor(current, wait)) minRevision = current
    }
    const cached =
      minRevision === undefined
        ? undefined
        : cache.list(prefix, continueAfter, options.limit ?? 0, minRevision)
    if (cached !== undefined) return cached as ListResult<T>
    cache.listsFromStore++
    const res = await this.inner.list<T>(options)
    cache.noteServed(res.revision)
    return res
  }

  async watch<T = unknown>(options: WatchOptions, handler: WatchHandler<T>): Promise<Watch> {
    const target = options.key ?? options.prefix
    const valid =
      (options.key === undefined) !== (options.prefix === undefined) &&
      typeof target === 'string' &&
      isCount(options.afterRevision)
    const cache = valid ? this.cacheOf(target) : undefined
    if (cache === undefined) return this.inner.watch<T>(options, handler)
    this.checkOpen()
    if (!(await cache.waitFor(0, this.opts.consistentReadWaitMs))) {
      return this.inner.watch<T>(options, handler) // the cache is not up (yet): the store serves it
    }
    const added = cache.addWatcher(
      {
        ...(options.key !== undefined ? { key: options.key } : { prefix: options.prefix as string }),
        afterRevision: options.afterRevision,
        prevKv: options.prevKv === true,
        progressNotify: options.progressNotify === true,
      },
      handler as WatchHandler,
    )
    if (added === 'delegate') return this.inner.watch<T>(options, handler)
    if (added === 'tooOld') {
      const error = cache.tooOldError()
      let closed = false
      queueMicrotask(() => {
        if (!closed) handler({ type: 'ERROR', error })
      })
      return {
        close: () => {
          closed = true
        },
      }
    }
    return added
  }

  get<T = unknown>(key: string, options?: GetOptions): Promise<StoredObject<T>> {
    return this.inner.get<T>(key, options)
  }

  create<T = unknown>(key: string, value: T, options?: CallOptions): Promise<StoredObject<T>> {
    return this.inner.create<T>(key, value, options)
  }

  update<T = unknown>(
    key: string,
    value: T,
    expectedModRevision: number,
    options?: CallOptions,
  ): Promise<StoredObject<T>> {
    return this.inner.update<T>(key, value, expectedModRevision, options)
  }

  delete<T = unknown>(key: string, options?: DeleteOptions): Promise<StoredObject<T>> {
    return this.inner.delete<T>(key, options)
  }

  putWithTtl<T = unknown>(
    key: string,
    value: T,
    ttlSeconds: number,
    options?: CallOptions,
  ): Promise<StoredObject<T>> {
    return this.inner.putWithTtl<T>(key, value, ttlSeconds, options)
  }

  compact(revision: number, options?: CallOptions): Promise<void> {
    return this.inner.compact(revision, options)
  }

  currentRevision(options?: CallOptions): Promise<number> {
    return this.inner.currentRevision(options)
  }

  count(prefix: string, options?: CallOptions): Promise<number> {
    return this.inner.count(prefix, options)
  }

  readiness(options?: CallOptions): Promise<Readiness> {
    return this.inner.readiness(options)
  }

  /** Ends every cache (its watchers without ERROR events), then closes the inner storage. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.progress?.close()
    for (const cache of this.caches.values()) cache.close()
    await this.inner.close()
  }
}
