/**
 * Goal: the planning half of kube's lease endpoint reconciler and kubernetes service controller
 * writes exactly when the stored objects differ from the live master leases, writes what kube
 * writes, and never erases every address.
 */
import { describe, expect, it } from 'vitest'
import {
  desiredKubernetesService,
  endpointPorts,
  masterLeaseIps,
  masterLeaseValue,
  planEndpoints,
  planKubernetesService,
  SKIP_MIRROR_LABEL,
} from './endpoint-reconcile.js'
import type { Obj } from './rest/objects.js'

const ports = endpointPorts(6443)

function stored(ips: string[], p: object[] = ports, labels = { [SKIP_MIRROR_LABEL]: 'true' }): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', resourceVersion: '7', labels },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: p }],
  }
}

describe('planEndpoints', () => {
  it('creates the Endpoints when missing: one subset, the sorted lease addresses, port https', () => {
    const plan = planEndpoints(undefined, ['127.0.1.172', '127.0.1.170'], ports)
    expect(plan).toEqual({
      action: 'create',
      endpoints: {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { [SKIP_MIRROR_LABEL]: 'true' } },
        subsets: [
          {
            addresses: [{ ip: '127.0.1.170' }, { ip: '127.0.1.172' }],
            ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
          },
        ],
      },
    })
  })

  it('writes nothing when the addresses (in any order), ports and label are already right', () => {
    expect(
      planEndpoints(stored(['127.0.1.171', '127.0.1.170']), ['127.0.1.170', '127.0.1.171'], ports),
    ).toEqual({ action: 'none' })
  })

  it('drops the address of an expired lease and adds a new one, keeping the resourceVersion', () => {
    const plan = planEndpoints(stored(['127.0.1.170', '127.0.1.171']), ['127.0.1.171', '127.0.1.173'], ports)
    if (plan.action !== 'update') throw new Error(plan.action)
    expect(plan.endpoints['subsets']).toEqual([
      { addresses: [{ ip: '127.0.1.171' }, { ip: '127.0.1.173' }], ports },
    ])
    expect(plan.endpoints.metadata?.resourceVersion).toBe('7')
  })

  it('fixes wrong ports, a wrong subset format and a missing skip-mirror label', () => {
    const wrongPort = planEndpoints(
      stored(['127.0.1.170'], [{ name: 'https', port: 443, protocol: 'TCP' }]),
      ['127.0.1.170'],
      ports,
    )
    expect(wrongPort.action === 'update' && wrongPort.endpoints['subsets']).toEqual([
      { addresses: [{ ip: '127.0.1.170' }], ports },
    ])
    const twoSubsets = { ...stored(['127.0.1.170']), subsets: [{ addresses: [] }, { addresses: [] }] }
    const format = planEndpoints(twoSubsets, ['127.0.1.170'], ports)
    expect(format.action === 'update' && format.endpoints['subsets']).toEqual([
      { addresses: [{ ip: '127.0.1.170' }], ports },
    ])
    const unlabelled = planEndpoints(stored(['127.0.1.170'], ports, {} as never), ['127.0.1.170'], ports)
    expect(unlabelled.action === 'update' && unlabelled.endpoints.metadata?.labels).toEqual({
      [SKIP_MIRROR_LABEL]: 'true',
    })
  })

  it('refuses to erase every address when no lease is left (the last api-server shutting down)', () => {
    expect(planEndpoints(stored(['127.0.1.170']), [], ports)).toEqual({
      action: 'refuse',
      reason:
        'no API server IP addresses were listed in storage, refusing to erase all endpoints for the kubernetes Service',
    })
  })

  it('with reconcilePorts false, extra ports another writer added are kept', () => {
    const extra = [...ports, { name: 'other', port: 1, protocol: 'TCP' }]
    expect(planEndpoints(stored(['127.0.1.170'], extra), ['127.0.1.170'], ports, false)).toEqual({
      action: 'none',
    })
    expect(planEndpoints(stored(['127.0.1.170'], extra), ['127.0.1.170'], ports, true).action).toBe('update')
  })
})

describe('master leases', () => {
  it('a lease names its address; ListLeases reads them back unique and sorted, skipping junk', () => {
    expect(masterLeaseValue('127.0.1.170')).toEqual({
      kind: 'Endpoints',
      apiVersion: 'v1',
      metadata: { name: '127.0.1.170' },
      subsets: [{ addresses: [{ ip: '127.0.1.170' }] }],
    })
    const values = [masterLeaseValue('127.0.1.172'), null, { subsets: [] }, masterLeaseValue('127.0.1.170')]
    expect(masterLeaseIps([...values, masterLeaseValue('127.0.1.172')])).toEqual([
      '127.0.1.170',
      '127.0.1.172',
    ])
  })
})

describe('planKubernetesService', () => {
  const desired = desiredKubernetesService('10.96.0.1', 6443)

  it('creates the Service kube creates: ClusterIP 10.96.0.1, 443/TCP named https to the secure port', () => {
    expect(planKubernetesService(undefined, desired)).toEqual({
      action: 'create',
      service: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: { component: 'apiserver', provider: 'kubernetes' },
        },
        spec: {
          type: 'ClusterIP',
          clusterIP: '10.96.0.1',
          sessionAffinity: 'None',
          ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
        },
      },
    })
  })

  it('leaves an existing Service alone except its ports and type, which it puts back', () => {
    const existing: Obj = {
      ...structuredClone(desired),
      metadata: { name: 'kubernetes', namespace: 'default', labels: { mine: 'yes' } },
    }
    expect(planKubernetesService(existing, desired)).toEqual({ action: 'none' })
    const changed = structuredClone(existing)
    ;(changed['spec'] as Record<string, unknown>)['type'] = 'NodePort'
    ;(changed['spec'] as Record<string, unknown>)['ports'] = [
      { name: 'x', port: 80, protocol: 'TCP', targetPort: 80 },
    ]
    const plan = planKubernetesService(changed, desired)
    if (plan.action !== 'update') throw new Error(plan.action)
    expect(plan.service['spec']).toMatchObject({
      type: 'ClusterIP',
      ports: [{ name: 'https', port: 443, targetPort: 6443 }],
    })
    expect(plan.service.metadata?.labels).toEqual({ mine: 'yes' })
  })
})
