/**
 * Goal: the replicaset controller's rules: slow-start creation with expectations (no second round of
 * creates before the first is observed), a failed batch ends the round and releases its
 * expectations, deletion order (unscheduled, not ready, then newest), adoption of matching orphans and
 * release of pods that stopped matching, status with observedGeneration; then the controller with the
 * garbage collector on a real in-process api-server: pods created with a controller reference, a
 * deleted pod replaced, scaling down, an orphan adopted, the ReplicaSet's deletion taking its pods.
 */
import { isNotFound, type Pod, type ReplicaSet } from '@hakube/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Expectations } from '../expectations.js'
import { eventually, startTestCluster, type TestCluster } from '../testing/cluster.js'
import { FakeActions } from '../testing/fake-actions.js'
import { syncReplicaSet } from './replicaset.js'

const NOW = Date.parse('2026-01-01T00:10:00Z')
const clock = { now: () => NOW }

function rs(replicas: number, extra: Partial<ReplicaSet> = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'ns', uid: 'rs1', generation: 2, resourceVersion: '9' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      },
    },
    ...extra,
  } as ReplicaSet
}

const owned = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs1', controller: true }

function pod(
  name: string,
  o: {
    node?: string
    phase?: string
    ready?: boolean
    created?: string
    owner?: boolean
    labels?: Record<string, string>
  } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `u-${name}`,
      resourceVersion: '3',
      labels: o.labels ?? { app: 'web' },
      creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
      ...(o.owner !== false && { ownerReferences: [owned] }),
    },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...(o.node !== undefined && { nodeName: o.node }) },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        { type: 'Ready', status: o.ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:01:00Z' },
      ],
    },
  } as Pod
}

const view = (r: ReplicaSet | undefined, pods: Pod[]) => ({ replicaSet: () => r, pods: () => pods })

describe('syncReplicaSet', () => {
  it('creates in slow-start batches, then waits for the creations to be observed', async () => {
    const a = new FakeActions()
    const expectations = new Expectations(clock)
    await syncReplicaSet('ns/web', view(rs(5), []), a, { expectations, nowMs: NOW })
    expect(a.calls.filter((c) => c.startsWith('create pods'))).toHaveLength(5)
    expect(a.events.filter((e) => e.startsWith('Normal SuccessfulCreate'))).toHaveLength(5)
    expect(expectations.pending('ns/web')).toEqual({ add: 5, deletes: 0 })
    // The informer has not shown the pods yet: no second round.
    const b = new FakeActions()
    await syncReplicaSet('ns/web', view(rs(5), []), b, { expectations, nowMs: NOW })
    expect(b.calls.filter((c) => c.startsWith('create'))).toEqual([])
    for (let i = 0; i < 5; i++) expectations.creationObserved('ns/web')
    expect(expectations.satisfied('ns/web')).toBe(true)
  })

  it('stops at the first failed batch and releases the expectations of what was not created', async () => {
    const a = new FakeActions()
    a.outcomes.set('create pods ns/', new Error('pods "web-" is forbidden: exceeded quota'))
    const expectations = new Expectations(clock)
    await expect(syncReplicaSet('ns/web', view(rs(4), []), a, { expectations, nowMs: NOW })).rejects.toThrow(
      /quota/,
    )
    expect(a.calls.filter((c) => c.startsWith('create'))).toHaveLength(1)
    expect(a.events).toEqual([
      'Warning FailedCreate ReplicaSet/web: Error creating: pods "web-" is forbidden: exceeded quota',
    ])
    expect(expectations.satisfied('ns/web')).toBe(true)
  })

  it('deletes unscheduled, then not ready, then newest pods first', async () => {
    const a = new FakeActions()
    const expectations = new Expectations(clock)
    const pods = [
      pod('old-ready', { node: 'n1', ready: true, created: '2026-01-01T00:00:00Z' }),
      pod('new-ready', { node: 'n1', ready: true, created: '2026-01-01T00:05:00Z' }),
      pod('not-ready', { node: 'n1', ready: false }),
      pod('unscheduled', { phase: 'Pending' }),
    ]
    await syncReplicaSet('ns/web', view(rs(1), pods), a, { expectations, nowMs: NOW })
    expect(a.calls.filter((c) => c.startsWith('delete')).sort()).toEqual([
      'delete pods ns/new-ready uid=u-new-ready',
      'delete pods ns/not-ready uid=u-not-ready',
      'delete pods ns/unscheduled uid=u-unscheduled',
    ])
    expect(expectations.pending('ns/web')).toEqual({ add: 0, deletes: 3 })
  })

  it('adopts a matching orphan after a live check, releases a pod that stopped matching', async () => {
    const a = new FakeActions()
    a.objects.set('replicasets|ns/web', rs(2))
    const pods = [pod('orphan', { owner: false }), pod('moved', { labels: { app: 'other' } }), pod('mine')]
    await syncReplicaSet('ns/web', view(rs(2), pods), a, {
      expectations: new Expectations(clock),
      nowMs: NOW,
    })
    expect(a.calls.filter((c) => c.startsWith('patch'))).toEqual([
      'patch pods ns/orphan',
      'patch pods ns/moved',
    ])
    expect(a.patches[0]).toMatchObject({
      metadata: {
        ownerReferences: [{ uid: 'rs1', controller: true, blockOwnerDeletion: true }],
        resourceVersion: '3',
      },
    })
    expect(a.patches[1]).toEqual({ metadata: { ownerReferences: null, resourceVersion: '3' } })
    // Two claimed (mine and the adopted orphan): nothing to create or delete.
    expect(a.calls.some((c) => c.startsWith('create') || c.startsWith('delete'))).toBe(false)
  })

  it('does not adopt for a ReplicaSet that is gone or being deleted', async () => {
    const a = new FakeActions()
    await syncReplicaSet('ns/web', view(rs(0), [pod('orphan', { owner: false })]), a, {
      expectations: new Expectations(clock),
      nowMs: NOW,
    })
    expect(a.calls.filter((c) => c.startsWith('patch pods'))).toEqual([])
  })

  it('records a failed creation as the ReplicaFailure condition, and removes it once a sync succeeds', async () => {
    const a = new FakeActions()
    const quota = 'pods "web-" is forbidden: exceeded quota'
    a.outcomes.set('create pods ns/', new Error(quota))
    await expect(
      syncReplicaSet('ns/web', view(rs(2), []), a, { expectations: new Expectations(clock), nowMs: NOW }),
    ).rejects.toThrow(/quota/)
    const written = a.updates.at(-1) as ReplicaSet
    expect(written.status?.conditions).toEqual([
      {
        type: 'ReplicaFailure',
        status: 'True',
        reason: 'FailedCreate',
        message: quota,
        lastTransitionTime: '2026-01-01T00:10:00Z',
      },
    ])
    // The failure stays while creations fail (no rewrite), and goes once a sync manages without error.
    const again = new FakeActions()
    again.outcomes.set('create pods ns/', new Error(quota))
    const failing = rs(2, { status: { ...written.status } })
    await expect(
      syncReplicaSet('ns/web', view(failing, []), again, {
        expectations: new Expectations(clock),
        nowMs: NOW,
      }),
    ).rejects.toThrow(/quota/)
    expect(again.calls.filter((c) => c.startsWith('update'))).toEqual([])
    const ok = new FakeActions()
    await syncReplicaSet('ns/web', view(failing, []), ok, {
      expectations: new Expectations(clock),
      nowMs: NOW,
    })
    expect((ok.updates.at(-1) as ReplicaSet).status?.conditions).toBeUndefined()
  })

  it('writes replicas, ready, available and observedGeneration to /status when they change', async () => {
    const a = new FakeActions()
    const pods = [pod('a', { node: 'n', ready: true }), pod('b', { node: 'n', ready: false })]
    const r = rs(2, { spec: { ...rs(2).spec, minReadySeconds: 3600 } } as Partial<ReplicaSet>)
    await syncReplicaSet('ns/web', view(r, pods), a, { expectations: new Expectations(clock), nowMs: NOW })
    expect(a.calls).toEqual(['update replicasets/status ns/web'])
    const b = new FakeActions()
    const synced = rs(2, {
      status: {
        replicas: 2,
        fullyLabeledReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
        observedGeneration: 2,
      },
    })
    const ready = [pod('a', { node: 'n', ready: true }), pod('b', { node: 'n', ready: true })]
    await syncReplicaSet('ns/web', view(synced, ready), b, {
      expectations: new Expectations(clock),
      nowMs: NOW,
    })
    expect(b.calls).toEqual([])
  })
})

