/**
 * Goal: the client every hakube component uses (@hakube/api: ApiClient, Informer, WorkQueue) works
 * against hakube-apiserver itself: typed CRUD with Status errors, selectors, a watch from a list's
 * resourceVersion, and an informer whose cache follows creates, updates and deletes.
 * Method: the real ApiServer with its REST routes on 127.0.0.1 over the memory storage.
 */
import { ApiClient, ApiError, Informer, WorkQueue } from '@hakube/api'
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { afterEach, describe, expect, it } from 'vitest'
import { parseApiServerFlags } from './options.js'
import { registerResourceRoutes } from './rest/index.js'
import { ApiServer } from './server.js'

interface Pod {
  apiVersion?: string
  kind?: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string }
  spec?: { containers: Array<{ name: string; image: string }> }
}

const silent = { debug() {}, info() {}, warn() {}, error() {} }
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function start(): Promise<ApiClient> {
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  const storage: Storage = createMemoryStorage()
  const server = new ApiServer({ config: r.config, storage, logger: silent })
  registerResourceRoutes(server, storage)
  const port = await server.listen()
  const client = new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, requestTimeoutMs: 5000 })
  cleanups.push(async () => {
    await client.close()
    await server.shutdown()
    await storage.close()
  })
  return client
}

const pod = (name: string, labels: Record<string, string> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
})

describe('@hakube/api against hakube-apiserver', () => {
  it('creates, reads, lists with selectors, updates with concurrency control and deletes', async () => {
    const client = await start()
    const namespaces = client.resource<{ metadata: { name: string } }>({
      group: '',
      version: 'v1',
      plural: 'namespaces',
      namespaced: false,
    })
    await namespaces.create({ metadata: { name: 'demo' } })
    const pods = client
      .resource<Pod>({ group: '', version: 'v1', plural: 'pods', namespaced: true })
      .namespace('demo')
    await pods.create(pod('a', { app: 'web' }))
    await pods.create(pod('b', { app: 'db' }))
    const got = await pods.get('a')
    expect(got.metadata.resourceVersion).toMatch(/^\d+$/)
    const web = await pods.list({ labelSelector: 'app=web' })
    expect(web.items.map((p) => p.metadata.name)).toEqual(['a'])
    // A stale resourceVersion is a typed 409 Conflict with kube's reason.
    const updated = await pods.update({
      ...got,
      metadata: { ...got.metadata, labels: { app: 'web', tier: 'front' } },
    })
    const stale = await pods.update(got).catch((e: unknown) => e)
    expect(stale).toBeInstanceOf(ApiError)
    expect((stale as ApiError).code).toBe(409)
    expect((stale as ApiError).reason).toBe('Conflict')
    expect(updated.metadata.labels).toEqual({ app: 'web', tier: 'front' })
    const missing = await pods.get('nope').catch((e: unknown) => e)
    expect((missing as ApiError).reason).toBe('NotFound')
    await pods.delete('b')
    expect((await pods.list()).items.map((p) => p.metadata.name)).toEqual(['a'])
  })

  it('an informer follows adds, updates and deletes, feeding a work queue', async () => {
    const client = await start()
    await client
      .resource<{ metadata: { name: string } }>({
        group: '',
        version: 'v1',
        plural: 'namespaces',
        namespaced: false,
      })
      .create({ metadata: { name: 'demo' } })
    const pods = client
      .resource<Pod>({ group: '', version: 'v1', plural: 'pods', namespaced: true })
      .namespace('demo')
    await pods.create(pod('before'))
    const queue = new WorkQueue<string>()
    const seen: string[] = []
    const informer = new Informer<Pod>(
      client.resource<Pod>({ group: '', version: 'v1', plural: 'pods', namespaced: true }),
    )
    informer.addEventHandler({
      onAdd: (p) => {
        seen.push(`add ${p.metadata.name}`)
        queue.add(`demo/${p.metadata.name}`)
      },
      onUpdate: (_old, p) => {
        seen.push(`update ${p.metadata.name}`)
        queue.add(`demo/${p.metadata.name}`)
      },
      onDelete: (p) => {
        const name = 'metadata' in p ? p.metadata.name : String(p)
        seen.push(`delete ${name}`)
      },
    })
    cleanups.push(async () => {
      await informer.stop()
      queue.shutDown()
    })
    informer.start()
    expect(await informer.waitForSync({ timeoutMs: 5000 })).toBe(true)
    expect(informer.keys()).toEqual(['demo/before'])
    await pods.create(pod('after'))
    const cur = await pods.get('after')
    await pods.update({ ...cur, metadata: { ...cur.metadata, labels: { x: 'y' } } })
    await pods.delete('before')
    const deadline = Date.now() + 5000
    while (!seen.includes('delete before') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    // A pod's DELETE first marks it (deletionTimestamp, grace 0), as kube's store does: an update.
    expect(seen).toEqual(['add before', 'add after', 'update after', 'update before', 'delete before'])
    expect(informer.keys()).toEqual(['demo/after'])
    expect(informer.get('demo/after')?.metadata.labels).toEqual({ x: 'y' })
    // The queue deduplicated: "after" was added twice while unprocessed.
    expect(queue.len()).toBe(2)
  })
})
