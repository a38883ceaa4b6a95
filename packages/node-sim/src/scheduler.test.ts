/**
 * Goal: the shared scheduling pieces keep their promises: the heap pops in due order (FIFO among
 * equal times), heartbeats are spread and retried as the kubelet does, and the request pool never
 * exceeds its bound and serves heartbeats first. Method: plain numbers and promises, no wall clock.
 */
import { describe, expect, it } from 'vitest'
import { backoffMs, renewalDueMs } from './heartbeats.js'
import { RequestPool } from './request-pool.js'
import { DueHeap } from './scheduler.js'

describe('DueHeap', () => {
  it('pops due entries in time order, FIFO among equals, none early', () => {
    const seed = Number(process.env['SEED'] ?? Date.now() % 100_000)
    let x = seed
    const rand = () => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31
      return x / 2 ** 31
    }
    const h = new DueHeap<number>()
    const items = Array.from({ length: 2000 }, (_, i) => ({ due: Math.floor(rand() * 500), i }))
    for (const it of items) h.push(it.due, it.i)
    expect(h.popDue(-1), `SEED=${seed}`).toBeUndefined()
    const out: number[] = []
    for (let e = h.popDue(1000); e !== undefined; e = h.popDue(1000)) out.push(e.value)
    const expected = [...items].sort((a, b) => a.due - b.due || a.i - b.i).map((e) => e.i)
    expect(out, `SEED=${seed}`).toEqual(expected)
    expect(h.size).toBe(0)
  })
})

describe('Lease renewal slots', () => {
  it('spread N nodes evenly over the interval, whatever the time they registered at', () => {
    const I = 10_000
    // 5 nodes registering in reverse order over 3 s land on slots 0, 2, 4, 6, 8 s of the grid.
    const slots = [4, 3, 2, 1, 0].map((i, k) => renewalDueMs(i, 5, I, 0, 500 + k * 750) % I)
    expect(slots).toEqual([8000, 6000, 4000, 2000, 0])
    // On the grid, each renews exactly one interval after its slot.
    for (const i of [0, 1, 2, 3, 4])
      expect(renewalDueMs(i, 5, I, 0, 20_000 + i * 2000)).toBe(30_000 + i * 2000)
  })

  it('never sooner than a quarter interval, never later than 1.25 intervals, always on the grid', () => {
    const seed = Number(process.env['SEED'] ?? Date.now() % 100_000)
    let x = seed
    const rand = () => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31
      return x / 2 ** 31
    }
    for (let k = 0; k < 5000; k++) {
      const count = 1 + Math.floor(rand() * 5000)
      const index = Math.floor(rand() * count)
      const I = 1000 + Math.floor(rand() * 20_000)
      const now = Math.floor(rand() * 1e9)
      const origin = Math.floor(rand() * now) // the simulator started before now
      const d = renewalDueMs(index, count, I, origin, now)
      expect(d - now, `SEED=${seed}`).toBeGreaterThan(I / 4)
      expect(d - now, `SEED=${seed}`).toBeLessThanOrEqual(1.25 * I)
      expect((d - origin - Math.floor((index * I) / count)) % I, `SEED=${seed}`).toBe(0)
    }
  })
})

describe('heartbeat retries', () => {
  it("back off as the kubelet's lease controller: 200 ms doubling to 7 s", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(backoffMs)).toEqual([200, 400, 800, 1600, 3200, 6400, 7000, 7000])
  })
})

describe('RequestPool', () => {
  it('keeps at most `limit` requests in flight; leases first, then heartbeats, then pod work', async () => {
    const pool = new RequestPool(2)
    const order: string[] = []
    let peak = 0
    const gates: Array<() => void> = []
    const job = (name: string) => () => {
      order.push(name)
      peak = Math.max(peak, pool.active)
      return new Promise<void>((r) => gates.push(r))
    }
    const all = [
      pool.submit('pods', job('p1')),
      pool.submit('pods', job('p2')),
      pool.submit('pods', job('p3')),
      pool.submit('heartbeat', job('h1')),
      pool.submit('lease', job('l1')),
    ]
    expect(order).toEqual(['p1', 'p2'])
    expect(pool.queued).toBe(3)
    while (gates.length > 0) {
      gates.shift()?.()
      await new Promise((r) => setTimeout(r, 0))
    }
    await Promise.all(all)
    expect(order).toEqual(['p1', 'p2', 'l1', 'h1', 'p3'])
    expect(peak).toBe(2)
  })
})
