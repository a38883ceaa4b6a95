/**
 * Goal: the REST core answers as kube-apiserver does for every verb: object lifecycle (uid,
 * creationTimestamp, resourceVersion, generation, generateName, namespace rules, optimistic
 * concurrency, status isolation), lists with selectors and pagination, patches, and errors as exact
 * Kubernetes Status bodies.
 * Method: a real ApiServer on 127.0.0.1 (port 0) over the memory storage, driven with undici.
 */
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { afterEach, describe, expect, it } from 'vitest'
import { call, type Json, startTestServer, stopTestServers } from '../testing/harness.js'

afterEach(stopTestServers)

async function startRest(storage: Storage = createMemoryStorage()) {
  return startTestServer({ storage, bookmarkIntervalMs: 200 })
}

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
})
const deployment = (name: string, replicas = 1) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
})
async function namespace(base: string, name: string) {
  const r = await call('POST', `${base}/api/v1/namespaces`, { metadata: { name } })
  expect(r.status).toBe(201)
  return r.body
}

describe('object lifecycle', () => {
  it('creates, reads, updates and deletes namespaces and pods with server-owned metadata', async () => {
    const { base } = await startRest()
    const ns = await namespace(base, 'team-a')
    expect(ns).toMatchObject({
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    })
    expect(ns['metadata'].uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(ns['metadata'].creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(ns['metadata'].resourceVersion).toMatch(/^\d+$/)
    expect(ns['metadata'].generation).toBeUndefined()

    const created = await call('POST', `${base}/api/v1/namespaces/team-a/pods`, pod('web', { app: 'web' }))
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name: 'web', namespace: 'team-a' },
      spec: { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler' },
      status: { phase: 'Pending' },
    })
    const got = await call('GET', `${base}/api/v1/namespaces/team-a/pods/web`)
    expect(got.status).toBe(200)
    expect(got.body).toEqual(created.body)

    const changed = structuredClone(got.body)
    changed['metadata'].labels.tier = 'front'
    const updated = await call('PUT', `${base}/api/v1/namespaces/team-a/pods/web`, changed)
    expect(updated.status).toBe(200)
    expect(updated.body['metadata']).toMatchObject({
      uid: created.body['metadata'].uid,
      creationTimestamp: created.body['metadata'].creationTimestamp,
      labels: { app: 'web', tier: 'front' },
    })
    expect(Number(updated.body['metadata'].resourceVersion)).toBeGreaterThan(
      Number(created.body['metadata'].resourceVersion),
    )
    // A no-op update writes nothing.
    const same = await call('PUT', `${base}/api/v1/namespaces/team-a/pods/web`, updated.body)
    expect(same.body['metadata'].resourceVersion).toBe(updated.body['metadata'].resourceVersion)

    const del = await call('DELETE', `${base}/api/v1/namespaces/team-a/pods/web`, {
      propagationPolicy: 'Background',
    })
    expect(del.status).toBe(200)
    expect(del.body).toMatchObject({ kind: 'Pod', metadata: { name: 'web' } })
    const gone = await call('GET', `${base}/api/v1/namespaces/team-a/pods/web`)
    expect(gone).toEqual({
      status: 404,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'pods "web" not found',
        reason: 'NotFound',
        details: { name: 'web', kind: 'pods' },
        code: 404,
      },
    })
  })

  it('deleting a namespace marks it Terminating; creates in it are then forbidden', async () => {
    const { base } = await startRest()
    await namespace(base, 'doomed')
    const del = await call('DELETE', `${base}/api/v1/namespaces/doomed`)
    expect(del.status).toBe(200)
    expect(del.body).toMatchObject({ kind: 'Namespace', status: { phase: 'Terminating' } })
    expect(del.body['metadata'].deletionTimestamp).toMatch(/Z$/)
    expect((await call('GET', `${base}/api/v1/namespaces/doomed`)).body['status'].phase).toBe('Terminating')
    const r = await call('POST', `${base}/api/v1/namespaces/doomed/pods`, pod('p'))
    expect(r.status).toBe(403)
    expect(r.body).toMatchObject({
      reason: 'Forbidden',
      message:
        'pods "p" is forbidden: unable to create new content in namespace doomed because it is being terminated',
      details: {
        name: 'p',
        kind: 'pods',
        causes: [{ reason: 'NamespaceTerminating', field: 'metadata.namespace' }],
      },
    })
    const def = await call('DELETE', `${base}/api/v1/namespaces/default`)
    expect(def.status).toBe(404)
    await namespace(base, 'default')
    const immortal = await call('DELETE', `${base}/api/v1/namespaces/default`)
    expect(immortal.status).toBe(403)
    expect(immortal.body['message']).toBe(
      'namespaces "default" is forbidden: this namespace may not be deleted',
    )
  })

  it('needs an existing namespace, the URL namespace, and generates names', async () => {
    const { base } = await startRest()
    const missing = await call('POST', `${base}/api/v1/namespaces/nope/pods`, pod('p'))
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({
      message: 'namespaces "nope" not found',
      details: { name: 'nope', kind: 'namespaces' },
    })
    await namespace(base, 'a')
    const wrong = await call('POST', `${base}/api/v1/namespaces/a/pods`, {
      ...pod('p'),
      metadata: { name: 'p', namespace: 'b' },
    })
    expect(wrong).toEqual({
      status: 400,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'the namespace of the provided object does not match the namespace sent on the request',
        reason: 'BadRequest',
        code: 400,
      },
    })
    const names = new Set<string>()
    for (let i = 0; i < 3; i++) {
      const r = await call('POST', `${base}/api/v1/namespaces/a/pods`, {
        ...pod(''),
        metadata: { generateName: 'web-' },
      })
      expect(r.status).toBe(201)
      expect(r.body['metadata'].name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/)
      names.add(r.body['metadata'].name)
    }
    expect(names.size).toBe(3)
    const dup = await call('POST', `${base}/api/v1/namespaces/a/pods`, pod('x'))
    expect(dup.status).toBe(201)
    const again = await call('POST', `${base}/api/v1/namespaces/a/pods`, pod('x'))
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({
      reason: 'AlreadyExists',
      message: 'pods "x" already exists',
      code: 409,
    })
  })

  it('answers 404 for unknown resources, 405 for missing verbs, 422 with causes', async () => {
    const { base } = await startRest()
    const unknown = await call('GET', `${base}/api/v1/widgets`)
    expect(unknown).toEqual({
      status: 404,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'the server could not find the requested resource',
        reason: 'NotFound',
        details: {},
        code: 404,
      },
    })
    expect((await call('GET', `${base}/apis/apps/v2/deployments`)).status).toBe(404)
    const no = await call('DELETE', `${base}/api/v1/namespaces`)
    expect(no).toEqual({
      status: 405,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        // kube has no deletecollection route for namespaces: its router's 405.
        message: 'the server does not allow this method on the requested resource',
        reason: 'MethodNotAllowed',
        details: { causes: [{ reason: 'UnexpectedServerResponse', message: '405: Method Not Allowed' }] },
        code: 405,
      },
    })
    await namespace(base, 'a')
    const bad = await call('POST', `${base}/api/v1/namespaces/a/pods`, { metadata: { name: 'p' }, spec: {} })
    expect(bad.status).toBe(422)
    expect(bad.body).toMatchObject({
      reason: 'Invalid',
      message: 'Pod "p" is invalid: spec.containers: Required value',
      details: {
        name: 'p',
        kind: 'Pod',
        causes: [{ reason: 'FieldValueRequired', field: 'spec.containers' }],
      },
    })
    const badName = await call('POST', `${base}/api/v1/namespaces`, { metadata: { name: 'Bad_Name' } })
    expect(badName.status).toBe(422)
    expect(badName.body['details'].causes[0]).toMatchObject({
      field: 'metadata.name',
      reason: 'FieldValueInvalid',
    })
    const malformed = await call('POST', `${base}/api/v1/namespaces/a/pods`, '{"metadata": ')
    expect(malformed.status).toBe(400)
    expect(malformed.body).toMatchObject({ kind: 'Status', reason: 'BadRequest' })
    const form = await call(
      'POST',
      `${base}/api/v1/namespaces/a/pods`,
      'a=b',
      'application/x-www-form-urlencoded',
    )
    expect(form.status).toBe(415)
    const yaml = await call(
      'POST',
      `${base}/api/v1/namespaces/a/configmaps`,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: v\n',
      'application/yaml',
    )
    expect(yaml.status).toBe(201)
    expect(yaml.body).toMatchObject({ kind: 'ConfigMap', data: { k: 'v' } })
  })
})

