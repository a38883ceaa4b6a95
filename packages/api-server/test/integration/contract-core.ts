/**
 * Contract cases for the basics (the suite's first cases): namespaces, pod create/update/conflict,
 * leases through ApiClient, deployment generation and /status, selectors, pagination, watches over
 * HTTP and through the client, 410 after compaction, the informer, binding and scale, graceful
 * deletion, and storage metrics.
 */
import { ApiError, Informer } from '@hakube/api'
import { request } from 'undici'
import { expect, it } from 'vitest'
import {
  binding,
  type ContractFixture,
  caught,
  collectEvents,
  deployment,
  type Json,
  MERGE,
  names,
  type Obj,
  pod,
  TYPES,
  until,
  WATCH_CACHE_RING,
} from './contract-fixture.js'

export function coreCases(fx: ContractFixture): void {
  it('namespaces: create, get, AlreadyExists, NotFound, delete marks Terminating', async () => {
    const c = await fx.call('POST', '/api/v1/namespaces', { metadata: { name: 'c-ns' } })
    expect(c.status).toBe(201)
    expect(c.body).toMatchObject({ kind: 'Namespace', apiVersion: 'v1', status: { phase: 'Active' } })
    expect(c.body['metadata'].uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(c.body['metadata'].resourceVersion).toMatch(/^\d+$/)
    const got = await fx.call('GET', '/api/v1/namespaces/c-ns')
    expect(got.body['metadata'].resourceVersion).toBe(c.body['metadata'].resourceVersion)
    const dup = await fx.call('POST', '/api/v1/namespaces', { metadata: { name: 'c-ns' } })
    expect(dup).toMatchObject({
      status: 409,
      body: {
        kind: 'Status',
        reason: 'AlreadyExists',
        code: 409,
        message: 'namespaces "c-ns" already exists',
      },
    })
    const missing = await fx.call('GET', '/api/v1/namespaces/c-nope')
    expect(missing).toMatchObject({
      status: 404,
      body: { kind: 'Status', reason: 'NotFound', details: { name: 'c-nope', kind: 'namespaces' } },
    })
    const del = await fx.call('DELETE', '/api/v1/namespaces/c-ns')
    expect(del.status).toBe(200)
    expect(del.body).toMatchObject({ kind: 'Namespace', status: { phase: 'Terminating' } })
    const inDoomed = await fx.call('POST', '/api/v1/namespaces/c-ns/pods', pod('p'))
    expect(inDoomed.status).toBe(403)
    expect(inDoomed.body['reason']).toBe('Forbidden')
  })

  it('pods over HTTP: namespace required, 422 Invalid, stale update 409 Conflict, delete', async () => {
    const noNs = await fx.call('POST', '/api/v1/namespaces/c-missing/pods', pod('p'))
    expect(noNs).toMatchObject({ status: 404, body: { message: 'namespaces "c-missing" not found' } })
    await fx.ns('c-pods')
    const invalid = await fx.call('POST', '/api/v1/namespaces/c-pods/pods', {
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
    const c = await fx.call('POST', '/api/v1/namespaces/c-pods/pods', pod('p'))
    expect(c.status).toBe(201)
    expect(c.body['spec']).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' })
    const u = await fx.call('PUT', '/api/v1/namespaces/c-pods/pods/p', {
      ...c.body,
      metadata: { ...c.body['metadata'], labels: { a: 'b' } },
    })
    expect(u.status).toBe(200)
    expect(Number(u.body['metadata'].resourceVersion)).toBeGreaterThan(
      Number(c.body['metadata'].resourceVersion),
    )
    const stale = await fx.call('PUT', '/api/v1/namespaces/c-pods/pods/p', c.body)
    expect(stale).toMatchObject({ status: 409, body: { reason: 'Conflict', code: 409 } })
    expect(stale.body['message']).toMatch(/the object has been modified; please apply your changes/)
    expect((await fx.call('DELETE', '/api/v1/namespaces/c-pods/pods/p')).status).toBe(200)
    const gone = await fx.call('GET', '/api/v1/namespaces/c-pods/pods/p')
    expect(gone).toMatchObject({ status: 404, body: { reason: 'NotFound', message: 'pods "p" not found' } })
  })

  it('leases through ApiClient: typed CRUD and Status errors', async () => {
    await fx.ns('c-lease')
    const leases = fx.resource(TYPES.leases).namespace('c-lease')
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
    await fx.ns('c-dep')
    const path = '/apis/apps/v1/namespaces/c-dep/deployments'
    const c = await fx.call('POST', path, deployment('web'))
    expect(c.status).toBe(201)
    expect(c.body['metadata'].generation).toBe(1)
    expect(c.body['spec']).toMatchObject({ revisionHistoryLimit: 10, progressDeadlineSeconds: 600 })
    const labelled = structuredClone(c.body)
    labelled['metadata'].labels = { x: 'y' }
    labelled['status'] = { replicas: 7 }
    const u1 = await fx.call('PUT', `${path}/web`, labelled)
    expect(u1.body['metadata'].generation).toBe(1)
    expect(u1.body['status']?.replicas).toBeUndefined()
    const u2 = await fx.call('PATCH', `${path}/web`, { spec: { replicas: 3 } }, MERGE)
    expect(u2.body['metadata'].generation).toBe(2)
    const st = structuredClone(u2.body)
    st['status'] = { replicas: 3, observedGeneration: 2 }
    st['spec'].replicas = 9
    const s = await fx.call('PUT', `${path}/web/status`, st)
    expect(s.status).toBe(200)
    expect(s.body['status']).toMatchObject({ replicas: 3, observedGeneration: 2 })
    expect(s.body['spec'].replicas).toBe(3)
    expect(s.body['metadata'].generation).toBe(2)
    // Through the client: updateStatus takes only the status.
    const deps = fx.resource(TYPES.deployments).namespace('c-dep')
    const cur = await deps.get('web')
    const s2 = await deps.updateStatus({ ...cur, status: { ...cur.status, readyReplicas: 3 } })
    expect(s2.status?.['readyReplicas']).toBe(3)
    expect((await deps.get('web')).metadata['generation']).toBe(2)
  })

  it('lists with label and field selectors, over HTTP and through ApiClient', async () => {
    await fx.ns('c-sel')
    await fx.call('POST', '/api/v1/namespaces/c-sel/pods', pod('p1', { app: 'web', tier: 'front' }))
    await fx.call('POST', '/api/v1/namespaces/c-sel/pods', pod('p2', { app: 'db' }))
    await fx.call('POST', '/api/v1/namespaces/c-sel/pods', pod('p3', { app: 'web' }, { nodeName: 'n1' }))
    const p = '/api/v1/namespaces/c-sel/pods'
    expect(names((await fx.call('GET', `${p}?labelSelector=app%3Dweb`)).body)).toEqual(['p1', 'p3'])
    expect(names((await fx.call('GET', `${p}?labelSelector=app%20in%20(db,x),!tier`)).body)).toEqual(['p2'])
    expect(names((await fx.call('GET', `${p}?fieldSelector=spec.nodeName%3Dn1`)).body)).toEqual(['p3'])
    expect(names((await fx.call('GET', `${p}?fieldSelector=metadata.name!%3Dp1`)).body)).toEqual(['p2', 'p3'])
    const all = await fx.call('GET', '/api/v1/pods?fieldSelector=metadata.namespace%3Dc-sel')
    expect(all.body).toMatchObject({ kind: 'PodList', apiVersion: 'v1' })
    expect(names(all.body)).toEqual(['p1', 'p2', 'p3'])
    const bad = await fx.call('GET', `${p}?fieldSelector=spec.bogus%3Dx`)
    expect(bad).toMatchObject({ status: 400, body: { reason: 'BadRequest' } })
    const pods = fx.resource(TYPES.pods).namespace('c-sel')
    const viaClient = await pods.list({ labelSelector: 'app=web', fieldSelector: 'spec.nodeName=' })
    expect(viaClient.items.map((i) => i.metadata.name)).toEqual(['p1'])
  })

  it('paginates with limit/continue at the first page revision', async () => {
    await fx.ns('c-page')
    for (let i = 0; i < 5; i++) await fx.call('POST', '/api/v1/namespaces/c-page/pods', pod(`p${i}`))
    const p = '/api/v1/namespaces/c-page/pods'
    const first = await fx.call('GET', `${p}?limit=2`)
    expect(names(first.body)).toEqual(['p0', 'p1'])
    expect(first.body['metadata'].remainingItemCount).toBe(3)
    const rv = first.body['metadata'].resourceVersion as string
    await fx.call('POST', p, pod('p2a'))
    await fx.call('DELETE', `${p}/p4`)
    const second = await fx.call('GET', `${p}?limit=2&continue=${first.body['metadata'].continue}`)
    expect(second.body['metadata'].resourceVersion).toBe(rv)
    expect(names(second.body)).toEqual(['p2', 'p3'])
    const third = await fx.call('GET', `${p}?limit=2&continue=${second.body['metadata'].continue}`)
    expect(names(third.body)).toEqual(['p4'])
    expect(third.body['metadata'].continue).toBeUndefined()
    // The client follows continue tokens by itself, and single pages on request.
    const pods = fx.resource(TYPES.pods).namespace('c-page')
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
    await fx.ns('c-watch')
    const p = '/api/v1/namespaces/c-watch/pods'
    await fx.call('POST', p, pod('old'))
    const rv = (await fx.call('GET', p)).body['metadata'].resourceVersion as string
    const events = await fx.watchHttp(
      `${p}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`,
      4,
      async () => {
        await fx.call('POST', p, pod('new'))
        await fx.call('PATCH', `${p}/new`, { metadata: { labels: { v: '2' } } }, MERGE)
        await fx.call('DELETE', `${p}/old`)
      },
    )
    // Deleting a pod first marks it (deletionTimestamp, grace 0): MODIFIED, then DELETED.
    expect(events.map((e) => `${e['type']} ${e['object'].metadata.name}`)).toEqual([
      'ADDED new',
      'MODIFIED new',
      'MODIFIED old',
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
    await fx.ns('c-cwatch')
    const pods = fx.resource(TYPES.pods).namespace('c-cwatch')
    await pods.create(pod('a') as Obj)
    const list = await pods.list()
    const stream = await pods.watch({ resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 30 })
    const { seen, settled } = collectEvents(stream, 4)
    await pods.create(pod('b') as Obj)
    await pods.patch('a', { metadata: { labels: { x: 'y' } } }, 'merge')
    await pods.delete('b')
    await settled()
    expect(seen).toEqual(['ADDED b', 'MODIFIED a', 'MODIFIED b', 'DELETED b'])
  })

  it('a watch from a compacted resourceVersion ends with ERROR 410 Expired (HTTP and client)', async () => {
    await fx.ns('c-compact')
    const p = '/api/v1/namespaces/c-compact/pods'
    const old = (await fx.call('POST', p, pod('a'))).body['metadata'].resourceVersion as string
    await fx.call('PATCH', `${p}/a`, { metadata: { labels: { v: '1' } } }, MERGE)
    await fx.call('PATCH', `${p}/a`, { metadata: { labels: { v: '2' } } }, MERGE)
    await fx.storage.compact(await fx.storage.currentRevision())
    // Through the watch cache, as kube's cacher, a compacted revision still in the cache's ring is
    // served from it; 410 comes once the ring has dropped it: push it out with more changes.
    for (let i = 0; fx.watchCache && i < WATCH_CACHE_RING; i++)
      await fx.call('PATCH', `${p}/a`, { metadata: { labels: { v: `r${i}` } } }, MERGE)
    const events = await fx.watchHttp(`${p}?watch=true&resourceVersion=${old}`, 1, async () => {})
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    })
    expect(events[0]?.['object'].message).toMatch(/^too old resource version: \d+ \(\d+\)$/)
    const stream = await fx
      .resource(TYPES.pods)
      .namespace('c-compact')
      .watch({ resourceVersion: old, timeoutSeconds: 30 })
    const got: Array<{ type: string; code?: number | undefined }> = []
    for await (const e of stream)
      got.push({ type: e.type, code: e.type === 'ERROR' ? e.object.code : undefined })
    expect(got).toEqual([{ type: 'ERROR', code: 410 }])
  })

  it('an informer syncs, then follows adds, updates and deletes', async () => {
    await fx.ns('c-inf')
    const pods = fx.resource(TYPES.pods).namespace('c-inf')
    await pods.create(pod('before') as Obj)
    const informer = new Informer<Obj>(fx.resource(TYPES.pods).namespace('c-inf'))
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
      await until(() => seen.length >= 5)
      expect(seen).toEqual(['add before', 'add after', 'update after', 'update before', 'delete before'])
      expect(informer.keys()).toEqual(['c-inf/after'])
      expect(informer.get('c-inf/after')?.metadata.labels).toEqual({ x: 'y' })
    } finally {
      await informer.stop()
    }
  })

  it('pods/binding binds once and sets PodScheduled; /scale reads and writes a Scale', async () => {
    await fx.ns('c-sub')
    const p = '/api/v1/namespaces/c-sub/pods'
    await fx.call('POST', p, pod('web'))
    const bound = await fx.call('POST', `${p}/web/binding`, binding('web', 'node-1'))
    expect(bound).toMatchObject({ status: 201, body: { kind: 'Status', status: 'Success' } })
    const got = (await fx.call('GET', `${p}/web`)).body
    expect(got['spec'].nodeName).toBe('node-1')
    expect(got['status'].conditions).toEqual([
      { type: 'PodScheduled', status: 'True', lastTransitionTime: expect.stringMatching(/Z$/) },
    ])
    const again = await fx.call('POST', `${p}/web/binding`, binding('web', 'node-2'))
    expect(again).toMatchObject({ status: 409, body: { reason: 'Conflict' } })
    // Binding through the client (the scheduler's way).
    await fx.call('POST', p, pod('api'))
    await fx
      .resource(TYPES.pods)
      .namespace('c-sub')
      .postSubresource('api', 'binding', binding('api', 'node-2'))
    expect((await fx.call('GET', `${p}/api`)).body['spec'].nodeName).toBe('node-2')

    const d = '/apis/apps/v1/namespaces/c-sub/deployments'
    await fx.call('POST', d, deployment('web', 2))
    const scale = await fx.call('GET', `${d}/web/scale`)
    expect(scale.body).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 2 },
      status: { replicas: 0, selector: 'app=web' },
    })
    const patched = await fx.call('PATCH', `${d}/web/scale`, { spec: { replicas: 5 } }, MERGE)
    expect(patched).toMatchObject({ status: 200, body: { kind: 'Scale', spec: { replicas: 5 } } })
    const deps = fx.resource(TYPES.deployments).namespace('c-sub')
    const s = await deps.getSubresource<Json>('web', 'scale')
    const put = await deps.putSubresource<Json>('web', 'scale', { ...s, spec: { replicas: 1 } })
    expect(put['spec']).toEqual({ replicas: 1 })
    const after = await deps.get('web')
    expect(after.spec?.['replicas']).toBe(1)
    expect(after.metadata['generation']).toBe(3)
  })

  it('graceful deletion: a bound pod gets deletionTimestamp and grace; grace 0 removes it', async () => {
    await fx.ns('c-grace')
    const p = '/api/v1/namespaces/c-grace/pods'
    await fx.call('POST', p, pod('bound', {}, { terminationGracePeriodSeconds: 45 }))
    await fx.call('POST', `${p}/bound/binding`, binding('bound', 'n'))
    await fx.call('POST', p, pod('unbound'))
    const del = await fx.call('DELETE', `${p}/bound`, { propagationPolicy: 'Background' })
    expect(del.status).toBe(200)
    expect(del.body['metadata'].deletionGracePeriodSeconds).toBe(45)
    expect(Date.parse(del.body['metadata'].deletionTimestamp)).toBeGreaterThan(Date.now() + 30_000)
    expect((await fx.call('GET', `${p}/bound`)).status).toBe(200)
    const pods = fx.resource(TYPES.pods).namespace('c-grace')
    const fin = await pods.delete('bound', { gracePeriodSeconds: 0 })
    expect((fin as Obj).metadata['deletionGracePeriodSeconds']).toBe(0)
    expect(await caught(pods.get('bound'))).toMatchObject({ code: 404 })
    expect((await fx.call('DELETE', `${p}/unbound`)).status).toBe(200)
    expect((await fx.call('GET', `${p}/unbound`)).status).toBe(404)
  })

  it('records storage latency in /metrics by operation and resource', async () => {
    await fx.ns('c-metrics')
    await fx.call('POST', '/api/v1/namespaces/c-metrics/pods', pod('m'))
    await fx.call('GET', '/api/v1/namespaces/c-metrics/pods/m')
    const text = (await request(`${fx.base}/metrics`).then((r) => r.body.text())) as string
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
}
