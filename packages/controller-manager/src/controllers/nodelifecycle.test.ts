/**
 * Goal: a node silent past the grace period becomes Unknown and tainted unreachable (NoExecute
 * additions rate-limited), its pods are evicted at once unless they tolerate the taint, then after
 * their tolerationSeconds; a node back to Ready loses the taints. Method: the sync with a fake clock
 * and fake Actions; then the controller on a real in-process api-server with short periods (grace
 * 1 s), the node's Lease and status written by the test as a kubelet would.
 */
import type { Lease, Node, Pod } from '@hakube/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestCluster, type TestCluster } from '../testing/cluster.js'
import { FakeActions } from '../testing/fake-actions.js'
import { EvictionLimiter, evictionTimeMs, type NodeHealth, syncNode, tolerates } from './nodelifecycle.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const opts = { monitorPeriodMs: 5000, gracePeriodMs: 40_000, evictionRate: 0.1 }
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')

function node(
  ready: string,
  taints: Node['spec'] extends infer S ? (S extends { taints?: infer X } ? X : never) : never = [],
): Node {
  return {
    metadata: { name: 'n1', resourceVersion: '3' },
    spec: { taints },
    status: { conditions: [{ type: 'Ready', status: ready, lastHeartbeatTime: iso(T0) }] },
  } as Node
}

function pod(name: string, tolerationSeconds?: number): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: `u-${name}` },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c', image: 'nginx' }],
      ...(tolerationSeconds !== undefined && {
        tolerations: [
          {
            key: 'node.kubernetes.io/unreachable',
            operator: 'Exists',
            effect: 'NoExecute',
            tolerationSeconds,
          },
        ],
      }),
    },
  } as Pod
}

describe('tolerations', () => {
  it('match as kube matches them, and give the eviction time', () => {
    const taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(T0) }
    expect(tolerates({ operator: 'Exists' }, taint)).toBe(true)
    expect(
      tolerates({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }, taint),
    ).toBe(false)
    expect(tolerates({ key: 'node.kubernetes.io/unreachable', value: '' }, taint)).toBe(true)
    expect(evictionTimeMs(pod('a'), [taint], T0 + 5)).toBe(T0 + 5)
    expect(evictionTimeMs(pod('b', 300), [taint], T0 + 5)).toBe(T0 + 300_000)
    expect(
      evictionTimeMs(
        { ...pod('c'), spec: { ...pod('c').spec, tolerations: [{ operator: 'Exists' }] } } as Pod,
        [taint],
        T0,
      ),
    ).toBeUndefined()
  })
})

