import { describe, expect, it } from 'vitest'
import { type NodeSnapshot, schedulerLeaderFrom } from './cluster-api.js'
import { type ClusterSnapshot, type MemberSnapshot, quorumFrom } from './snapshot.js'
import { leaderText, phasesText, renderStatus } from './status-render.js'

function member(name: string, id: string, leaderId: string | null, reachable = true): MemberSnapshot {
  return {
    name,
    clientUrl: `http://127.0.1.${id}:2379`,
    reachable,
    error: reachable ? null : 'connection refused',
    memberId: reachable ? id : null,
    leaderId: reachable ? leaderId : null,
    isLeader: reachable && leaderId === id,
    raftTerm: reachable ? 4 : null,
    raftIndex: reachable ? 120 : null,
    revision: reachable ? 17 : null,
  }
}

describe('quorumFrom', () => {
  it('3 healthy members: quorum 2, one more may fail', () => {
    const q = quorumFrom([member('m1', '1', '1'), member('m2', '2', '1'), member('m3', '3', '1')])
    expect(q).toEqual({
      members: 3,
      quorum: 2,
      tolerates: 1,
      healthy: 3,
      hasQuorum: true,
      moreMayFail: 1,
      leader: 'm1',
    })
  })

  it('one of 3 down: still a quorum, no more may fail', () => {
    const q = quorumFrom([member('m1', '1', '2', false), member('m2', '2', '2'), member('m3', '3', '2')])
    expect(q).toMatchObject({ healthy: 2, hasQuorum: true, moreMayFail: 0, leader: 'm2' })
  })

  it('two of 3 down: quorum lost, even if the survivor still names a leader', () => {
    const q = quorumFrom([
      member('m1', '1', '1', false),
      member('m2', '2', '1', false),
      member('m3', '3', '1'),
    ])
    expect(q).toMatchObject({ healthy: 0, hasQuorum: false, moreMayFail: 0, leader: null })
  })

  it('a 4-member store with one isolated member keeps its quorum of 3 and tolerates no more', () => {
    const q = quorumFrom([
      member('e1', '1', '0'),
      member('e2', '2', '3'),
      member('e3', '3', '3'),
      member('e4', '4', '3'),
    ])
    expect(q).toMatchObject({
      members: 4,
      quorum: 3,
      tolerates: 1,
      healthy: 3,
      hasQuorum: true,
      moreMayFail: 0,
    })
  })
})

