/**
 * Goal: the REST core behaves the same over the etcd3 backend on a real 3-member hakube-store
 * cluster as over the memory backend: lifecycle, optimistic concurrency, paginated lists at one
 * revision, watches from a revision with selector transitions, and a compacted watch start.
 * Method: a hakube-store process cluster on 127.0.1.181-183, an ApiServer over createEtcd3Storage,
 * requests through undici. The cluster is killed in afterAll.
 */
import type { Storage } from '@hakube/storage'
import { createEtcd3Storage } from '@hakube/storage/etcd3'
import { StoreProcessCluster, waitFor } from '@hakube/store/testing'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseApiServerFlags } from '../options.js'
import { ApiServer } from '../server.js'
import { registerResourceRoutes } from './index.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }
let cluster: StoreProcessCluster | undefined
let storage: Storage | undefined
let server: ApiServer | undefined
let base = ''

beforeAll(async () => {
  cluster = new StoreProcessCluster(3, 180, { heartbeatMs: 100, electionMs: 1000 })
  cluster.startAll()
  const s = createEtcd3Storage({ endpoints: cluster.clientUrls })
  storage = s
  const c = cluster
  await waitFor(
    async () => ((await s.readiness()).ok ? true : undefined),
    60_000,
    () => `hakube-store cluster not ready:\n${c.logs()}`,
    200,
  )
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  server = new ApiServer({ config: r.config, storage: s, logger: silent })
  registerResourceRoutes(server, s, { bookmarkIntervalMs: 200 })
  base = `http://127.0.0.1:${await server.listen()}`
}, 120_000)

afterAll(async () => {
  await server?.shutdown()
  await storage?.close()
  cluster?.destroy()
})

// biome-ignore lint/suspicious/noExplicitAny: response bodies are arbitrary JSON, read field by field
type Json = Record<string, any>
async function call(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  ct = 'application/json',
) {
  const r = await request(url, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': ct } }),
  })
  return { status: r.statusCode, body: (await r.body.json()) as Json }
}

/** Reads a watch until `n` events arrived (or the stream ended). */
async function watchEvents(url: string, n: number, during: () => Promise<void>): Promise<Json[]> {
  const r = await request(url)
  const events: Json[] = []
  let buf = ''
  r.body.setEncoding('utf8')
  const done = new Promise<void>((resolve) => {
    r.body.on('data', (chunk: string) => {
      buf += chunk
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        events.push(JSON.parse(buf.slice(0, i)) as Json)
        buf = buf.slice(i + 1)
      }
      if (events.length >= n) resolve()
    })
    r.body.on('end', () => resolve())
    r.body.on('error', () => resolve())
  })
  await during()
  await Promise.race([done, new Promise((r) => setTimeout(r, 20_000))])
  r.body.destroy()
  return events
}

const pod = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
})

describe('REST over etcd3 on a 3-member hakube-store cluster', () => {
  it('creates, updates with optimistic concurrency, and deletes', async () => {
    expect((await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'e1' } })).status).toBe(201)
    const c = await call('POST', `${base}/api/v1/namespaces/e1/pods`, pod('p'))
    expect(c.status).toBe(201)
    const rv = c.body['metadata'].resourceVersion as string
    expect((await call('GET', `${base}/api/v1/namespaces/e1/pods/p`)).body['metadata'].resourceVersion).toBe(
      rv,
    )
    const m = await call(
      'PATCH',
      `${base}/api/v1/namespaces/e1/pods/p`,
      { metadata: { labels: { a: 'b' } } },
      'application/merge-patch+json',
    )
    expect(m.body['metadata'].labels).toEqual({ a: 'b' })
    const stale = await call('PUT', `${base}/api/v1/namespaces/e1/pods/p`, c.body)
    expect(stale.status).toBe(409)
    expect(stale.body['reason']).toBe('Conflict')
    expect((await call('POST', `${base}/api/v1/namespaces/e1/pods`, pod('p'))).body['reason']).toBe(
      'AlreadyExists',
    )
    expect((await call('DELETE', `${base}/api/v1/namespaces/e1/pods/p`)).status).toBe(200)
    expect((await call('GET', `${base}/api/v1/namespaces/e1/pods/p`)).body['message']).toBe(
      'pods "p" not found',
    )
  })

  it('paginates at the first page revision and watches from a revision through selector changes', async () => {
    await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'e2' } })
    for (let i = 0; i < 4; i++)
      await call('POST', `${base}/api/v1/namespaces/e2/pods`, pod(`p${i}`, { app: 'web' }))
    const first = await call('GET', `${base}/api/v1/namespaces/e2/pods?limit=3`)
    await call('POST', `${base}/api/v1/namespaces/e2/pods`, pod('p9'))
    const next = await call(
      'GET',
      `${base}/api/v1/namespaces/e2/pods?limit=3&continue=${first.body['metadata'].continue}`,
    )
    expect(next.body['metadata'].resourceVersion).toBe(first.body['metadata'].resourceVersion)
    expect((next.body['items'] as Json[]).map((i) => i['metadata'].name)).toEqual(['p3'])

    const rv = first.body['metadata'].resourceVersion as string
    const mp = 'application/merge-patch+json'
    const events = await watchEvents(
      `${base}/api/v1/namespaces/e2/pods?watch=true&labelSelector=app%3Dweb&resourceVersion=${rv}`,
      4,
      async () => {
        await call(
          'PATCH',
          `${base}/api/v1/namespaces/e2/pods/p9`,
          { metadata: { labels: { app: 'web' } } },
          mp,
        )
        await call(
          'PATCH',
          `${base}/api/v1/namespaces/e2/pods/p0`,
          { metadata: { labels: { app: 'db' } } },
          mp,
        )
        await call('DELETE', `${base}/api/v1/namespaces/e2/pods/p1`)
      },
    )
    expect(events.map((e) => `${e['type']} ${e['object'].metadata.name}`)).toEqual([
      'ADDED p9',
      'DELETED p0',
      // A pod's DELETE first marks it (deletionTimestamp, grace 0), as kube's store does.
      'MODIFIED p1',
      'DELETED p1',
    ])
  })

  it('a watch from a compacted revision ends with ERROR 410', async () => {
    const s = storage
    if (s === undefined) throw new Error('no storage')
    await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'e3' } })
    const rev = await s.currentRevision()
    await s.compact(rev)
    const events = await watchEvents(
      `${base}/api/v1/namespaces/e3/pods?watch=true&resourceVersion=2`,
      1,
      async () => {},
    )
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    })
    expect(events[0]?.['object'].message).toMatch(/^too old resource version: 2 \(\d+\)$/)
  })
})