describe('replicaset controller on a real api-server', () => {
  let c: TestCluster
  beforeAll(async () => {
    c = await startTestCluster(['replicaset', 'garbagecollector'], {
      namespaces: ['default', 'kube-system', 'rs'],
    })
  })
  afterAll(async () => {
    await c?.stop()
  })
  const rss = () =>
    c.client
      .resource<ReplicaSet>({ group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true })
      .namespace('rs')
  const pods = () =>
    c.client.resource<Pod>({ group: '', version: 'v1', plural: 'pods', namespaced: true }).namespace('rs')
  const live = async () =>
    (await pods().list()).items.filter((p) => p.metadata?.deletionTimestamp === undefined)

  it('keeps the pod count at replicas through deletions, scaling and orphans; the pods go with it', async () => {
    const created = await rss().create({
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    } as ReplicaSet)
    await eventually('3 pods', async () => (await live()).length === 3)
    const first = await live()
    for (const p of first) {
      expect(p.metadata?.ownerReferences).toEqual([
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web',
          uid: created.metadata?.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ])
      expect(p.metadata?.generateName).toBe('web-')
    }
    await eventually('status', async () => {
      const s = (await rss().get('web')).status
      return s?.replicas === 3 && s.observedGeneration === 1
    })
    // A deleted pod is replaced; never more than 3 at once.
    await pods().delete(first[0]?.metadata?.name ?? '')
    await eventually('replacement', async () => {
      const now = await live()
      expect(now.length).toBeLessThanOrEqual(3)
      return now.length === 3 && !now.some((p) => p.metadata?.uid === first[0]?.metadata?.uid)
    })
    await rss().patch('web', { spec: { replicas: 1 } }, 'merge')
    await eventually('scaled to 1', async () => (await live()).length === 1)
    await eventually(
      'observedGeneration 2',
      async () => (await rss().get('web')).status?.observedGeneration === 2,
    )
    // A matching orphan is adopted, and then one too many: still 1 pod.
    await pods().create({
      metadata: { name: 'stray', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    } as Pod)
    await eventually('back to 1 with the stray handled', async () => {
      const now = await live()
      if (now.length !== 1) return false
      const stray = await pods()
        .get('stray')
        .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)))
      return stray === undefined || stray.metadata?.ownerReferences?.[0]?.uid === created.metadata?.uid
    })
    // The newest pod (the stray) is the one deleted.
    expect((await live()).map((p) => p.metadata?.name)).not.toContain('stray')
    await rss().delete('web')
    await eventually('pods collected', async () => (await pods().list()).items.length === 0)
    const creates = (await c.metrics.actions.get()).values.find(
      (v) => v.labels['controller'] === 'replicaset' && v.labels['verb'] === 'create',
    )
    // 3 at first and 1 replacement: no double creation.
    expect(creates?.value).toBe(4)
  })
})
