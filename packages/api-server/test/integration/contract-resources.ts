/**
 * Contract cases for the resources of issue 4 section 2 and their verbs: every resource gets create,
 * get, list, update, the three patch types and delete over HTTP and through ResourceClient;
 * deletecollection with a label selector; the status and scale subresources of nodes, services and
 * replicasets; 405 MethodNotAllowed for verbs a resource or subresource lacks; create-on-update for
 * the kinds whose strategies allow it (endpoints, events, leases, services: AllowCreateOnUpdate in
 * pkg/registry/.../strategy.go) and 404 for the others.
 */
import type { ResourceType } from '@hakube/api'
import { expect, it } from 'vitest'
import {
  type ContractFixture,
  caught,
  configMap,
  deployment,
  JSON_PATCH,
  type Json,
  MERGE,
  names,
  type Obj,
  pod,
  replicaSet,
  STRATEGIC,
  TYPES,
} from './contract-fixture.js'

interface ResourceCase {
  type: ResourceType
  kind: string
  /** A valid object named `name` (no namespace). */
  make(name: string): Json
}

const RESOURCE_CASES: ResourceCase[] = [
  {
    type: TYPES.nodes,
    kind: 'Node',
    make: (name) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      spec: { podCIDR: '10.9.0.0/24' },
    }),
  },
  { type: TYPES.pods, kind: 'Pod', make: (name) => pod(name) },
  {
    type: TYPES.services,
    kind: 'Service',
    make: (name) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
    }),
  },
  {
    type: TYPES.endpoints,
    kind: 'Endpoints',
    make: (name) => ({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name },
      subsets: [{ addresses: [{ ip: '10.1.2.3' }], ports: [{ port: 8080 }] }],
    }),
  },
  {
    type: TYPES.events,
    kind: 'Event',
    make: (name) => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name },
      involvedObject: { kind: 'Pod', name: 'web', apiVersion: 'v1' },
      reason: 'Started',
      message: 'Started container c',
      type: 'Normal',
      count: 1,
    }),
  },
  { type: TYPES.configmaps, kind: 'ConfigMap', make: (name) => configMap(name, { k: 'v' }) },
  {
    type: TYPES.secrets,
    kind: 'Secret',
    make: (name) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: { k: 'dg==' } }),
  },
  {
    type: TYPES.serviceaccounts,
    kind: 'ServiceAccount',
    make: (name) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } }),
  },
  { type: TYPES.replicasets, kind: 'ReplicaSet', make: (name) => replicaSet(name) },
  { type: TYPES.deployments, kind: 'Deployment', make: (name) => deployment(name) },
  {
    type: TYPES.leases,
    kind: 'Lease',
    make: (name) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name },
      spec: { holderIdentity: 'x', leaseDurationSeconds: 15 },
    }),
  },
]

/** The collection path of `type` in `ns` ('' for cluster-scoped types). */
export function collectionPath(type: ResourceType, ns: string): string {
  const root = type.group === '' ? '/api/v1' : `/apis/${type.group}/${type.version}`
  return type.namespaced ? `${root}/namespaces/${ns}/${type.plural}` : `${root}/${type.plural}`
}