describe('syncNode', () => {
  it('leaves a node that keeps renewing alone; marks it Unknown and tainted after the grace period', async () => {
    const state = new Map<string, NodeHealth>()
    const limiter = new EvictionLimiter(opts.evictionRate)
    let lease: Lease = {
      metadata: { name: 'n1', namespace: 'kube-node-lease' },
      spec: { renewTime: iso(T0) },
    } as Lease
    const view = { node: () => node('True'), lease: () => lease, podsOn: () => [pod('a'), pod('b', 300)] }
    const a = new FakeActions()
    expect(await syncNode('n1', view, a, state, limiter, opts, T0)).toEqual({ requeueAfterMs: 5000 })
    lease = { ...lease, spec: { renewTime: iso(T0 + 30_000) } } as Lease
    await syncNode('n1', view, a, state, limiter, opts, T0 + 30_000)
    await syncNode('n1', view, a, state, limiter, opts, T0 + 69_000)
    expect(a.calls).toEqual([])
    // 40 s after the last renewal seen at T0 + 30 s.
    await syncNode('n1', view, a, state, limiter, opts, T0 + 71_000)
    expect(a.calls.slice(0, 2)).toEqual(['update nodes/status n1', 'patch nodes n1'])
    expect(a.patches[0]).toMatchObject({
      spec: {
        taints: [
          { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
          { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
        ],
      },
    })
  })

  it("marks a lost node's Ready pods not Ready, with Events on the node and the pods", async () => {
    const readyPod = (name: string, status: string): Pod =>
      ({
        ...pod(name, 300),
        status: {
          phase: 'Running',
          conditions: [
            { type: 'PodScheduled', status: 'True' },
            { type: 'Ready', status, lastTransitionTime: iso(T0) },
          ],
        },
      }) as Pod
    const state = new Map<string, NodeHealth>([['n1', { probeMs: T0, heartbeat: iso(T0), renew: undefined }]])
    const view = {
      node: () => node('True'),
      lease: () => undefined,
      podsOn: () => [readyPod('a', 'True'), readyPod('b', 'False')],
    }
    const a = new FakeActions()
    await syncNode('n1', view, a, state, new EvictionLimiter(1), opts, T0 + 41_000)
    expect(a.calls.filter((c) => c.startsWith('update pods'))).toEqual(['update pods/status ns/a'])
    const marked = a.updates.find((o) => o.metadata?.name === 'a') as Pod
    expect(marked.status?.conditions).toEqual([
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'False', lastTransitionTime: iso(T0 + 41_000) },
    ])
    expect(a.events).toEqual([
      'Normal NodeNotReady Node/n1: Node n1 status is now: NodeNotReady',
      'Warning NodeNotReady Pod/a: Node is not ready',
    ])
  })

  it('taints a cordoned node and one under pressure NoSchedule, and takes the taints off again', async () => {
    const state = new Map<string, NodeHealth>()
    const cordoned = {
      ...node('True'),
      spec: { unschedulable: true, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] },
    } as Node
    cordoned.status?.conditions?.push({ type: 'MemoryPressure', status: 'True' } as never)
    const a = new FakeActions()
    await syncNode(
      'n1',
      { node: () => cordoned, lease: () => undefined, podsOn: () => [] },
      a,
      state,
      new EvictionLimiter(1),
      opts,
      T0,
    )
    expect(a.patches[0]).toEqual({
      spec: {
        taints: [
          { key: 'dedicated', value: 'db', effect: 'NoSchedule' },
          { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule', timeAdded: iso(T0) },
          { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: iso(T0) },
        ],
      },
      metadata: { resourceVersion: '3' },
    })
    const uncordoned = { ...node('True'), spec: (a.patches[0] as { spec: Node['spec'] }).spec } as Node
    const b = new FakeActions()
    await syncNode(
      'n1',
      { node: () => uncordoned, lease: () => undefined, podsOn: () => [] },
      b,
      state,
      new EvictionLimiter(1),
      opts,
      T0 + 1000,
    )
    expect(b.patches[0]).toMatchObject({
      spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] },
    })
  })

  it('gives a node that never posted status the startup grace period from its creation', async () => {
    const silent = {
      metadata: { name: 'n1', resourceVersion: '3', creationTimestamp: iso(T0) },
      spec: {},
      status: {},
    } as Node
    const view = { node: () => silent, lease: () => undefined, podsOn: () => [] }
    const state = new Map<string, NodeHealth>()
    const a = new FakeActions()
    await syncNode(
      'n1',
      view,
      a,
      state,
      new EvictionLimiter(1),
      { ...opts, startupGracePeriodMs: 60_000 },
      T0 + 59_000,
    )
    expect(a.calls).toEqual([])
    await syncNode(
      'n1',
      view,
      a,
      state,
      new EvictionLimiter(1),
      { ...opts, startupGracePeriodMs: 60_000 },
      T0 + 61_000,
    )
    expect(a.calls[0]).toBe('update nodes/status n1')
    const written = a.updates[0] as Node
    expect(written.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'Unknown',
      reason: 'NodeStatusNeverUpdated',
    })
  })

  it('evicts pods that do not tolerate the taint at once, the others after tolerationSeconds', async () => {
    const tainted = node('Unknown', [
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: iso(T0) },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(T0) },
    ])
    const view = { node: () => tainted, lease: () => undefined, podsOn: () => [pod('a'), pod('b', 30)] }
    const state = new Map<string, NodeHealth>([['n1', { probeMs: T0, heartbeat: iso(T0), renew: undefined }]])
    const a = new FakeActions()
    const r = await syncNode('n1', view, a, state, new EvictionLimiter(1), opts, T0 + 1000)
    expect(a.calls).toEqual(['delete pods ns/a uid=u-a'])
    expect(a.events).toEqual(['Normal TaintManagerEviction Pod/a: Marking for deletion Pod ns/a'])
    expect(r).toEqual({ requeueAfterMs: 5000 })
    const b = new FakeActions()
    await syncNode('n1', view, b, state, new EvictionLimiter(1), opts, T0 + 30_000)
    expect(b.calls).toEqual(['delete pods ns/a uid=u-a', 'delete pods ns/b uid=u-b'])
  })

  it('rate-limits NoExecute taints across nodes; a Ready node loses the taints', async () => {
    const limiter = new EvictionLimiter(0.1)
    expect(limiter.take(T0)).toBe(0)
    expect(limiter.take(T0 + 1000)).toBe(9000)
    const a = new FakeActions()
    const state = new Map<string, NodeHealth>()
    const notReady = node('False')
    const r = await syncNode(
      'n1',
      { node: () => notReady, lease: () => undefined, podsOn: () => [] },
      a,
      state,
      limiter,
      opts,
      T0 + 2000,
    )
    // NoSchedule at once, NoExecute when the bucket allows.
    expect(a.patches[0]).toMatchObject({
      spec: { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] },
    })
    expect(r).toEqual({ requeueAfterMs: 5000 })
    const back = node('True', [
      { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
      { key: 'example.com/keep', effect: 'NoSchedule' },
    ])
    const b = new FakeActions()
    await syncNode(
      'n1',
      { node: () => back, lease: () => undefined, podsOn: () => [] },
      b,
      state,
      limiter,
      opts,
      T0 + 3000,
    )
    expect(b.patches).toEqual([
      {
        spec: { taints: [{ key: 'example.com/keep', effect: 'NoSchedule' }] },
        metadata: { resourceVersion: '3' },
      },
    ])
  })
})

