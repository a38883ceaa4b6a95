/**
 * `Informer`: client-go's reflector + thread-safe store + shared informer in one object. It lists
 * a resource, then watches from the list's resourceVersion, keeps a local cache keyed
 * `namespace/name` (just `name` for cluster-scoped objects) and calls handlers on changes.
 *
 * Guarantees:
 * - `hasSynced()` turns true after the first complete list was applied to the cache and the
 *   handlers; it never turns false again.
 * - Handlers run one at a time, in event order. Update gets (old, new); delete gets the last
 *   state: the DELETED event's object, or a `DeletedFinalStateUnknown` with the last cached object
 *   when the deletion is noticed only by a relist. A handler that throws is reported to `onError`
 *   and does not stop the informer.
 * - A relist replaces the cache: objects gone are deleted (tombstones), the others are delivered
 *   as updates (old, new) even when unchanged, as client-go's Replace does.
 * - When a watch stream ends, the informer re-watches from the last resourceVersion it saw
 *   (events and BOOKMARKs move it) and relists only on 410 Gone/Expired (an ERROR event or an
 *   HTTP 410) or on another API error except 429; transport failures re-watch after a backoff. Failures back off exponentially with jitter (800 ms →
 *   30 s, client-go's reflector values); a watch that ends at once with no event counts as one.
 * - Every `resyncPeriodMs` (if > 0) each cached object is re-delivered as update(obj, obj).
 * - Cached objects are deep-frozen: copy them (`structuredClone`) before changing them.
 * - `stop()` closes the watch, aborts the list, clears every timer and resolves when the loop has
 *   exited; handlers are not called after it resolves.
 * Non-guarantees: the cache can lag the server by the watch latency; lists are quorum reads
 * (`resourceVersion` unset), paged by `pageSize`; there is one handler queue per informer, so a
 * slow handler delays the others (hand keys to a WorkQueue instead of working in handlers).
 */
import { ApiError, isGone, isTooManyRequests } from './errors.js'
import type { Clock } from './rate-limiter.js'
import { systemClock } from './rate-limiter.js'
import type { ResourceClient } from './resource.js'
import type { KubeObject, WatchEvent } from './types.js'
import { type WatchStream, watchEventError } from './watch.js'

/** What onDelete gets when a deletion was noticed by a relist, not by a DELETED event. */
export interface DeletedFinalStateUnknown<T> {
  readonly deletedFinalStateUnknown: true
  readonly key: string
  /** The last state the cache had. */
  readonly obj: T
}

export function isDeletedFinalStateUnknown<T>(
  value: T | DeletedFinalStateUnknown<T>,
): value is DeletedFinalStateUnknown<T> {
  return (value as { deletedFinalStateUnknown?: unknown }).deletedFinalStateUnknown === true
}

export interface InformerHandlers<T> {
  /** `isInInitialList`: the object came with the first list (or the replay to a late handler). */
  onAdd?(obj: T, isInInitialList: boolean): void
  onUpdate?(oldObj: T, newObj: T): void
  onDelete?(obj: T | DeletedFinalStateUnknown<T>): void
}

export interface InformerOptions {
  labelSelector?: string
  fieldSelector?: string
  /** Re-deliver every cached object as an update this often. 0 (default) = never. */
  resyncPeriodMs?: number
  /** List page size. Default 500 (kubectl's and client-go's). */
  pageSize?: number
  /** Watches last a random time in [min, 2·min) s, ended by the server. Default 300 (client-go). */
  watchTimeoutSecondsMin?: number
  /** Deadline of each list / watch-open call. Default: the ApiClient's. */
  requestTimeoutMs?: number
  backoffMsInitial?: number
  backoffMsMax?: number
  /** Called with every list/watch failure and every handler exception. */
  onError?: (err: unknown) => void
  /** [0, 1) source for jitter and watch timeouts. Default Math.random. */
  random?: () => number
  clock?: Clock
}

