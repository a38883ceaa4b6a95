/**
 * `WorkQueue`: client-go's rate-limited, delaying work queue (`util/workqueue`), the queue between
 * informer handlers and a controller's workers.
 *
 * Guarantees (client-go's):
 * - Fair: items are handed out in the order they were added.
 * - Stingy: an item added while it waits in the queue is queued once ("dirty" set).
 * - An item is processed by one worker at a time: added while being processed, it is queued again
 *   only when `done(item)` is called, and once however many times it was added.
 * - `addAfter` keeps, per item, the earliest pending time; `addRateLimited` waits the limiter's
 *   delay (default: max of per-item 5 ms·2^n up to 1000 s, and a 10 qps / burst 100 bucket).
 * - After `shutDown()`, adds are ignored and pending delays dropped; `get()` still hands out what
 *   is queued, then resolves `undefined` (workers exit on it). `shutDownWithDrain()` also waits
 *   until every item being processed is `done`. No timer outlives shutdown.
 * Non-guarantees: `done` for an item not being processed is ignored; items are compared with
 * `Map` identity (use string keys such as `namespace/name`).
 */
import { type Clock, defaultControllerRateLimiter, type RateLimiter, systemClock } from './rate-limiter.js'

export interface WorkQueueOptions<T> {
  rateLimiter?: RateLimiter<T>
  clock?: Clock
}

export class WorkQueue<T extends NonNullable<unknown> = string> {
  private readonly queue: T[] = []
  private readonly dirty = new Set<T>()
  private readonly processing = new Set<T>()
  private readonly waiters: ((item: T | undefined) => void)[] = []
  /** Items waiting for `addAfter`, with their ready time. */
  private readonly delayed = new Map<T, number>()
  private delayTimer: NodeJS.Timeout | undefined
  private delayTimerAtMs = Number.POSITIVE_INFINITY
  private shuttingDownFlag = false
  private drainWaiters: (() => void)[] = []
  private readonly rateLimiter: RateLimiter<T>
  private readonly clock: Clock

  constructor(options: WorkQueueOptions<T> = {}) {
    this.clock = options.clock ?? systemClock
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<T>(this.clock)
  }

  /** Marks `item` as needing processing. */
  add(item: T): void {
    if (this.shuttingDownFlag || this.dirty.has(item)) return
    this.dirty.add(item)
    if (this.processing.has(item)) return
    this.enqueue(item)
  }

  /** Adds `item` after `delayMs` (at once if <= 0). */
  addAfter(item: T, delayMs: number): void {
    if (this.shuttingDownFlag) return
    if (!(delayMs > 0)) {
      this.add(item)
      return
    }
    const readyAtMs = this.clock.now() + delayMs
    const existing = this.delayed.get(item)
    if (existing !== undefined && existing <= readyAtMs) return
    this.delayed.set(item, readyAtMs)
    this.armDelayTimer()
  }

  /** Adds `item` once the rate limiter allows; counts one more requeue. */
  addRateLimited(item: T): void {
    this.addAfter(item, this.rateLimiter.when(item))
  }

  /** Clears `item`'s failure history (after a successful sync). Does not remove it from the queue. */
  forget(item: T): void {
    this.rateLimiter.forget(item)
  }

  numRequeues(item: T): number {
    return this.rateLimiter.numRequeues(item)
  }

  /** Next item to process, waiting if none; `undefined` once shut down and empty. */
  get(): Promise<T | undefined> {
    const item = this.queue.shift()
    if (item !== undefined) return Promise.resolve(this.startProcessing(item))
    if (this.shuttingDownFlag) return Promise.resolve(undefined)
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  /** Ends processing of `item`; re-queues it if it was added meanwhile. */
  done(item: T): void {
    if (!this.processing.delete(item)) return
    if (this.dirty.has(item)) this.enqueue(item)
    else if (this.processing.size === 0) this.releaseDrainWaiters()
  }

  /** Items queued (not counting those processing or delayed). */
  len(): number {
    return this.queue.length
  }

  shuttingDown(): boolean {
    return this.shuttingDownFlag
  }

  /** Stops accepting items, drops delayed ones and wakes idle `get()` callers with `undefined`. */
  shutDown(): void {
    if (!this.shuttingDownFlag) {
      this.shuttingDownFlag = true
      this.delayed.clear()
      if (this.delayTimer !== undefined) clearTimeout(this.delayTimer)
      this.delayTimer = undefined
      this.delayTimerAtMs = Number.POSITIVE_INFINITY
    }
    for (const waiter of this.waiters.splice(0)) waiter(undefined)
    if (this.processing.size === 0) this.releaseDrainWaiters()
  }

  /** `shutDown()`, then resolves once no item is being processed. */
  shutDownWithDrain(): Promise<void> {
    const drained = new Promise<void>((resolve) => {
      if (this.processing.size === 0) resolve()
      else this.drainWaiters.push(resolve)
    })
    this.shutDown()
    return drained
  }

  private enqueue(item: T): void {
    const waiter = this.waiters.shift()
    if (waiter !== undefined) waiter(this.startProcessing(item))
    else this.queue.push(item)
  }

  private startProcessing(item: T): T {
    this.processing.add(item)
    this.dirty.delete(item)
    return item
  }

  private releaseDrainWaiters(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve()
  }

  /** One timer, for the earliest delayed item. */
  private armDelayTimer(): void {
    let earliest = Number.POSITIVE_INFINITY
    for (const at of this.delayed.values()) earliest = Math.min(earliest, at)
    if (earliest >= this.delayTimerAtMs && this.delayTimer !== undefined) return
    if (this.delayTimer !== undefined) clearTimeout(this.delayTimer)
    this.delayTimer = undefined
    this.delayTimerAtMs = Number.POSITIVE_INFINITY
    if (earliest === Number.POSITIVE_INFINITY) return
    this.delayTimerAtMs = earliest
    this.delayTimer = setTimeout(() => this.fireDelayed(), Math.max(0, earliest - this.clock.now()))
  }

  private fireDelayed(): void {
    this.delayTimer = undefined
    this.delayTimerAtMs = Number.POSITIVE_INFINITY
    const now = this.clock.now()
    for (const [item, at] of [...this.delayed]) {
      if (at <= now) {
        this.delayed.delete(item)
        this.add(item)
      }
    }
    this.armDelayTimer()
  }
}