export function resourceCases(fx: ContractFixture): void {
  for (const rc of RESOURCE_CASES) {
    it(`${rc.type.plural}: create, get, list, update, merge/JSON/strategic patch and delete over HTTP`, async () => {
      const ns = `r-http-${rc.type.plural}`
      if (rc.type.namespaced) await fx.ns(ns)
      const name = `h-${rc.type.plural}`
      const p = collectionPath(rc.type, ns)
      const apiVersion = rc.type.group === '' ? 'v1' : `${rc.type.group}/v1`
      const c = await fx.call('POST', p, rc.make(name))
      expect(c.status).toBe(201)
      expect(c.body).toMatchObject({ kind: rc.kind, apiVersion, metadata: { name } })
      if (rc.type.namespaced) expect(c.body['metadata'].namespace).toBe(ns)
      else expect(c.body['metadata'].namespace).toBeUndefined()
      expect(c.body['metadata'].uid).toMatch(/^[0-9a-f-]{36}$/)
      // Every change below shows up on a watch of this one object.
      const w = await fx.openWatch(
        `${p}?watch=true&resourceVersion=${c.body['metadata'].resourceVersion}&fieldSelector=metadata.name%3D${name}`,
      )
      const got = await fx.call('GET', `${p}/${name}`)
      expect(got.status).toBe(200)
      expect(got.body['metadata'].resourceVersion).toBe(c.body['metadata'].resourceVersion)
      const list = await fx.call('GET', p)
      expect(list.body).toMatchObject({ kind: `${rc.kind}List`, apiVersion })
      expect(names(list.body)).toContain(name)
      const put = await fx.call('PUT', `${p}/${name}`, {
        ...got.body,
        metadata: { ...got.body['metadata'], labels: { put: '1' } },
      })
      expect(put.status).toBe(200)
      expect(Number(put.body['metadata'].resourceVersion)).toBeGreaterThan(
        Number(got.body['metadata'].resourceVersion),
      )
      const merged = await fx.call('PATCH', `${p}/${name}`, { metadata: { labels: { merge: '1' } } }, MERGE)
      expect(merged.status).toBe(200)
      expect(merged.body['metadata'].labels).toEqual({ put: '1', merge: '1' })
      const jsonPatched = await fx.call(
        'PATCH',
        `${p}/${name}`,
        [
          { op: 'test', path: '/metadata/labels/put', value: '1' },
          { op: 'add', path: '/metadata/annotations', value: { json: '1' } },
        ],
        JSON_PATCH,
      )
      expect(jsonPatched.status).toBe(200)
      expect(jsonPatched.body['metadata'].annotations).toEqual({ json: '1' })
      const sm = await fx.call('PATCH', `${p}/${name}`, { metadata: { labels: { sm: '1' } } }, STRATEGIC)
      expect(sm.status).toBe(200)
      expect(sm.body['metadata'].labels).toEqual({ put: '1', merge: '1', sm: '1' })
      expect(sm.body['metadata'].uid).toBe(c.body['metadata'].uid)
      expect(sm.body['metadata'].creationTimestamp).toBe(c.body['metadata'].creationTimestamp)
      const del = await fx.call('DELETE', `${p}/${name}`)
      expect(del.status).toBe(200)
      await w.waitFor((f) => f.some((e) => e['type'] === 'DELETED'))
      w.close()
      // Four writes, then (pods first get their deletion fields: one more MODIFIED) the delete.
      const modified = rc.kind === 'Pod' ? 5 : 4
      expect(w.events().map((e) => e['type'])).toEqual([...Array(modified).fill('MODIFIED'), 'DELETED'])
      expect(w.events()[3]?.['object'].metadata.resourceVersion).toBe(sm.body['metadata'].resourceVersion)
      const gone = await fx.call('GET', `${p}/${name}`)
      expect(gone).toMatchObject({ status: 404, body: { kind: 'Status', reason: 'NotFound', code: 404 } })
      expect(gone.body['details']).toMatchObject({ name, kind: rc.type.plural })
    })

    it(`${rc.type.plural}: the same verbs through ResourceClient`, async () => {
      const ns = `r-cl-${rc.type.plural}`
      if (rc.type.namespaced) await fx.ns(ns)
      const all = fx.resource(rc.type)
      const res = rc.type.namespaced ? all.namespace(ns) : all
      const name = `c-${rc.type.plural}`
      const created = await res.create(rc.make(name) as Obj)
      expect(created.kind).toBe(rc.kind)
      expect(created.metadata['uid']).toEqual(expect.any(String))
      const got = await res.get(name)
      expect(got.metadata.resourceVersion).toBe(created.metadata.resourceVersion)
      const updated = await res.update({ ...got, metadata: { ...got.metadata, labels: { tier: 'x' } } })
      expect(updated.metadata.labels).toEqual({ tier: 'x' })
      expect((await res.list({ labelSelector: 'tier=x' })).items.map((i) => i.metadata.name)).toEqual([name])
      expect((await res.list({ labelSelector: 'tier=y' })).items).toEqual([])
      // Across namespaces (namespaced kinds) the object shows up too.
      const everywhere = await all.list({ fieldSelector: `metadata.name=${name}` })
      expect(everywhere.items.map((i) => i.metadata.namespace ?? '')).toEqual([rc.type.namespaced ? ns : ''])
      await res.patch(name, { metadata: { labels: { m: '1' } } }, 'merge')
      await res.patch(name, [{ op: 'replace', path: '/metadata/labels/tier', value: 'z' }], 'json')
      const last = await res.patch(name, { metadata: { annotations: { s: '1' } } }, 'strategic')
      expect(last.metadata.labels).toEqual({ tier: 'z', m: '1' })
      expect(last.metadata['annotations']).toEqual({ s: '1' })
      // A stale update is a Conflict.
      expect(await caught(res.update(updated))).toMatchObject({ code: 409, reason: 'Conflict' })
      await res.delete(name)
      expect(await caught(res.get(name))).toMatchObject({ code: 404, reason: 'NotFound' })
      expect(await caught(res.delete(name))).toMatchObject({ code: 404, reason: 'NotFound' })
    })
  }

  it('namespaces: list with selectors, update, patch, watch (HTTP and client)', async () => {
    const nss = fx.resource(TYPES.namespaces)
    const created = await nss.create({ metadata: { name: 'r-nsverbs', labels: { team: 'a' } } } as Obj)
    expect(created.metadata.labels).toEqual({ team: 'a', 'kubernetes.io/metadata.name': 'r-nsverbs' })
    expect(created.spec).toEqual({ finalizers: ['kubernetes'] })
    const w = await fx.openWatch(
      `/api/v1/namespaces?watch=true&resourceVersion=${created.metadata.resourceVersion}&labelSelector=team`,
    )
    const put = await fx.call('PUT', '/api/v1/namespaces/r-nsverbs', {
      ...created,
      metadata: { ...created.metadata, labels: { ...created.metadata.labels, team: 'b' } },
    })
    expect(put.status).toBe(200)
    const patched = await nss.patch('r-nsverbs', { metadata: { annotations: { a: '1' } } }, 'strategic')
    expect(patched.metadata['annotations']).toEqual({ a: '1' })
    expect(names((await fx.call('GET', '/api/v1/namespaces?labelSelector=team%3Db')).body)).toEqual([
      'r-nsverbs',
    ])
    expect(
      (await nss.list({ fieldSelector: 'status.phase=Active,metadata.name=r-nsverbs' })).items,
    ).toHaveLength(1)
    await w.waitFor((f) => f.length >= 2)
    w.close()
    expect(w.events().map((e) => e['type'])).toEqual(['MODIFIED', 'MODIFIED'])
  })

  it('deletecollection with a label selector, over HTTP and through ResourceClient', async () => {
    await fx.ns('r-dc')
    const p = '/api/v1/namespaces/r-dc/configmaps'
    for (const [n, app] of [
      ['a', 'x'],
      ['b', 'x'],
      ['c', 'y'],
    ] as const)
      expect((await fx.call('POST', p, configMap(n, {}, { labels: { app } }))).status).toBe(201)
    const del = await fx.call('DELETE', `${p}?labelSelector=app%3Dx`)
    expect(del.status).toBe(200)
    expect(del.body['kind']).toBe('ConfigMapList')
    expect(names(del.body).sort()).toEqual(['a', 'b'])
    expect(names((await fx.call('GET', p)).body)).toEqual(['c'])

    const pods = fx.resource(TYPES.pods).namespace('r-dc')
    for (const n of ['p1', 'p2', 'p3'])
      await pods.create(pod(n, { role: n === 'p3' ? 'keep' : 'drop' }) as Obj)
    await pods.deleteCollection({ labelSelector: 'role=drop' })
    expect((await pods.list()).items.map((i) => i.metadata.name)).toEqual(['p3'])
    // Cluster-scoped: nodes, by label.
    const nodes = fx.resource(TYPES.nodes)
    for (const n of ['r-dc-n1', 'r-dc-n2'])
      await nodes.create({ metadata: { name: n, labels: { pool: 'r-dc' } } } as Obj)
    await nodes.create({ metadata: { name: 'r-dc-n3', labels: { pool: 'other' } } } as Obj)
    const nd = await fx.call('DELETE', '/api/v1/nodes?labelSelector=pool%3Dr-dc')
    expect(names(nd.body).sort()).toEqual(['r-dc-n1', 'r-dc-n2'])
    expect((await nodes.list({ labelSelector: 'pool' })).items.map((i) => i.metadata.name)).toEqual([
      'r-dc-n3',
    ])
  })

  it('405 MethodNotAllowed for verbs a resource or subresource lacks (HTTP and client)', async () => {
    await fx.ns('r-405')
    await fx.call('POST', '/api/v1/namespaces/r-405/pods', pod('p'))
    await fx.call('POST', '/apis/apps/v1/namespaces/r-405/deployments', deployment('d'))
    const cases: Array<[string, string, unknown?]> = [
      // Namespaces have no deletecollection.
      ['DELETE', '/api/v1/namespaces'],
      ['POST', '/api/v1/namespaces/r-405/pods/p/status', pod('p')],
      ['DELETE', '/api/v1/namespaces/r-405/pods/p/status'],
      ['GET', '/api/v1/namespaces/r-405/pods/p/binding'],
      ['DELETE', '/apis/apps/v1/namespaces/r-405/deployments/d/scale'],
      ['POST', '/api/v1/namespaces/r-405/pods/p', pod('p')],
      ['PUT', '/api/v1/namespaces/r-405/pods', pod('p')],
    ]
    for (const [method, path, body] of cases) {
      const r = await fx.call(method as 'GET', path, body)
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 405 })
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', code: 405 })
    }
    expect(await caught(fx.resource(TYPES.namespaces).deleteCollection())).toMatchObject({
      code: 405,
      reason: 'MethodNotAllowed',
    })
    const pods = fx.resource(TYPES.pods).namespace('r-405')
    expect(await caught(pods.postSubresource('p', 'status', pod('p')))).toMatchObject({ code: 405 })
    expect(await caught(pods.getSubresource('p', 'binding'))).toMatchObject({ code: 405 })
    // The pod is untouched by all of it.
    expect((await pods.get('p')).metadata['deletionTimestamp']).toBeUndefined()
  })

  it('patch types on structured fields: strategic merge by key, JSON patch ops, merge replaces lists', async () => {
    await fx.ns('r-patch')
    const p = '/apis/apps/v1/namespaces/r-patch/deployments'
    const d = deployment('web')
    d['spec'].template.spec.containers = [
      { name: 'a', image: 'nginx:1' },
      { name: 'b', image: 'redis:7' },
    ]
    expect((await fx.call('POST', p, d)).status).toBe(201)
    // Strategic merge: containers merge by name; b keeps its image.
    const sm = await fx.call(
      'PATCH',
      `${p}/web`,
      { spec: { template: { spec: { containers: [{ name: 'a', image: 'nginx:2' }] } } } },
      STRATEGIC,
    )
    expect(sm.status).toBe(200)
    expect(sm.body['spec'].template.spec.containers.map((c: Json) => `${c['name']}=${c['image']}`)).toEqual([
      'a=nginx:2',
      'b=redis:7',
    ])
    expect(sm.body['metadata'].generation).toBe(2)
    // Merge patch: a list is replaced whole.
    const deps = fx.resource(TYPES.deployments).namespace('r-patch')
    const mp = await deps.patch(
      'web',
      { spec: { template: { spec: { containers: [{ name: 'b', image: 'redis:8' }] } } } },
      'merge',
    )
    expect(mp.spec?.['template'].spec.containers.map((c: Json) => c['name'])).toEqual(['b'])
    // JSON patch: ops by path; a failed test op changes nothing and is an error.
    const jp = await deps.patch(
      'web',
      [
        { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'c', image: 'busybox:1' } },
        { op: 'replace', path: '/spec/replicas', value: 4 },
      ],
      'json',
    )
    expect(jp.spec?.['replicas']).toBe(4)
    expect(jp.spec?.['template'].spec.containers.map((c: Json) => c['name'])).toEqual(['b', 'c'])
    const failed = await caught(deps.patch('web', [{ op: 'test', path: '/spec/replicas', value: 9 }], 'json'))
    expect(failed?.code).toBeGreaterThanOrEqual(400)
    expect((await deps.get('web')).metadata.resourceVersion).toBe(jp.metadata.resourceVersion)
    // A merge patch with a stale resourceVersion is a Conflict, with the current one it applies.
    const stale = await fx.call(
      'PATCH',
      `${p}/web`,
      { metadata: { resourceVersion: sm.body['metadata'].resourceVersion, labels: { x: '1' } } },
      MERGE,
    )
    expect(stale).toMatchObject({ status: 409, body: { reason: 'Conflict' } })
    const fresh = await fx.call(
      'PATCH',
      `${p}/web`,
      { metadata: { resourceVersion: jp.metadata.resourceVersion, labels: { x: '1' } } },
      MERGE,
    )
    expect(fresh.status).toBe(200)
    // Unsupported patch content type: 415.
    const bad = await fx.call('PATCH', `${p}/web`, { spec: {} }, 'text/plain')
    expect(bad.status).toBe(415)
  })

  it('nodes/status, services/status and replicasets/status change only status; the main resource only the rest', async () => {
    // Nodes (cluster-scoped): the kubelet's way of reporting conditions.
    const nodes = fx.resource(TYPES.nodes)
    const n = await nodes.create({ metadata: { name: 'r-status-node' }, spec: {} } as Obj)
    const ready = [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }]
    const withStatus = await nodes.updateStatus({
      ...n,
      spec: { unschedulable: true },
      status: { conditions: ready },
    })
    expect(withStatus.status?.['conditions']).toMatchObject(ready)
    expect(withStatus.spec?.['unschedulable']).toBeUndefined()
    const cordoned = await fx.call(
      'PATCH',
      '/api/v1/nodes/r-status-node',
      { spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'False' }] } },
      MERGE,
    )
    expect(cordoned.body['spec'].unschedulable).toBe(true)
    expect(cordoned.body['status'].conditions).toMatchObject(ready)
    const st = await fx.call(
      'PATCH',
      '/api/v1/nodes/r-status-node/status',
      { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }] } },
      STRATEGIC,
    )
    expect(st.status).toBe(200)
    expect(st.body['status'].conditions).toMatchObject([{ type: 'Ready', status: 'False' }])
    const viaGet = await fx.call('GET', '/api/v1/nodes/r-status-node/status')
    expect(viaGet.body).toMatchObject({ kind: 'Node', status: { conditions: [{ status: 'False' }] } })

    // Services.
    await fx.ns('r-status')
    const svcPath = '/api/v1/namespaces/r-status/services'
    const svc = await fx.call('POST', svcPath, {
      metadata: { name: 's' },
      spec: { selector: { app: 's' }, ports: [{ port: 80 }] },
      status: { loadBalancer: { ingress: [{ ip: '1.1.1.1' }] } },
    })
    expect(svc.status).toBe(201)
    expect(svc.body['status']?.loadBalancer?.ingress).toBeUndefined()
    const lb = { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } }
    const svcSt = await fx.call('PUT', `${svcPath}/s/status`, { ...svc.body, status: lb })
    expect(svcSt.status).toBe(200)
    expect(svcSt.body['status']).toMatchObject(lb)
    const svcMain = await fx.call('PUT', `${svcPath}/s`, {
      ...svcSt.body,
      spec: { ...svcSt.body['spec'], selector: { app: 't' } },
      status: {},
    })
    expect(svcMain.body['spec'].selector).toEqual({ app: 't' })
    expect(svcMain.body['status']).toMatchObject(lb)

    // ReplicaSets: status, scale, generation.
    const rss = fx.resource(TYPES.replicasets).namespace('r-status')
    const rs = await rss.create(replicaSet('rs', 3) as Obj)
    expect(rs.metadata['generation']).toBe(1)
    const rsSt = await rss.updateStatus({
      ...rs,
      spec: { ...rs.spec, replicas: 9 },
      status: { replicas: 3, readyReplicas: 2, observedGeneration: 1 },
    })
    expect(rsSt.status).toMatchObject({ replicas: 3, readyReplicas: 2 })
    expect(rsSt.spec?.['replicas']).toBe(3)
    expect(rsSt.metadata['generation']).toBe(1)
    const scale = await fx.call('GET', '/apis/apps/v1/namespaces/r-status/replicasets/rs/scale')
    expect(scale.body).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 'rs', namespace: 'r-status', uid: rs.metadata['uid'] },
      spec: { replicas: 3 },
      status: { replicas: 3, selector: 'rs=rs' },
    })
    const scaled = await rss.putSubresource<Json>('rs', 'scale', { ...scale.body, spec: { replicas: 5 } })
    expect(scaled['spec']).toEqual({ replicas: 5 })
    const stale = await fx.call('PUT', '/apis/apps/v1/namespaces/r-status/replicasets/rs/scale', scale.body)
    expect(stale).toMatchObject({ status: 409, body: { reason: 'Conflict' } })
    const patched = await rss.patch('rs', { spec: { replicas: 1 } }, 'merge', { subresource: 'scale' })
    expect(patched).toMatchObject({ kind: 'Scale', spec: { replicas: 1 } })
    const after = await rss.get('rs')
    expect(after.spec?.['replicas']).toBe(1)
    expect(after.metadata['generation']).toBe(3)
    expect(after.status).toMatchObject({ replicas: 3, readyReplicas: 2 })
  })

  it('PUT creates a missing endpoints, event, lease or service (201) and 404s for other kinds', async () => {
    await fx.ns('r-cou')
    const creatable = RESOURCE_CASES.filter((rc) =>
      ['endpoints', 'events', 'leases', 'services'].includes(rc.type.plural),
    )
    expect(creatable).toHaveLength(4)
    for (const rc of creatable) {
      const p = collectionPath(rc.type, 'r-cou')
      const put = await fx.call('PUT', `${p}/made-by-put`, rc.make('made-by-put'))
      expect({ plural: rc.type.plural, status: put.status }).toEqual({ plural: rc.type.plural, status: 201 })
      expect(put.body['metadata']).toMatchObject({ name: 'made-by-put', namespace: 'r-cou' })
      expect(put.body['metadata'].uid).toMatch(/^[0-9a-f-]{36}$/)
      expect(put.body['metadata'].creationTimestamp).toEqual(expect.any(String))
      const again = await fx.call('PUT', `${p}/made-by-put`, put.body)
      expect(again.status).toBe(200)
      expect(again.body['metadata'].uid).toBe(put.body['metadata'].uid)
    }
    // Leader election's way: update a missing Endpoints/Lease lock through the client.
    const eps = fx.resource(TYPES.endpoints).namespace('r-cou')
    const made = await eps.update({ metadata: { name: 'lock', annotations: { holder: 'a' } } } as Obj)
    expect(made.metadata['annotations']).toEqual({ holder: 'a' })
    expect((await eps.get('lock')).metadata['uid']).toBe(made.metadata['uid'])
    // Other kinds: 404 NotFound, nothing created.
    for (const rc of RESOURCE_CASES.filter((r) => !creatable.includes(r))) {
      const p = collectionPath(rc.type, 'r-cou')
      const put = await fx.call('PUT', `${p}/missing`, rc.make('missing'))
      expect({ plural: rc.type.plural, status: put.status }).toEqual({ plural: rc.type.plural, status: 404 })
      expect(put.body).toMatchObject({ reason: 'NotFound', details: { name: 'missing' } })
    }
    const cms = fx.resource(TYPES.configmaps).namespace('r-cou')
    expect(await caught(cms.update(configMap('missing') as Obj))).toMatchObject({ code: 404 })
    // PATCH never creates.
    const leasePatch = await fx.call(
      'PATCH',
      '/apis/coordination.k8s.io/v1/namespaces/r-cou/leases/nope',
      { spec: { holderIdentity: 'b' } },
      MERGE,
    )
    expect(leasePatch.status).toBe(404)
    // In a missing namespace the namespace is what is missing.
    const noNs = await fx.call(
      'PUT',
      '/apis/coordination.k8s.io/v1/namespaces/r-cou-missing/leases/l',
      RESOURCE_CASES.find((r) => r.kind === 'Lease')?.make('l'),
    )
    expect(noNs).toMatchObject({ status: 404, body: { message: 'namespaces "r-cou-missing" not found' } })
  })
}
