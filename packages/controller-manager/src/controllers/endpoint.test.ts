/**
 * Goal: a Service's Endpoints follow its pods: ready pods under addresses, not-ready ones apart,
 * named target ports resolved per pod, pods without an IP / finished / being deleted left out,
 * nothing written when nothing changed, the Endpoints deleted with their Service, selector-less
 * Services left alone. Method: the sync with fakes; then the controller on a real in-process
 * api-server, pods' IPs and readiness written through /status as a node would.
 */
import type { Endpoints, Pod, Service } from '@hakube/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestCluster, type TestCluster } from '../testing/cluster.js'
import { FakeActions } from '../testing/fake-actions.js'
import { computeSubsets, syncEndpoints } from './endpoint.js'

const svc: Service = {
  metadata: { name: 'web', namespace: 'ns', labels: { tier: 'front' } },
  spec: {
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 9091, protocol: 'TCP' },
    ],
  },
}

function pod(
  name: string,
  ip: string | undefined,
  ready: boolean,
  o: { httpPort?: number; labels?: Record<string, string>; phase?: string } = {},
): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: `u-${name}`, labels: o.labels ?? { app: 'web' } },
    spec: {
      nodeName: 'n1',
      containers: [
        {
          name: 'c',
          image: 'nginx',
          ...(o.httpPort !== undefined && {
            ports: [{ name: 'http', containerPort: o.httpPort, protocol: 'TCP' }],
          }),
        },
      ],
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(ip !== undefined && { podIP: ip }),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  } as Pod
}

const addr = (name: string, ip: string) => ({
  ip,
  nodeName: 'n1',
  targetRef: { kind: 'Pod', namespace: 'ns', name, uid: `u-${name}` },
})

describe('computeSubsets', () => {
  it('groups by resolved ports, ready apart from not ready, sorted by IP', () => {
    const subsets = computeSubsets(svc, [
      pod('b', '10.0.0.10', true, { httpPort: 8080 }),
      pod('a', '10.0.0.9', true, { httpPort: 8080 }),
      pod('slow', '10.0.0.3', false, { httpPort: 8080 }),
      pod('other-port', '10.0.0.4', true, { httpPort: 8081 }),
      pod('no-named-port', '10.0.0.5', true),
      pod('no-ip', undefined, true, { httpPort: 8080 }),
      pod('done', '10.0.0.6', true, { httpPort: 8080, phase: 'Succeeded' }),
      pod('stranger', '10.0.0.7', true, { httpPort: 8080, labels: { app: 'db' } }),
    ])
    expect(subsets).toEqual([
      {
        addresses: [addr('a', '10.0.0.9'), addr('b', '10.0.0.10')],
        notReadyAddresses: [addr('slow', '10.0.0.3')],
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9091, protocol: 'TCP' },
        ],
      },
      {
        addresses: [addr('other-port', '10.0.0.4')],
        ports: [
          { name: 'http', port: 8081, protocol: 'TCP' },
          { name: 'metrics', port: 9091, protocol: 'TCP' },
        ],
      },
      {
        addresses: [addr('no-named-port', '10.0.0.5')],
        ports: [{ name: 'metrics', port: 9091, protocol: 'TCP' }],
      },
    ])
  })
})

describe('syncEndpoints', () => {
  const pods = [pod('a', '10.0.0.9', true, { httpPort: 8080 })]
  const view = (s: Service | undefined, ep: Endpoints | undefined) => ({
    service: () => s,
    endpoints: () => ep,
    pods: () => pods,
  })

  it('creates, then leaves equal Endpoints alone, updates changed ones with their resourceVersion', async () => {
    const a = new FakeActions()
    await syncEndpoints('ns/web', view(svc, undefined), a)
    expect(a.calls).toEqual(['create endpoints ns/web'])
    const subsets = computeSubsets(svc, pods)
    const same: Endpoints = {
      metadata: { name: 'web', namespace: 'ns', labels: { tier: 'front' }, resourceVersion: '4' },
      subsets,
    }
    const b = new FakeActions()
    await syncEndpoints('ns/web', view(svc, same), b)
    expect(b.calls).toEqual([])
    await syncEndpoints('ns/web', view(svc, { ...same, subsets: [] }), b)
    expect(b.calls).toEqual(['update endpoints ns/web'])
  })

  it('deletes the Endpoints of a deleted Service; leaves selector-less Services alone', async () => {
    const a = new FakeActions()
    await syncEndpoints('ns/web', view(undefined, { metadata: { name: 'web', namespace: 'ns' } }), a)
    expect(a.calls).toEqual(['delete endpoints ns/web'])
    const b = new FakeActions()
    await syncEndpoints('ns/web', view({ ...svc, spec: { ports: svc.spec?.ports } }, undefined), b)
    expect(b.calls).toEqual([])
  })
})

describe('endpoint controller on a real api-server', () => {
  let c: TestCluster
  beforeAll(async () => {
    c = await startTestCluster(['endpoint'], { namespaces: ['default', 'kube-system', 'ep'] })
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('the Endpoints follow the pods as they come, become ready and go', async () => {
    const services = c.client
      .resource<Service>({ group: '', version: 'v1', plural: 'services', namespaced: true })
      .namespace('ep')
    const pods = c.client
      .resource<Pod>({ group: '', version: 'v1', plural: 'pods', namespaced: true })
      .namespace('ep')
    const endpoints = c.client
      .resource<Endpoints>({ group: '', version: 'v1', plural: 'endpoints', namespaced: true })
      .namespace('ep')
    await services.create({
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    })
    const addPod = async (name: string, ip: string, ready: boolean) => {
      const p = await pods.create({
        metadata: { name, labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] },
      } as Pod)
      await pods.updateStatus({
        ...p,
        status: {
          phase: 'Running',
          podIP: ip,
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        },
      } as Pod)
    }
    const ips = async () => {
      try {
        const ep = await endpoints.get('web')
        const s = ep.subsets ?? []
        return {
          ready: s.flatMap((x) => x.addresses ?? []).map((a) => a.ip),
          notReady: s.flatMap((x) => x.notReadyAddresses ?? []).map((a) => a.ip),
          ports: s.flatMap((x) => x.ports ?? []).map((p) => p.port),
        }
      } catch {
        return undefined
      }
    }
    await eventually('empty endpoints', async () => (await ips())?.ready.length === 0)
    await addPod('p1', '10.1.0.1', true)
    await addPod('p2', '10.1.0.2', false)
    await eventually('p1 ready, p2 not', async () => {
      const r = await ips()
      return (
        JSON.stringify(r) === JSON.stringify({ ready: ['10.1.0.1'], notReady: ['10.1.0.2'], ports: [8080] })
      )
    })
    const p2 = await pods.get('p2')
    await pods.updateStatus({
      ...p2,
      status: { ...p2.status, conditions: [{ type: 'Ready', status: 'True' }] },
    })
    await eventually(
      'both ready',
      async () => JSON.stringify((await ips())?.ready) === JSON.stringify(['10.1.0.1', '10.1.0.2']),
    )
    await pods.delete('p1')
    await eventually(
      'p1 gone',
      async () => JSON.stringify((await ips())?.ready) === JSON.stringify(['10.1.0.2']),
    )
    await services.delete('web')
    await eventually('endpoints deleted with the service', async () => (await ips()) === undefined)
  })
})
