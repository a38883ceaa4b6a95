/**
 * Goal: the watch cache (--watch-cache) changes where lists and watches are read from, never what
 * they answer: one scenario of writes, then lists (resourceVersion unset, 0, NotOlderThan, Exact,
 * selectors, pages with continue, Tables) and watches (from a revision, with the initial state,
 * through selector changes), gives the same answers over the same kind of store with the cache on
 * and off.
 * Method: two api-servers through the contract fixture, each over its own memory store, one with the
 * cache and one without; the same scenario runs on both and every answer is normalized (revisions,
 * uids, timestamps and continue tokens are per store) before the two transcripts are compared. A few
 * absolute checks make sure the transcript is not the same because both are empty or broken.
 */
import { type CachedStorage, createMemoryStorage } from '@hakube/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContractFixture, type Json, MERGE, pod } from './contract-fixture.js'

/** Replaces what differs between two stores (revisions, uids, times, tokens) by placeholders. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize)
  if (value === null || typeof value !== 'object') return value
  const out: Json = {}
  for (const [k, v] of Object.entries(value as Json)) {
    if (k === 'resourceVersion' || k === 'uid' || k === 'continue') out[k] = v === '' ? '' : '<set>'
    else if (k === 'creationTimestamp' || k === 'time' || k === 'deletionTimestamp') out[k] = '<time>'
    else out[k] = normalize(v)
  }
  return out
}

/** A request path without what differs between the stores (revisions, continue tokens). */
const pathShape = (path: string): string =>
  path.replace(/resourceVersion=[1-9][0-9]*/g, 'resourceVersion=N').replace(/continue=[^&]*/g, 'continue=T')

/** The scenario: writes, then reads; returns every read's answer, normalized. */
async function transcript(fx: ContractFixture): Promise<unknown[]> {
  const out: unknown[] = []
  const get = async (path: string, accept?: string): Promise<Json> => {
    const r = await fx.call('GET', path, undefined, accept)
    out.push({ path: pathShape(path), status: r.status, body: normalize(r.body) })
    return r.body
  }
  const watch = async (path: string, n: number, during: () => Promise<void>): Promise<void> => {
    const events = await fx.watchHttp(path, n, during)
    const frames = events.filter((e) => e['type'] !== 'BOOKMARK' || e['object'].metadata.annotations)
    out.push({ watch: pathShape(path), events: normalize(frames) })
  }
  for (const ns of ['d-a', 'd-b']) await fx.ns(ns)
  const first = await fx.call('POST', '/api/v1/namespaces/d-a/pods', pod('p00', { tier: 'web' }))
  expect(first.status).toBe(201)
  const rvFirst = first.body['metadata'].resourceVersion as string
  for (let i = 1; i < 12; i++) {
    const ns = i % 3 === 0 ? 'd-b' : 'd-a'
    const name = `p${String(i).padStart(2, '0')}`
    const r = await fx.call(
      'POST',
      `/api/v1/namespaces/${ns}/pods`,
      pod(name, { tier: i % 2 ? 'db' : 'web' }),
    )
    expect(r.status).toBe(201)
  }
  const patched = await fx.call(
    'PATCH',
    '/api/v1/namespaces/d-a/pods/p01',
    { metadata: { labels: { tier: 'web' } } },
    MERGE,
  )
  expect(patched.status).toBe(200)
  expect((await fx.call('DELETE', '/api/v1/namespaces/d-a/pods/p02?gracePeriodSeconds=0')).status).toBe(200)
  const last = (await fx.call('GET', '/api/v1/pods')).body['metadata'].resourceVersion as string

  // Lists: NotOlderThan first (it waits for the cache), so that the resourceVersion=0 lists after it
  // see at least that state through the cache too (a cache never goes back).
  const all = await get(`/api/v1/pods?resourceVersion=${last}&resourceVersionMatch=NotOlderThan`)
  expect(all['items']).toHaveLength(11)
  await get('/api/v1/pods')
  await get('/api/v1/pods?resourceVersion=0')
  await get(`/api/v1/pods?resourceVersion=${last}`)
  await get('/api/v1/namespaces/d-a/pods?labelSelector=tier%3Dweb')
  await get('/api/v1/pods?resourceVersion=0&labelSelector=tier%20in%20(db)')
  await get('/api/v1/pods?fieldSelector=metadata.namespace%3Dd-b')
  await get(`/api/v1/pods?resourceVersion=${rvFirst}&resourceVersionMatch=Exact`)
  // Pages: limit, then continue to the end (kube's pages with and without a resourceVersion).
  for (const start of ['/api/v1/pods?limit=4', '/api/v1/pods?limit=4&resourceVersion=0']) {
    let page = await get(start)
    for (let i = 0; page['metadata'].continue && i < 10; i++)
      page = await get(`/api/v1/pods?limit=4&continue=${encodeURIComponent(page['metadata'].continue)}`)
  }
  await get('/api/v1/namespaces/d-a/pods', 'application/json;as=Table;v=v1;g=meta.k8s.io')
  await get('/api/v1/namespaces/d-a/pods/p00')

  // Watches: from a revision (the replay of every change after it), with the initial state, and
  // through selector changes (an object leaving the selection is DELETED, entering it ADDED).
  await watch(`/api/v1/namespaces/d-a/pods?watch=true&resourceVersion=${rvFirst}`, 9, async () => {})
  await watch('/api/v1/namespaces/d-b/pods?watch=true', 4, async () => {
    await fx.call('POST', '/api/v1/namespaces/d-b/pods', pod('w1', { tier: 'db' }))
  })
  await watch(
    '/api/v1/namespaces/d-a/pods?watch=true&resourceVersion=0&labelSelector=tier%3Dweb',
    7,
    async () => {
      await fx.call(
        'PATCH',
        '/api/v1/namespaces/d-a/pods/p00',
        { metadata: { labels: { tier: 'db' } } },
        MERGE,
      )
      await fx.call(
        'PATCH',
        '/api/v1/namespaces/d-a/pods/p05',
        { metadata: { labels: { tier: 'web' } } },
        MERGE,
      )
      await fx.call('DELETE', '/api/v1/namespaces/d-a/pods/p04?gracePeriodSeconds=0')
    },
  )
  const now = (await fx.call('GET', '/api/v1/pods')).body['metadata'].resourceVersion as string
  await watch(
    `/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=${now}&allowWatchBookmarks=true`,
    11,
    async () => {},
  )
  return out
}