describe('updates', () => {
  it('rejects a stale resourceVersion with the optimistic-lock Conflict', async () => {
    const { base } = await startRest()
    await namespace(base, 'a')
    const c = await call('POST', `${base}/api/v1/namespaces/a/pods`, pod('p'))
    const first = structuredClone(c.body)
    first['metadata'].labels = { v: '1' }
    expect((await call('PUT', `${base}/api/v1/namespaces/a/pods/p`, first)).status).toBe(200)
    const stale = structuredClone(c.body)
    stale['metadata'].labels = { v: '2' }
    const r = await call('PUT', `${base}/api/v1/namespaces/a/pods/p`, stale)
    expect(r).toEqual({
      status: 409,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'Operation cannot be fulfilled on pods "p": the object has been modified; please apply your changes to the latest version and try again',
        reason: 'Conflict',
        details: { name: 'p', kind: 'pods' },
        code: 409,
      },
    })
    // Without a resourceVersion the update is unconditional.
    delete stale['metadata'].resourceVersion
    expect((await call('PUT', `${base}/api/v1/namespaces/a/pods/p`, stale)).body['metadata'].labels).toEqual({
      v: '2',
    })
    const mismatch = await call('PUT', `${base}/api/v1/namespaces/a/pods/q`, stale)
    expect(mismatch.status).toBe(400)
    expect(mismatch.body['message']).toBe('the name of the object (p) does not match the name on the URL (q)')
  })

  it('concurrent patches without a resourceVersion all apply (a conflict is retried on the fresh object); a pinned stale one gets 409', async () => {
    // Reads held back 20 ms, so the patches all read the same revision and all but one meet a
    // Conflict at their compare-and-swap (kubectl set image failed so against a whole cluster).
    const inner = createMemoryStorage()
    const slowReads: Storage = Object.assign(Object.create(inner) as Storage, {
      get: async (key: string, opts?: Parameters<Storage['get']>[1]) => {
        const r = await inner.get(key, opts)
        await new Promise((res) => setTimeout(res, 20))
        return r
      },
    })
    const { base } = await startRest(slowReads)
    await namespace(base, 'a')
    const cm = await call('POST', `${base}/api/v1/namespaces/a/configmaps`, { metadata: { name: 'c' } })
    expect(cm.status).toBe(201)
    const url = `${base}/api/v1/namespaces/a/configmaps/c`
    const merge = 'application/merge-patch+json'
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call('PATCH', url, { data: { [`k${i}`]: String(i) } }, merge)),
    )
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200))
    const data = (await call('GET', url)).body['data']
    expect(Object.keys(data).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`).sort())
    // A patch that names a resourceVersion is a precondition: stale, it is refused.
    const stale = await call(
      'PATCH',
      url,
      { metadata: { resourceVersion: cm.body['metadata'].resourceVersion }, data: { x: '1' } },
      merge,
    )
    expect(stale.status).toBe(409)
    expect(stale.body['reason']).toBe('Conflict')
  })

  it('bumps generation on spec changes only and keeps status away from the main resource', async () => {
    const { base } = await startRest()
    await namespace(base, 'a')
    const url = `${base}/apis/apps/v1/namespaces/a/deployments/web`
    const c = await call('POST', `${base}/apis/apps/v1/namespaces/a/deployments`, deployment('web'))
    expect(c.status).toBe(201)
    expect(c.body).toMatchObject({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { generation: 1 },
      spec: { replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600 },
    })
    const labelled = structuredClone(c.body)
    labelled['metadata'].labels = { x: 'y' }
    labelled['status'] = { replicas: 7 }
    const u1 = await call('PUT', url, labelled)
    expect(u1.body['metadata'].generation).toBe(1)
    expect(u1.body['status']).toEqual({})
    const scaled = structuredClone(u1.body)
    scaled['spec'].replicas = 3
    const u2 = await call('PUT', url, scaled)
    expect(u2.body['metadata'].generation).toBe(2)
    expect(u2.body['spec'].replicas).toBe(3)

    const st = structuredClone(u2.body)
    st['status'] = { replicas: 3, readyReplicas: 2, observedGeneration: 2 }
    st['spec'].replicas = 9
    st['metadata'].labels = { x: 'changed' }
    const s = await call('PUT', `${url}/status`, st)
    expect(s.status).toBe(200)
    expect(s.body['status']).toMatchObject({ replicas: 3, readyReplicas: 2, observedGeneration: 2 })
    expect(s.body['spec'].replicas).toBe(3)
    expect(s.body['metadata'].labels).toEqual({ x: 'y' })
    expect(s.body['metadata'].generation).toBe(2)
    const sp = await call(
      'PATCH',
      `${url}/status`,
      { status: { readyReplicas: 3 } },
      'application/merge-patch+json',
    )
    expect(sp.body['status'].readyReplicas).toBe(3)
    expect((await call('GET', `${url}/status`)).body['status'].readyReplicas).toBe(3)
  })

  it('applies merge and JSON patches; an unknown patch type gets 415', async () => {
    const { base } = await startRest()
    await namespace(base, 'a')
    const url = `${base}/api/v1/namespaces/a/pods/p`
    await call('POST', `${base}/api/v1/namespaces/a/pods`, pod('p', { app: 'x', tier: 'web' }))
    const m = await call(
      'PATCH',
      url,
      { metadata: { labels: { tier: null, v: '2' } } },
      'application/merge-patch+json',
    )
    expect(m.status).toBe(200)
    expect(m.body['metadata'].labels).toEqual({ app: 'x', v: '2' })
    const j = await call(
      'PATCH',
      url,
      [
        { op: 'test', path: '/metadata/labels/app', value: 'x' },
        { op: 'add', path: '/metadata/annotations', value: { note: 'hi' } },
        { op: 'remove', path: '/metadata/labels/v' },
      ],
      'application/json-patch+json',
    )
    expect(j.status).toBe(200)
    expect(j.body['metadata']).toMatchObject({ labels: { app: 'x' }, annotations: { note: 'hi' } })
    const failed = await call(
      'PATCH',
      url,
      [{ op: 'test', path: '/metadata/labels/app', value: 'z' }],
      'application/json-patch+json',
    )
    expect(failed.status).toBe(422)
    const stale = await call(
      'PATCH',
      url,
      { metadata: { resourceVersion: '1', labels: { a: 'b' } } },
      'application/merge-patch+json',
    )
    expect(stale.status).toBe(409)
    const unknown = await call('PATCH', url, { metadata: { labels: { a: 'b' } } }, 'application/cbor')
    expect(unknown.status).toBe(415)
    expect(unknown.body).toMatchObject({
      reason: 'UnsupportedMediaType',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml',
    })
    expect(
      (await call('PATCH', `${base}/api/v1/namespaces/a/pods/zz`, {}, 'application/merge-patch+json')).status,
    ).toBe(404)
  })

  it('serves cluster-scoped and grouped kinds: nodes and leases', async () => {
    const { base } = await startRest()
    await namespace(base, 'kube-node-lease')
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'n1' },
      spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 },
    }
    const url = `${base}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases`
    const c = await call('POST', url, lease)
    expect(c.status).toBe(201)
    expect(c.body).toMatchObject({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: 'kube-node-lease' },
    })
    const renewed = structuredClone(c.body)
    renewed['spec'].renewTime = '2026-01-01T00:00:00.000000Z'
    expect((await call('PUT', `${url}/n1`, renewed)).status).toBe(200)
    // A lease update must name the version it replaces (AllowUnconditionalUpdate is false for leases).
    const blind = { ...lease, spec: { ...lease.spec, holderIdentity: 'n2' } }
    const refused = await call('PUT', `${url}/n1`, blind)
    expect(refused.status).toBe(422)
    expect(refused.body['message']).toBe(
      'Lease.coordination.k8s.io "n1" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    )
    const all = await call('GET', `${base}/apis/coordination.k8s.io/v1/leases`)
    expect(all.body).toMatchObject({ kind: 'LeaseList', apiVersion: 'coordination.k8s.io/v1' })
    expect(all.body['items']).toHaveLength(1)
    expect((await call('DELETE', `${url}/n1`)).status).toBe(200)

    const node = await call('POST', `${base}/api/v1/nodes`, {
      metadata: { name: 'node-1', namespace: 'ignored' },
    })
    expect(node.status).toBe(201)
    expect(node.body['metadata'].namespace).toBeUndefined()
    expect((await call('GET', `${base}/api/v1/namespaces/a/nodes/node-1`)).status).toBe(404)
    expect((await call('GET', `${base}/api/v1/nodes/node-1`)).status).toBe(200)
  })
})

describe('list', () => {
  it('filters by label and field selectors and rejects bad ones with kube text', async () => {
    const { base } = await startRest()
    for (const ns of ['a', 'b']) await namespace(base, ns)
    await call('POST', `${base}/api/v1/namespaces/a/pods`, pod('p1', { app: 'web', tier: 'front' }))
    await call('POST', `${base}/api/v1/namespaces/a/pods`, pod('p2', { app: 'db' }))
    await call('POST', `${base}/api/v1/namespaces/b/pods`, pod('p3', { app: 'web' }))
    const names = (r: { body: Json }) => (r.body['items'] as Json[]).map((i) => i['metadata'].name)
    const all = await call('GET', `${base}/api/v1/pods`)
    expect(all.body).toMatchObject({ kind: 'PodList', apiVersion: 'v1' })
    expect(all.body['metadata'].resourceVersion).toMatch(/^\d+$/)
    expect(names(all)).toEqual(['p1', 'p2', 'p3'])
    expect((all.body['items'] as Json[])[0]).toMatchObject({ kind: 'Pod', apiVersion: 'v1' })
    expect(names(await call('GET', `${base}/api/v1/pods?labelSelector=app%3Dweb`))).toEqual(['p1', 'p3'])
    expect(names(await call('GET', `${base}/api/v1/pods?labelSelector=app%20in%20(db,x),!tier`))).toEqual([
      'p2',
    ])
    expect(names(await call('GET', `${base}/api/v1/namespaces/a/pods?labelSelector=app%3Dweb`))).toEqual([
      'p1',
    ])
    expect(
      names(
        await call('GET', `${base}/api/v1/pods?fieldSelector=metadata.namespace%3Db,status.phase%3DPending`),
      ),
    ).toEqual(['p3'])
    expect(names(await call('GET', `${base}/api/v1/pods?fieldSelector=metadata.name!%3Dp1`))).toEqual([
      'p2',
      'p3',
    ])
    const badField = await call('GET', `${base}/api/v1/pods?fieldSelector=spec.bogus%3Dx`)
    expect(badField.status).toBe(400)
    expect(badField.body).toMatchObject({
      reason: 'BadRequest',
      message: 'field label not supported: spec.bogus',
    })
    const badLabel = await call('GET', `${base}/api/v1/pods?labelSelector=a%20in%20b`)
    expect(badLabel.status).toBe(400)
    expect(badLabel.body['reason']).toBe('BadRequest')
    const cmField = await call('GET', `${base}/api/v1/configmaps?fieldSelector=data.x%3Dy`)
    expect(cmField.body['message']).toBe(
      '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"',
    )
  })

  it('paginates with continue tokens that keep the first page revision; an expired token gets 410', async () => {
    const { base, storage } = await startRest()
    await namespace(base, 'a')
    for (let i = 0; i < 5; i++)
      await call('POST', `${base}/api/v1/namespaces/a/pods`, pod(`p${i}`, { n: String(i % 2) }))
    const first = await call('GET', `${base}/api/v1/namespaces/a/pods?limit=2`)
    expect(first.body['items']).toHaveLength(2)
    const rv = first.body['metadata'].resourceVersion as string
    const token = first.body['metadata'].continue as string
    expect(first.body['metadata'].remainingItemCount).toBe(3)
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString()) as Json
    expect(decoded).toEqual({ v: 'meta.k8s.io/v1', rv: Number(rv), start: 'p1\u0000' })
    // A write between pages does not show up in the continued list.
    await call('POST', `${base}/api/v1/namespaces/a/pods`, pod('p2a'))
    const second = await call('GET', `${base}/api/v1/namespaces/a/pods?limit=2&continue=${token}`)
    expect(second.body['metadata'].resourceVersion).toBe(rv)
    expect((second.body['items'] as Json[]).map((i) => i['metadata'].name)).toEqual(['p2', 'p3'])
    const third = await call(
      'GET',
      `${base}/api/v1/namespaces/a/pods?limit=2&continue=${second.body['metadata'].continue}`,
    )
    expect((third.body['items'] as Json[]).map((i) => i['metadata'].name)).toEqual(['p4'])
    expect(third.body['metadata'].continue).toBeUndefined()
    // Pages are filled with selected items.
    const sel = await call('GET', `${base}/api/v1/namespaces/a/pods?limit=2&labelSelector=n%3D0`)
    expect((sel.body['items'] as Json[]).map((i) => i['metadata'].name)).toEqual(['p0', 'p2'])
    const sel2 = await call(
      'GET',
      `${base}/api/v1/namespaces/a/pods?limit=2&labelSelector=n%3D0&continue=${sel.body['metadata'].continue}`,
    )
    expect((sel2.body['items'] as Json[]).map((i) => i['metadata'].name)).toEqual(['p4'])

    await storage.compact(await storage.currentRevision())
    const expired = await call('GET', `${base}/api/v1/namespaces/a/pods?limit=2&continue=${token}`)
    expect(expired.status).toBe(410)
    expect(expired.body).toMatchObject({ reason: 'Expired', code: 410 })
    expect(expired.body['message']).toMatch(/^The provided continue parameter is too old/)
    const garbage = await call('GET', `${base}/api/v1/namespaces/a/pods?continue=xyz`)
    expect(garbage.status).toBe(400)
  })

  it('reads at resourceVersion semantics: 0, Exact, NotOlderThan and too large', async () => {
    const { base } = await startRest()
    await namespace(base, 'a')
    const c = await call('POST', `${base}/api/v1/namespaces/a/pods`, pod('p1'))
    const rv1 = c.body['metadata'].resourceVersion as string
    const pu = structuredClone(c.body)
    pu['metadata'].labels = { later: 'yes' }
    await call('PUT', `${base}/api/v1/namespaces/a/pods/p1`, pu)
    const any = await call('GET', `${base}/api/v1/namespaces/a/pods?resourceVersion=0`)
    expect(any.status).toBe(200)
    const exact = await call(
      'GET',
      `${base}/api/v1/namespaces/a/pods?resourceVersion=${rv1}&resourceVersionMatch=Exact`,
    )
    expect(exact.body['metadata'].resourceVersion).toBe(rv1)
    expect((exact.body['items'] as Json[])[0]?.['metadata'].labels).toEqual({})
    const newer = await call(
      'GET',
      `${base}/api/v1/namespaces/a/pods?resourceVersion=${rv1}&resourceVersionMatch=NotOlderThan`,
    )
    expect(Number(newer.body['metadata'].resourceVersion)).toBeGreaterThan(Number(rv1))
    // Ahead of the store (a memory store's revisions start at the clock in microseconds).
    const ahead = Number(rv1) + 999_999
    const tooLarge = await call(
      'GET',
      `${base}/api/v1/namespaces/a/pods?resourceVersion=${ahead}&resourceVersionMatch=NotOlderThan`,
    )
    expect(tooLarge.status).toBe(504)
    expect(tooLarge.body['message']).toMatch(
      new RegExp(`^Timeout: Too large resource version: ${ahead}, current: \\d+$`),
    )
    const forbidden = await call('GET', `${base}/api/v1/namespaces/a/pods?resourceVersionMatch=Exact`)
    expect(forbidden.status).toBe(422)
    expect(forbidden.body['message']).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    )
  })

  it('deletecollection deletes what the selector picks and lists it', async () => {
    const { base } = await startRest()
    await namespace(base, 'a')
    for (const [n, app] of [
      ['x', 'web'],
      ['y', 'web'],
      ['z', 'db'],
    ] as const)
      await call('POST', `${base}/api/v1/namespaces/a/configmaps`, { metadata: { name: n, labels: { app } } })
    const r = await call('DELETE', `${base}/api/v1/namespaces/a/configmaps?labelSelector=app%3Dweb`)
    expect(r.status).toBe(200)
    expect(r.body['kind']).toBe('ConfigMapList')
    expect((r.body['items'] as Json[]).map((i) => i['metadata'].name)).toEqual(['x', 'y'])
    const left = await call('GET', `${base}/api/v1/namespaces/a/configmaps`)
    expect((left.body['items'] as Json[]).map((i) => i['metadata'].name)).toEqual(['z'])
  })
})
