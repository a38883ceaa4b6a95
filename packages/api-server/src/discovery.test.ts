/**
 * Goal: discovery documents as kube-apiserver 1.32 serves them, generated from the registry, and the
 * Accept negotiation kubectl relies on (aggregated discovery recognised only by the response
 * Content-Type; legacy documents otherwise; 406 for media types hakube does not serialize).
 * Method: the real ApiServer on 127.0.0.1 (port 0, memory storage) with registerDiscovery, driven over
 * HTTP with undici. The real kubectl against the same documents: discovery-kubectl.test.ts.
 */
import { RESOURCES } from '@hakube/api'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { aggregatedContentType, negotiateDiscovery } from './discovery.js'
import {
  ACCEPT_KUBECTL_127,
  ACCEPT_KUBECTL_132,
  startDiscoveryServer,
  stopDiscoveryServers,
} from './testing/discovery-server.js'

afterEach(stopDiscoveryServers)

const ACCEPT_TABLE =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io'

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await request(url, { headers })
  const text = await r.body.text()
  return {
    status: r.statusCode,
    headers: r.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  }
}

const expectedResourceCount = (group: string) =>
  RESOURCES.filter((r) => r.group === group).reduce((n, r) => n + 1 + r.subresources.length, 0)

describe('legacy discovery documents', () => {
  it('GET /api is APIVersions with v1 and the address the client used', async () => {
    const { base, port } = await startDiscoveryServer()
    for (const accept of [undefined, 'application/json', 'application/json, */*', '*/*', 'application/*']) {
      const r = await get(`${base}/api?timeout=32s`, accept === undefined ? {} : { accept })
      expect(r.status, `Accept ${accept}`).toBe(200)
      expect(r.headers['content-type']).toBe('application/json')
      expect(r.json()).toEqual({
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` }],
      })
    }
    // The Host header is what the client dialled (a load balancer's name, say).
    const lb = await get(`${base}/api`, { host: 'lb.example:6443' })
    expect(lb.json()['serverAddressByClientCIDRs']).toEqual([
      { clientCIDR: '0.0.0.0/0', serverAddress: 'lb.example:6443' },
    ])
  })

  it('GET /apis is APIGroupList with apps, authentication.k8s.io and coordination.k8s.io; GET /apis/<group> is APIGroup', async () => {
    const { base } = await startDiscoveryServer()
    const r = await get(`${base}/apis`, { accept: 'application/json, */*' })
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe('application/json')
    expect(r.json()).toEqual({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [
        {
          name: 'apps',
          versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
          preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
        },
        {
          name: 'authentication.k8s.io',
          versions: [{ groupVersion: 'authentication.k8s.io/v1', version: 'v1' }],
          preferredVersion: { groupVersion: 'authentication.k8s.io/v1', version: 'v1' },
        },
        {
          name: 'coordination.k8s.io',
          versions: [{ groupVersion: 'coordination.k8s.io/v1', version: 'v1' }],
          preferredVersion: { groupVersion: 'coordination.k8s.io/v1', version: 'v1' },
        },
      ],
    })
    expect((await get(`${base}/apis/apps`)).json()).toEqual({
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: 'apps',
      versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
    })
  })

  it('GET /api/v1 lists every core resource and subresource as kube-apiserver 1.32 does', async () => {
    const { base } = await startDiscoveryServer()
    const r = await get(`${base}/api/v1?timeout=32s`, { accept: 'application/json, */*' })
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe('application/json')
    const doc = r.json() as {
      kind: string
      apiVersion: string
      groupVersion: string
      resources: Array<{ name: string }>
    }
    expect(doc).toMatchObject({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1' })
    expect(doc.resources).toHaveLength(expectedResourceCount(''))
    const names = doc.resources.map((x) => x.name)
    expect(names).toEqual([...names].sort())
    expect(names).toEqual([
      'configmaps',
      'endpoints',
      'events',
      'namespaces',
      'namespaces/status',
      'nodes',
      'nodes/status',
      'pods',
      'pods/binding',
      'pods/log',
      'pods/status',
      'secrets',
      'serviceaccounts',
      'services',
      'services/status',
    ])
    const entry = (name: string) => doc.resources.find((x) => x.name === name)
    const all = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
    // Values as `kubectl get --raw /api/v1` prints them for a kube-apiserver 1.32 (hashes included).
    expect(entry('pods')).toEqual({
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: all,
      shortNames: ['po'],
      categories: ['all'],
      storageVersionHash: 'xPOwRZ+Yhw8=',
    })
    expect(entry('pods/status')).toEqual({
      name: 'pods/status',
      singularName: '',
      namespaced: true,
      kind: 'Pod',
      verbs: ['get', 'patch', 'update'],
    })
    expect(entry('pods/binding')).toEqual({
      name: 'pods/binding',
      singularName: '',
      namespaced: true,
      kind: 'Binding',
      verbs: ['create'],
    })
    expect(entry('pods/log')).toEqual({
      name: 'pods/log',
      singularName: '',
      namespaced: true,
      kind: 'Pod',
      verbs: ['get'],
    })
    expect(entry('namespaces')).toEqual({
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['ns'],
      storageVersionHash: 'Q3oi5N2YM8M=',
    })
    expect(entry('configmaps')).toEqual({
      name: 'configmaps',
      singularName: 'configmap',
      namespaced: true,
      kind: 'ConfigMap',
      verbs: all,
      shortNames: ['cm'],
      storageVersionHash: 'qFsyl6wFWjQ=',
    })
    expect(entry('secrets')).not.toHaveProperty('shortNames')
    expect(entry('nodes')).toMatchObject({ namespaced: false, shortNames: ['no'] })
  })

  it('GET /apis/<group>/<version> lists the group resources, scale as autoscaling/v1 Scale', async () => {
    const { base } = await startDiscoveryServer()
    const apps = (await get(`${base}/apis/apps/v1`)).json() as {
      groupVersion: string
      resources: Array<Record<string, unknown>>
    }
    expect(apps).toMatchObject({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'apps/v1' })
    expect(apps.resources.map((x) => x['name'])).toEqual([
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
    ])
    expect(apps.resources[0]).toEqual({
      name: 'deployments',
      singularName: 'deployment',
      namespaced: true,
      kind: 'Deployment',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['deploy'],
      categories: ['all'],
      storageVersionHash: '8aSe+NMegvE=',
    })
    expect(apps.resources[1]).toEqual({
      name: 'deployments/scale',
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    })
    expect(apps.resources[2]).toEqual({
      name: 'deployments/status',
      singularName: '',
      namespaced: true,
      kind: 'Deployment',
      verbs: ['get', 'patch', 'update'],
    })
    expect(apps.resources[3]).toMatchObject({ name: 'replicasets', kind: 'ReplicaSet', shortNames: ['rs'] })

    const coord = (await get(`${base}/apis/coordination.k8s.io/v1`)).json()
    expect(coord).toEqual({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'coordination.k8s.io/v1',
      resources: [
        {
          name: 'leases',
          singularName: 'lease',
          namespaced: true,
          kind: 'Lease',
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          storageVersionHash: 'gqkMMb/YqFM=',
        },
      ],
    })
  })

  it('every registry resource appears in the list of its group-version', async () => {
    const { base } = await startDiscoveryServer()
    for (const r of RESOURCES) {
      const path = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`
      const doc = (await get(`${base}${path}`)).json() as { resources: Array<Record<string, unknown>> }
      expect(doc.resources.find((x) => x['name'] === r.plural)).toMatchObject({
        kind: r.kind,
        namespaced: r.namespaced,
        singularName: r.singular,
      })
      for (const s of r.subresources)
        expect(doc.resources.find((x) => x['name'] === `${r.plural}/${s.name}`)).toMatchObject({
          kind: s.responseKind.kind,
        })
    }
  })

  it('unknown groups and versions get a 404 NotFound Status', async () => {
    const { base } = await startDiscoveryServer()
    for (const path of [
      '/apis/foo.example/v1',
      '/apis/apps/v2',
      '/api/v2',
      '/apis/foo.example',
      '/apis/v1',
    ]) {
      const r = await get(`${base}${path}`)
      expect(r.status, path).toBe(404)
      expect(r.headers['content-type']).toMatch(/^application\/json/)
      expect(r.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'the server could not find the requested resource',
        reason: 'NotFound',
        details: {},
        code: 404,
      })
    }
  })
})

describe('aggregated discovery', () => {
  it('answers kubectl 1.32 Accept with v2 documents under the exact Content-Type', async () => {
    const { base } = await startDiscoveryServer()
    const api = await get(`${base}/api?timeout=32s`, { accept: ACCEPT_KUBECTL_132 })
    expect(api.status).toBe(200)
    expect(api.headers['content-type']).toBe(
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    )
    expect(api.headers['vary']).toBe('Accept')
    const core = api.json() as {
      kind: string
      apiVersion: string
      items: Array<{
        metadata: object
        versions: Array<{ version: string; freshness: string; resources: unknown[] }>
      }>
    }
    expect(core).toMatchObject({
      kind: 'APIGroupDiscoveryList',
      apiVersion: 'apidiscovery.k8s.io/v2',
      metadata: {},
    })
    expect(core.items).toHaveLength(1)
    expect(core.items[0]?.metadata).toEqual({})
    const v1 = core.items[0]?.versions[0]
    expect(v1).toMatchObject({ version: 'v1', freshness: 'Current' })
    expect(v1?.resources).toHaveLength(RESOURCES.filter((r) => r.group === '').length)
    const pods = (v1?.resources as Array<{ resource: string }> | undefined)?.find(
      (r) => r.resource === 'pods',
    )
    expect(pods).toEqual({
      resource: 'pods',
      responseKind: { group: '', version: 'v1', kind: 'Pod' },
      scope: 'Namespaced',
      singularResource: 'pod',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['po'],
      categories: ['all'],
      subresources: [
        {
          subresource: 'binding',
          responseKind: { group: '', version: 'v1', kind: 'Binding' },
          verbs: ['create'],
        },
        {
          subresource: 'log',
          responseKind: { group: '', version: 'v1', kind: 'Pod' },
          verbs: ['get'],
        },
        {
          subresource: 'status',
          responseKind: { group: '', version: 'v1', kind: 'Pod' },
          verbs: ['get', 'patch', 'update'],
        },
      ],
    })
    const nodes = (v1?.resources as Array<{ resource: string }> | undefined)?.find(
      (r) => r.resource === 'nodes',
    )
    expect(nodes).toMatchObject({ scope: 'Cluster', singularResource: 'node', shortNames: ['no'] })
    const secrets = (v1?.resources as Array<{ resource: string }> | undefined)?.find(
      (r) => r.resource === 'secrets',
    )
    expect(secrets).toEqual({
      resource: 'secrets',
      responseKind: { group: '', version: 'v1', kind: 'Secret' },
      scope: 'Namespaced',
      singularResource: 'secret',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    })

    const apis = await get(`${base}/apis?timeout=32s`, { accept: ACCEPT_KUBECTL_132 })
    expect(apis.headers['content-type']).toBe(aggregatedContentType('v2'))
    const groups = apis.json() as {
      apiVersion: string
      items: Array<{ metadata: { name: string }; versions: Array<{ version: string; resources: unknown[] }> }>
    }
    expect(groups.apiVersion).toBe('apidiscovery.k8s.io/v2')
    expect(groups.items.map((i) => i.metadata.name)).toEqual([
      'apps',
      'authentication.k8s.io',
      'coordination.k8s.io',
    ])
    const deployments = (
      groups.items[0]?.versions[0]?.resources as Array<{ resource: string }> | undefined
    )?.[0]
    expect(deployments).toEqual({
      resource: 'deployments',
      responseKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      scope: 'Namespaced',
      singularResource: 'deployment',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['deploy'],
      categories: ['all'],
      subresources: [
        {
          subresource: 'scale',
          responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
          verbs: ['get', 'patch', 'update'],
        },
        {
          subresource: 'status',
          responseKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
          verbs: ['get', 'patch', 'update'],
        },
      ],
    })
    // items[1], authentication.k8s.io: authentication.test.ts.
    expect(groups.items[2]?.versions[0]?.resources).toEqual([
      {
        resource: 'leases',
        responseKind: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' },
        scope: 'Namespaced',
        singularResource: 'lease',
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      },
    ])
  })

  it('answers kubectl 1.27 Accept with v2beta1: same body, its own apiVersion and Content-Type', async () => {
    const { base } = await startDiscoveryServer()
    for (const root of ['api', 'apis']) {
      const v2 = await get(`${base}/${root}`, { accept: ACCEPT_KUBECTL_132 })
      const beta = await get(`${base}/${root}`, { accept: ACCEPT_KUBECTL_127 })
      expect(beta.status).toBe(200)
      expect(beta.headers['content-type']).toBe(
        'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
      )
      expect(beta.json()['apiVersion']).toBe('apidiscovery.k8s.io/v2beta1')
      expect({ ...beta.json(), apiVersion: '' }).toEqual({ ...v2.json(), apiVersion: '' })
    }
  })

  it('sends an ETag and answers a matching If-None-Match with 304', async () => {
    const { base } = await startDiscoveryServer()
    const first = await get(`${base}/apis`, { accept: ACCEPT_KUBECTL_132 })
    const etag = first.headers['etag']
    expect(etag).toMatch(/^"[0-9A-F]{128}"$/)
    const again = await get(`${base}/apis`, { accept: ACCEPT_KUBECTL_132, 'if-none-match': String(etag) })
    expect(again.status).toBe(304)
    expect(again.text).toBe('')
    const stale = await get(`${base}/apis`, { accept: ACCEPT_KUBECTL_132, 'if-none-match': '"0"' })
    expect(stale.status).toBe(200)
    // v2beta1 is another representation with its own tag.
    const beta = await get(`${base}/apis`, { accept: ACCEPT_KUBECTL_127 })
    expect(beta.headers['etag']).not.toBe(etag)
  })
})

describe('content negotiation', () => {
  it('picks by q-value, then in the order sent; JSON wildcards count; unknown conversions are skipped', () => {
    expect(negotiateDiscovery(undefined, true)).toEqual({ kind: 'legacy' })
    expect(negotiateDiscovery('', true)).toEqual({ kind: 'legacy' })
    expect(negotiateDiscovery(ACCEPT_KUBECTL_132, true)).toEqual({ kind: 'aggregated', version: 'v2' })
    expect(negotiateDiscovery(ACCEPT_KUBECTL_127, true)).toEqual({ kind: 'aggregated', version: 'v2beta1' })
    // Parameter order and spaces do not matter.
    expect(
      negotiateDiscovery('application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io', true),
    ).toEqual({ kind: 'aggregated', version: 'v2' })
    // Where aggregated discovery is not served (/api/v1), the plain clause answers.
    expect(negotiateDiscovery(ACCEPT_KUBECTL_132, false)).toEqual({ kind: 'legacy' })
    expect(
      negotiateDiscovery(
        'application/json;q=0.5,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
        true,
      ),
    ).toEqual({ kind: 'aggregated', version: 'v2' })
    expect(
      negotiateDiscovery(
        'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0.1,*/*',
        true,
      ),
    ).toEqual({ kind: 'legacy' })
    expect(
      negotiateDiscovery('application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList', true),
    ).toBe(undefined)
    expect(
      negotiateDiscovery(
        'application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json',
        true,
      ),
    ).toEqual({ kind: 'legacy' })
    expect(negotiateDiscovery('application/vnd.kubernetes.protobuf,application/json', true)).toEqual({
      kind: 'legacy',
    })
    expect(negotiateDiscovery('application/json;q=0', true)).toBe(undefined)
    expect(negotiateDiscovery(ACCEPT_TABLE, true)).toBe(undefined)
    expect(negotiateDiscovery('application/json;stream=watch', true)).toBe(undefined)
  })

  it('answers media types it cannot serialize with 406 NotAcceptable', async () => {
    const { base } = await startDiscoveryServer()
    const cases: Array<[string, string]> = [
      ['/api', 'application/vnd.kubernetes.protobuf'],
      ['/apis', 'application/yaml'],
      ['/api', ACCEPT_TABLE],
      ['/apis', 'text/html'],
      ['/api/v1', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'],
      ['/apis/apps/v1', 'application/vnd.kubernetes.protobuf'],
      ['/apis/apps', 'text/plain'],
    ]
    for (const [path, accept] of cases) {
      const r = await get(`${base}${path}`, { accept })
      expect(r.status, `${path} ${accept}`).toBe(406)
      expect(r.headers['content-type']).toBe('application/json')
      expect(r.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'only the following media types are accepted: application/json',
        reason: 'NotAcceptable',
        code: 406,
      })
    }
    // Protobuf first with a JSON fallback (what kubectl sends for some calls) is served JSON.
    const r = await get(`${base}/apis/apps/v1`, {
      accept: 'application/vnd.kubernetes.protobuf,application/json',
    })
    expect(r.status).toBe(200)
    expect(r.json()['kind']).toBe('APIResourceList')
  })
})