const SNAPSHOT: ClusterSnapshot = {
  at: '2026-01-01T00:00:00.000Z',
  dir: '/tmp/c',
  topology: 'stacked',
  store: 'hakube',
  hosts: [
    {
      name: 'master-1',
      role: 'stacked-master',
      address: '127.0.1.1',
      state: 'down',
      pid: 10,
      partitioned: false,
      components: [],
    },
    {
      name: 'master-2',
      role: 'stacked-master',
      address: '127.0.1.2',
      state: 'up',
      pid: 11,
      partitioned: true,
      components: [
        {
          name: 'store',
          pid: 21,
          state: 'running',
          restarts: 0,
          startedAt: 'x',
          lastExit: null,
          nextRestartAt: null,
        },
        {
          name: 'apiserver',
          pid: null,
          state: 'restarting',
          restarts: 2,
          startedAt: null,
          lastExit: { code: null, signal: 'SIGKILL', at: 'x', ranMs: 5 },
          nextRestartAt: '2026-01-01T00:00:03.500Z',
        },
      ],
    },
    {
      name: 'master-3',
      role: 'stacked-master',
      address: '127.0.1.3',
      state: 'paused',
      pid: 12,
      partitioned: false,
      components: [
        {
          name: 'store',
          pid: 31,
          state: 'paused',
          restarts: 0,
          startedAt: 'x',
          lastExit: null,
          nextRestartAt: null,
        },
        {
          name: 'apiserver',
          pid: 32,
          state: 'paused',
          restarts: 0,
          startedAt: 'x',
          lastExit: null,
          nextRestartAt: null,
        },
      ],
    },
    {
      name: 'lb',
      role: 'lb',
      address: '127.0.0.1',
      state: 'up',
      pid: 13,
      partitioned: false,
      components: [],
    },
  ],
  storeMembers: [
    member('master-1', '1', null, false),
    member('master-2', '2', '0'),
    member('master-3', '3', null, false),
  ],
  quorum: quorumFrom([
    member('master-1', '1', null, false),
    member('master-2', '2', '0'),
    member('master-3', '3', null, false),
  ]),
  apiServers: [
    { url: 'http://127.0.1.1:6443', host: 'master-1', ready: false, error: 'connection refused' },
    { url: 'http://127.0.1.2:6443', host: 'master-2', ready: false, error: 'connection refused' },
    { url: 'http://127.0.1.3:6443', host: 'master-3', ready: false, error: 'timed out after 1500 ms' },
  ],
  balancer: {
    url: 'http://127.0.0.1:6443',
    reachable: true,
    error: null,
    backends: [
      { url: 'http://127.0.1.1:6443', host: 'master-1', state: 'down', error: 'ECONNREFUSED' },
      { url: 'http://127.0.1.2:6443', host: 'master-2', state: 'down', error: 'ECONNREFUSED' },
      { url: 'http://127.0.1.3:6443', host: 'master-3', state: 'up', error: null },
    ],
  },
  partitions: [{ hosts: ['master-2'], from: [] }],
  scheduler: { leader: null, error: null, replicas: [] },
  nodes: { reachable: true, error: null, planned: [], nodes: [], pendingPods: 0, boundPods: 0 },
}

describe('renderStatus', () => {
  it('shows every fault: a killed host, a restarting component, a paused host, a partition, the lost quorum', () => {
    expect(renderStatus(SNAPSHOT)).toBe(
      [
        'hakube cluster in /tmp/c: stacked, 3 masters, 3 store members (hakube-store)   2026-01-01T00:00:00.000Z',
        '',
        'HOSTS',
        '  NAME      ADDRESS    ROLE            STATE            COMPONENTS',
        '  master-1  127.0.1.1  stacked-master  DOWN             -',
        '  master-2  127.0.1.2  stacked-master  up, PARTITIONED  store running; apiserver restarting in 4 s, 2 restarts, last exit SIGKILL',
        '  master-3  127.0.1.3  stacked-master  PAUSED           store paused; apiserver paused',
        '  lb        127.0.0.1  lb              up               -',
        '',
        'STORE  QUORUM LOST: 0 of 3 healthy, 2 needed; writes and linearizable reads stop',
        '  MEMBER    ENDPOINT               LEADER      TERM  RAFT INDEX  REVISION  REACHABLE',
        '  master-1  http://127.0.1.1:2379  -           -     -           -         no (connection refused)',
        '  master-2  http://127.0.1.2:2379  none known  4     120         17        yes',
        '  master-3  http://127.0.1.3:2379  -           -     -           -         no (connection refused)',
        '',
        'API SERVERS  0 of 3 ready',
        '  master-1  http://127.0.1.1:6443  not ready (connection refused)',
        '  master-2  http://127.0.1.2:6443  not ready (connection refused)',
        '  master-3  http://127.0.1.3:6443  not ready (timed out after 1500 ms)',
        '',
        'BALANCER  http://127.0.0.1:6443: 1 of 3 backends up',
        '  master-1  http://127.0.1.1:6443  down (ECONNREFUSED)',
        '  master-2  http://127.0.1.2:6443  down (ECONNREFUSED)',
        '  master-3  http://127.0.1.3:6443  up',
        '',
        'PARTITIONS (iptables DROP)',
        '  master-2 cut off from every other host',
        '',
      ].join('\n'),
    )
  })

  it('a healthy store names its leader and how many more members may fail', () => {
    const healthy = [member('master-1', '1', '2'), member('master-2', '2', '2'), member('master-3', '3', '2')]
    const text = renderStatus({
      ...SNAPSHOT,
      storeMembers: healthy,
      quorum: quorumFrom(healthy),
      partitions: [],
    })
    expect(text).toContain(
      'STORE  quorum 2 of 3, 3 healthy: 1 more member may fail (tolerates 1 when all are healthy); leader master-2',
    )
    expect(text).toContain('  master-2  http://127.0.1.2:2379  yes     4     120         17        yes')
    expect(text).not.toContain('PARTITIONS')
  })

  it('a balancer that does not answer says so', () => {
    const text = renderStatus({
      ...SNAPSHOT,
      balancer: { url: 'http://127.0.0.1:6443', reachable: false, error: 'connection refused', backends: [] },
    })
    expect(text).toContain('BALANCER  http://127.0.0.1:6443: not answering (connection refused)')
  })
})

