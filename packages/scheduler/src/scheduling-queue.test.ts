import { describe, expect, it } from 'vitest'
import { SchedulingQueue } from './scheduling-queue.js'
import { makePod } from './testing/objects.js'

describe('SchedulingQueue', () => {
  it('hands out higher priority first, then arrival order', () => {
    const q = new SchedulingQueue()
    q.add(makePod({ name: 'a' }), 1)
    q.add(makePod({ name: 'b', priority: 10 }), 2)
    q.add(makePod({ name: 'c' }), 3)
    q.add(makePod({ name: 'd', priority: 10 }), 4)
    const order = [q.pop(), q.pop(), q.pop(), q.pop(), q.pop()].map((p) => p?.pod.metadata?.name)
    expect(order).toEqual(['b', 'd', 'a', 'c', undefined])
  })

  it('backs off 1 s doubling to 10 s per attempt', () => {
    const q = new SchedulingQueue()
    q.add(makePod({ name: 'a' }), 0)
    const durations: number[] = []
    let now = 0
    for (let i = 0; i < 6; i++) {
      const qp = q.pop()
      if (qp === undefined) throw new Error('expected a pod')
      durations.push(q.backoffDurationMs(qp))
      q.addBackoff(qp, now)
      q.flushBackoffCompleted(now + q.backoffDurationMs(qp) - 1)
      expect(q.pop()).toBeUndefined()
      now += q.backoffDurationMs(qp)
      q.flushBackoffCompleted(now)
    }
    expect(durations).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000])
  })

  it('parks unschedulable pods until a cluster event, then backs off or activates them', () => {
    const q = new SchedulingQueue()
    q.add(makePod({ name: 'a' }), 0)
    const qp = q.pop()
    if (qp === undefined) throw new Error('expected a pod')
    q.addUnschedulable(qp, q.currentCycle(), 0)
    expect(q.counts()).toEqual({ active: 0, backoff: 0, unschedulable: 1 })
    q.flushBackoffCompleted(60_000)
    expect(q.pop()).toBeUndefined()
    // An event during the backoff: to backoffQ; after it: to activeQ.
    q.moveAllToActiveOrBackoff(500)
    expect(q.counts()).toEqual({ active: 0, backoff: 1, unschedulable: 0 })
    q.flushBackoffCompleted(1000)
    expect(q.pop()?.pod.metadata?.name).toBe('a')
  })

  it('sends a pod to backoff, not the unschedulable set, when an event came during its attempt', () => {
    const q = new SchedulingQueue()
    q.add(makePod({ name: 'a' }), 0)
    const qp = q.pop()
    if (qp === undefined) throw new Error('expected a pod')
    const cycle = q.currentCycle()
    q.moveAllToActiveOrBackoff(10)
    q.addUnschedulable(qp, cycle, 10)
    expect(q.counts()).toEqual({ active: 0, backoff: 1, unschedulable: 0 })
  })

  it('retries leftovers after 5 minutes and moves a parked pod whose spec changed', () => {
    const q = new SchedulingQueue()
    q.add(makePod({ name: 'a' }), 0)
    q.add(makePod({ name: 'b' }), 0)
    for (let i = 0; i < 2; i++) {
      const qp = q.pop()
      if (qp === undefined) throw new Error('expected a pod')
      q.addUnschedulable(qp, q.currentCycle(), 0)
    }
    q.update(makePod({ name: 'b', nodeSelector: { x: 'y' } }), true, 5000)
    expect(q.pop()?.pod.metadata?.name).toBe('b')
    q.flushUnschedulableLeftover(300_000)
    expect(q.pop()).toBeUndefined()
    q.flushUnschedulableLeftover(300_001)
    expect(q.pop()?.pod.metadata?.name).toBe('a')
  })

  it('forgets deleted pods wherever they are', () => {
    const q = new SchedulingQueue()
    q.add(makePod({ name: 'a' }), 0)
    q.add(makePod({ name: 'b' }), 1)
    q.delete('uid-a')
    expect(q.pop()?.pod.metadata?.name).toBe('b')
    expect(q.pop()).toBeUndefined()
    expect(q.counts()).toEqual({ active: 0, backoff: 0, unschedulable: 0 })
  })
})
