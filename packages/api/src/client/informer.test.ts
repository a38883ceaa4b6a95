/**
 * Goal: the informer's cache and handler calls follow the server through sync, events, 410
 * relists, closed streams, lost deletes and resyncs, and stop() leaves nothing running. Method: an
 * Informer over a real ApiClient against FakeApiServer; handler calls are recorded as strings and
 * compared; request logs show whether a relist or only a re-watch happened.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiClient } from './api-client.js'
import {
  type DeletedFinalStateUnknown,
  Informer,
  type InformerOptions,
  isDeletedFinalStateUnknown,
} from './informer.js'
import type { ResourceType } from './resource.js'
import { FakeApiServer, type FakeObject } from './testing/fake-api-server.js'

const pods: ResourceType = { group: '', version: 'v1', plural: 'pods', namespaced: true }

function pod(name: string, labels: Record<string, string> = {}): FakeObject {
  return { metadata: { name, namespace: 'default', labels }, spec: {} }
}

async function eventually(check: () => void, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      check()
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 10))
    }
  }
}

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
}

let server: FakeApiServer
let client: ApiClient
let informer: Informer<FakeObject>
let log: string[]
let deletes: (FakeObject | DeletedFinalStateUnknown<FakeObject>)[]
let errors: unknown[]
let timersBefore: number

function makeInformer(options: InformerOptions = {}): Informer<FakeObject> {
  informer = new Informer(client.resource<FakeObject>(pods).namespace('default'), {
    backoffMsInitial: 20,
    backoffMsMax: 100,
    onError: (err) => errors.push(err),
    ...options,
  })
  informer.addEventHandler({
    onAdd: (obj, initial) => log.push(`add ${obj.metadata.name}${initial ? ' (initial)' : ''}`),
    onUpdate: (oldObj, newObj) =>
      log.push(
        `update ${newObj.metadata.name} ${oldObj.metadata.resourceVersion}->${newObj.metadata.resourceVersion}`,
      ),
    onDelete: (obj) => {
      deletes.push(obj)
      const name = isDeletedFinalStateUnknown(obj) ? `${obj.key} (tombstone)` : obj.metadata.name
      log.push(`delete ${name}`)
    },
  })
  return informer
}

const lists = (): number => server.requests.filter((r) => r.method === 'GET' && !r.query.has('watch')).length
const watches = (): number => server.requests.filter((r) => r.query.has('watch')).length

beforeEach(async () => {
  timersBefore = timeouts()
  server = await FakeApiServer.start()
  client = new ApiClient({ baseUrl: server.url, requestTimeoutMs: 2_000 })
  log = []
  deletes = []
  errors = []
})

afterEach(async () => {
  await informer.stop()
  await client.close()
  await server.close()
  // stop() and close() leave no timer of ours behind.
  expect(timeouts()).toBeLessThanOrEqual(timersBefore)
})

describe('Informer', () => {
  it('syncs from a list, then follows add/update/delete events from the list resourceVersion', async () => {
    server.upsert(pod('a'))
    server.upsert(pod('b'))
    const listRv = server.resourceVersion
    makeInformer().start()
    expect(informer.hasSynced()).toBe(false)
    expect(await informer.waitForSync({ timeoutMs: 2_000 })).toBe(true)
    expect(log).toEqual(['add a (initial)', 'add b (initial)'])
    expect(informer.keys().sort()).toEqual(['default/a', 'default/b'])
    await eventually(() => expect(server.watchCount).toBe(1))
    const watch = server.requests.find((r) => r.query.has('watch'))!
    expect(watch.query.get('resourceVersion')).toBe(listRv)
    expect(watch.query.get('allowWatchBookmarks')).toBe('true')
    expect(Number(watch.query.get('timeoutSeconds'))).toBeGreaterThanOrEqual(300)

    const aRv = informer.get('default/a')!.metadata.resourceVersion
    server.upsert(pod('c'))
    server.upsert(pod('a', { v: '2' }))
    server.remove('default', 'b')
    await eventually(() => expect(log).toHaveLength(5))
    expect(log.slice(2)).toEqual(['add c', `update a ${aRv}->${Number(listRv) + 2}`, 'delete b'])
    expect(informer.get('default/a')!.metadata.labels).toEqual({ v: '2' })
    expect(informer.get('default/b')).toBeUndefined()
    expect(informer.lastSyncResourceVersion()).toBe(server.resourceVersion)
    expect(Object.isFrozen(informer.get('default/a')!.metadata)).toBe(true)
    expect(lists()).toBe(1)
  })

  it('re-watches from the last resourceVersion when the stream closes, without relisting', async () => {
    server.upsert(pod('a'))
    makeInformer().start()
    await informer.waitForSync()
    await eventually(() => expect(server.watchCount).toBe(1))
    server.upsert(pod('b'))
    await eventually(() => expect(log).toContain('add b'))
    server.bookmark()
    const bookmarkRv = server.resourceVersion
    await eventually(() => expect(informer.lastSyncResourceVersion()).toBe(bookmarkRv))
    server.closeWatches()
    server.upsert(pod('c')) // happens while no watch is open; the re-watch replays it
    await eventually(() => expect(log).toContain('add c'))
    expect(lists()).toBe(1)
    expect(watches()).toBeGreaterThanOrEqual(2)
    const second = server.requests.filter((r) => r.query.has('watch'))[1]!
    expect(second.query.get('resourceVersion')).toBe(bookmarkRv)
    expect(log).toEqual(['add a (initial)', 'add b', 'add c'])
  })

  it('relists on a 410 ERROR event and notices a delete it missed (tombstone with the last state)', async () => {
    server.upsert(pod('a'))
    server.upsert(pod('b'))
    makeInformer().start()
    await informer.waitForSync()
    await eventually(() => expect(server.watchCount).toBe(1))
    const lastB = informer.get('default/b')!
    server.remove('default', 'b', { silent: true }) // the watch never hears of it
    server.compact()
    server.closeWatches()
    await eventually(() => expect(log).toContain('delete default/b (tombstone)'))
    expect(lists()).toBe(2)
    const tomb = deletes[0]!
    expect(isDeletedFinalStateUnknown(tomb) && tomb.obj).toBe(lastB)
    expect(log).toContain(
      `update a ${informer.get('default/a')!.metadata.resourceVersion}->${informer.get('default/a')!.metadata.resourceVersion}`,
    )
    expect(informer.keys()).toEqual(['default/a'])
    expect(errors.some((e) => (e as { code?: number }).code === 410)).toBe(true)
    await eventually(() => expect(server.watchCount).toBe(1))
    server.upsert(pod('d'))
    await eventually(() => expect(log).toContain('add d'))
  })

  it('relists on an HTTP 410 answer to the watch', async () => {
    server.upsert(pod('a'))
    makeInformer().start()
    await informer.waitForSync()
    await eventually(() => expect(server.watchCount).toBe(1))
    server.inject({ kind: 'status', code: 410, reason: 'Gone', message: 'too old' }, 1, (r) =>
      r.query.has('watch'),
    )
    server.closeWatches()
    await eventually(() => expect(lists()).toBe(2))
    await eventually(() => expect(server.watchCount).toBe(1))
    server.upsert(pod('b'))
    await eventually(() => expect(log).toContain('add b'))
  })

  it('backs off and retries when the list fails, then syncs', async () => {
    server.upsert(pod('a'))
    server.inject({ kind: 'status', code: 500, reason: 'InternalError' }, 2, (r) => !r.query.has('watch'))
    makeInformer().start()
    expect(await informer.waitForSync({ timeoutMs: 2_000 })).toBe(true)
    expect(lists()).toBe(3)
    expect(errors).toHaveLength(2)
    expect(log).toEqual(['add a (initial)'])
  })

  it('re-watches (no relist) after a watch connection failure', async () => {
    makeInformer().start()
    await informer.waitForSync()
    await eventually(() => expect(server.watchCount).toBe(1))
    server.inject({ kind: 'reset' }, 1, (r) => r.query.has('watch'))
    server.closeWatches()
    await eventually(() => expect(server.watchCount).toBe(1))
    expect(lists()).toBe(1)
    expect(errors.length).toBeGreaterThanOrEqual(1)
  })

  it('resyncs: re-delivers every cached object as update(obj, obj)', async () => {
    server.upsert(pod('a'))
    server.upsert(pod('b'))
    makeInformer({ resyncPeriodMs: 50 }).start()
    await informer.waitForSync()
    await eventually(() => expect(log.filter((l) => l.startsWith('update')).length).toBeGreaterThanOrEqual(4))
    const rvA = informer.get('default/a')!.metadata.resourceVersion
    expect(log).toContain(`update a ${rvA}->${rvA}`)
  })

  it('replays the cache to a handler added after sync; a throwing handler is reported, not fatal', async () => {
    server.upsert(pod('a'))
    makeInformer().start()
    await informer.waitForSync()
    const late: string[] = []
    informer.addEventHandler({ onAdd: (obj, initial) => late.push(`${obj.metadata.name} ${initial}`) })
    expect(late).toEqual(['a true'])
    const remove = informer.addEventHandler({
      onAdd: () => {
        throw new Error('boom')
      },
    })
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom'])
    remove()
    await eventually(() => expect(server.watchCount).toBe(1))
    server.upsert(pod('b'))
    await eventually(() => expect(late).toContain('b false'))
    expect(errors).toHaveLength(1)
  })

  it('stop() ends the watch, any pending list and waitForSync callers', async () => {
    server.inject({ kind: 'hang' }, 1)
    makeInformer().start()
    const waiting = informer.waitForSync()
    await eventually(() => expect(server.requests).toHaveLength(1))
    await informer.stop()
    expect(await waiting).toBe(false)
    expect(informer.hasSynced()).toBe(false)
    expect(await informer.waitForSync()).toBe(false)
  })

  it('stop() after sync closes the open watch stream on the server', async () => {
    makeInformer({ resyncPeriodMs: 60_000 }).start()
    await informer.waitForSync()
    await eventually(() => expect(server.watchCount).toBe(1))
    await informer.stop()
    await eventually(() => expect(server.watchCount).toBe(0))
    server.upsert(pod('late'))
    await new Promise((r) => setTimeout(r, 30))
    expect(log).toEqual([])
  })
})
