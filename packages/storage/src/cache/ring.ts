/**
 * The ring of recent events of one resource (kube's watchCache's cyclic buffer): the last changes, so a
 * watcher can resume from any revision at or after {@link EventRing.start} without the store.
 *
 * Size, as kube's dynamic watch cache (watch_cache.go, resizeCacheLocked): the ring starts at
 * `minCapacity` (the `--watch-cache-sizes` value) and, when full while its oldest event is younger than
 * `freshMs` (kube's eventFreshDuration, 75 s), doubles up to `maxCapacity` (kube: 100 × 1024) rather
 * than drop an event a briefly disconnected client may still need; when full and the newer half is
 * already stale, it halves back towards `minCapacity`. `freshMs` 0 gives a fixed ring.
 *
 * Guarantee: every change of the resource with a revision > `start` is in the ring, in order.
 */
import type { StoredObject } from '../interface.js'

/** A change as the cache keeps it: always with the prior object (the inner watch asks prevKv). */
export interface CachedEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  object: StoredObject
  prevObject?: StoredObject
  revision: number
}

export interface RingSize {
  minCapacity: number
  maxCapacity: number
  freshMs: number
}

export class EventRing {
  private buf: (CachedEvent | undefined)[]
  private times: number[]
  private head = 0
  private count = 0
  /** Every change after this revision is in the ring. */
  start: number
  /** Whether an event was ever dropped for room (then older positions are TooOld, not the store's). */
  evicted = false

  constructor(
    private readonly size: RingSize,
    start: number,
    private readonly now: () => number = Date.now,
  ) {
    const cap = Math.max(1, size.minCapacity)
    this.buf = new Array(cap)
    this.times = new Array(cap).fill(0)
    this.start = start
  }

  get length(): number {
    return this.count
  }

  get capacity(): number {
    return this.buf.length
  }

  push(ev: CachedEvent): void {
    const now = this.now()
    if (this.count === this.buf.length) this.makeRoom(now)
    const cap = this.buf.length
    if (this.count === cap) {
      // Still full: drop the oldest.
      this.drop(1)
    }
    const i = (this.head + this.count) % this.buf.length
    this.buf[i] = ev
    this.times[i] = now
    this.count++
  }

  private at(logical: number): number {
    return (this.head + logical) % this.buf.length
  }

  private makeRoom(now: number): void {
    const cap = this.buf.length
    const { minCapacity, maxCapacity, freshMs } = this.size
    if (freshMs <= 0) return
    if (now - (this.times[this.head] as number) < freshMs && cap < maxCapacity) {
      this.resize(Math.min(maxCapacity, cap * 2))
    } else if (
      cap >= 2 * minCapacity &&
      now - (this.times[this.at(Math.floor(cap / 2))] as number) >= freshMs
    ) {
      this.drop(Math.floor(cap / 2))
      this.resize(Math.ceil(cap / 2))
    }
  }

  /** Drops the `n` oldest events. */
  private drop(n: number): void {
    for (let k = 0; k < n && this.count > 0; k++) {
      const oldest = this.buf[this.head] as CachedEvent
      this.start = oldest.revision
      this.evicted = true
      this.buf[this.head] = undefined
      this.head = (this.head + 1) % this.buf.length
      this.count--
    }
  }

  private resize(cap: number): void {
    const buf: (CachedEvent | undefined)[] = new Array(cap)
    const times: number[] = new Array(cap).fill(0)
    for (let k = 0; k < this.count; k++) {
      buf[k] = this.buf[this.at(k)]
      times[k] = this.times[this.at(k)] as number
    }
    this.buf = buf
    this.times = times
    this.head = 0
  }

  /** The events with revision > `after`, oldest first (the caller checks `after >= start`). */
  since(after: number): CachedEvent[] {
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.buf[this.at(mid)] as CachedEvent).revision <= after) lo = mid + 1
      else hi = mid
    }
    const out: CachedEvent[] = []
    for (let k = lo; k < this.count; k++) out.push(this.buf[this.at(k)] as CachedEvent)
    return out
  }
}
