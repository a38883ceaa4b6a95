/**
 * Goal: the api-server's answers about history, on the memory backend, are kube's (issue 10 §3):
 * - with --etcd-compaction-interval, history is compacted, and a watch or an exact list from a
 *   compacted resourceVersion gets 410 Expired (`too old resource version`), as on etcd3;
 * - a restarted memory-backend api-server never serves a resourceVersion of its previous process: an
 *   informer that resumes against it is told 410, relists, and its cache converges to the truth (a new
 *   object appears, an object of the previous life disappears).
 * Method: the real ApiServer with its REST routes on 127.0.0.1 over createMemoryStorage; the restart
 * is a shutdown and a new server with a new memory storage on the same port; the informer is
 * @hakube/api's, as every hakube component uses it.
 */
import { ApiClient, Informer } from '@hakube/api'
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { parseApiServerFlags } from './options.js'
import { registerResourceRoutes } from './rest/index.js'
import { ApiServer } from './server.js'
import { call } from './testing/index.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Running {
  server: ApiServer
  storage: Storage
  port: number
  base: string
  stop(): Promise<void>
}

async function startServer(storage: Storage, port = 0): Promise<Running> {
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', `--secure-port=${port}`])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  const server = new ApiServer({ config: r.config, storage, logger: silent })
  registerResourceRoutes(server, storage)
  const bound = await server.listen()
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await server.shutdown()
    await storage.close()
  }
  cleanups.push(stop)
  return { server, storage, port: bound, base: `http://127.0.0.1:${bound}`, stop }
}

async function mustCall(method: 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) {
  const r = await call(method, url, body)
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

const cm = (name: string, data: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('history on the memory backend', () => {
  it('compacted every --etcd-compaction-interval: watch and exact list from an old resourceVersion get 410 Expired', async () => {
    const compacted: number[] = []
    const api = await startServer(
      createMemoryStorage({ compactionIntervalMs: 50, onCompacted: (rev) => compacted.push(rev) }),
    )
    await mustCall('POST', `${api.base}/api/v1/namespaces`, { metadata: { name: 'demo' } })
    const cms = `${api.base}/api/v1/namespaces/demo/configmaps`
    const first = await mustCall('POST', cms, cm('c', { i: '0' }))
    const firstRv = String(first['metadata']['resourceVersion'])
    let cur = first
    // Until a compaction went past it (a watch from N needs N + 1 to be retained).
    for (let i = 1; (compacted[compacted.length - 1] ?? 0) <= Number(firstRv) + 1; i++) {
      cur = await mustCall('PUT', `${cms}/c`, { ...cur, data: { i: String(i) } })
      await sleep(5)
      if (i > 1_000) throw new Error('no compaction happened')
    }
    // A watch from the compacted resourceVersion: one ERROR event with kube's 410, then the end.
    const w = await request(`${cms}?watch=1&resourceVersion=${firstRv}`)
    expect(w.statusCode).toBe(200)
    const lines = (await w.body.text()).trim().split('\n')
    expect(lines).toHaveLength(1)
    const ev = JSON.parse(lines[0] as string)
    expect(ev.type).toBe('ERROR')
    expect(ev.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' })
    expect(ev.object.message).toMatch(new RegExp(`^too old resource version: ${firstRv} \\(\\d+\\)$`))
    // An exact list at it: 410 too.
    const list = await call('GET', `${cms}?resourceVersion=${firstRv}&resourceVersionMatch=Exact`)
    expect(list.status).toBe(410)
    expect(list.body).toMatchObject({ kind: 'Status', reason: 'Expired' })
    // The current state is served as always.
    const now = await call('GET', cms)
    expect(now.status).toBe(200)
    expect(now.body['items'].map((i: { data: unknown }) => i.data)).toEqual([cur['data']])
  })

  it('an informer resuming against a restarted memory api-server relists: the new object appears, the gone one leaves its cache', async () => {
    const first = await startServer(createMemoryStorage())
    await mustCall('POST', `${first.base}/api/v1/namespaces`, { metadata: { name: 'demo' } })
    const cms = (base: string) => `${base}/api/v1/namespaces/demo/configmaps`
    await mustCall('POST', cms(first.base), cm('a', { life: '1' }))
    await mustCall('POST', cms(first.base), cm('b', { life: '1' }))

    const client = new ApiClient({ baseUrl: first.base, requestTimeoutMs: 5_000 })
    const errors: unknown[] = []
    const informer = new Informer<ReturnType<typeof cm>>(
      client.resource({ group: '', version: 'v1', plural: 'configmaps', namespaced: true }),
      { backoffMsInitial: 50, backoffMsMax: 200, onError: (err) => errors.push(err) },
    )
    cleanups.push(async () => {
      await informer.stop()
      await client.close()
    })
    informer.start()
    expect(await informer.waitForSync({ timeoutMs: 5_000 })).toBe(true)
    expect(informer.keys().sort()).toEqual(['demo/a', 'demo/b'])

    // The process restarts: same address, a new (empty) memory store. The truth is now b and c.
    await first.stop()
    await sleep(5)
    const second = await startServer(createMemoryStorage(), first.port)
    await mustCall('POST', `${second.base}/api/v1/namespaces`, { metadata: { name: 'demo' } })
    await mustCall('POST', cms(second.base), cm('b', { life: '2' }))
    await mustCall('POST', cms(second.base), cm('c', { life: '2' }))

    const deadline = Date.now() + 10_000
    const converged = () =>
      informer.keys().sort().join(',') === 'demo/b,demo/c' && informer.get('demo/b')?.data?.['life'] === '2'
    while (!converged() && Date.now() < deadline) await sleep(20)
    expect(informer.keys().sort()).toEqual(['demo/b', 'demo/c'])
    expect(informer.get('demo/b')?.data).toEqual({ life: '2' })
    expect(informer.get('demo/c')?.data).toEqual({ life: '2' })
    // It got there the way client-go does: the resumed watch was told 410 Expired, then it relisted.
    expect(errors.map(String).join('\n')).toMatch(/too old resource version|410|Expired|Gone/)
  })
})
