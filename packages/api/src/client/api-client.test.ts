/**
 * Goal: every verb reaches the right URL with the right method, query, body and content type;
 * errors decode into ApiError (Status) or TransportError (by kind); every call ends within its
 * timeout; watch streams decode incrementally. Method: a real ApiClient against FakeApiServer on
 * 127.0.0.1, with faults injected per test. Everything is closed in afterEach.
 */
import { createServer } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiClient } from './api-client.js'
import {
  ApiError,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  isTimeout,
  TransportError,
} from './errors.js'
import { type ResourceClient, type ResourceType, resourcePath } from './resource.js'
import { FakeApiServer, type FakeObject } from './testing/fake-api-server.js'
import { isStatus, type WatchEvent } from './types.js'

const pods: ResourceType = { group: '', version: 'v1', plural: 'pods', namespaced: true }

function pod(name: string, labels: Record<string, string> = {}): FakeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: {} }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

let server: FakeApiServer
let client: ApiClient
let api: ResourceClient<FakeObject>

beforeEach(async () => {
  server = await FakeApiServer.start()
  client = new ApiClient({ baseUrl: server.url, bearerToken: 't0ken', requestTimeoutMs: 5_000 })
  api = client.resource<FakeObject>(pods).namespace('default')
})

afterEach(async () => {
  await client.close()
  await server.close()
})

describe('resourcePath', () => {
  it('builds core, group, namespaced, cluster-scoped and subresource paths', () => {
    const deployments: ResourceType = {
      group: 'apps',
      version: 'v1',
      plural: 'deployments',
      namespaced: true,
    }
    const nodes: ResourceType = { group: '', version: 'v1', plural: 'nodes', namespaced: false }
    expect(resourcePath(pods, 'kube-system', 'p 1', 'binding')).toBe(
      '/api/v1/namespaces/kube-system/pods/p%201/binding',
    )
    expect(resourcePath(deployments, 'default', 'web', 'scale')).toBe(
      '/apis/apps/v1/namespaces/default/deployments/web/scale',
    )
    expect(resourcePath(deployments, undefined)).toBe('/apis/apps/v1/deployments')
    expect(resourcePath(nodes, 'ignored', 'n1', 'status')).toBe('/api/v1/nodes/n1/status')
    expect(() => resourcePath(nodes, undefined, '')).toThrow(/empty name/)
  })
})