/** client-go's `MetaNamespaceKeyFunc`. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name ?? ''
  const ns = obj.metadata?.namespace
  return ns === undefined || ns === '' ? name : `${ns}/${name}`
}

function deepFreeze<V>(value: V): V {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>()
  private readonly handlers = new Set<InformerHandlers<T>>()
  private readonly opts: Required<
    Omit<InformerOptions, 'labelSelector' | 'fieldSelector' | 'requestTimeoutMs'>
  >
  private lastResourceVersion: string | undefined
  private synced = false
  private syncWaiters: ((synced: boolean) => void)[] = []
  private started = false
  private stopped = false
  private loop: Promise<void> | undefined
  private watch: WatchStream<T> | undefined
  /** Aborted by stop(): ends an in-flight list or watch-open at once. */
  private readonly lifetime = new AbortController()
  private sleepTimer: NodeJS.Timeout | undefined
  private sleepResolve: (() => void) | undefined
  private resyncTimer: NodeJS.Timeout | undefined
  private failures = 0

  constructor(
    private readonly resource: ResourceClient<T>,
    private readonly options: InformerOptions = {},
  ) {
    this.opts = {
      resyncPeriodMs: options.resyncPeriodMs ?? 0,
      pageSize: options.pageSize ?? 500,
      watchTimeoutSecondsMin: options.watchTimeoutSecondsMin ?? 300,
      backoffMsInitial: options.backoffMsInitial ?? 800,
      backoffMsMax: options.backoffMsMax ?? 30_000,
      onError: options.onError ?? (() => {}),
      random: options.random ?? Math.random,
      clock: options.clock ?? systemClock,
    }
    const o = this.opts
    if (!(o.resyncPeriodMs >= 0)) throw new Error('resyncPeriodMs must be >= 0')
    if (!(o.pageSize >= 1)) throw new Error('pageSize must be >= 1')
    if (!(o.watchTimeoutSecondsMin >= 1)) throw new Error('watchTimeoutSecondsMin must be >= 1')
    if (!(o.backoffMsInitial > 0) || !(o.backoffMsMax >= o.backoffMsInitial)) {
      throw new Error('need 0 < backoffMsInitial <= backoffMsMax')
    }
  }

  /** Adds handlers; after sync, replays the cache to them as adds. Returns a remover. */
  addEventHandler(handlers: InformerHandlers<T>): () => void {
    this.handlers.add(handlers)
    if (this.synced) {
      for (const obj of this.cache.values()) this.call(() => handlers.onAdd?.(obj, true))
    }
    return () => this.handlers.delete(handlers)
  }

  /** Starts the list/watch loop in the background. Idempotent; not restartable after stop(). */
  start(): void {
    if (this.started || this.stopped) return
    this.started = true
    this.loop = this.run()
  }

  hasSynced(): boolean {
    return this.synced
  }

  /** Resolves true once synced, false if the informer stops or the timeout passes first. */
  waitForSync(options: { timeoutMs?: number } = {}): Promise<boolean> {
    if (this.synced) return Promise.resolve(true)
    if (this.stopped) return Promise.resolve(false)
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const waiter = (synced: boolean): void => {
        if (timer !== undefined) clearTimeout(timer)
        resolve(synced)
      }
      this.syncWaiters.push(waiter)
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter)
          resolve(false)
        }, options.timeoutMs)
      }
    })
  }

  /** The cached object under `key` (`namespace/name` or `name`). */
  get(key: string): T | undefined {
    return this.cache.get(key)
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.cache.values()]
  }

  keys(): string[] {
    return [...this.cache.keys()]
  }

  /** The resourceVersion the cache reflects (last list, event or bookmark). */
  lastSyncResourceVersion(): string | undefined {
    return this.lastResourceVersion
  }

  /** Stops for good; resolves once no timer, request or stream is left. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true
    this.watch?.close()
    this.lifetime.abort()
    if (this.sleepTimer !== undefined) clearTimeout(this.sleepTimer)
    this.sleepResolve?.()
    if (this.resyncTimer !== undefined) clearTimeout(this.resyncTimer)
    this.resyncTimer = undefined
    for (const waiter of this.syncWaiters.splice(0)) waiter(false)
    await this.loop
  }

  private async run(): Promise<void> {
    let needList = true
    while (!this.stopped) {
      try {
        if (needList) {
          await this.listAndReplace()
          needList = false
          this.failures = 0
        }
        const startedMs = this.opts.clock.now()
        const events = await this.watchOnce()
        if (events > 0) this.failures = 0
        else if (this.opts.clock.now() - startedMs < 1000 && !this.stopped) {
          // A stream the server ends at once would otherwise make a hot loop.
          this.failures++
          await this.sleep(this.nextBackoffMs())
        }
      } catch (err) {
        if (this.stopped) break
        this.opts.onError(err)
        if (isGone(err)) {
          needList = true
          // The first 410 relists at once; repeated ones back off.
          if (this.failures++ === 0) continue
        } else if (err instanceof ApiError && !isTooManyRequests(err)) {
          // As client-go: API errors other than 429 end ListAndWatch, so the next round relists.
          needList = true
          this.failures++
        } else {
          this.failures++
        }
        await this.sleep(this.nextBackoffMs())
      }
    }
  }

  private async listAndReplace(): Promise<void> {
    const list = await this.resource.list({
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      limit: this.opts.pageSize,
      signal: this.lifetime.signal,
      timeoutMs: this.options.requestTimeoutMs,
    })
    const items = list.items
    const rv = list.metadata.resourceVersion
    if (this.stopped) return
    const fresh = new Map<string, T>()
    for (const item of items) fresh.set(objectKey(item), deepFreeze(item))
    for (const [key, old] of [...this.cache]) {
      if (fresh.has(key)) continue
      this.cache.delete(key)
      const tombstone: DeletedFinalStateUnknown<T> = { deletedFinalStateUnknown: true, key, obj: old }
      this.emit((h) => h.onDelete?.(tombstone))
    }
    const initial = !this.synced
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key)
      this.cache.set(key, obj)
      if (old === undefined) this.emit((h) => h.onAdd?.(obj, initial))
      else this.emit((h) => h.onUpdate?.(old, obj))
    }
    this.lastResourceVersion = rv
    if (!this.synced) {
      this.synced = true
      for (const waiter of this.syncWaiters.splice(0)) waiter(true)
      this.scheduleResync()
    }
  }

  /** One watch from the last resourceVersion; returns the number of events when it ends. */
  private async watchOnce(): Promise<number> {
    const min = this.opts.watchTimeoutSecondsMin
    const stream = await this.resource.watch({
      resourceVersion: this.lastResourceVersion,
      allowWatchBookmarks: true,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      timeoutSeconds: Math.floor(min * (1 + this.opts.random())),
      timeoutMs: this.options.requestTimeoutMs,
      signal: this.lifetime.signal,
    })
    this.watch = stream
    let events = 0
    try {
      if (this.stopped) return events
      for await (const event of stream) {
        if (this.stopped) break
        this.apply(event)
        events++
      }
    } finally {
      stream.close()
      this.watch = undefined
    }
    return events
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') throw watchEventError(event.object)
    const obj = deepFreeze(event.object)
    const rv = obj.metadata?.resourceVersion
    if (event.type !== 'BOOKMARK') {
      const key = objectKey(obj)
      const old = this.cache.get(key)
      if (event.type === 'DELETED') {
        this.cache.delete(key)
        this.emit((h) => h.onDelete?.(obj))
      } else {
        this.cache.set(key, obj)
        if (old === undefined) this.emit((h) => h.onAdd?.(obj, false))
        else this.emit((h) => h.onUpdate?.(old, obj))
      }
    }
    if (rv !== undefined && rv !== '') this.lastResourceVersion = rv
  }

  private scheduleResync(): void {
    const period = this.opts.resyncPeriodMs
    if (period <= 0 || this.stopped) return
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined
      if (this.stopped) return
      for (const obj of this.cache.values()) this.emit((h) => h.onUpdate?.(obj, obj))
      this.scheduleResync()
    }, period)
  }

  private emit(fn: (handlers: InformerHandlers<T>) => void): void {
    for (const handlers of this.handlers) this.call(() => fn(handlers))
  }

  private call(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.opts.onError(err)
    }
  }

  private nextBackoffMs(): number {
    const exp = Math.max(0, this.failures - 1)
    const base = Math.min(this.opts.backoffMsMax, this.opts.backoffMsInitial * 2 ** Math.min(exp, 30))
    return Math.min(this.opts.backoffMsMax, base * (1 + this.opts.random()))
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return new Promise((resolve) => {
      this.sleepResolve = () => {
        this.sleepTimer = undefined
        this.sleepResolve = undefined
        resolve()
      }
      this.sleepTimer = setTimeout(() => this.sleepResolve?.(), ms)
    })
  }
}
