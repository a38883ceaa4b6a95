/**
 * Rate limiters for the work queue, after client-go's `util/workqueue/default_rate_limiters.go`:
 * per-item exponential failure backoff, an overall token bucket, and the max of several.
 *
 * Guarantees: `when(item)` returns how long to wait before the item may be processed again and
 * records the attempt; `forget(item)` clears an item's history. Time comes from the injected clock.
 * Non-guarantees: no jitter (client-go's default has none either).
 */

/** Milliseconds since some fixed origin; `Date.now` by default (vitest's fake timers fake it). */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export interface RateLimiter<T> {
  /** Delay in ms before `item` should be retried; records one more failure. */
  when(item: T): number
  /** Forgets `item`'s failures (call after a success). */
  forget(item: T): void
  /** Failures recorded for `item`. */
  numRequeues(item: T): number
}

/** base·2^failures, capped at max. client-go's defaults: 5 ms and 1000 s. */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>()

  constructor(
    private readonly baseDelayMs = 5,
    private readonly maxDelayMs = 1_000_000,
  ) {
    if (!(baseDelayMs > 0) || !(maxDelayMs >= baseDelayMs)) {
      throw new Error('need 0 < baseDelayMs <= maxDelayMs')
    }
  }

  when(item: T): number {
    const exp = this.failures.get(item) ?? 0
    this.failures.set(item, exp + 1)
    const delay = this.baseDelayMs * 2 ** exp
    return delay > this.maxDelayMs || !Number.isFinite(delay) ? this.maxDelayMs : delay
  }

  forget(item: T): void {
    this.failures.delete(item)
  }

  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0
  }
}

/**
 * A token bucket shared by all items (`golang.org/x/time/rate` Reserve semantics): tokens refill at
 * `qps` up to `burst`; each `when` takes one, possibly going into debt, and returns the wait until
 * that token exists. client-go's default: 10 qps, burst 100.
 */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  private tokens: number
  private lastMs: number

  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error('need qps > 0 and burst >= 1')
    this.tokens = burst
    this.lastMs = clock.now()
  }

  when(_item: T): number {
    const now = this.clock.now()
    const elapsedMs = Math.max(0, now - this.lastMs)
    this.lastMs = now
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.qps) / 1000)
    this.tokens -= 1
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0
  }
}

/** The longest delay of its limiters; records the attempt in each. */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  private readonly limiters: readonly RateLimiter<T>[]

  constructor(...limiters: RateLimiter<T>[]) {
    if (limiters.length === 0) throw new Error('MaxOfRateLimiter needs at least one limiter')
    this.limiters = limiters
  }

  when(item: T): number {
    let delay = 0
    for (const limiter of this.limiters) delay = Math.max(delay, limiter.when(item))
    return delay
  }

  forget(item: T): void {
    for (const limiter of this.limiters) limiter.forget(item)
  }

  numRequeues(item: T): number {
    let n = 0
    for (const limiter of this.limiters) n = Math.max(n, limiter.numRequeues(item))
    return n
  }
}

/** client-go's `DefaultControllerRateLimiter`: max(per-item 5 ms → 1000 s, bucket 10 qps / 100). */
export function defaultControllerRateLimiter<T>(clock: Clock = systemClock): RateLimiter<T> {
  return new MaxOfRateLimiter<T>(
    new ItemExponentialFailureRateLimiter<T>(5, 1_000_000),
    new BucketRateLimiter<T>(10, 100, clock),
  )
}
