/**
 * The watch cache's own behaviour (src/cache/), beyond the shared contract.
 * Goal: what makes it kube's cacher: replay from the ring and TooOld beyond it, consistent lists that
 * wait for the cache to catch up (or fall back), one inner watch for many watchers, a slow watcher
 * ended without holding up the others, bookmarks, and recovery when the inner watch fails.
 * Method: a CachedStorage over a spy (test/cache-spy.ts) over the memory backend; the spy counts inner
 * lists and watches, delays inner events, and ends inner watches with an ERROR on demand; answers are
 * compared with the memory backend's own.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  CachedStorage,
  type CachedStorageOptions,
  createMemoryStorage,
  type MemoryStorageOptions,
  parseWatchCacheSizes,
  StorageError,
  type WatchEvent,
} from '../src/index.js'
import { ProgressSpyStorage, SpyStorage } from './cache-spy.js'
import { EventLog } from './contract.js'

const PODS = '/registry/pods/'
const open: CachedStorage[] = []

function setup(
  options: CachedStorageOptions = {},
  memoryOptions: MemoryStorageOptions = {},
  progress = false,
) {
  const memory = createMemoryStorage(memoryOptions)
  const spy = progress ? new ProgressSpyStorage(memory) : new SpyStorage(memory)
  const cache = new CachedStorage(spy, options)
  open.push(cache)
  return { memory, spy, cache }
}

afterEach(async () => {
  for (const c of open.splice(0)) await c.close()
})

async function until(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const pod = (ns: string, name: string) => `${PODS}${ns}/${name}`

describe('CachedStorage', () => {
  it('replays a watch from the ring exactly as the store does (prefix, namespace, key)', async () => {
    const { memory, spy, cache } = setup({ sizes: { pods: 50 } })
    await cache.list({ prefix: PODS, consistency: 'any' }) // starts the cache
    const start = await cache.currentRevision()
    const a = await cache.create(pod('a', 'p1'), { v: 1 })
    await cache.create(pod('b', 'p1'), { v: 1 })
    await cache.update(pod('a', 'p1'), { v: 2 }, a.modRevision)
    await cache.delete(pod('b', 'p1'))
    await cache.create(pod('a', 'p2'), { v: 1 })
    for (const [opts, n] of [
      [{ prefix: PODS }, 5],
      [{ prefix: `${PODS}a/` }, 3],
      [{ key: pod('a', 'p1') }, 2],
    ] as const) {
      const viaCache = new EventLog()
      const viaStore = new EventLog()
      const w1 = await cache.watch({ ...opts, afterRevision: start, prevKv: true }, viaCache.handler)
      const w2 = await memory.watch({ ...opts, afterRevision: start, prevKv: true }, viaStore.handler)
      await viaCache.until(n)
      await viaStore.until(n)
      w1.close()
      w2.close()
      expect(viaCache.events).toEqual(viaStore.events)
    }
    // A replay from the middle, without prevKv: MODIFIED carries no prevObject.
    const mid = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: a.modRevision + 1 }, mid.handler)
    const evs = await mid.until(3)
    expect(evs[0]).toEqual({
      type: 'MODIFIED',
      object: await memory.get(pod('a', 'p1')),
      revision: a.modRevision + 2,
    })
    expect(spy.watchesOn(PODS)).toBe(1) // every watch above came from the cache's one inner watch
  })

  it('a position the ring has dropped is TooOld at once; one before a young cache goes to the store', async () => {
    const { memory, spy, cache } = setup({ sizes: { pods: 5 }, eventFreshMs: 0 }) // a fixed ring of 5
    const early = await cache.create(pod('a', 'early'), {})
    await cache.list({ prefix: PODS, consistency: 'any' })
    const startRev = cache.stats()['pods']!.revision
    // Before the cache started, but the ring has dropped nothing: the store replays it.
    const young = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: early.modRevision - 1 }, young.handler)
    expect((await young.until(1))[0]).toMatchObject({ type: 'ADDED', revision: early.modRevision })
    expect(spy.watchesOn(PODS)).toBe(2)
    for (let i = 0; i < 12; i++) await cache.create(pod('a', `p${i}`), { i })
    const last = await memory.currentRevision()
    await until('the cache to catch up', () => cache.stats()['pods']!.revision === last)
    const ringStart = cache.stats()['pods']!.ringStart
    expect(ringStart).toBe(last - 5)
    const old = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: startRev }, old.handler)
    const [ev] = await old.until(1)
    expect(ev?.type === 'ERROR' && ev.error.code).toBe('TooOld')
    if (ev?.type === 'ERROR') expect(ev.error.revision).toBe(ringStart + 1)
    await new Promise((r) => setTimeout(r, 50))
    expect(old.events).toHaveLength(1) // terminal
    const edge = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: ringStart }, edge.handler)
    expect((await edge.until(5)).map((e) => e.type === 'ADDED' && e.revision)).toEqual(
      [1, 2, 3, 4, 5].map((i) => ringStart + i),
    )
    expect(spy.watchesOn(PODS)).toBe(2) // no store watch for either
  })

  it('a consistent list waits for the cache to catch up with the store, or falls back to it', async () => {
    const { spy, cache } = setup(
      { consistentListFromCache: true, consistentReadWaitMs: 2_000 },
      { progressNotifyIntervalMs: 50 },
    )
    await cache.list({ prefix: PODS })
    spy.eventDelayMs = 300 // the store's watch lags 300 ms behind its writes
    const c = await cache.create(pod('a', 'p'), { v: 1 })
    const t0 = Date.now()
    const listed = await cache.list({ prefix: PODS })
    const waited = Date.now() - t0
    console.log(`[cache] consistent list waited ${waited} ms for a watch lagging 300 ms`)
    expect(listed.items.map((i) => i.key)).toEqual([c.key])
    expect(listed.revision).toBeGreaterThanOrEqual(c.modRevision)
    expect(waited).toBeGreaterThanOrEqual(200)
    expect(spy.listCalls.filter((p) => p === PODS)).toHaveLength(1) // the cache's initial list only
    // A lag beyond the bound: the store answers (still correct).
    const slow = setup({ consistentListFromCache: true, consistentReadWaitMs: 100 })
    await slow.cache.list({ prefix: PODS })
    slow.spy.eventDelayMs = 1_000
    await slow.cache.create(pod('a', 'q'), {})
    const t1 = Date.now()
    const fallback = await slow.cache.list({ prefix: PODS })
    console.log(`[cache] consistent list fell back to the store after ${Date.now() - t1} ms`)
    expect(fallback.items.map((i) => i.key)).toEqual([pod('a', 'q')])
    expect(slow.spy.listCalls.filter((p) => p === PODS)).toHaveLength(2)
  })

  it('with progress requests, a consistent list of a quiet resource is served from the cache at once', async () => {
    const { spy, cache } = setup({}, {}, true)
    const p = await cache.create(pod('a', 'p'), {})
    await cache.list({ prefix: PODS })
    await cache.create('/registry/leases/ns/l', {}) // the store moves on; pods do not change
    const t0 = Date.now()
    const listed = await cache.list({ prefix: PODS, limit: 1 })
    console.log(`[cache] consistent list after a progress request: ${Date.now() - t0} ms`)
    expect(listed.items).toEqual([p])
    expect(listed.revision).toBe(await cache.currentRevision())
    expect((spy as ProgressSpyStorage).progressRequests).toBeGreaterThanOrEqual(1)
    expect(spy.listCalls.filter((x) => x === PODS)).toHaveLength(1)
    // Many concurrent consistent lists of several resources share a few progress requests.
    const before = (spy as ProgressSpyStorage).progressRequests
    for (const r of ['configmaps', 'secrets']) await cache.list({ prefix: `/registry/${r}/` })
    await cache.create('/registry/leases/ns/l2', {})
    const t1 = Date.now()
    const many = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        cache.list({ prefix: `/registry/${['pods', 'configmaps', 'secrets'][i % 3]}/` }),
      ),
    )
    const requests = (spy as ProgressSpyStorage).progressRequests - before
    console.log(
      `[cache] 30 concurrent consistent lists of 3 quiet resources: ${Date.now() - t1} ms, ${requests} progress requests`,
    )
    expect(requests).toBeGreaterThanOrEqual(1)
    expect(requests).toBeLessThanOrEqual(4)
    const now = await cache.currentRevision()
    for (const l of many) expect(l.revision).toBe(now)
    expect(spy.listCalls).toHaveLength(3) // the three caches' initial lists: every answer came from a cache
  })

  it('many watchers of a resource cost one inner watch', async () => {
    const { spy, cache } = setup()
    const logs: EventLog[] = []
    for (let i = 0; i < 100; i++) {
      const log = new EventLog()
      logs.push(log)
      const opts =
        i % 3 === 0
          ? { prefix: PODS }
          : i % 3 === 1
            ? { prefix: `${PODS}ns${i % 5}/` }
            : { key: pod(`ns${i % 5}`, 'p0') }
      await cache.watch({ ...opts, afterRevision: 0 }, log.handler)
    }
    const t0 = Date.now()
    for (let n = 0; n < 5; n++) for (let j = 0; j < 20; j++) await cache.create(pod(`ns${n}`, `p${j}`), { j })
    for (const [i, log] of logs.entries()) await log.until(i % 3 === 0 ? 100 : i % 3 === 1 ? 20 : 1)
    console.log(`[cache] 100 watchers x 100 creates delivered in ${Date.now() - t0} ms over 1 inner watch`)
    expect(spy.watchesOn(PODS)).toBe(1)
    expect(spy.openWatches).toBe(1)
    expect(cache.stats()['pods']!.watchers).toBe(100)
  })

  it('a watcher too slow to keep up is ended with an ERROR; the others get everything', async () => {
    const { cache } = setup({ watcherBufferSize: 10 })
    const slow: WatchEvent[] = []
    await cache.watch({ prefix: PODS, afterRevision: 0 }, (ev) => {
      slow.push(ev)
      return new Promise<void>(() => {}) // never done with the first event: backpressure forever
    })
    const fast = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: 0 }, fast.handler)
    for (let i = 0; i < 50; i++) await cache.create(pod('a', `p${i}`), { i })
    await fast.until(50)
    expect(slow.map((e) => e.type)).toEqual(['ADDED', 'ERROR'])
    const err = slow[1]
    expect(err?.type === 'ERROR' && err.error.code).toBe('Unavailable')
    expect(err?.type === 'ERROR' && err.error.message).toMatch(/too slow/)
    expect(cache.stats()['pods']!.watchers).toBe(1)
  })

  it('a handler that returns a promise gets backpressure: events wait for it, none lost within the bound', async () => {
    // A bound above the 30 events: however loaded the machine, this watcher is never too slow.
    const { cache } = setup({ watcherBufferSize: 40 })
    const got: number[] = []
    let inFlight = 0
    let maxInFlight = 0
    await cache.watch({ prefix: PODS, afterRevision: 0 }, async (ev) => {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await new Promise((r) => setTimeout(r, 2))
      if (ev.type === 'ADDED') got.push((ev.object.value as { i: number }).i)
      inFlight--
    })
    for (let i = 0; i < 30; i++) {
      await cache.create(pod('a', `p${i}`), { i })
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 15)) // bursts of 5
    }
    await until('every event', () => got.length === 30)
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect(maxInFlight).toBe(1)
  })

  it('a handler that throws or closes its own watch affects no other watcher', async () => {
    const { cache } = setup()
    const fine = new EventLog()
    let thrown = 0
    let closedAfter = 0
    await cache.watch({ prefix: PODS, afterRevision: 0 }, () => {
      thrown++
      throw new Error('handler bug')
    })
    const self = await cache.watch({ prefix: PODS, afterRevision: 0 }, () => {
      closedAfter++
      self.close()
    })
    await cache.watch({ prefix: PODS, afterRevision: 0 }, fine.handler)
    for (let i = 0; i < 5; i++) await cache.create(pod('a', `p${i}`), {})
    await fine.until(5)
    expect([thrown, closedAfter]).toEqual([1, 1])
    expect(cache.stats()['pods']!.watchers).toBe(1)
  })

  it('progressNotify watchers get BOOKMARKs at the cache revision; others do not', async () => {
    const { memory, cache } = setup({ bookmarkIntervalMs: 50 }, { progressNotifyIntervalMs: 30 })
    const c = await cache.create(pod('a', 'p'), {})
    const marks = new EventLog()
    const plain = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: 0, progressNotify: true }, marks.handler)
    await cache.watch({ prefix: PODS, afterRevision: 0 }, plain.handler)
    expect((await marks.until(1))[0]).toEqual({ type: 'BOOKMARK', revision: c.modRevision })
    // The store moves on elsewhere; its progress moves the cache, and the next bookmarks, with it.
    const other = await cache.create('/registry/leases/ns/l', {})
    await until('a bookmark at the store revision', () =>
      marks.events.some((e) => e.type === 'BOOKMARK' && e.revision === other.modRevision),
    )
    expect(other.modRevision).toBe(await memory.currentRevision())
    expect(plain.events).toEqual([])
  })

  it('when the inner watch is lost, the cache re-watches from its revision and watchers miss nothing', async () => {
    const { spy, cache } = setup({ retryDelayMs: 50 })
    const log = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: 0 }, log.handler)
    await cache.create(pod('a', 'p0'), {})
    await log.until(1)
    expect(spy.openWatches).toBe(1)
    spy.failWatches(new StorageError('Unavailable', { detail: 'store lost' }))
    for (let i = 1; i < 4; i++) await cache.create(pod('a', `p${i}`), {})
    const evs = await log.until(4)
    expect(evs.map((e) => e.type === 'ADDED' && e.object.key)).toEqual(
      [0, 1, 2, 3].map((i) => pod('a', `p${i}`)),
    )
    expect(spy.watchesOn(PODS)).toBe(2)
    expect(cache.stats()['pods']).toMatchObject({ phase: 'live', relists: 0 })
  })

  it('when the history it needs was compacted, the cache re-lists and its watchers get TooOld', async () => {
    const { memory, spy, cache } = setup({ retryDelayMs: 300 })
    const log = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: 0 }, log.handler)
    await until('the inner watch', () => cache.stats()['pods']?.phase === 'live')
    spy.failWatches(new StorageError('Unavailable', { detail: 'store lost' }))
    // While the cache waits to re-watch, the store moves on and compacts what the cache missed.
    const a = await memory.create(pod('a', 'p'), { v: 1 })
    await memory.update(pod('a', 'p'), { v: 2 }, a.modRevision)
    await memory.compact(await memory.currentRevision())
    await log.until(1)
    expect(log.summary()).toEqual(['ERROR TooOld'])
    await until('the cache to re-list', () => cache.stats()['pods']?.phase === 'live')
    expect(cache.stats()['pods']!.relists).toBe(1)
    expect(await cache.list({ prefix: PODS, consistency: 'any' })).toEqual(
      await memory.list({ prefix: PODS }),
    )
    const after = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: 0 }, after.handler)
    await memory.delete(pod('a', 'p'))
    expect((await after.until(1))[0]?.type).toBe('DELETED')
  })

  it('an undecodable change ends the watchers with InvalidObject and the cache re-lists', async () => {
    const { memory, spy, cache } = setup({ retryDelayMs: 20 })
    const log = new EventLog()
    await cache.watch({ prefix: PODS, afterRevision: 0 }, log.handler)
    await until('the inner watch', () => cache.stats()['pods']?.phase === 'live')
    spy.failWatches(new StorageError('InvalidObject', { detail: 'stored value is not UTF-8 JSON' }))
    expect(log.summary()).toEqual(['ERROR InvalidObject'])
    await until('the cache to re-list', () => cache.stats()['pods']?.phase === 'live')
    expect(cache.stats()['pods']).toMatchObject({ relists: 1, watchers: 0 })
    const c = await memory.create(pod('a', 'p'), {})
    expect(await cache.waitUntilFresh(PODS, c.modRevision, 5_000)).toBe(true)
    expect((await cache.list({ prefix: PODS, consistency: 'any' })).items).toEqual([c])
  })

  it('objects from the cache are shared and frozen: a caller cannot corrupt them', async () => {
    const { cache } = setup()
    await cache.create(pod('a', 'p'), { metadata: { labels: { x: '1' } } })
    const one = (await cache.list({ prefix: PODS, consistency: 'any' })).items[0]!
    const two = (await cache.list({ prefix: PODS, consistency: 'any' })).items[0]!
    expect(one).toBe(two)
    const value = one.value as { metadata: { labels: Record<string, string> } }
    expect(() => {
      value.metadata.labels['x'] = '2'
    }).toThrow(TypeError)
    expect(((await cache.get(pod('a', 'p'))).value as typeof value).metadata.labels['x']).toBe('1')
  })
})

describe('CachedStorage configuration', () => {
  it("parses kube's --watch-cache-sizes; size 0 leaves a resource to the store; eager caches start at once", async () => {
    expect(parseWatchCacheSizes(['pods#1000,deployments.apps#0', ' events#5 '])).toEqual({
      pods: 1000,
      deployments: 0,
      events: 5,
    })
    expect(() => parseWatchCacheSizes('pods=10')).toThrow(/watch-cache-sizes/)
    const { spy, cache } = setup({ sizes: { events: 0 }, eager: ['nodes'] })
    await until('the eager nodes cache', () => cache.stats()['nodes']?.phase === 'live')
    expect(spy.watchesOn('/registry/nodes/')).toBe(1)
    for (let i = 0; i < 2; i++) await cache.watch({ prefix: '/registry/events/', afterRevision: 0 }, () => {})
    await cache.list({ prefix: '/registry/events/', consistency: 'any' })
    expect(spy.watchesOn('/registry/events/')).toBe(2) // each to the store, no cache
    expect(cache.stats()['events']).toBeUndefined()
    // Keys spanning resources go to the store too.
    await cache.watch({ prefix: '/registry/', afterRevision: 0 }, () => {})
    expect(spy.watchesOn('/registry/')).toBe(1)
    expect(Object.keys(cache.stats())).toEqual(['nodes'])
  })

  it('waitUntilFresh waits for the cache to reach a revision (for NotOlderThan lists)', async () => {
    const { spy, cache } = setup({}, { progressNotifyIntervalMs: 50 })
    await cache.list({ prefix: PODS, consistency: 'any' })
    spy.eventDelayMs = 200
    const c = await cache.create(pod('a', 'p'), {})
    expect(await cache.waitUntilFresh(PODS, c.modRevision, 2_000)).toBe(true)
    const listed = await cache.list({ prefix: PODS, consistency: 'any' })
    expect(listed.revision).toBeGreaterThanOrEqual(c.modRevision)
    expect(listed.items.map((i) => i.key)).toEqual([c.key])
    expect(await cache.waitUntilFresh(PODS, c.modRevision + 1_000, 50)).toBe(false)
  })
})