describe('renderStatus: schedulers, controller-managers and nodes', () => {
  const at = Date.parse('2026-01-01T00:00:00.000Z')
  const record = (holderIdentity: string, renewAgeMs: number) => ({
    holderIdentity,
    leaseDurationSeconds: 15,
    acquireTime: '2025-12-31T23:50:00Z',
    renewTime: new Date(at - renewAgeMs).toISOString(),
    leaderTransitions: 3,
  })
  const lock = 'endpoints kube-system/kube-scheduler'
  const node = (name: string, extra: Partial<NodeSnapshot> = {}): NodeSnapshot => ({
    name,
    worker: name,
    status: 'Ready',
    reason: null,
    unschedulable: false,
    leaseAgeSeconds: 2.4,
    leaseDurationSeconds: 40,
    heartbeating: true,
    pods: 4,
    ...extra,
  })

  it('names the leading host, how fresh its record is and its transitions; each replica leader or standby; every node', () => {
    const text = renderStatus({
      ...SNAPSHOT,
      partitions: [],
      scheduler: {
        leader: schedulerLeaderFrom(lock, record('master-2_4f1c7a9e-0b1d-4c55-9d0e-2b9f1a3c5d7e', 1200), at),
        error: null,
        replicas: [
          {
            host: 'master-1',
            url: 'http://127.0.1.1:10259',
            component: null,
            healthy: false,
            error: 'connection refused',
            role: '-',
          },
          {
            host: 'master-2',
            url: 'http://127.0.1.2:10259',
            component: 'running',
            healthy: true,
            error: null,
            role: 'leader',
          },
          {
            host: 'master-3',
            url: 'http://127.0.1.3:10259',
            component: 'restarting',
            healthy: false,
            error: 'connection refused',
            role: '-',
          },
        ],
      },
      nodes: {
        reachable: true,
        error: null,
        planned: ['worker-1', 'worker-2', 'worker-3'],
        nodes: [
          node('worker-1'),
          node('worker-2', {
            status: 'NotReady',
            leaseAgeSeconds: 52.7,
            heartbeating: false,
            reason: 'Lease not renewed for 52 s; heartbeat stopped (hakube fail-node)',
            pods: 3,
          }),
        ],
        pendingPods: 2,
        boundPods: 7,
        podPhases: { Pending: 2, Succeeded: 1, Running: 7 },
      },
      controllerManager: {
        leader: schedulerLeaderFrom(
          'leases kube-system/kube-controller-manager',
          record('master-3_0b1d', 3400),
          at,
        ),
        error: null,
        replicas: [
          {
            host: 'master-1',
            url: 'http://127.0.1.1:10257',
            component: 'running',
            healthy: true,
            error: null,
            role: 'standby',
          },
          {
            host: 'master-3',
            url: 'http://127.0.1.3:10257',
            component: 'running',
            healthy: true,
            error: null,
            role: 'leader',
          },
        ],
      },
    })
    expect(text.slice(text.indexOf('SCHEDULER'))).toBe(
      [
        'SCHEDULER  leader master-2, renewed 1 s ago (lease 15 s), 3 transitions; lock endpoints kube-system/kube-scheduler',
        '  master-1  http://127.0.1.1:10259  -       not healthy (connection refused)',
        '  master-2  http://127.0.1.2:10259  leader  healthy',
        '  master-3  http://127.0.1.3:10259  -       restarting, not healthy (connection refused)',
        '',
        'CONTROLLER-MANAGER  leader master-3, renewed 3 s ago (lease 15 s), 3 transitions; lock leases kube-system/kube-controller-manager',
        '  master-1  http://127.0.1.1:10257  standby  healthy',
        '  master-3  http://127.0.1.3:10257  leader   healthy',
        '',
        'NODES  1 of 2 Ready; 7 pods bound, 2 pending',
        '  NAME      WORKER    STATUS          LEASE RENEWED  PODS',
        '  worker-1  worker-1  Ready           2 s ago        4',
        '  worker-2  worker-2  NotReady        52 s ago       3     Lease not renewed for 52 s; heartbeat stopped (hakube fail-node)',
        '  worker-3  -         not registered  -              -',
        'PODS  7 Running, 2 Pending, 1 Succeeded',
        '',
      ].join('\n'),
    )
  })

  it('the election in each state: none yet, expired, released, unreadable', () => {
    expect(leaderText(schedulerLeaderFrom(lock, null, at), null)).toBe(
      'no leader yet (endpoints kube-system/kube-scheduler holds no record)',
    )
    expect(leaderText(schedulerLeaderFrom(lock, record('master-1_x', 20_000), at), null)).toBe(
      'LEADER LOST: master-1 last renewed 20 s ago (lease 15 s); a standby takes over once it has seen the record unchanged for the lease (3 transitions)',
    )
    expect(
      leaderText(schedulerLeaderFrom(lock, { ...record('', 500), leaseDurationSeconds: 1 }, at), null),
    ).toBe('no leader: released (3 transitions); a standby takes over within a retry period')
    expect(leaderText(null, 'connection refused')).toBe(
      'leader unknown: the api does not answer (connection refused)',
    )
  })

  it('says so when no replica is healthy', () => {
    const text = renderStatus({
      ...SNAPSHOT,
      scheduler: {
        leader: schedulerLeaderFrom(lock, { ...record('', 500), leaseDurationSeconds: 1 }, at),
        error: null,
        replicas: [
          {
            host: 'master-1',
            url: 'http://127.0.1.1:10259',
            component: 'stopped',
            healthy: false,
            error: 'connection refused',
            role: '-',
          },
        ],
      },
    })
    expect(phasesText({})).toBe('none')
    expect(phasesText({ Evicted: 1, Unknown: 2, Running: 0 })).toBe('2 Unknown, 1 Evicted')
    expect(
      renderStatus({
        ...SNAPSHOT,
        controllerManager: {
          leader: null,
          error: 'connection refused',
          replicas: [
            {
              host: 'master-1',
              url: 'http://127.0.1.1:10257',
              component: 'restarting',
              healthy: false,
              error: 'connection refused',
              role: '-',
            },
          ],
        },
      }),
    ).toContain(
      'CONTROLLER-MANAGER  leader unknown: the api does not answer (connection refused); NO REPLICA HEALTHY: nothing reconciles\n',
    )
    expect(text).toContain(
      'SCHEDULER  no leader: released (3 transitions); a standby takes over within a retry period; NO REPLICA HEALTHY: nothing schedules\n  master-1  http://127.0.1.1:10259  -  stopped, not healthy (connection refused)\n',
    )
  })

  it('a cluster without workers or schedulers (cluster.json of an older hakube) shows neither section', () => {
    const text = renderStatus({ ...SNAPSHOT, partitions: [] })
    expect(text).not.toContain('SCHEDULER')
    expect(text).not.toContain('CONTROLLER-MANAGER')
    expect(text).not.toContain('NODES')
  })
})
