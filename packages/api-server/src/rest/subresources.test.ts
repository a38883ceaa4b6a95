/**
 * Goal: `pods/binding`, `/scale` and graceful pod deletion answer as kube-apiserver does, with its
 * exact Status texts.
 * Method: a real ApiServer on 127.0.0.1 (port 0) over the memory storage, driven with undici.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { call, type Json, startTestServer, stopTestServers } from '../testing/harness.js'

afterEach(stopTestServers)

async function start(): Promise<string> {
  return (await startTestServer({ namespaces: ['ns'] })).base
}

const pod = (name: string, spec: Json = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
})
const binding = (name: string, node: string, meta: Json = {}) => ({
  apiVersion: 'v1',
  kind: 'Binding',
  metadata: { name, ...meta },
  target: { apiVersion: 'v1', kind: 'Node', name: node },
})
const PODS = '/api/v1/namespaces/ns/pods'

describe('pods/binding', () => {
  it('binds once, sets PodScheduled, answers Status Success 201, then 409', async () => {
    const base = await start()
    expect((await call('POST', `${base}${PODS}`, pod('web'))).status).toBe(201)
    const bound = await call(
      'POST',
      `${base}${PODS}/web/binding`,
      binding('web', 'node-1', { annotations: { 'sched/why': 'fit' } }),
    )
    expect(bound).toEqual({
      status: 201,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
    })
    const got = (await call('GET', `${base}${PODS}/web`)).body
    expect(got['spec'].nodeName).toBe('node-1')
    expect(got['metadata'].annotations).toEqual({ 'sched/why': 'fit' })
    expect(got['status'].phase).toBe('Pending')
    expect(got['status'].conditions).toEqual([
      { type: 'PodScheduled', status: 'True', lastTransitionTime: expect.stringMatching(/Z$/) },
    ])

    const again = await call('POST', `${base}${PODS}/web/binding`, binding('web', 'node-2'))
    expect(again).toEqual({
      status: 409,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "node-1"',
        reason: 'Conflict',
        details: { name: 'web', kind: 'pods/binding' },
        code: 409,
      },
    })
    expect((await call('GET', `${base}${PODS}/web`)).body['spec'].nodeName).toBe('node-1')
  })

  it('replaces an existing PodScheduled=False condition and keeps other conditions', async () => {
    const base = await start()
    await call('POST', `${base}${PODS}`, pod('p'))
    const st = await call(
      'PATCH',
      `${base}${PODS}/p/status`,
      {
        status: {
          conditions: [
            { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no nodes' },
            { type: 'Other', status: 'True' },
          ],
        },
      },
      'application/merge-patch+json',
    )
    expect(st.status).toBe(200)
    expect((await call('POST', `${base}${PODS}/p/binding`, binding('p', 'n'))).status).toBe(201)
    const conds = (await call('GET', `${base}${PODS}/p`)).body['status'].conditions
    expect(conds).toEqual([
      { type: 'PodScheduled', status: 'True', lastTransitionTime: expect.stringMatching(/Z$/) },
      { type: 'Other', status: 'True' },
    ])
  })

  it('answers 404 for a missing pod, 400 for a name mismatch, 409 on a uid precondition, 405 for GET', async () => {
    const base = await start()
    const missing = await call('POST', `${base}${PODS}/nope/binding`, binding('nope', 'n'))
    expect(missing).toMatchObject({
      status: 404,
      body: { reason: 'NotFound', message: 'pods "nope" not found', details: { name: 'nope', kind: 'pods' } },
    })
    await call('POST', `${base}${PODS}`, pod('p'))
    const mismatch = await call('POST', `${base}${PODS}/p/binding`, binding('q', 'n'))
    expect(mismatch).toMatchObject({
      status: 400,
      body: { reason: 'BadRequest', message: 'name in URL does not match name in Binding object' },
    })
    const uid = await call('POST', `${base}${PODS}/p/binding`, binding('p', 'n', { uid: 'other' }))
    expect(uid.status).toBe(409)
    expect(uid.body['message']).toMatch(
      /^Operation cannot be fulfilled on pods "p": StorageError: invalid object, Code: 4, Key: \/registry\/pods\/ns\/p, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: other, UID in object meta: [0-9a-f-]{36}$/,
    )
    const noName = await call('POST', `${base}${PODS}/p/binding`, {
      ...binding('p', ''),
      target: { kind: 'Pod' },
    })
    expect(noName).toEqual({
      status: 500,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          '[target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>", target.name: Required value]',
        code: 500,
      },
    })
    const get = await call('GET', `${base}${PODS}/p/binding`)
    expect(get).toMatchObject({
      status: 405,
      body: {
        reason: 'MethodNotAllowed',
        message: 'the server does not allow this method on the requested resource',
      },
    })
    expect((await call('GET', `${base}${PODS}/p`)).body['spec'].nodeName).toBeUndefined()
  })

  it('refuses to bind a pod being deleted', async () => {
    const base = await start()
    await call('POST', `${base}${PODS}`, { ...pod('p'), metadata: { name: 'p', finalizers: ['x/y'] } })
    expect((await call('DELETE', `${base}${PODS}/p`)).status).toBe(200)
    const r = await call('POST', `${base}${PODS}/p/binding`, binding('p', 'n'))
    expect(r.status).toBe(409)
    expect(r.body['message']).toBe(
      'Operation cannot be fulfilled on pods/binding "p": pod p is being deleted, cannot be assigned to a host',
    )
  })
})

const deployment = (name: string, replicas = 2) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: {
      matchLabels: { app: name },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }],
    },
    template: {
      metadata: { labels: { app: name, tier: 'a' } },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    },
  },
})

describe('/scale', () => {
  it('reads a deployment as autoscaling/v1 Scale and scales it with merge patch (kubectl scale)', async () => {
    const base = await start()
    const DEP = `${base}/apis/apps/v1/namespaces/ns/deployments`
    const d = (await call('POST', DEP, deployment('web'))).body
    const scale = await call('GET', `${DEP}/web/scale`)
    expect(scale).toEqual({
      status: 200,
      body: {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: {
          name: 'web',
          namespace: 'ns',
          uid: d['metadata'].uid,
          resourceVersion: d['metadata'].resourceVersion,
          creationTimestamp: d['metadata'].creationTimestamp,
        },
        spec: { replicas: 2 },
        status: { replicas: 0, selector: 'app=web,tier in (a,b)' },
      },
    })
    const patched = await call(
      'PATCH',
      `${DEP}/web/scale`,
      { spec: { replicas: 5 } },
      'application/merge-patch+json',
    )
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ kind: 'Scale', spec: { replicas: 5 }, status: { replicas: 0 } })
    const after = (await call('GET', `${DEP}/web`)).body
    expect(after['spec'].replicas).toBe(5)
    expect(after['metadata'].generation).toBe(2)
    expect(after['spec'].template).toEqual(d['spec'].template)
    expect(patched.body['metadata'].resourceVersion).toBe(after['metadata'].resourceVersion)
  })

  it('PUT with no Content-Type (kubectl --current-replicas), resourceVersion precondition, validation', async () => {
    const base = await start()
    const RS = `${base}/apis/apps/v1/namespaces/ns/replicasets`
    const rs = deployment('rs')
    expect((await call('POST', RS, { ...rs, kind: 'ReplicaSet' })).status).toBe(201)
    const s = (await call('GET', `${RS}/rs/scale`)).body
    const put = await call('PUT', `${RS}/rs/scale`, { ...s, spec: { replicas: 0 } }, undefined)
    expect(put.status).toBe(200)
    expect(put.body['spec']).toEqual({})
    expect((await call('GET', `${RS}/rs`)).body['spec'].replicas).toBe(0)
    // The old resourceVersion is stale now.
    const stale = await call('PUT', `${RS}/rs/scale`, { ...s, spec: { replicas: 3 } }, undefined)
    expect(stale).toEqual({
      status: 409,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'Operation cannot be fulfilled on replicasets.apps "rs": the object has been modified; please apply your changes to the latest version and try again',
        reason: 'Conflict',
        details: { name: 'rs', group: 'apps', kind: 'replicasets' },
        code: 409,
      },
    })
    const negative = await call('PUT', `${RS}/rs/scale`, { ...put.body, spec: { replicas: -1 } })
    expect(negative).toMatchObject({
      status: 422,
      body: {
        reason: 'Invalid',
        message:
          'Scale.autoscaling "rs" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
      },
    })
    const badUid = await call('PUT', `${RS}/rs/scale`, {
      ...put.body,
      metadata: { ...put.body['metadata'], uid: 'u' },
      spec: { replicas: 1 },
    })
    expect(badUid.status).toBe(409)
    expect(badUid.body['message']).toMatch(
      /^Operation cannot be fulfilled on replicasets\/scale\.apps "rs": Precondition failed: UID in precondition: u, UID in object meta: /,
    )
    const missing = await call('GET', `${RS}/nope/scale`)
    expect(missing).toMatchObject({ status: 404, body: { message: 'replicasets.apps "nope" not found' } })
    expect((await call('GET', `${base}${PODS}/x/scale`)).status).toBe(404)
    expect((await call('DELETE', `${RS}/rs/scale`)).status).toBe(405)
  })
})

describe('graceful pod deletion', () => {
  it('a bound pod gets deletionTimestamp + grace, may be shortened, and goes with grace 0', async () => {
    const base = await start()
    await call('POST', `${base}${PODS}`, pod('p', { terminationGracePeriodSeconds: 45 }))
    await call('POST', `${base}${PODS}/p/binding`, binding('p', 'n'))
    const before = Date.now()
    const del = await call('DELETE', `${base}${PODS}/p`, { propagationPolicy: 'Background' })
    expect(del.status).toBe(200)
    expect(del.body['kind']).toBe('Pod')
    expect(del.body['metadata'].deletionGracePeriodSeconds).toBe(45)
    const ts = Date.parse(del.body['metadata'].deletionTimestamp)
    expect(ts).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 45_000)
    expect(ts).toBeLessThanOrEqual(Date.now() + 46_000)
    // Still there; a longer grace period changes nothing.
    const longer = await call('DELETE', `${base}${PODS}/p?gracePeriodSeconds=60`)
    expect(longer.status).toBe(200)
    expect(longer.body['metadata'].resourceVersion).toBe(del.body['metadata'].resourceVersion)
    // A shorter one moves the timestamp back by the difference.
    const shorter = await call('DELETE', `${base}${PODS}/p`, { gracePeriodSeconds: 5 })
    expect(shorter.body['metadata'].deletionGracePeriodSeconds).toBe(5)
    expect(Date.parse(shorter.body['metadata'].deletionTimestamp)).toBe(ts - 40_000)
    // An update cannot touch the deletion fields and does not delete the pod.
    const upd = await call(
      'PATCH',
      `${base}${PODS}/p`,
      { metadata: { labels: { a: 'b' } } },
      'application/merge-patch+json',
    )
    expect(upd.body['metadata'].deletionGracePeriodSeconds).toBe(5)
    // The node finishes with grace 0.
    const fin = await call('DELETE', `${base}${PODS}/p`, { gracePeriodSeconds: 0 })
    expect(fin.status).toBe(200)
    expect(fin.body['metadata'].deletionGracePeriodSeconds).toBe(0)
    expect((await call('GET', `${base}${PODS}/p`)).status).toBe(404)
  })

  it('an unbound pod, or gracePeriodSeconds=0, is removed at once; defaults to 30 s', async () => {
    const base = await start()
    await call('POST', `${base}${PODS}`, pod('unbound'))
    const a = await call('DELETE', `${base}${PODS}/unbound`)
    expect(a.status).toBe(200)
    expect(a.body['metadata'].deletionGracePeriodSeconds).toBe(0)
    expect((await call('GET', `${base}${PODS}/unbound`)).status).toBe(404)
    await call('POST', `${base}${PODS}`, pod('now', { nodeName: 'n' }))
    expect((await call('DELETE', `${base}${PODS}/now?gracePeriodSeconds=0`)).status).toBe(200)
    expect((await call('GET', `${base}${PODS}/now`)).status).toBe(404)
    await call('POST', `${base}${PODS}`, pod('dflt', { nodeName: 'n' }))
    const d = await call('DELETE', `${base}${PODS}/dflt`)
    expect(d.body['metadata'].deletionGracePeriodSeconds).toBe(30)
    expect((await call('GET', `${base}${PODS}/dflt`)).status).toBe(200)
  })

  it('finalizers hold a pod past grace 0 until the last one is removed', async () => {
    const base = await start()
    await call('POST', `${base}${PODS}`, {
      ...pod('f', { nodeName: 'n' }),
      metadata: { name: 'f', finalizers: ['x/y'] },
    })
    expect((await call('DELETE', `${base}${PODS}/f`)).body['metadata'].deletionGracePeriodSeconds).toBe(30)
    // Removing the finalizer while the grace period runs does not delete it.
    const rm = await call(
      'PATCH',
      `${base}${PODS}/f`,
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    )
    expect(rm.status).toBe(200)
    expect((await call('GET', `${base}${PODS}/f`)).status).toBe(200)
    // No finalizer may be added to an object being deleted.
    const add = await call(
      'PATCH',
      `${base}${PODS}/f`,
      { metadata: { finalizers: ['x/y'] } },
      'application/merge-patch+json',
    )
    expect(add.status).toBe(422)
    // With no finalizer left, the node's grace-0 delete removes it.
    expect((await call('DELETE', `${base}${PODS}/f?gracePeriodSeconds=0`)).status).toBe(200)
    expect((await call('GET', `${base}${PODS}/f`)).status).toBe(404)

    await call('POST', `${base}${PODS}`, {
      ...pod('g', { nodeName: 'n' }),
      metadata: { name: 'g', finalizers: ['x/y'] },
    })
    expect((await call('DELETE', `${base}${PODS}/g`)).status).toBe(200)
    const zero = await call('DELETE', `${base}${PODS}/g?gracePeriodSeconds=0`)
    expect(zero.body['metadata'].deletionGracePeriodSeconds).toBe(0)
    expect((await call('GET', `${base}${PODS}/g`)).status).toBe(200)
    await call(
      'PATCH',
      `${base}${PODS}/g`,
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    )
    expect((await call('GET', `${base}${PODS}/g`)).status).toBe(404)
  })
})

describe('DeleteOptions', () => {
  it('validates propagationPolicy (422 as kube), adds foregroundDeletion, checks preconditions', async () => {
    const base = await start()
    const CM = `${base}/api/v1/namespaces/ns/configmaps`
    await call('POST', CM, { metadata: { name: 'c' } })
    const bad = await call('DELETE', `${CM}/c`, { propagationPolicy: 'Sometimes' })
    expect(bad).toEqual({
      status: 422,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sometimes": supported values: "Foreground", "Background", "Orphan", "nil"',
        reason: 'Invalid',
        details: {
          group: 'meta.k8s.io',
          kind: 'DeleteOptions',
          causes: [
            {
              reason: 'FieldValueNotSupported',
              message:
                'Unsupported value: "Sometimes": supported values: "Foreground", "Background", "Orphan", "nil"',
              field: 'propagationPolicy',
            },
          ],
        },
        code: 422,
      },
    })
    expect((await call('DELETE', `${CM}/c?propagationPolicy=Nope`)).status).toBe(422)
    expect((await call('DELETE', `${CM}/c?gracePeriodSeconds=soon`)).body).toMatchObject({
      reason: 'BadRequest',
      message: 'strconv.ParseInt: parsing "soon": invalid syntax',
    })
    const pre = await call('DELETE', `${CM}/c`, { preconditions: { uid: 'u' } })
    expect(pre.status).toBe(409)
    expect(pre.body['message']).toMatch(
      /^Operation cannot be fulfilled on ConfigMap "c": the UID in the precondition \(u\) does not match the UID in record \([0-9a-f-]{36}\)\. The object might have been deleted and then recreated$/,
    )
    const fg = await call('DELETE', `${CM}/c`, { propagationPolicy: 'Foreground' })
    expect(fg.status).toBe(200)
    expect(fg.body['metadata']).toMatchObject({
      finalizers: ['foregroundDeletion'],
      deletionGracePeriodSeconds: 0,
    })
    expect((await call('GET', `${CM}/c`)).status).toBe(200)
    // Orphan adds the `orphan` finalizer (in place of a foregroundDeletion one); removing the GC
    // finalizers lets the objects go.
    await call('POST', CM, { metadata: { name: 'o' } })
    const orphan = await call('DELETE', `${CM}/o?propagationPolicy=Orphan`)
    expect(orphan.status).toBe(200)
    expect(orphan.body['metadata']).toMatchObject({ finalizers: ['orphan'], deletionGracePeriodSeconds: 0 })
    await call('PATCH', `${CM}/o`, { metadata: { finalizers: null } }, 'application/merge-patch+json')
    expect((await call('GET', `${CM}/o`)).status).toBe(404)
    await call('PATCH', `${CM}/c`, { metadata: { finalizers: null } }, 'application/merge-patch+json')
    expect((await call('GET', `${CM}/c`)).status).toBe(404)
  })

  it('answers 202 when orphanDependents=false leaves the object in place', async () => {
    const base = await start()
    const CM = `${base}/api/v1/namespaces/ns/configmaps`
    await call('POST', CM, { metadata: { name: 'c', finalizers: ['x/y'] } })
    const r = await call('DELETE', `${CM}/c`, { orphanDependents: false })
    expect(r.status).toBe(202)
    expect(r.body['metadata'].finalizers).toEqual(['x/y'])
  })
})
