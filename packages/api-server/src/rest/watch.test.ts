/**
 * Goal: watch streams as kube-apiserver sends them: newline-delimited `{type, object}` events over a
 * chunked application/json response; the current state first from resourceVersion unset/0, only
 * later changes from N; selector transitions as ADDED/DELETED; bookmarks; a compacted
 * resourceVersion ends with an ERROR event carrying a 410 Expired Status; timeoutSeconds and shutdown
 * end the stream.
 * Method: a real ApiServer on 127.0.0.1 (port 0) over the memory storage; watches read with undici.
 */
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { parseApiServerFlags } from '../options.js'
import { ApiServer } from '../server.js'
import { registerResourceRoutes } from './index.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }
const open: Array<{ server: ApiServer; storage: Storage }> = []
const streams: Array<{ close(): void }> = []
afterEach(async () => {
  for (const s of streams.splice(0)) s.close()
  for (const { server, storage } of open.splice(0)) {
    await server.shutdown()
    await storage.close()
  }
})

async function start() {
  const storage = createMemoryStorage()
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  const server = new ApiServer({ config: r.config, storage, logger: silent })
  registerResourceRoutes(server, storage, { bookmarkIntervalMs: 200 })
  open.push({ server, storage })
  const port = await server.listen()
  return { server, storage, base: `http://127.0.0.1:${port}` }
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are arbitrary JSON, read field by field
type Json = Record<string, any>
interface Event {
  type: string
  object: Json
}

async function call(
  method: 'POST' | 'PUT' | 'DELETE' | 'PATCH',
  url: string,
  body?: unknown,
  ct = 'application/json',
) {
  const r = await request(url, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': ct } }),
  })
  const b = (await r.body.json()) as Json
  if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${JSON.stringify(b)}`)
  return b
}

/** Opens a watch and collects its events; `until(n)` waits for at least n of them. */
async function watch(url: string) {
  const r = await request(url)
  const events: Event[] = []
  let ended = false
  let buf = ''
  const waiters: Array<() => void> = []
  const wake = () => {
    for (const w of waiters.splice(0)) w()
  }
  r.body.setEncoding('utf8')
  r.body.on('data', (chunk: string) => {
    buf += chunk
    let i = buf.indexOf('\n')
    while (i >= 0) {
      events.push(JSON.parse(buf.slice(0, i)) as Event)
      buf = buf.slice(i + 1)
      i = buf.indexOf('\n')
    }
    wake()
  })
  r.body.on('end', () => {
    ended = true
    wake()
  })
  r.body.on('error', () => {
    ended = true
    wake()
  })
  const handle = {
    status: r.statusCode,
    headers: r.headers,
    events,
    get ended() {
      return ended
    },
    async until(pred: (evs: Event[]) => boolean, timeoutMs = 10_000): Promise<Event[]> {
      const deadline = Date.now() + timeoutMs
      while (!pred(events)) {
        if (ended) throw new Error(`stream ended: ${JSON.stringify(events)}`)
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`timed out: ${JSON.stringify(events)}`)
        await new Promise<void>((res) => {
          waiters.push(res)
          setTimeout(res, left).unref()
        })
      }
      return events
    },
    async ends(timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs
      while (!ended) {
        if (Date.now() > deadline) throw new Error('stream did not end')
        await new Promise<void>((res) => {
          waiters.push(res)
          setTimeout(res, 100).unref()
        })
      }
    },
    close: () => r.body.destroy(),
  }
  streams.push(handle)
  return handle
}

const cm = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  data: { k: name },
})
const summary = (evs: Event[]) => evs.map((e) => `${e.type} ${e.object['metadata']?.name ?? ''}`.trim())

describe('watch', () => {
  it('from resourceVersion unset and 0: the current state as ADDED, then changes', async () => {
    const { base } = await start()
    await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'a' } })
    await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('one'))
    for (const rv of ['', '&resourceVersion=0']) {
      const w = await watch(`${base}/api/v1/namespaces/a/configmaps?watch=true${rv}`)
      expect(w.status).toBe(200)
      expect(w.headers['content-type']).toBe('application/json')
      expect(w.headers['transfer-encoding']).toBe('chunked')
      await w.until((e) => e.length >= 1)
      expect(w.events[0]).toMatchObject({
        type: 'ADDED',
        object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'one' } },
      })
      w.close()
    }
    const w = await watch(`${base}/api/v1/namespaces/a/configmaps?watch=1`)
    await w.until((e) => e.length >= 1)
    const two = await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('two'))
    await call(
      'PATCH',
      `${base}/api/v1/namespaces/a/configmaps/two`,
      { data: { k: 'v2' } },
      'application/merge-patch+json',
    )
    await call('DELETE', `${base}/api/v1/namespaces/a/configmaps/one`)
    const evs = await w.until((e) => e.length >= 4)
    expect(summary(evs)).toEqual(['ADDED one', 'ADDED two', 'MODIFIED two', 'DELETED one'])
    expect(evs[1]?.object['metadata'].resourceVersion).toBe(two['metadata'].resourceVersion)
    expect(evs[2]?.object['data']).toEqual({ k: 'v2' })
    expect(Number(evs[3]?.object['metadata'].resourceVersion)).toBeGreaterThan(
      Number(evs[2]?.object['metadata'].resourceVersion),
    )
  })

  it('watch-list: sendInitialEvents streams the state, then a bookmark ends the initial events', async () => {
    const { base } = await start()
    await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'a' } })
    await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('one'))
    const two = await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('two'))
    const url = `${base}/api/v1/namespaces/a/configmaps?watch=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`
    const w = await watch(`${url}&sendInitialEvents=true`)
    const evs = await w.until((e) => e.length >= 3)
    expect(summary(evs.slice(0, 2))).toEqual(['ADDED one', 'ADDED two'])
    expect(evs[2]).toMatchObject({
      type: 'BOOKMARK',
      object: {
        kind: 'ConfigMap',
        metadata: {
          resourceVersion: two['metadata'].resourceVersion,
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      },
    })
    await call('DELETE', `${base}/api/v1/namespaces/a/configmaps/one`)
    const changes = await w.until((e) => e.slice(3).some((x) => x.type === 'DELETED'))
    expect(summary(changes.slice(3).filter((x) => x.type !== 'BOOKMARK'))).toEqual(['DELETED one'])
    // sendInitialEvents=false: only what happens from now on.
    const later = await watch(`${url}&sendInitialEvents=false`)
    await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('three'))
    const seen = await later.until((e) => e.some((x) => x.type !== 'BOOKMARK'))
    expect(summary(seen.filter((x) => x.type !== 'BOOKMARK'))).toEqual(['ADDED three'])
    // validateWatchOptions.
    const refused = await request(
      `${base}/api/v1/namespaces/a/configmaps?watch=true&resourceVersion=1&resourceVersionMatch=NotOlderThan`,
    )
    expect(refused.statusCode).toBe(422)
    expect(((await refused.body.json()) as Json)['message']).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    )
    const exact = await request(
      `${base}/api/v1/namespaces/a/configmaps?watch=true&resourceVersionMatch=Exact&sendInitialEvents=true`,
    )
    expect(exact.statusCode).toBe(422)
    expect(((await exact.body.json()) as Json)['message']).toContain(
      'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    )
  })

  it('from a resourceVersion: only the changes after it, including the legacy /watch/ path', async () => {
    const { base } = await start()
    await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'a' } })
    const first = await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('one'))
    await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('two'))
    const w = await watch(
      `${base}/api/v1/namespaces/a/configmaps?watch=true&resourceVersion=${first['metadata'].resourceVersion}`,
    )
    await w.until((e) => e.length >= 1)
    await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('three'))
    expect(summary(await w.until((e) => e.length >= 2))).toEqual(['ADDED two', 'ADDED three'])
    const legacy = await watch(
      `${base}/api/v1/watch/namespaces/a/configmaps/three?resourceVersion=${first['metadata'].resourceVersion}`,
    )
    await call(
      'PATCH',
      `${base}/api/v1/namespaces/a/configmaps/three`,
      { data: { k: 'x' } },
      'application/merge-patch+json',
    )
    expect(summary(await legacy.until((e) => e.length >= 2))).toEqual(['ADDED three', 'MODIFIED three'])
  })

  it('applies selectors to both sides of a change: entering is ADDED, leaving is DELETED', async () => {
    const { base } = await start()
    await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'a' } })
    await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('x', { app: 'web' }))
    await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('y', { app: 'db' }))
    const w = await watch(`${base}/api/v1/configmaps?watch=true&labelSelector=app%3Dweb`)
    await w.until((e) => e.length >= 1)
    const url = `${base}/api/v1/namespaces/a/configmaps`
    const mp = 'application/merge-patch+json'
    await call('PATCH', `${url}/y`, { metadata: { labels: { app: 'web' } } }, mp)
    await call('PATCH', `${url}/y`, { data: { k: 'changed' } }, mp)
    const left = await call('PATCH', `${url}/x`, { metadata: { labels: { app: 'other' } } }, mp)
    await call('DELETE', `${url}/x`)
    await call('DELETE', `${url}/y`)
    const evs = await w.until((e) => e.length >= 5)
    expect(summary(evs)).toEqual(['ADDED x', 'ADDED y', 'MODIFIED y', 'DELETED x', 'DELETED y'])
    // The object leaving the selection is sent as it was, at the revision of the change.
    expect(evs[3]?.object['metadata'].labels).toEqual({ app: 'web' })
    expect(evs[3]?.object['metadata'].resourceVersion).toBe(left['metadata'].resourceVersion)
    await new Promise((r) => setTimeout(r, 200))
    expect(w.events).toHaveLength(5)
    const f = await watch(`${base}/api/v1/namespaces?watch=true&fieldSelector=metadata.name%3Da`)
    expect(summary(await f.until((e) => e.length >= 1))).toEqual(['ADDED a'])
    const bad = await request(`${base}/api/v1/pods?watch=true&fieldSelector=spec.nope%3D1`)
    expect(bad.statusCode).toBe(400)
    expect(((await bad.body.json()) as Json)['message']).toBe('field label not supported: spec.nope')
  })

  it('sends BOOKMARK events with the latest revision when asked', async () => {
    const { base } = await start()
    await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'a' } })
    const w = await watch(`${base}/api/v1/namespaces/a/pods?watch=true&allowWatchBookmarks=true`)
    const plain = await watch(`${base}/api/v1/namespaces/a/configmaps?watch=true`)
    const first = await w.until((e) => e.some((x) => x.type === 'BOOKMARK'))
    expect(first.find((x) => x.type === 'BOOKMARK')?.object).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
    })
    const p = await call('POST', `${base}/api/v1/namespaces/a/pods`, {
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    })
    const rv = Number(p['metadata'].resourceVersion)
    const evs = await w.until((e) => {
      const i = e.findIndex((x) => x.type === 'ADDED')
      return i >= 0 && e.slice(i + 1).some((x) => x.type === 'BOOKMARK')
    })
    const after = evs.slice(evs.findIndex((x) => x.type === 'ADDED') + 1).find((x) => x.type === 'BOOKMARK')
    expect(Number(after?.object['metadata'].resourceVersion)).toBeGreaterThanOrEqual(rv)
    await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm('x'))
    await plain.until((e) => e.length >= 1)
    await new Promise((r) => setTimeout(r, 500))
    // Without allowWatchBookmarks there are none.
    expect(plain.events.map((e) => e.type)).toEqual(['ADDED'])
  })

  it('a compacted resourceVersion gets an ERROR event with a 410 Expired Status, then the end', async () => {
    const { base, storage } = await start()
    await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'a' } })
    for (const n of ['x', 'y', 'z']) await call('POST', `${base}/api/v1/namespaces/a/configmaps`, cm(n))
    const rev = await storage.currentRevision()
    await storage.compact(rev)
    const w = await watch(`${base}/api/v1/namespaces/a/configmaps?watch=true&resourceVersion=2`)
    expect(w.status).toBe(200)
    await w.ends()
    expect(w.events).toHaveLength(1)
    expect(w.events[0]).toEqual({
      type: 'ERROR',
      object: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: 2 (${rev})`,
        reason: 'Expired',
        code: 410,
      },
    })
  })

  it('ends at timeoutSeconds and at shutdown', async () => {
    const { base, server } = await start()
    const t0 = Date.now()
    const w = await watch(`${base}/api/v1/namespaces?watch=true&timeoutSeconds=1`)
    await w.ends()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
    const long = await watch(`${base}/api/v1/namespaces?watch=true`)
    await server.shutdown()
    await long.ends()
  })
})
