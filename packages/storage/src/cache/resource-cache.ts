/**
 * The watch cache of one resource (`/registry/<resource>/`), kube's cacher + watchCache + reflector in
 * one: ONE inner watch (from the revision of an inner list) keeps the current state and a ring of
 * recent events, and fans every change out to this resource's watchers.
 *
 * Life cycle (`phase`): 'init' (no state yet: an inner list, then the inner watch from its revision)
 * → 'live' (the inner watch runs) ⇄ 'resuming' (the inner watch ended with Unavailable: the state
 * is still valid up to `rev`, the cache re-watches from `rev` with backoff and watchers notice
 * nothing) → back to 'init' when the inner watch answers TooOld (history the cache needed was
 * compacted) or InvalidObject (an undecodable change): every watcher then gets that terminal ERROR,
 * since its position can no longer be served, and the cache re-lists. 'closed' ends everything
 * without ERROR events.
 *
 * Revision: `rev` is the revision the cache is known complete up to: the last event's, or a later
 * one from the inner watch's progress (BOOKMARK) events. It never goes back, across re-lists too.
 */
import { StorageError } from '../errors.js'
import type { ListResult, Storage, Watch, WatchEvent, WatchHandler } from '../interface.js'
import { freezeStored } from './freeze.js'
import { type CachedEvent, EventRing, type RingSize } from './ring.js'
import { CacheState } from './state.js'
import { CacheWatcher, type WatcherSpec } from './watcher.js'

export interface ResourceCacheOptions {
  /** The ring's size bounds and growth (ring.ts). */
  ring: RingSize
  /** Events a watcher may have queued before it is ended as too slow. */
  watcherBufferSize: number
  /** How often progressNotify watchers get a BOOKMARK at the cache's revision. */
  bookmarkIntervalMs: number
  /** First retry delay after an inner failure (doubles up to 5 s). */
  retryDelayMs: number
  /** Asks the inner store for progress on its watches (see WatchProgressRequester), if it can. */
  requestProgress?: () => void
}

export type CachePhase = 'init' | 'live' | 'resuming' | 'closed'

export interface ResourceCacheStats {
  phase: CachePhase
  revision: number
  objects: number
  ringEvents: number
  ringCapacity: number
  ringStart: number
  watchers: number
  /** Inner watches opened so far (1 unless the inner watch failed and was re-established). */
  innerWatches: number
  relists: number
  /** List answers given from the cache, and those the inner store gave (not caught up, re-initializing). */
  listsFromCache: number
  listsFromStore: number
}

interface Waiter {
  revision: number
  resolve: (ok: boolean) => void
  timer: NodeJS.Timeout
}

const MAX_RETRY_DELAY_MS = 5_000

export class ResourceCache {
  phase: CachePhase = 'init'
  rev = 0
  private state = new CacheState()
  private ring: EventRing
  private readonly watchers = new Set<CacheWatcher>()
  /** Bumped whenever the inner watch is replaced: events of an older generation are ignored. */
  private gen = 0
  private innerWatch: Watch | undefined
  private waiters: Waiter[] = []
  private bookmarkTimer: NodeJS.Timeout | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private retryDelay: number
  private started = false
  /** The highest revision any list answer for this resource carried (cache or fallback). */
  private floor = 0
  private innerWatches = 0
  private relists = 0
  private listsFromCache = 0
  /** Counted by the caller (CachedStorage) when it had to ask the inner store. */
  listsFromStore = 0

  constructor(
    private readonly inner: Storage,
    readonly prefix: string,
    private readonly opts: ResourceCacheOptions,
  ) {
    this.ring = new EventRing(opts.ring, 0)
    this.retryDelay = opts.retryDelayMs
  }

  /** Starts filling the cache (idempotent). */
  start(): void {
    if (this.started || this.phase === 'closed') return
    this.started = true
    void this.load()
  }

  stats(): ResourceCacheStats {
    return {
      phase: this.phase,
      revision: this.rev,
      objects: this.state.size,
      ringEvents: this.ring.length,
      ringCapacity: this.ring.capacity,
      ringStart: this.ring.start,
      watchers: this.watchers.size,
      innerWatches: this.innerWatches,
      relists: this.relists,
      listsFromCache: this.listsFromCache,
      listsFromStore: this.listsFromStore,
    }
  }

