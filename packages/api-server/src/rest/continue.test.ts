/**
 * Goal (issue 10 §3): an expired `continue` token gets kube's answer on both backends: 410 Expired
 * with the inconsistent-continue text and, in the Status's `metadata.continue`, a new token for the
 * same start key at resourceVersion -1 (etcd3 store's handleCompactedErrorForPaging), which then
 * continues the list at the latest state.
 * Method: the real ApiServer over the memory storage and over etcd3 to a one-member hakube-store
 * process (127.0.1.247); pages of ConfigMaps, a compaction past the first page's revision.
 */
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { createEtcd3Storage } from '@hakube/storage/etcd3'
import { StoreProcessCluster, waitFor } from '@hakube/store/testing'
import { request } from 'undici'
import { afterAll, describe, expect, it } from 'vitest'
import { parseApiServerFlags } from '../options.js'
import { ApiServer } from '../server.js'
import { registerResourceRoutes } from './index.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }

// biome-ignore lint/suspicious/noExplicitAny: response bodies are arbitrary JSON, read field by field
type Json = Record<string, any>

async function call(method: 'GET' | 'POST', url: string, body?: unknown) {
  const r = await request(url, {
    method,
    ...(body !== undefined && {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    }),
  })
  return { status: r.statusCode, body: (await r.body.json()) as Json }
}

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function serve(storage: Storage): Promise<string> {
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  const server = new ApiServer({ config: r.config, storage, logger: silent })
  registerResourceRoutes(server, storage)
  const base = `http://127.0.0.1:${await server.listen()}`
  cleanups.push(async () => {
    await server.shutdown()
    await storage.close()
  })
  return base
}

const backends: Array<[string, () => Promise<{ storage: Storage; base: string }>]> = [
  [
    'memory',
    async () => {
      const storage = createMemoryStorage()
      return { storage, base: await serve(storage) }
    },
  ],
  [
    'etcd3 (hakube-store)',
    async () => {
      const cluster = new StoreProcessCluster(1, 246, { heartbeatMs: 100, electionMs: 1000 })
      cleanups.push(() => cluster.destroy())
      cluster.startAll()
      const storage = createEtcd3Storage({ endpoints: cluster.clientUrls })
      await waitFor(
        async () => ((await storage.readiness()).ok ? true : undefined),
        60_000,
        () => `hakube-store not ready:\n${cluster.logs()}`,
        200,
      )
      return { storage, base: await serve(storage) }
    },
  ],
]

describe.each(backends)('an expired continue token on %s', (_name, setUp) => {
  it('is 410 with a continue token at resourceVersion -1 that finishes the list at the latest state', async () => {
    const { storage, base } = await setUp()
    const cms = `${base}/api/v1/namespaces/default/configmaps`
    expect((await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'default' } })).status).toBe(
      201,
    )
    for (const name of ['a', 'b', 'c'])
      expect((await call('POST', cms, { metadata: { name }, data: { v: '1' } })).status).toBe(201)
    const first = await call('GET', `${cms}?limit=1`)
    expect(first.body['items'].map((i: Json) => i['metadata'].name)).toEqual(['a'])
    const token = first.body['metadata'].continue as string
    expect(token).toBeTruthy()
    // Written after the first page, then history up to now is compacted away.
    expect((await call('POST', cms, { metadata: { name: 'd' }, data: { v: '1' } })).status).toBe(201)
    await storage.compact(await storage.currentRevision())

    const expired = await call('GET', `${cms}?limit=1&continue=${token}`)
    expect(expired.status).toBe(410)
    expect(expired.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Expired',
      code: 410,
      message:
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    })
    const fresh = expired.body['metadata'].continue as string
    const decoded = JSON.parse(Buffer.from(fresh, 'base64url').toString('utf8'))
    expect(decoded).toEqual({
      v: 'meta.k8s.io/v1',
      rv: -1,
      start: JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).start,
    })

    // The new token continues after `a` at the latest revision: `d`, written later, is there.
    const names: string[] = []
    let next: string | undefined = fresh
    let pages = 0
    while (next) {
      const page = await call('GET', `${cms}?limit=2&continue=${next}`)
      expect(page.status).toBe(200)
      names.push(...page.body['items'].map((i: Json) => i['metadata'].name))
      next = page.body['metadata'].continue
      if (++pages > 5) throw new Error('the list does not end')
    }
    expect(names).toEqual(['b', 'c', 'd'])
  }, 90_000)
})
