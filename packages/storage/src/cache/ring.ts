/**
 * The ring of recent events of one resource (kube's watchCache's cyclic buffer): the last `capacity`
 * changes, so a watcher can resume from any revision at or after {@link EventRing.start} without the
 * store.
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

export class EventRing {
  private readonly buf: (CachedEvent | undefined)[]
  private head = 0
  private count = 0
  /** Every change after this revision is in the ring. */
  start: number
  /** Whether an event was ever dropped for room (then older positions are TooOld, not the store's). */
  evicted = false

  constructor(
    readonly capacity: number,
    start: number,
  ) {
    this.buf = new Array(Math.max(1, capacity))
    this.start = start
  }

  get length(): number {
    return this.count
  }

  push(ev: CachedEvent): void {
    const cap = this.buf.length
    if (this.count === cap) {
      const oldest = this.buf[this.head] as CachedEvent
      this.start = oldest.revision
      this.evicted = true
      this.buf[this.head] = ev
      this.head = (this.head + 1) % cap
      return
    }
    this.buf[(this.head + this.count) % cap] = ev
    this.count++
  }

  /** The events with revision > `after`, oldest first (the caller checks `after >= start`). */
  since(after: number): CachedEvent[] {
    const cap = this.buf.length
    // Binary search over the ring's logical order for the first revision > after.
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.buf[(this.head + mid) % cap] as CachedEvent).revision <= after) lo = mid + 1
      else hi = mid
    }
    const out: CachedEvent[] = []
    for (let i = lo; i < this.count; i++) out.push(this.buf[(this.head + i) % cap] as CachedEvent)
    return out
  }
}