describe('nodelifecycle controller on a real api-server', () => {
  let c: TestCluster
  beforeAll(async () => {
    c = await startTestCluster(['nodelifecycle'], {
      namespaces: ['default', 'kube-system', 'kube-node-lease'],
      nodeLifecycle: { monitorPeriodMs: 200, gracePeriodMs: 1000, evictionRate: 100 },
    })
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('a silent node goes Unknown and tainted, its pods are evicted by their tolerations, and it recovers', async () => {
    const nodes = c.client.resource<Node>({ group: '', version: 'v1', plural: 'nodes', namespaced: false })
    const pods = c.client
      .resource<Pod>({ group: '', version: 'v1', plural: 'pods', namespaced: true })
      .namespace('default')
    const now = () => iso(Date.now())
    const n = await nodes.create({ metadata: { name: 'worker-1' } } as Node)
    await nodes.updateStatus({
      ...n,
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            lastHeartbeatTime: now(),
            lastTransitionTime: now(),
          },
        ],
      },
    } as Node)
    const mk = (name: string, tolerationSeconds?: number) =>
      pods.create({
        metadata: { name },
        spec: {
          nodeName: 'worker-1',
          containers: [{ name: 'c', image: 'nginx' }],
          // Admission adds the 300 s default tolerations when none are given; these are explicit.
          tolerations: [
            {
              key: 'node.kubernetes.io/unreachable',
              operator: 'Exists',
              effect: 'NoExecute',
              tolerationSeconds: tolerationSeconds ?? 0,
            },
            {
              key: 'node.kubernetes.io/not-ready',
              operator: 'Exists',
              effect: 'NoExecute',
              tolerationSeconds: tolerationSeconds ?? 0,
            },
          ],
        },
      } as Pod)
    await mk('quick')
    await mk('patient', 2)
    const ready = async () =>
      (await nodes.get('worker-1')).status?.conditions?.find((x) => x.type === 'Ready')?.status
    const taintKeys = async () =>
      ((await nodes.get('worker-1')).spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort()
    await eventually('Unknown', async () => (await ready()) === 'Unknown', 10_000)
    await eventually(
      'tainted',
      async () =>
        JSON.stringify(await taintKeys()) ===
        JSON.stringify([
          'node.kubernetes.io/unreachable:NoExecute',
          'node.kubernetes.io/unreachable:NoSchedule',
        ]),
    )
    const alive = async () =>
      (await pods.list()).items
        .filter((p) => p.metadata?.deletionTimestamp === undefined)
        .map((p) => p.metadata?.name)
        .sort()
    await eventually(
      'quick evicted',
      async () => JSON.stringify(await alive()) === JSON.stringify(['patient']),
      5000,
    )
    await eventually('patient evicted', async () => (await alive()).length === 0, 10_000)
    // The kubelet is back: Ready again, the taints go.
    const cur = await nodes.get('worker-1')
    await nodes.updateStatus({
      ...cur,
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            lastHeartbeatTime: now(),
            lastTransitionTime: now(),
          },
        ],
      },
    } as Node)
    await eventually('taints removed', async () => (await taintKeys()).length === 0, 5000)
  }, 40_000)
})
