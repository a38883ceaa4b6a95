/**
 * The watch cache's ring of events (src/cache/ring.ts).
 * Goal: replay positions and the ring's start stay exact as it drops, grows and shrinks like kube's
 * dynamic watch cache. Method: a fake clock; events pushed one revision apart; after each step, the
 * ring's start, capacity and `since` answers are checked against the pushed history.
 */
import { describe, expect, it } from 'vitest'
import { type CachedEvent, EventRing } from '../src/cache/ring.js'

const ev = (revision: number): CachedEvent => ({
  type: 'ADDED',
  object: {
    key: `/registry/pods/ns/p${revision}`,
    value: {},
    modRevision: revision,
    createRevision: revision,
  },
  revision,
})

describe('EventRing', () => {
  it('a fixed ring keeps the last N events; start is the last dropped revision', () => {
    const ring = new EventRing({ minCapacity: 4, maxCapacity: 4, freshMs: 0 }, 10)
    for (let r = 11; r <= 20; r++) ring.push(ev(r))
    expect(ring.capacity).toBe(4)
    expect(ring.start).toBe(16)
    expect(ring.evicted).toBe(true)
    expect(ring.since(16).map((e) => e.revision)).toEqual([17, 18, 19, 20])
    expect(ring.since(18).map((e) => e.revision)).toEqual([19, 20])
    expect(ring.since(20)).toEqual([])
  })

  it('grows while its oldest event is fresh, up to the maximum; shrinks once the newer half is stale', () => {
    let now = 0
    const ring = new EventRing({ minCapacity: 4, maxCapacity: 32, freshMs: 1_000 }, 0, () => now)
    for (let r = 1; r <= 40; r++) ring.push(ev(r)) // all within one instant: fresh
    expect(ring.capacity).toBe(32)
    expect(ring.start).toBe(8) // 40 - 32
    expect(ring.since(8).map((e) => e.revision)).toEqual(Array.from({ length: 32 }, (_, i) => 9 + i))
    now = 5_000 // everything is stale now
    ring.push(ev(41))
    expect(ring.capacity).toBe(16)
    expect(ring.start).toBe(41 - 16)
    expect(ring.since(ring.start).map((e) => e.revision)).toEqual(
      Array.from({ length: 16 }, (_, i) => 26 + i),
    )
    for (let r = 42; r <= 80; r++) {
      now += 2_000
      ring.push(ev(r))
    }
    expect(ring.capacity).toBe(4) // back to the minimum, never below
    expect(ring.since(ring.start).map((e) => e.revision)).toEqual([77, 78, 79, 80])
  })
})
