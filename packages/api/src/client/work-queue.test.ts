/**
 * Goal: the work queue keeps client-go's contract (dedup, one worker per key, requeue after done,
 * delays, rate limits, shutdown). Method: direct calls; time-based parts under vitest's fake timers
 * (which also fake Date.now, the queue's default clock).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter } from './rate-limiter.js'
import { WorkQueue } from './work-queue.js'

afterEach(() => {
  vi.useRealTimers()
})

/** Resolves the value of `p` if it settles within the current microtask queue, else 'pending'. */
async function peek<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setImmediate(() => r('pending')))])
}

describe('WorkQueue', () => {
  it('deduplicates keys added while queued and keeps FIFO order', async () => {
    const q = new WorkQueue()
    q.add('a')
    q.add('b')
    q.add('a')
    expect(q.len()).toBe(2)
    expect(await q.get()).toBe('a')
    expect(await q.get()).toBe('b')
    q.shutDown()
  })

  it('a key added while processing is requeued once, after done', async () => {
    const q = new WorkQueue()
    q.add('a')
    const a = (await q.get())!
    q.add('a')
    q.add('a')
    expect(q.len()).toBe(0) // never handed to a second worker while the first holds it
    const second = q.get()
    expect(await peek(second)).toBe('pending')
    q.done(a)
    expect(await second).toBe('a')
    q.done('a')
    expect(await peek(q.get())).toBe('pending') // requeued once only
    q.shutDown()
  })

  it('get() waits for an add; done() of a key not processing is ignored', async () => {
    const q = new WorkQueue()
    const pending = q.get()
    expect(await peek(pending)).toBe('pending')
    q.add('x')
    expect(await pending).toBe('x')
    q.done('never-got')
    q.done('x')
    q.shutDown()
  })

  it('shutDown: adds ignored, queued items still handed out, then undefined to every waiter', async () => {
    const q = new WorkQueue()
    q.add('a')
    const idle = new WorkQueue()
    const w1 = idle.get()
    const w2 = idle.get()
    idle.shutDown()
    expect(await w1).toBeUndefined()
    expect(await w2).toBeUndefined()
    q.shutDown()
    q.add('b')
    expect(q.shuttingDown()).toBe(true)
    expect(await q.get()).toBe('a')
    expect(await q.get()).toBeUndefined()
  })

  it('shutDownWithDrain waits for items being processed', async () => {
    const q = new WorkQueue()
    q.add('a')
    const a = (await q.get())!
    let drained = false
    const drain = q.shutDownWithDrain().then(() => {
      drained = true
    })
    await peek(drain)
    expect(drained).toBe(false)
    q.done(a)
    await drain
    expect(drained).toBe(true)
    await new WorkQueue().shutDownWithDrain() // nothing processing: resolves at once
  })

  it('addAfter delivers after the delay and keeps the earliest time per key', async () => {
    vi.useFakeTimers()
    const q = new WorkQueue()
    q.addAfter('a', 100)
    q.addAfter('a', 500) // later: ignored
    q.addAfter('b', 50)
    q.addAfter('c', 0) // at once
    expect(q.len()).toBe(1)
    vi.advanceTimersByTime(49)
    expect(q.len()).toBe(1)
    vi.advanceTimersByTime(1)
    expect(q.len()).toBe(2)
    vi.advanceTimersByTime(50)
    expect(q.len()).toBe(3)
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['c', 'b', 'a'])
    vi.advanceTimersByTime(1_000)
    expect(q.len()).toBe(0)
    q.addAfter('d', 10)
    q.shutDown()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('addRateLimited backs off per item 5 ms·2^n, forget resets, numRequeues counts', async () => {
    vi.useFakeTimers()
    const q = new WorkQueue()
    const delays: number[] = []
    for (let i = 0; i < 5; i++) {
      q.addRateLimited('k')
      let waitedMs = 0
      while (q.len() === 0) {
        vi.advanceTimersByTime(1)
        waitedMs++
      }
      delays.push(waitedMs)
      q.done((await q.get())!)
    }
    expect(delays).toEqual([5, 10, 20, 40, 80])
    expect(q.numRequeues('k')).toBe(5)
    q.forget('k')
    expect(q.numRequeues('k')).toBe(0)
    q.addRateLimited('k')
    vi.advanceTimersByTime(5)
    expect(q.len()).toBe(1)
    q.shutDown()
  })

  it('the default limiter caps per-item backoff at 1000 s and applies a 10 qps / 100 burst bucket', () => {
    vi.useFakeTimers()
    const item = new ItemExponentialFailureRateLimiter<string>(5, 1_000_000)
    for (let i = 0; i < 30; i++) item.when('x')
    expect(item.when('x')).toBe(1_000_000)

    const bucket = new BucketRateLimiter<string>(10, 100)
    const burst = Array.from({ length: 100 }, (_, i) => bucket.when(`k${i}`))
    expect(burst.every((d) => d === 0)).toBe(true)
    expect(bucket.when('k100')).toBe(100) // 101st: one token at 10 qps = 100 ms
    expect(bucket.when('k101')).toBe(200)
    vi.advanceTimersByTime(1_000) // refills 10 tokens, debt was 2
    expect(bucket.when('k102')).toBe(0)

    const both = new MaxOfRateLimiter<string>(
      new ItemExponentialFailureRateLimiter(5, 1_000_000),
      new BucketRateLimiter(10, 1),
    )
    expect(both.when('a')).toBe(5) // item: 5, bucket: 0
    expect(both.when('b')).toBe(100) // item: 5, bucket in debt: 100
    expect(both.numRequeues('a')).toBe(1)
    both.forget('a')
    expect(both.numRequeues('a')).toBe(0)
  })

  it('a burst of rate-limited adds of distinct keys spreads at 10 qps after the first 100', () => {
    vi.useFakeTimers()
    const q = new WorkQueue()
    for (let i = 0; i < 120; i++) q.addRateLimited(`k${i}`)
    vi.advanceTimersByTime(5) // per-item base delay for the first 100
    expect(q.len()).toBe(100)
    vi.advanceTimersByTime(1_000)
    expect(q.len()).toBe(110)
    vi.advanceTimersByTime(1_000)
    expect(q.len()).toBe(120)
    q.shutDown()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects bad limiter settings', () => {
    expect(() => new ItemExponentialFailureRateLimiter(0, 10)).toThrow()
    expect(() => new BucketRateLimiter(0, 10)).toThrow()
    expect(() => new MaxOfRateLimiter()).toThrow()
  })
})