  /** Whether the state is valid (listed) and complete up to at least `revision`. */
  private serves(revision: number): boolean {
    return (this.phase === 'live' || this.phase === 'resuming') && this.rev >= revision
  }

  /** Resolves true once the cache serves `revision` (0: once it has a state), false after `timeoutMs`. */
  waitFor(revision: number, timeoutMs: number): Promise<boolean> {
    this.start()
    if (this.serves(revision)) return Promise.resolve(true)
    if (this.phase === 'closed' || timeoutMs <= 0) return Promise.resolve(false)
    if (revision > 0 && this.phase === 'live') this.opts.requestProgress?.()
    return new Promise((resolve) => {
      const waiter: Waiter = {
        revision,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter)
          resolve(false)
        }, timeoutMs),
      }
      this.waiters.push(waiter)
    })
  }

  private wake(): void {
    if (this.waiters.length === 0) return
    const ready = this.waiters.filter((w) => this.serves(w.revision))
    if (ready.length === 0) return
    this.waiters = this.waiters.filter((w) => !this.serves(w.revision))
    for (const w of ready) {
      clearTimeout(w.timer)
      w.resolve(true)
    }
  }

  /** Whether a list at 'any' consistency may be answered from the cache without going back in time. */
  freshEnoughForAny(): boolean {
    return this.serves(this.floor)
  }

  /** Records the revision of a list answer (from the cache or the inner store). */
  noteServed(revision: number): void {
    if (revision > this.floor) this.floor = revision
  }

  /**
   * A list page from the cache's state at its revision, at least `minRevision`; undefined if the
   * cache does not serve that (any more: a re-list may have begun since the caller waited).
   */
  list(
    prefix: string,
    after: string | undefined,
    limit: number,
    minRevision: number,
  ): ListResult | undefined {
    if (!this.serves(minRevision)) return undefined
    const { items, remaining } = this.state.range(prefix, after, limit)
    const result: ListResult = { items, revision: this.rev }
    const last = items[items.length - 1]
    if (remaining > 0 && last !== undefined) {
      result.continueAfter = last.key
      result.remainingItemCount = remaining
    }
    this.noteServed(this.rev)
    this.listsFromCache++
    return result
  }

  /**
   * Adds a watcher: 'delegate' when the cache has no state or when its position is older than the
   * cache but the ring never dropped an event (the cache simply started later: the store may still
   * have that history), 'tooOld' when the ring dropped what it needs.
   */
  addWatcher(spec: WatcherSpec, handler: WatchHandler): CacheWatcher | 'delegate' | 'tooOld' {
    if (!this.serves(0)) return 'delegate' // a re-list began since the caller waited
    const after = spec.afterRevision === 0 ? this.rev : spec.afterRevision
    if (after < this.ring.start) return this.ring.evicted ? 'tooOld' : 'delegate'
    const w = new CacheWatcher({ ...spec, afterRevision: after }, handler, this.opts.watcherBufferSize, (x) =>
      this.watchers.delete(x),
    )
    this.watchers.add(w)
    w.replay(after >= this.rev ? [] : this.ring.since(after))
    if (spec.progressNotify) this.startBookmarks()
    return w
  }

  /** The TooOld a watcher from before the ring gets: positions from `revision - 1` on are served. */
  tooOldError(): StorageError {
    return new StorageError('TooOld', {
      revision: this.ring.start + 1,
      detail: `too old resource version: the watch cache of ${this.prefix} holds changes after ${this.ring.start}`,
    })
  }

  private startBookmarks(): void {
    if (this.bookmarkTimer !== undefined) return
    this.bookmarkTimer = setInterval(() => {
      let any = false
      for (const w of this.watchers) {
        if (!w.wantsProgress) continue
        any = true
        if (this.phase !== 'init') w.bookmark(this.rev)
      }
      if (!any) this.stopBookmarks()
    }, this.opts.bookmarkIntervalMs)
    this.bookmarkTimer.unref()
  }

  private stopBookmarks(): void {
    if (this.bookmarkTimer !== undefined) clearInterval(this.bookmarkTimer)
    this.bookmarkTimer = undefined
  }

  private retry(fn: () => void): void {
    if (this.phase === 'closed') return
    const delay = this.retryDelay
    this.retryDelay = Math.min(MAX_RETRY_DELAY_MS, this.retryDelay * 2)
    this.retryTimer = setTimeout(fn, delay)
    this.retryTimer.unref()
  }

  /** Lists the inner store, replaces the state and ring, then watches from the list's revision. */
  private async load(): Promise<void> {
    const gen = ++this.gen
    let listed: ListResult
    try {
      listed = await this.inner.list({ prefix: this.prefix })
    } catch {
      if (gen === this.gen) this.retry(() => void this.load())
      return
    }
    if (gen !== this.gen) return
    const state = new CacheState()
    for (const item of listed.items) state.put(freezeStored(item))
    this.state = state
    this.rev = Math.max(this.rev, listed.revision)
    this.ring = new EventRing(this.opts.ring, listed.revision)
    this.phase = 'resuming'
    this.wake()
    await this.watchFrom(gen)
  }

  /** Opens the inner watch after `rev` (generation `gen`); retries with backoff until it is up. */
  private async watchFrom(gen: number): Promise<void> {
    let w: Watch
    try {
      this.innerWatches++
      w = await this.inner.watch(
        { prefix: this.prefix, afterRevision: this.rev, prevKv: true, progressNotify: true },
        (ev) => this.onInner(gen, ev),
      )
    } catch {
      if (gen === this.gen) this.retry(() => void this.watchFrom(gen))
      return
    }
    if (gen !== this.gen) {
      w.close() // closed, or it already ended with an ERROR that was handled
      return
    }
    this.innerWatch = w
    this.phase = 'live'
    this.retryDelay = this.opts.retryDelayMs
    this.wake()
    if (this.waiters.length > 0) this.opts.requestProgress?.() // consistent reads waited for us
  }

  private onInner(gen: number, ev: WatchEvent): void {
    if (gen !== this.gen) return
    switch (ev.type) {
      case 'BOOKMARK':
        if (ev.revision > this.rev) {
          this.rev = ev.revision
          this.wake()
        }
        return
      case 'ERROR':
        this.onInnerError(ev.error)
        return
      default:
        this.apply(ev)
    }
  }

  private apply(ev: Exclude<WatchEvent, { type: 'BOOKMARK' | 'ERROR' }>): void {
    if (ev.revision < this.rev) return // already applied (cannot happen with one ordered inner watch)
    const key = ev.object.key
    // The prior object is the one the state holds: share it rather than keep the inner's second copy.
    const held = this.state.get(key)
    const innerPrev = ev.type === 'ADDED' ? undefined : ev.prevObject
    const prev =
      innerPrev === undefined
        ? undefined
        : held !== undefined && held.modRevision === innerPrev.modRevision
          ? held
          : freezeStored(innerPrev)
    const object =
      ev.type === 'DELETED' && prev !== undefined
        ? Object.freeze({ ...prev, modRevision: ev.revision })
        : freezeStored(ev.object)
    const cached: CachedEvent = Object.freeze({
      type: ev.type,
      object,
      revision: ev.revision,
      ...(prev !== undefined && { prevObject: prev }),
    })
    if (ev.type === 'DELETED') this.state.delete(key)
    else this.state.put(object)
    this.ring.push(cached)
    this.rev = ev.revision
    for (const w of this.watchers) w.offer(cached)
    this.wake()
  }

  private onInnerError(error: StorageError): void {
    const gen = ++this.gen
    this.innerWatch = undefined
    if (error.code === 'TooOld' || error.code === 'InvalidObject') {
      // TooOld: the changes after `rev` are gone from the store, nobody positioned before them can go
      // on. InvalidObject: a change the cache cannot decode; re-watching would fail on it again.
      // Either way the watchers end (as their own store watches would) and the cache re-lists.
      this.relists++
      this.phase = 'init'
      const ending =
        error.code === 'TooOld'
          ? new StorageError('TooOld', {
              revision: error.revision,
              detail: `the watch cache of ${this.prefix} lost its history and is re-initialized; list again`,
            })
          : error
      for (const w of [...this.watchers]) w.fail(ending)
      this.retry(() => void this.load())
      return
    }
    // The store was lost or the watch canceled: the state is still good up to `rev`; re-watch.
    this.phase = 'resuming'
    this.retry(() => void this.watchFrom(gen))
  }

  close(): void {
    this.gen++
    this.phase = 'closed'
    this.innerWatch?.close()
    this.innerWatch = undefined
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.stopBookmarks()
    for (const w of [...this.watchers]) w.close()
    for (const w of this.waiters) {
      clearTimeout(w.timer)
      w.resolve(false)
    }
    this.waiters = []
  }
}