describe('verbs', () => {
  it('create, get, update, delete with headers and bodies', async () => {
    const created = await api.create(pod('a'), { fieldManager: 'test' })
    expect(created.metadata.uid).toBeTruthy()
    const post = server.requests.at(-1)!
    expect(post.method).toBe('POST')
    expect(post.path).toBe('/api/v1/namespaces/default/pods')
    expect(post.query.get('fieldManager')).toBe('test')
    expect(post.headers['content-type']).toBe('application/json')
    expect(post.headers['authorization']).toBe('Bearer t0ken')
    expect(post.headers['accept']).toBe('application/json')

    const got = await api.get('a')
    expect(got.metadata.resourceVersion).toBe(created.metadata.resourceVersion)

    const updated = await api.update({
      ...got,
      spec: { nodeName: '' },
      metadata: { ...got.metadata, labels: { x: '1' } },
    })
    expect(updated.metadata.labels).toEqual({ x: '1' })
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(got.metadata.resourceVersion))
    expect(server.requests.at(-1)!.method).toBe('PUT')

    const deleted = await api.delete('a', {
      gracePeriodSeconds: 0,
      propagationPolicy: 'Background',
      preconditions: { uid: created.metadata.uid! },
    })
    expect(isStatus(deleted)).toBe(false)
    expect(JSON.parse(server.requests.at(-1)!.body)).toEqual({
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: 0,
      propagationPolicy: 'Background',
      preconditions: { uid: created.metadata.uid },
    })
    expect(isNotFound(await rejection(api.get('a')))).toBe(true)
  })

  it('create takes the namespace from the object on an unscoped handle; namespaced get needs one', async () => {
    const all = client.resource<FakeObject>(pods)
    await all.create({ ...pod('b'), metadata: { name: 'b', namespace: 'other' } })
    expect(server.requests.at(-1)!.path).toBe('/api/v1/namespaces/other/pods')
    expect(() => all.get('b')).toThrow(/namespaced/)
  })

  it('patch sends each patch type with its content type', async () => {
    await api.create(pod('p'))
    await api.patch('p', { metadata: { labels: { a: '1' } } }, 'merge')
    expect(server.requests.at(-1)!.headers['content-type']).toBe('application/merge-patch+json')
    await api.patch('p', { spec: { nodeName: 'n1' } }, 'strategic')
    expect(server.requests.at(-1)!.headers['content-type']).toBe('application/strategic-merge-patch+json')
    const out = await api.patch('p', [{ op: 'replace', path: '/metadata/labels/a', value: '2' }], 'json')
    expect(server.requests.at(-1)!.headers['content-type']).toBe('application/json-patch+json')
    expect(out.metadata.labels).toEqual({ a: '2' })
    expect(out.spec).toEqual({ nodeName: 'n1' })
    const raw = '{"metadata":{"labels":{"b":"3"}}}'
    await api.patch('p', raw, 'merge')
    expect(server.requests.at(-1)!.body).toBe(raw)
    const apply = await rejection(api.patch('p', {}, 'apply', { fieldManager: 'me', force: true }))
    expect(server.requests.at(-1)!.headers['content-type']).toBe('application/apply-patch+yaml')
    expect(server.requests.at(-1)!.query.get('force')).toBe('true')
    expect((apply as ApiError).code).toBe(415)
  })

  it('subresources: status get/put, binding post', async () => {
    const created = await api.create({ ...pod('s'), status: { phase: 'Pending' } })
    const withStatus = await api.updateStatus({ ...created, status: { phase: 'Running' } })
    expect(server.requests.at(-1)!.path).toBe('/api/v1/namespaces/default/pods/s/status')
    expect(withStatus.status).toEqual({ phase: 'Running' })
    const viaGet = await api.getSubresource<FakeObject>('s', 'status')
    expect(viaGet.status).toEqual({ phase: 'Running' })
    await api.putSubresource('s', 'status', { ...viaGet, status: { phase: 'Succeeded' } })
    expect(server.get('default', 's')?.status).toEqual({ phase: 'Succeeded' })
    const binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 's' },
      target: { kind: 'Node', name: 'n1' },
    }
    const ok = await api.postSubresource('s', 'binding', binding)
    expect(isStatus(ok) && ok.status).toBe('Success')
    expect(server.get('default', 's')?.spec).toEqual({ nodeName: 'n1' })
    const again = await rejection(api.postSubresource('s', 'binding', binding))
    expect(isConflict(again)).toBe(true)
  })

  it('list: selectors, single page, auto-paging, resourceVersion parameters', async () => {
    for (let i = 0; i < 7; i++) server.upsert(pod(`p${i}`, { app: i % 2 === 0 ? 'even' : 'odd' }))
    const page = await api.list({ limit: 3, paging: 'single' })
    expect(page.items.map((p) => p.metadata.name)).toEqual(['p0', 'p1', 'p2'])
    expect(page.metadata.continue).toBeTruthy()

    const all = await api.list({ limit: 3, resourceVersion: '0', resourceVersionMatch: 'NotOlderThan' })
    expect(all.items).toHaveLength(7)
    expect(all.metadata.continue).toBeUndefined()
    expect(all.metadata.resourceVersion).toBe(server.resourceVersion)
    const lists = server.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/pods')).slice(1)
    expect(lists).toHaveLength(3)
    expect(lists[0]!.query.get('resourceVersion')).toBe('0')
    expect(lists[0]!.query.get('resourceVersionMatch')).toBe('NotOlderThan')
    expect(lists[1]!.query.get('resourceVersion')).toBeNull()
    expect(lists[1]!.query.get('continue')).toBeTruthy()

    const even = await api.list({ labelSelector: 'app=even', fieldSelector: 'metadata.namespace=default' })
    expect(even.items.map((p) => p.metadata.name)).toEqual(['p0', 'p2', 'p4', 'p6'])
    expect(server.requests.at(-1)!.query.get('labelSelector')).toBe('app=even')
  })

  it('list: an expired continue token falls back to one full list', async () => {
    for (let i = 0; i < 5; i++) server.upsert(pod(`p${i}`))
    server.inject({ kind: 'status', code: 410, reason: 'Expired', message: 'continue too old' }, 1, (r) =>
      r.query.has('continue'),
    )
    const all = await api.list({ limit: 2 })
    expect(all.items).toHaveLength(5)
    expect(server.requests.at(-1)!.query.get('limit')).toBeNull()
  })

  it('deleteCollection deletes what the selector matches', async () => {
    server.upsert(pod('a', { app: 'x' }))
    server.upsert(pod('b', { app: 'y' }))
    const out = await api.deleteCollection({ labelSelector: 'app=x', propagationPolicy: 'Foreground' })
    expect(!isStatus(out) && out.items.map((p) => p.metadata.name)).toEqual(['a'])
    expect(server.requests.at(-1)!.method).toBe('DELETE')
    expect(JSON.parse(server.requests.at(-1)!.body).propagationPolicy).toBe('Foreground')
    expect(server.get('default', 'b')).toBeDefined()
  })
})

