/** The storage contract against the memory backend (the MVCC library in-process). */
import { describe, expect, it } from 'vitest'
import { createMemoryStorage } from '../src/index.js'
import { clockStartRevision } from '../src/memory.js'
import { EventLog, expectError, storageContract } from './contract.js'

storageContract('memory', async () => {
  const storage = createMemoryStorage()
  return { storage, canTimeout: false, newStorage: () => storage.client() }
})

describe('memory backend specifics', () => {
  it('progressNotify watches get BOOKMARK events at the current revision', async () => {
    const s = createMemoryStorage({ progressNotifyIntervalMs: 50 })
    const log = new EventLog()
    const created = await s.create('/registry/pods/ns/a', {})
    await s.watch({ prefix: '/registry/pods/', afterRevision: 0, progressNotify: true }, log.handler)
    const [ev] = await log.until(1, 5_000)
    expect(ev).toEqual({ type: 'BOOKMARK', revision: created.modRevision })
    await s.close()
  })

  it('requestWatchProgress: progressNotify watches get a BOOKMARK at once, others nothing', async () => {
    const s = createMemoryStorage({ progressNotifyIntervalMs: 3_600_000 })
    const withProgress = new EventLog()
    const without = new EventLog()
    const created = await s.create('/registry/pods/ns/a', {})
    await s.watch({ prefix: '/registry/pods/', afterRevision: 0, progressNotify: true }, withProgress.handler)
    await s.watch({ prefix: '/registry/pods/', afterRevision: 0 }, without.handler)
    s.requestWatchProgress()
    const [ev] = await withProgress.until(1, 5_000)
    expect(ev).toEqual({ type: 'BOOKMARK', revision: created.modRevision })
    await new Promise((r) => setTimeout(r, 20))
    expect(without.events).toEqual([])
    await s.close()
  })

  it('a slow handler does not lose events: past the buffer limit the watch replays from history', async () => {
    const s = createMemoryStorage({ maxBufferedWatchResponses: 4 })
    const log = new EventLog()
    await s.watch({ prefix: '/registry/pods/', afterRevision: 0 }, log.handler)
    // 50 writes in one synchronous burst: far more responses than the buffer holds.
    const writes = Array.from({ length: 50 }, (_, i) => s.create(`/registry/pods/ns/p${i}`, { i }))
    await Promise.all(writes)
    const evs = await log.until(50, 5_000)
    expect(evs.map((e) => (e.type === 'ADDED' ? e.object.value : e.type))).toEqual(
      Array.from({ length: 50 }, (_, i) => ({ i })),
    )
    await s.close()
  })

  it('a new life never serves a revision of the previous one: reads and watches from it are TooOld', async () => {
    // Goal: the restart bug of issue 10 (an informer resumed at an old resourceVersion saw neither a
    // new object nor a deletion). Method: one life writes and closes, a second life (a restarted
    // process) does the same writes; every revision of the first must be refused, never answered.
    const first = createMemoryStorage()
    const a = await first.create('/registry/pods/ns/a', { life: 1 })
    const b = await first.create('/registry/pods/ns/b', { life: 1 })
    await first.close()
    await new Promise((r) => setTimeout(r, 5)) // a restart takes longer than a millisecond
    const second = createMemoryStorage()
    const start = await second.currentRevision()
    expect(start).toBeGreaterThan(b.modRevision)
    await second.create('/registry/pods/ns/a', { life: 2 })
    await second.create('/registry/pods/ns/c', { life: 2 })
    await second.delete('/registry/pods/ns/a')
    for (const old of [a.modRevision, b.modRevision]) {
      await expectError(second.list({ prefix: '/registry/pods/', revision: old }), 'TooOld')
      await expectError(second.get('/registry/pods/ns/a', { revision: old }), 'TooOld')
      const log = new EventLog()
      await second.watch({ prefix: '/registry/pods/', afterRevision: old }, log.handler)
      const [ev] = await log.until(1, 5_000)
      expect(ev?.type === 'ERROR' && ev.error.code).toBe('TooOld')
    }
    // This life's own history is served as usual, from its first revision on.
    const log = new EventLog()
    await second.watch({ prefix: '/registry/pods/', afterRevision: start }, log.handler)
    expect((await log.until(3, 5_000)).map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'DELETED'])
    await second.close()
  })

  it('startRevision: an explicit start, and the clock default in microseconds within 2^53', async () => {
    const s = createMemoryStorage({ startRevision: 1000 })
    expect(await s.currentRevision()).toBe(1000)
    expect((await s.create('/registry/pods/ns/a', {})).modRevision).toBe(1001)
    await expectError(s.list({ prefix: '/registry/pods/', revision: 999 }), 'TooOld')
    await s.close()
    const one = createMemoryStorage({ startRevision: 1 })
    expect(await one.currentRevision()).toBe(1)
    await one.close()
    expect(() => createMemoryStorage({ startRevision: 0 })).toThrow(/startRevision/)
    expect(clockStartRevision(1_765_000_000_123)).toBe(1_765_000_000_123_000)
    // The year 2255 still fits: resourceVersions stay exact numbers.
    expect(Number.isSafeInteger(clockStartRevision(Date.UTC(2255, 0, 1)))).toBe(true)
  })
})
