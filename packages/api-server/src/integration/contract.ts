/**
 * The api-server contract: one suite of behaviours every storage setup must give the same way,
 * checked through plain HTTP requests and through @hakube/api (ApiClient, watch streams, Informer).
 * Each setup file calls {@link apiServerContract} with a factory for its Storage (memory, etcd3 over
 * hakube-store, etcd3 over a real etcd). Every case uses its own namespace, so cases are independent.
 * The server runs over the storage wrapped by instrumentStorage, so the storage metrics are checked on
 * every setup too.
 */
import { ApiClient, ApiError, Informer, type KubeObject } from '@hakube/api'
import type { Storage } from '@hakube/storage'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { instrumentStorage } from '../instrumented-storage.js'
import { parseApiServerFlags } from '../options.js'
import { registerResourceRoutes } from '../rest/index.js'
import { ApiServer } from '../server.js'

export interface ContractSetup {
  storage: Storage
  /** Stops whatever the setup started beyond the storage (processes); the storage is closed first. */
  destroy?: () => Promise<void> | void
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are arbitrary JSON, read field by field
type Json = Record<string, any>
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
const MERGE = 'application/merge-patch+json'
const silent = { debug() {}, info() {}, warn() {}, error() {} }

interface Obj extends KubeObject {
  metadata: {
    name: string
    namespace?: string
    labels?: Record<string, string>
    resourceVersion?: string
    [k: string]: unknown
  }
  spec?: Json
  status?: Json
}

const pod = (name: string, labels: Record<string, string> = {}, spec: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'nginx:1.27' }], ...spec },
})
const deployment = (name: string, replicas = 2): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
})
const binding = (name: string, node: string): Json => ({
  apiVersion: 'v1',
  kind: 'Binding',
  metadata: { name },
  target: { apiVersion: 'v1', kind: 'Node', name: node },
})
const names = (list: Json): string[] => (list['items'] as Json[]).map((i) => i['metadata'].name as string)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check() && Date.now() < deadline) await sleep(20)
}