describe('watch cache: the same answers with the cache on and off', () => {
  const on = new ContractFixture()
  const off = new ContractFixture()
  beforeAll(async () => {
    await on.start(async () => ({ storage: createMemoryStorage(), watchCache: true }))
    await off.start(async () => ({ storage: createMemoryStorage() }))
  }, 60_000)
  afterAll(async () => {
    await on.stop()
    await off.stop()
  }, 60_000)

  it('lists and watches give the same transcript', async () => {
    const t0 = Date.now()
    const withCache = await transcript(on)
    const t1 = Date.now()
    const without = await transcript(off)
    console.log(
      `[watch-cache] transcript of ${withCache.length} answers: ${t1 - t0} ms with the cache, ${Date.now() - t1} ms without`,
    )
    expect(on.watchCache).toBe(true)
    expect(off.watchCache).toBe(false)
    expect(withCache).toHaveLength(without.length)
    for (let i = 0; i < without.length; i++) expect(withCache[i], `answer ${i}`).toEqual(without[i])
    // Not the same by being empty: the Exact list at the first pod's revision has one pod.
    const exact = without.find((a) => String((a as Json)['path']).includes('Exact')) as Json
    expect(exact['body'].items.map((p: Json) => p['metadata'].name)).toEqual(['p00'])
    // And the cache did answer: lists from its state, watches from its one store watch of pods.
    const pods = (on.storage as CachedStorage).stats()['pods']
    console.log(`[watch-cache] pods cache: ${JSON.stringify(pods)}`)
    expect(pods?.listsFromCache).toBeGreaterThanOrEqual(10)
    expect(pods?.innerWatches).toBe(1)
  })
})
