import { describe, expect, it } from 'vitest'
import {
  holderHostOf,
  LEADER_ANNOTATION,
  lockPath,
  nodesFrom,
  recordFromEndpoints,
  recordFromLease,
  schedulerLeaderFrom,
} from './cluster-api.js'

const AT = Date.parse('2026-01-01T00:01:00.000Z')
const ago = (ms: number): string => new Date(AT - ms).toISOString()

describe('the scheduler election record', () => {
  it('reads the Endpoints annotation (client-go LeaderElectionRecord JSON) and the Lease spec alike', () => {
    const json = {
      holderIdentity: 'master-3_9c1d2f3e-aaaa-bbbb-cccc-000000000001',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-01T00:00:00Z',
      renewTime: '2026-01-01T00:00:58Z',
      leaderTransitions: 2,
    }
    const fromEndpoints = recordFromEndpoints({
      metadata: { name: 'kube-scheduler', annotations: { [LEADER_ANNOTATION]: JSON.stringify(json) } },
    })
    expect(fromEndpoints).toEqual(json)
    const fromLease = recordFromLease({
      spec: {
        holderIdentity: json.holderIdentity,
        leaseDurationSeconds: 15,
        acquireTime: '2026-01-01T00:00:00.000000Z',
        renewTime: '2026-01-01T00:00:58.123456Z',
        leaseTransitions: 2,
      },
    })
    expect(fromLease).toMatchObject({ holderIdentity: json.holderIdentity, leaderTransitions: 2 })
    expect(recordFromEndpoints({ metadata: { name: 'kube-scheduler' } })).toBeNull()
    expect(
      recordFromEndpoints({ metadata: { annotations: { [LEADER_ANNOTATION]: '{not json' } } }),
    ).toBeNull()
  })

  it('the holder host is the identity before its last underscore; an empty holder is released', () => {
    expect(holderHostOf('master-2_6f0c')).toBe('master-2')
    expect(holderHostOf('')).toBeNull()
    expect(holderHostOf('plainname')).toBe('plainname')
  })

  it('a record not renewed within its lease duration is expired (a standby may take over)', () => {
    const rec = (renewAgeMs: number) => ({
      holderIdentity: 'master-1_x',
      leaseDurationSeconds: 15,
      acquireTime: null,
      renewTime: ago(renewAgeMs),
      leaderTransitions: 0,
    })
    expect(schedulerLeaderFrom('l', rec(3000), AT)).toMatchObject({
      holderHost: 'master-1',
      renewAgeSeconds: 3,
      expired: false,
    })
    expect(schedulerLeaderFrom('l', rec(16_000), AT).expired).toBe(true)
    expect(schedulerLeaderFrom('l', null, AT)).toMatchObject({ holderHost: null, expired: true })
  })

  it('reads the Lease for the leases lock, the Endpoints (the primary) for endpoints and endpointsleases', () => {
    const l = { namespace: 'kube-system', name: 'kube-scheduler' }
    expect(lockPath({ kind: 'leases', ...l })).toBe(
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler',
    )
    expect(lockPath({ kind: 'endpoints', ...l })).toBe(
      '/api/v1/namespaces/kube-system/endpoints/kube-scheduler',
    )
    expect(lockPath({ kind: 'endpointsleases', ...l })).toBe(lockPath({ kind: 'endpoints', ...l }))
  })
})

describe('nodesFrom', () => {
  const nodeObj = (name: string, ready: string, unschedulable = false) => ({
    metadata: { name },
    spec: unschedulable ? { unschedulable: true } : {},
    status: {
      conditions: [
        { type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : 'KubeletNotReady' },
      ],
    },
  })
  const lease = (name: string, renewAgeMs: number) => ({
    metadata: { name, namespace: 'kube-node-lease' },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: ago(renewAgeMs) },
  })
  const pod = (nodeName?: string, phase?: string) => ({
    spec: nodeName === undefined ? {} : { nodeName },
    ...(phase === undefined ? {} : { status: { phase } }),
  })
  const workers = [
    {
      host: 'worker-1',
      address: '127.0.1.4',
      url: 'http://127.0.1.4:10250',
      nodes: ['worker-1-1', 'worker-1-2'],
    },
    {
      host: 'worker-2',
      address: '127.0.1.5',
      url: 'http://127.0.1.5:10250',
      nodes: ['worker-2-1', 'worker-2-2'],
    },
  ]

  it('Ready takes the Ready condition and a Lease renewed within its duration; unfinished pods are counted per node, every pod by phase', () => {
    const r = nodesFrom(
      {
        items: [
          nodeObj('worker-2-1', 'True'),
          nodeObj('worker-1-2', 'True'),
          nodeObj('worker-1-1', 'True'),
          nodeObj('worker-2-2', 'False'),
          nodeObj('extra', 'True', true),
        ],
      },
      {
        items: [
          lease('worker-1-1', 3000),
          lease('worker-1-2', 45_000),
          lease('worker-2-1', 1000),
          lease('worker-2-2', 1000),
          lease('extra', 1000),
        ],
      },
      {
        items: [
          pod('worker-1-1', 'Running'),
          pod('worker-1-1', 'Pending'),
          pod('worker-2-1', 'Running'),
          pod(),
          pod(''),
          pod('worker-2-1', 'Succeeded'),
          pod('worker-1-2', 'Failed'),
        ],
      },
      workers,
      new Map([
        ['worker-1-2', false],
        ['worker-1-1', true],
      ]),
      AT,
    )
    expect(r.pendingPods).toBe(2)
    expect(r.boundPods).toBe(3)
    // A pod without a phase yet is Pending (the api-server's default); finished pods count only here.
    expect(r.podPhases).toEqual({ Running: 2, Pending: 3, Succeeded: 1, Failed: 1 })
    expect(r.nodes.map((n) => [n.name, n.worker, n.status, n.reason, n.leaseAgeSeconds, n.pods])).toEqual([
      ['extra', null, 'Ready', 'SchedulingDisabled', 1, 0],
      ['worker-1-1', 'worker-1', 'Ready', null, 3, 2],
      [
        'worker-1-2',
        'worker-1',
        'NotReady',
        'Lease not renewed for 45 s; heartbeat stopped (hakube fail-node)',
        45,
        0,
      ],
      ['worker-2-1', 'worker-2', 'Ready', null, 1, 1],
      ['worker-2-2', 'worker-2', 'NotReady', 'Ready False (KubeletNotReady)', 1, 0],
    ])
  })

  it('a node without a Lease or a Ready condition is not Ready', () => {
    const r = nodesFrom(
      { items: [{ metadata: { name: 'a' }, status: {} }, nodeObj('b', 'True')] },
      { items: [] },
      { items: [] },
      [],
      new Map(),
      AT,
    )
    expect(r.nodes.map((n) => [n.name, n.status, n.reason])).toEqual([
      ['a', 'NotReady', 'no Ready condition yet'],
      ['b', 'NotReady', 'no Lease in kube-node-lease'],
    ])
  })
})