export function apiServerContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`api-server contract: ${name}`, () => {
    let env: ContractSetup | undefined
    let storage: Storage
    let server: ApiServer | undefined
    let client: ApiClient | undefined
    let base = ''

    beforeAll(async () => {
      env = await setup()
      const instrumented = instrumentStorage(env.storage)
      storage = instrumented
      const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
      if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
      server = new ApiServer({ config: r.config, storage, logger: silent })
      instrumented.registerMetrics(server.registry)
      registerResourceRoutes(server, storage, { bookmarkIntervalMs: 200 })
      base = `http://127.0.0.1:${await server.listen()}`
      client = new ApiClient({ baseUrl: base, requestTimeoutMs: 10_000 })
    }, 120_000)

    afterAll(async () => {
      await client?.close()
      await server?.shutdown()
      await env?.storage.close()
      await env?.destroy?.()
    }, 60_000)

    async function call(method: Method, path: string, body?: unknown, ct = 'application/json') {
      const r = await request(`${base}${path}`, {
        method,
        ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': ct } }),
      })
      return { status: r.statusCode, body: (await r.body.json()) as Json }
    }
    async function ns(name: string): Promise<void> {
      const r = await call('POST', '/api/v1/namespaces', { metadata: { name } })
      expect(r.status).toBe(201)
    }
    /** Opens a watch over HTTP, runs `during`, and reads events until `n` came (or the stream ended). */
    async function watchHttp(path: string, n: number, during: () => Promise<void>): Promise<Json[]> {
      const r = await request(`${base}${path}`)
      expect(r.statusCode).toBe(200)
      const events: Json[] = []
      let buf = ''
      r.body.setEncoding('utf8')
      const done = new Promise<void>((resolve) => {
        r.body.on('data', (chunk: string) => {
          buf += chunk
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const e = JSON.parse(buf.slice(0, i)) as Json
            if (e['type'] !== 'BOOKMARK') events.push(e)
            buf = buf.slice(i + 1)
          }
          if (events.length >= n) resolve()
        })
        r.body.on('end', () => resolve())
        r.body.on('error', () => resolve())
      })
      await during()
      await Promise.race([done, sleep(20_000)])
      r.body.destroy()
      return events
    }
    const api = () => {
      if (client === undefined) throw new Error('no client')
      return client
    }
    const podsApi = () => api().resource<Obj>({ group: '', version: 'v1', plural: 'pods', namespaced: true })
    const caught = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e as ApiError)

    it('namespaces: create, get, AlreadyExists, NotFound, delete marks Terminating', async () => {
      const c = await call('POST', '/api/v1/namespaces', { metadata: { name: 'c-ns' } })
      expect(c.status).toBe(201)
      expect(c.body).toMatchObject({ kind: 'Namespace', apiVersion: 'v1', status: { phase: 'Active' } })
      expect(c.body['metadata'].uid).toMatch(/^[0-9a-f-]{36}$/)
      expect(c.body['metadata'].resourceVersion).toMatch(/^\d+$/)
      const got = await call('GET', '/api/v1/namespaces/c-ns')
      expect(got.body['metadata'].resourceVersion).toBe(c.body['metadata'].resourceVersion)
      const dup = await call('POST', '/api/v1/namespaces', { metadata: { name: 'c-ns' } })
      expect(dup).toMatchObject({
        status: 409,
        body: {
          kind: 'Status',
          reason: 'AlreadyExists',
          code: 409,
          message: 'namespaces "c-ns" already exists',
        },
      })
      const missing = await call('GET', '/api/v1/namespaces/c-nope')
      expect(missing).toMatchObject({
        status: 404,
        body: { kind: 'Status', reason: 'NotFound', details: { name: 'c-nope', kind: 'namespaces' } },
      })
      const del = await call('DELETE', '/api/v1/namespaces/c-ns')
      expect(del.status).toBe(200)
      expect(del.body).toMatchObject({ kind: 'Namespace', status: { phase: 'Terminating' } })
      const inDoomed = await call('POST', '/api/v1/namespaces/c-ns/pods', pod('p'))
      expect(inDoomed.status).toBe(403)
      expect(inDoomed.body['reason']).toBe('Forbidden')
    })

    it('pods over HTTP: namespace required, 422 Invalid, stale update 409 Conflict, delete', async () => {
      const noNs = await call('POST', '/api/v1/namespaces/c-missing/pods', pod('p'))
      expect(noNs).toMatchObject({ status: 404, body: { message: 'namespaces "c-missing" not found' } })
      await ns('c-pods')
      const invalid = await call('POST', '/api/v1/namespaces/c-pods/pods', {
        metadata: { name: 'p' },
        spec: {},
      })
      expect(invalid).toMatchObject({
        status: 422,
        body: {
          reason: 'Invalid',
          message: 'Pod "p" is invalid: spec.containers: Required value',
          details: { causes: [{ reason: 'FieldValueRequired', field: 'spec.containers' }] },
        },
      })
      const c = await call('POST', '/api/v1/namespaces/c-pods/pods', pod('p'))
      expect(c.status).toBe(201)
      expect(c.body['spec']).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' })
      const u = await call('PUT', '/api/v1/namespaces/c-pods/pods/p', {
        ...c.body,
        metadata: { ...c.body['metadata'], labels: { a: 'b' } },
      })
      expect(u.status).toBe(200)
      expect(Number(u.body['metadata'].resourceVersion)).toBeGreaterThan(
        Number(c.body['metadata'].resourceVersion),
      )
      const stale = await call('PUT', '/api/v1/namespaces/c-pods/pods/p', c.body)
      expect(stale).toMatchObject({ status: 409, body: { reason: 'Conflict', code: 409 } })
      expect(stale.body['message']).toMatch(/the object has been modified; please apply your changes/)
      expect((await call('DELETE', '/api/v1/namespaces/c-pods/pods/p')).status).toBe(200)
      const gone = await call('GET', '/api/v1/namespaces/c-pods/pods/p')
      expect(gone).toMatchObject({ status: 404, body: { reason: 'NotFound', message: 'pods "p" not found' } })
    })

    it('leases through ApiClient: typed CRUD and Status errors', async () => {
      await ns('c-lease')
      const leases = api()
        .resource<Obj>({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true })
        .namespace('c-lease')
      const l = await leases.create({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'leader' },
        spec: { holderIdentity: 'a', leaseDurationSeconds: 15 },
      })
      expect(l.spec).toMatchObject({ holderIdentity: 'a' })
      const dup = await caught(leases.create({ metadata: { name: 'leader' }, spec: {} }))
      expect(dup).toBeInstanceOf(ApiError)
      expect(dup).toMatchObject({ code: 409, reason: 'AlreadyExists' })
      const renewed = await leases.update({ ...l, spec: { ...l.spec, holderIdentity: 'b' } })
      expect(renewed.spec?.['holderIdentity']).toBe('b')
      expect(await caught(leases.update(l))).toMatchObject({ code: 409, reason: 'Conflict' })
      expect(await caught(leases.get('nope'))).toMatchObject({ code: 404, reason: 'NotFound' })
      const bad = await caught(leases.create({ metadata: { name: 'Bad_Name' }, spec: {} }))
      expect(bad).toMatchObject({ code: 422, reason: 'Invalid' })
      await leases.delete('leader')
      expect((await leases.list()).items).toEqual([])
    })

    it('deployments: generation bumps on spec changes only; status goes through /status only', async () => {
      await ns('c-dep')
      const path = '/apis/apps/v1/namespaces/c-dep/deployments'
      const c = await call('POST', path, deployment('web'))
      expect(c.status).toBe(201)
      expect(c.body['metadata'].generation).toBe(1)
      expect(c.body['spec']).toMatchObject({ revisionHistoryLimit: 10, progressDeadlineSeconds: 600 })
      const labelled = structuredClone(c.body)
      labelled['metadata'].labels = { x: 'y' }
      labelled['status'] = { replicas: 7 }
      const u1 = await call('PUT', `${path}/web`, labelled)
      expect(u1.body['metadata'].generation).toBe(1)
      expect(u1.body['status']?.replicas).toBeUndefined()
      const u2 = await call('PATCH', `${path}/web`, { spec: { replicas: 3 } }, MERGE)
      expect(u2.body['metadata'].generation).toBe(2)
      const st = structuredClone(u2.body)
      st['status'] = { replicas: 3, observedGeneration: 2 }
      st['spec'].replicas = 9
      const s = await call('PUT', `${path}/web/status`, st)
      expect(s.status).toBe(200)
      expect(s.body['status']).toMatchObject({ replicas: 3, observedGeneration: 2 })
      expect(s.body['spec'].replicas).toBe(3)
      expect(s.body['metadata'].generation).toBe(2)
      // Through the client: updateStatus takes only the status.
      const deps = api()
        .resource<Obj>({ group: 'apps', version: 'v1', plural: 'deployments', namespaced: true })
        .namespace('c-dep')
      const cur = await deps.get('web')
      const s2 = await deps.updateStatus({ ...cur, status: { ...cur.status, readyReplicas: 3 } })
      expect(s2.status?.['readyReplicas']).toBe(3)
      expect((await deps.get('web')).metadata['generation']).toBe(2)
    })

    it('lists with label and field selectors, over HTTP and through ApiClient', async () => {
      await ns('c-sel')
      await call('POST', '/api/v1/namespaces/c-sel/pods', pod('p1', { app: 'web', tier: 'front' }))
      await call('POST', '/api/v1/namespaces/c-sel/pods', pod('p2', { app: 'db' }))
      await call('POST', '/api/v1/namespaces/c-sel/pods', pod('p3', { app: 'web' }, { nodeName: 'n1' }))
      const p = '/api/v1/namespaces/c-sel/pods'
      expect(names((await call('GET', `${p}?labelSelector=app%3Dweb`)).body)).toEqual(['p1', 'p3'])
      expect(names((await call('GET', `${p}?labelSelector=app%20in%20(db,x),!tier`)).body)).toEqual(['p2'])
      expect(names((await call('GET', `${p}?fieldSelector=spec.nodeName%3Dn1`)).body)).toEqual(['p3'])
      expect(names((await call('GET', `${p}?fieldSelector=metadata.name!%3Dp1`)).body)).toEqual(['p2', 'p3'])
      const all = await call('GET', '/api/v1/pods?fieldSelector=metadata.namespace%3Dc-sel')
      expect(all.body).toMatchObject({ kind: 'PodList', apiVersion: 'v1' })
      expect(names(all.body)).toEqual(['p1', 'p2', 'p3'])
      const bad = await call('GET', `${p}?fieldSelector=spec.bogus%3Dx`)
      expect(bad).toMatchObject({ status: 400, body: { reason: 'BadRequest' } })
      const pods = podsApi().namespace('c-sel')
      const viaClient = await pods.list({ labelSelector: 'app=web', fieldSelector: 'spec.nodeName=' })
      expect(viaClient.items.map((i) => i.metadata.name)).toEqual(['p1'])
    })

    it('paginates with limit/continue at the first page revision', async () => {
      await ns('c-page')
      for (let i = 0; i < 5; i++) await call('POST', '/api/v1/namespaces/c-page/pods', pod(`p${i}`))
      const p = '/api/v1/namespaces/c-page/pods'
      const first = await call('GET', `${p}?limit=2`)
      expect(names(first.body)).toEqual(['p0', 'p1'])
      expect(first.body['metadata'].remainingItemCount).toBe(3)
      const rv = first.body['metadata'].resourceVersion as string
      await call('POST', p, pod('p2a'))
      await call('DELETE', `${p}/p4`)
      const second = await call('GET', `${p}?limit=2&continue=${first.body['metadata'].continue}`)
      expect(second.body['metadata'].resourceVersion).toBe(rv)
      expect(names(second.body)).toEqual(['p2', 'p3'])
      const third = await call('GET', `${p}?limit=2&continue=${second.body['metadata'].continue}`)
      expect(names(third.body)).toEqual(['p4'])
      expect(third.body['metadata'].continue).toBeUndefined()
      // The client follows continue tokens by itself, and single pages on request.
      const pods = podsApi().namespace('c-page')
      expect((await pods.list({ limit: 2 })).items.map((i) => i.metadata.name)).toEqual([
        'p0',
        'p1',
        'p2',
        'p2a',
        'p3',
      ])
      const one = await pods.list({ limit: 2, paging: 'single' })
      expect(one.items).toHaveLength(2)
      expect(one.metadata.continue).toEqual(expect.any(String))
    })

    it('watches from a list resourceVersion: ADDED, MODIFIED, DELETED over HTTP', async () => {
      await ns('c-watch')
      const p = '/api/v1/namespaces/c-watch/pods'
      await call('POST', p, pod('old'))
      const rv = (await call('GET', p)).body['metadata'].resourceVersion as string
      const events = await watchHttp(
        `${p}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`,
        3,
        async () => {
          await call('POST', p, pod('new'))
          await call('PATCH', `${p}/new`, { metadata: { labels: { v: '2' } } }, MERGE)
          await call('DELETE', `${p}/old`)
        },
      )
      expect(events.map((e) => `${e['type']} ${e['object'].metadata.name}`)).toEqual([
        'ADDED new',
        'MODIFIED new',
        'DELETED old',
      ])
      expect(events[1]?.['object']).toMatchObject({
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { labels: { v: '2' } },
      })
      const revs = events.map((e) => Number(e['object'].metadata.resourceVersion))
      expect(revs[0]).toBeGreaterThan(Number(rv))
      expect([...revs].sort((a, b) => a - b)).toEqual(revs)
    })

    it('watches through ApiClient from a list resourceVersion', async () => {
      await ns('c-cwatch')
      const pods = podsApi().namespace('c-cwatch')
      await pods.create(pod('a') as Obj)
      const list = await pods.list()
      const stream = await pods.watch({ resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 30 })
      const seen: string[] = []
      const reading = (async () => {
        for await (const e of stream) {
          if (e.type === 'BOOKMARK') continue
          seen.push(`${e.type} ${e.type === 'ERROR' ? e.object.code : e.object.metadata.name}`)
          if (seen.length === 3) break
        }
      })()
      await pods.create(pod('b') as Obj)
      await pods.patch('a', { metadata: { labels: { x: 'y' } } }, 'merge')
      await pods.delete('b')
      await Promise.race([reading, sleep(20_000)])
      stream.close()
      expect(seen).toEqual(['ADDED b', 'MODIFIED a', 'DELETED b'])
    })

    it('a watch from a compacted resourceVersion ends with ERROR 410 Expired (HTTP and client)', async () => {
      await ns('c-compact')
      const p = '/api/v1/namespaces/c-compact/pods'
      const old = (await call('POST', p, pod('a'))).body['metadata'].resourceVersion as string
      await call('PATCH', `${p}/a`, { metadata: { labels: { v: '1' } } }, MERGE)
      await call('PATCH', `${p}/a`, { metadata: { labels: { v: '2' } } }, MERGE)
      await storage.compact(await storage.currentRevision())
      const events = await watchHttp(`${p}?watch=true&resourceVersion=${old}`, 1, async () => {})
      expect(events).toHaveLength(1)
      expect(events[0]).toMatchObject({
        type: 'ERROR',
        object: { kind: 'Status', code: 410, reason: 'Expired' },
      })
      expect(events[0]?.['object'].message).toMatch(/^too old resource version: \d+ \(\d+\)$/)
      const stream = await podsApi()
        .namespace('c-compact')
        .watch({ resourceVersion: old, timeoutSeconds: 30 })
      const got: Array<{ type: string; code?: number | undefined }> = []
      for await (const e of stream)
        got.push({ type: e.type, code: e.type === 'ERROR' ? e.object.code : undefined })
      expect(got).toEqual([{ type: 'ERROR', code: 410 }])
    })

    it('an informer syncs, then follows adds, updates and deletes', async () => {
      await ns('c-inf')
      const pods = podsApi().namespace('c-inf')
      await pods.create(pod('before') as Obj)
      const informer = new Informer<Obj>(podsApi().namespace('c-inf'))
      const seen: string[] = []
      informer.addEventHandler({
        onAdd: (o) => seen.push(`add ${o.metadata.name}`),
        onUpdate: (_o, n) => seen.push(`update ${n.metadata.name}`),
        onDelete: (o) => seen.push(`delete ${'metadata' in o ? o.metadata.name : o.key}`),
      })
      informer.start()
      try {
        expect(await informer.waitForSync({ timeoutMs: 20_000 })).toBe(true)
        expect(informer.keys()).toEqual(['c-inf/before'])
        await pods.create(pod('after') as Obj)
        await pods.patch('after', { metadata: { labels: { x: 'y' } } }, 'merge')
        await pods.delete('before')
        await until(() => seen.length >= 4)
        expect(seen).toEqual(['add before', 'add after', 'update after', 'delete before'])
        expect(informer.keys()).toEqual(['c-inf/after'])
        expect(informer.get('c-inf/after')?.metadata.labels).toEqual({ x: 'y' })
      } finally {
        await informer.stop()
      }
    })

    it('pods/binding binds once and sets PodScheduled; /scale reads and writes a Scale', async () => {
      await ns('c-sub')
      const p = '/api/v1/namespaces/c-sub/pods'
      await call('POST', p, pod('web'))
      const bound = await call('POST', `${p}/web/binding`, binding('web', 'node-1'))
      expect(bound).toMatchObject({ status: 201, body: { kind: 'Status', status: 'Success' } })
      const got = (await call('GET', `${p}/web`)).body
      expect(got['spec'].nodeName).toBe('node-1')
      expect(got['status'].conditions).toEqual([
        { type: 'PodScheduled', status: 'True', lastTransitionTime: expect.stringMatching(/Z$/) },
      ])
      const again = await call('POST', `${p}/web/binding`, binding('web', 'node-2'))
      expect(again).toMatchObject({ status: 409, body: { reason: 'Conflict' } })
      // Binding through the client (the scheduler's way).
      await call('POST', p, pod('api'))
      await podsApi().namespace('c-sub').postSubresource('api', 'binding', binding('api', 'node-2'))
      expect((await call('GET', `${p}/api`)).body['spec'].nodeName).toBe('node-2')

      const d = '/apis/apps/v1/namespaces/c-sub/deployments'
      await call('POST', d, deployment('web', 2))
      const scale = await call('GET', `${d}/web/scale`)
      expect(scale.body).toMatchObject({
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        spec: { replicas: 2 },
        status: { replicas: 0, selector: 'app=web' },
      })
      const patched = await call('PATCH', `${d}/web/scale`, { spec: { replicas: 5 } }, MERGE)
      expect(patched).toMatchObject({ status: 200, body: { kind: 'Scale', spec: { replicas: 5 } } })
      const deps = api()
        .resource<Obj>({ group: 'apps', version: 'v1', plural: 'deployments', namespaced: true })
        .namespace('c-sub')
      const s = await deps.getSubresource<Json>('web', 'scale')
      const put = await deps.putSubresource<Json>('web', 'scale', { ...s, spec: { replicas: 1 } })
      expect(put['spec']).toEqual({ replicas: 1 })
      const after = await deps.get('web')
      expect(after.spec?.['replicas']).toBe(1)
      expect(after.metadata['generation']).toBe(3)
    })

    it('graceful deletion: a bound pod gets deletionTimestamp and grace; grace 0 removes it', async () => {
      await ns('c-grace')
      const p = '/api/v1/namespaces/c-grace/pods'
      await call('POST', p, pod('bound', {}, { terminationGracePeriodSeconds: 45 }))
      await call('POST', `${p}/bound/binding`, binding('bound', 'n'))
      await call('POST', p, pod('unbound'))
      const del = await call('DELETE', `${p}/bound`, { propagationPolicy: 'Background' })
      expect(del.status).toBe(200)
      expect(del.body['metadata'].deletionGracePeriodSeconds).toBe(45)
      expect(Date.parse(del.body['metadata'].deletionTimestamp)).toBeGreaterThan(Date.now() + 30_000)
      expect((await call('GET', `${p}/bound`)).status).toBe(200)
      const pods = podsApi().namespace('c-grace')
      const fin = await pods.delete('bound', { gracePeriodSeconds: 0 })
      expect((fin as Obj).metadata['deletionGracePeriodSeconds']).toBe(0)
      expect(await caught(pods.get('bound'))).toMatchObject({ code: 404 })
      expect((await call('DELETE', `${p}/unbound`)).status).toBe(200)
      expect((await call('GET', `${p}/unbound`)).status).toBe(404)
    })

    it('records storage latency in /metrics by operation and resource', async () => {
      await ns('c-metrics')
      await call('POST', '/api/v1/namespaces/c-metrics/pods', pod('m'))
      await call('GET', '/api/v1/namespaces/c-metrics/pods/m')
      const text = (await request(`${base}/metrics`).then((r) => r.body.text())) as string
      const count = (op: string, type: string) =>
        Number(
          new RegExp(
            `^etcd_request_duration_seconds_count\\{operation="${op}",type="${type}"\\} (\\d+)$`,
            'm',
          ).exec(text)?.[1] ?? 0,
        )
      expect(count('create', 'pods')).toBeGreaterThanOrEqual(1)
      expect(count('get', 'pods')).toBeGreaterThanOrEqual(1)
      expect(count('get', 'namespaces')).toBeGreaterThanOrEqual(1)
      expect(text).toMatch(/^apiserver_storage_objects\{resource="pods"\} \d+$/m)
    })
  })
}