describe('errors', () => {
  it('decodes Status bodies: AlreadyExists, Conflict, NotFound, Invalid with causes', async () => {
    const a = await api.create(pod('a'))
    const exists = await rejection(api.create(pod('a')))
    expect(exists).toBeInstanceOf(ApiError)
    expect(isAlreadyExists(exists)).toBe(true)
    expect(isConflict(exists)).toBe(false)
    expect((exists as ApiError).message).toBe('pods "a" already exists')
    expect((exists as ApiError).details).toEqual({ name: 'a', kind: 'pods' })

    await api.update(a)
    const stale = await rejection(api.update(a))
    expect(isConflict(stale)).toBe(true)
    expect((stale as ApiError).status.reason).toBe('Conflict')

    const invalid = (await rejection(api.create({ ...pod(''), metadata: {} }))) as ApiError
    expect(invalid.code).toBe(422)
    expect(invalid.reason).toBe('Invalid')
    expect(invalid.details?.causes?.[0]?.field).toBe('metadata.name')
  })

  it('carries retryAfterSeconds from the Status or the Retry-After header', async () => {
    const noRetry = new ApiClient({ baseUrl: server.url, requestTimeoutMs: 5_000, maxRetries: 0 })
    const api = noRetry.resource<FakeObject>(pods).namespace('default')
    server.inject({ kind: 'status', code: 429, reason: 'TooManyRequests', retryAfterSeconds: 3 })
    const e1 = (await rejection(api.get('x'))) as ApiError
    expect(e1.code).toBe(429)
    expect(e1.retryAfterSeconds).toBe(3)
    server.inject({ kind: 'raw', code: 429, body: 'slow down', headers: { 'retry-after': '7' } })
    const e2 = (await rejection(api.get('x'))) as ApiError
    expect(e2.retryAfterSeconds).toBe(7)
    expect(e2.reason).toBe('TooManyRequests')
    await noRetry.close()
  })

  it('sends a request turned away with Retry-After again after that long, as client-go does', async () => {
    const created = pod('retried')
    const isPost = (r: { method: string }) => r.method === 'POST'
    server.inject({ kind: 'status', code: 429, reason: 'TooManyRequests', retryAfterSeconds: 1 }, 2, isPost)
    const start = Date.now()
    const out = await api.create(created)
    expect(out.metadata?.name).toBe('retried')
    expect(Date.now() - start).toBeGreaterThanOrEqual(1900)
    expect(server.requests.filter(isPost)).toHaveLength(3)
    // A 5xx with Retry-After too (an api-server shutting down), on a GET.
    server.inject({ kind: 'raw', code: 503, body: 'shutting down', headers: { 'retry-after': '0' } }, 1)
    expect((await api.get('retried')).metadata?.name).toBe('retried')
  })

  it('gives up after maxRetries, and never retries an answer without Retry-After', async () => {
    const few = new ApiClient({ baseUrl: server.url, requestTimeoutMs: 5_000, maxRetries: 2 })
    const api = few.resource<FakeObject>(pods).namespace('default')
    const before = server.requests.length
    server.inject({ kind: 'status', code: 429, reason: 'TooManyRequests', retryAfterSeconds: 0 }, 3)
    expect(((await rejection(api.get('x'))) as ApiError).code).toBe(429)
    expect(server.requests.length - before).toBe(3)
    server.inject({ kind: 'raw', code: 503, body: 'down' }, 1)
    expect(((await rejection(api.get('x'))) as ApiError).code).toBe(503)
    expect(server.requests.length - before).toBe(4)
    await few.close()
  })

  it('synthesises a Status for non-Status error bodies', async () => {
    server.inject({ kind: 'raw', code: 503, body: 'upstream down' })
    const err = (await rejection(api.get('x'))) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe(503)
    expect(err.reason).toBe('ServiceUnavailable')
    expect(err.message).toBe('upstream down')
    server.inject({ kind: 'raw', code: 404, body: '' })
    expect(isNotFound(await rejection(api.get('x')))).toBe(true)
  })

  it('a 2xx body that is not JSON is a protocol error', async () => {
    server.inject({ kind: 'raw', code: 200, body: 'not json' })
    const err = (await rejection(api.get('x'))) as TransportError
    expect(err).toBeInstanceOf(TransportError)
    expect(err.kind).toBe('protocol')
  })

  it('a server that never answers: the call fails within its timeout (client default and per call)', async () => {
    server.inject({ kind: 'hang' }, 2)
    const fast = new ApiClient({ baseUrl: server.url, requestTimeoutMs: 150 })
    try {
      let t0 = Date.now()
      const e1 = (await rejection(fast.resource(pods).namespace('default').get('x'))) as TransportError
      expect(e1).toBeInstanceOf(TransportError)
      expect(e1.kind).toBe('timeout')
      expect(isTimeout(e1)).toBe(true)
      expect(Date.now() - t0).toBeLessThan(1_000)
      t0 = Date.now()
      const e2 = await rejection(api.get('x', { timeoutMs: 100 }))
      expect((e2 as TransportError).kind).toBe('timeout')
      expect(Date.now() - t0).toBeLessThan(1_000)
    } finally {
      await fast.close()
    }
  })

  it('an aborted signal ends the call with kind aborted', async () => {
    server.inject({ kind: 'hang' })
    const ac = new AbortController()
    const pending = rejection(api.get('x', { signal: ac.signal }))
    setTimeout(() => ac.abort(), 20)
    const err = (await pending) as TransportError
    expect(err.kind).toBe('aborted')
    const pre = new AbortController()
    pre.abort()
    expect(((await rejection(api.get('x', { signal: pre.signal }))) as TransportError).kind).toBe('aborted')
  })

  it('connection refused and a reset socket are connection errors; close() ends calls as closed', async () => {
    const port = await freePort()
    const dead = new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, requestTimeoutMs: 2_000 })
    try {
      const err = (await rejection(dead.resource(pods).namespace('default').get('x'))) as TransportError
      expect(err).toBeInstanceOf(TransportError)
      expect(err.kind).toBe('connection')
    } finally {
      await dead.close()
    }
    server.inject({ kind: 'reset' })
    expect(((await rejection(api.get('x'))) as TransportError).kind).toBe('connection')

    server.inject({ kind: 'hang' })
    const pending = rejection(api.get('x'))
    await new Promise((r) => setTimeout(r, 20))
    await client.close()
    expect(((await pending) as TransportError).kind).toBe('closed')
    await expect(api.get('x')).rejects.toBeInstanceOf(TransportError)
  })
})

describe('watch', () => {
  async function take(
    iter: AsyncIterator<WatchEvent<FakeObject>>,
    n: number,
  ): Promise<WatchEvent<FakeObject>[]> {
    const out: WatchEvent<FakeObject>[] = []
    while (out.length < n) {
      const next = await iter.next()
      if (next.done === true) break
      out.push(next.value)
    }
    return out
  }

  it('streams events from a resourceVersion, with bookmarks moving it', async () => {
    server.upsert(pod('a'))
    const from = server.resourceVersion
    const stream = await api.watch({ resourceVersion: from, timeoutSeconds: 30 })
    const q = server.requests.at(-1)!.query
    expect(q.get('watch')).toBe('1')
    expect(q.get('allowWatchBookmarks')).toBe('true')
    expect(q.get('resourceVersion')).toBe(from)
    expect(q.get('timeoutSeconds')).toBe('30')
    const iter = stream[Symbol.asyncIterator]()
    server.upsert(pod('b'))
    server.upsert({ ...pod('a'), metadata: { name: 'a', namespace: 'default', labels: { v: '2' } } })
    server.remove('default', 'b')
    const got = await take(iter, 3)
    expect(got.map((e) => [e.type, e.type === 'ERROR' ? '' : e.object.metadata.name])).toEqual([
      ['ADDED', 'b'],
      ['MODIFIED', 'a'],
      ['DELETED', 'b'],
    ])
    expect(stream.resourceVersion).toBe(server.resourceVersion)
    server.upsert(pod('c'))
    await take(iter, 1)
    server.bookmark()
    const [bm] = await take(iter, 1)
    expect(bm?.type).toBe('BOOKMARK')
    expect(stream.resourceVersion).toBe(server.resourceVersion)
    stream.close()
    expect((await iter.next()).done).toBe(true)
  })

  it('sends current objects as ADDED without a resourceVersion and ends when the server ends', async () => {
    server.upsert(pod('a'))
    server.upsert(pod('b'))
    const stream = await api.watch()
    const iter = stream[Symbol.asyncIterator]()
    expect((await take(iter, 2)).map((e) => e.type)).toEqual(['ADDED', 'ADDED'])
    server.closeWatches()
    expect((await iter.next()).done).toBe(true)
  })

  it('decodes events the server writes in 5-byte pieces', async () => {
    await server.close()
    server = await FakeApiServer.start({ watchChunkBytes: 5 })
    await client.close()
    client = new ApiClient({ baseUrl: server.url })
    api = client.resource<FakeObject>(pods).namespace('default')
    const stream = await api.watch({ resourceVersion: server.resourceVersion })
    const iter = stream[Symbol.asyncIterator]()
    server.upsert(pod('ünïcødé-€'))
    server.upsert(pod('second'))
    const got = await take(iter, 2)
    expect(got.map((e) => (e.type === 'ERROR' ? '' : e.object.metadata.name))).toEqual([
      'ünïcødé-€',
      'second',
    ])
    stream.close()
  })

  it('a too-old resourceVersion: an ERROR event with 410, or an HTTP 410', async () => {
    server.upsert(pod('a'))
    const old = server.resourceVersion
    server.upsert(pod('b'))
    server.compact()
    const stream = await api.watch({ resourceVersion: old })
    const events: WatchEvent<FakeObject>[] = []
    for await (const e of stream) events.push(e)
    expect(events).toHaveLength(1)
    const [ev] = events
    expect(ev?.type === 'ERROR' && ev.object.code).toBe(410)
    expect(stream.resourceVersion).toBe(old)

    await server.close()
    server = await FakeApiServer.start({ watchGoneAsHttp: true })
    await client.close()
    client = new ApiClient({ baseUrl: server.url })
    server.upsert(pod('a'))
    server.upsert(pod('b'))
    server.compact()
    const err = await rejection(client.resource(pods).namespace('default').watch({ resourceVersion: '101' }))
    expect(isGone(err)).toBe(true)
  })

  it('the client-side cap ends a stream the server keeps open past timeoutSeconds', async () => {
    await server.close()
    server = await FakeApiServer.start({ ignoreWatchTimeout: true })
    await client.close()
    client = new ApiClient({ baseUrl: server.url })
    const stream = await client
      .resource<FakeObject>(pods)
      .watch({ resourceVersion: server.resourceVersion, timeoutSeconds: 0, watchGraceMs: 100 })
    const t0 = Date.now()
    const err = (await rejection(
      (async () => {
        for await (const _ of stream) {
          // no events expected
        }
      })(),
    )) as TransportError
    expect(err).toBeInstanceOf(TransportError)
    expect(err.kind).toBe('timeout')
    expect(Date.now() - t0).toBeLessThan(1_000)
  })
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}
