/**
 * Goal: the deployment controller: hash and fenceposts; a rolling update's steps within maxSurge /
 * maxUnavailable (unit, fake actions); then, on a real in-process api-server with the replicaset
 * and garbage collector controllers and a fake kubelet (pods made Running and Ready through
 * /status), with the real kubectl 1.33: a Deployment reaches its replicas, `rollout status`
 * returns, `wait --for=condition=Available` returns, a new image rolls out never exceeding
 * replicas + maxSurge replicas (summed over its ReplicaSets) nor dropping below replicas −
 * maxUnavailable running pods (sampled every 100 ms), `rollout undo`
 * brings the old template back, scaling to 0 and back works, and deleting the Deployment removes
 * its ReplicaSets and pods.
 */
import type { Deployment, Pod, ReplicaSet } from '@hakube/api'
import { Kubectl, removeKubectlHomes } from '@hakube/api-server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestCluster, type TestCluster } from '../testing/cluster.js'
import { FakeActions } from '../testing/fake-actions.js'
import { syncDeployment } from './deployment.js'
import { computeHash, REVISION_ANNOTATION, resolveFenceposts } from './deployment-util.js'

const template = (image: string) => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image }] },
})

function deployment(replicas: number, image: string): Deployment {
  return {
    metadata: {
      name: 'web',
      namespace: 'ns',
      uid: 'd1',
      generation: 2,
      resourceVersion: '5',
      annotations: { [REVISION_ANNOTATION]: '2' },
    },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: template(image) },
  } as Deployment
}

function replicaSet(
  name: string,
  image: string,
  replicas: number,
  available: number,
  revision: string,
): ReplicaSet {
  const hash = name.split('-')[1] ?? ''
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `u-${name}`,
      creationTimestamp: revision === '1' ? '2026-01-01T00:00:00Z' : '2026-01-01T00:01:00Z',
      labels: { app: 'web', 'pod-template-hash': hash },
      annotations: { [REVISION_ANNOTATION]: revision },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true },
      ],
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } },
      template: { ...template(image), metadata: { labels: { app: 'web', 'pod-template-hash': hash } } },
    },
    status: { replicas, availableReplicas: available, readyReplicas: available },
  } as ReplicaSet
}

describe('deployment helpers', () => {
  it('hashes templates stably, differently per template and collision count', () => {
    expect(computeHash(template('a'))).toBe(computeHash(structuredClone(template('a'))))
    expect(computeHash(template('a'))).not.toBe(computeHash(template('b')))
    expect(computeHash(template('a'), 1)).not.toBe(computeHash(template('a')))
    expect(computeHash(template('a'))).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/)
  })

  it('resolves maxSurge up and maxUnavailable down (25 % by default)', () => {
    expect(resolveFenceposts(deployment(10, 'a'))).toEqual({ maxSurge: 3, maxUnavailable: 2 })
    expect(resolveFenceposts(deployment(1, 'a'))).toEqual({ maxSurge: 1, maxUnavailable: 0 })
  })
})

describe('syncDeployment rolling steps', () => {
  const view = (d: Deployment, rss: ReplicaSet[]) => ({ deployment: () => d, replicaSets: () => rss })

  it('grows the new ReplicaSet by maxSurge first, then shrinks the old one within maxUnavailable', async () => {
    const d = deployment(4, 'new')
    const old = replicaSet('web-old', 'old', 4, 4, '1')
    const fresh = replicaSet('web-new', 'new', 0, 0, '2')
    const a = new FakeActions()
    await syncDeployment('ns/web', view(d, [old, fresh]), a, Date.now())
    expect(a.calls[0]).toBe('update replicasets ns/web-new')
    expect(a.events).toContain(
      'Normal ScalingReplicaSet Deployment/web: Scaled up replica set web-new from 0 to 1',
    )
    // New at 1 (not yet available), old at 4: 5 pods, 4 available; one old pod may go.
    const b = new FakeActions()
    await syncDeployment('ns/web', view(d, [old, replicaSet('web-new', 'new', 1, 0, '2')]), b, Date.now())
    expect(b.events).toEqual([
      'Normal ScalingReplicaSet Deployment/web: Scaled down replica set web-old from 4 to 3',
    ])
  })

  it('creates the first ReplicaSet named <deployment>-<hash> with the hash on selector and template', async () => {
    const d = deployment(2, 'a')
    const a = new FakeActions()
    await syncDeployment('ns/web', view(d, []), a, Date.now())
    const hash = computeHash(d.spec?.template)
    expect(a.calls[0]).toBe(`create replicasets ns/web-${hash}`)
    // Created at its first step's size (replicas + maxSurge − current), with kube's event.
    expect(a.events).toEqual([
      `Normal ScalingReplicaSet Deployment/web: Scaled up replica set web-${hash} from 0 to 2`,
    ])
  })
})

describe('syncDeployment Recreate and pause', () => {
  const view = (d: Deployment, rss: ReplicaSet[]) => ({ deployment: () => d, replicaSets: () => rss })

  it('Recreate: old ReplicaSets go to 0 first; the new one comes once their pods are gone', async () => {
    const d = deployment(3, 'new')
    d.spec = { ...d.spec, strategy: { type: 'Recreate' } }
    const a = new FakeActions()
    await syncDeployment('ns/web', view(d, [replicaSet('web-old', 'old', 3, 3, '1')]), a, Date.now())
    expect(a.calls).toContain('update replicasets ns/web-old')
    expect(a.calls.some((c) => c.startsWith('create'))).toBe(false)
    // Scaled to 0 but its pods still there: still no new ReplicaSet.
    const draining = replicaSet('web-old', 'old', 0, 0, '1')
    draining.status = { replicas: 2 }
    const b = new FakeActions()
    await syncDeployment('ns/web', view(d, [draining]), b, Date.now())
    expect(b.calls.some((c) => c.startsWith('create'))).toBe(false)
    const c = new FakeActions()
    await syncDeployment('ns/web', view(d, [replicaSet('web-old', 'old', 0, 0, '1')]), c, Date.now())
    expect(c.calls.filter((x) => x.startsWith('create'))).toEqual([
      `create replicasets ns/web-${computeHash(d.spec?.template)}`,
    ])
  })

  it('a paused Deployment starts no rollout', async () => {
    const d = deployment(3, 'new')
    d.spec = { ...d.spec, paused: true }
    const a = new FakeActions()
    await syncDeployment('ns/web', view(d, [replicaSet('web-old', 'old', 3, 3, '1')]), a, Date.now())
    expect(a.calls.some((c) => c.startsWith('create') || c.startsWith('update replicasets'))).toBe(false)
  })
})

describe('deployment controller on a real api-server with kubectl', () => {
  let c: TestCluster
  let k: Kubectl
  let kubelet: NodeJS.Timeout | undefined
  const maxPods = { seen: 0 }
  let minReady = Number.POSITIVE_INFINITY
  let watching = false

  beforeAll(async () => {
    c = await startTestCluster(['deployment', 'replicaset', 'garbagecollector'], { discovery: true })
    k = new Kubectl(c.server.base, '1.33')
    const pods = c.client
      .resource<Pod>({ group: '', version: 'v1', plural: 'pods', namespaced: true })
      .namespace('default')
    let busy = false
    let ipSeq = 1
    // A fake kubelet: every pod becomes Running and Ready.
    kubelet = setInterval(async () => {
      if (busy) return
      busy = true
      try {
        const items = (await pods.list()).items.filter((p) => p.metadata?.deletionTimestamp === undefined)
        if (watching) {
          // maxSurge bounds the ReplicaSets' replicas (pods being deleted may briefly add to them, as in kube).
          maxPods.seen = Math.max(
            maxPods.seen,
            (await rsList()).reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0),
          )
          minReady = Math.min(minReady, items.filter((p) => p.status?.phase === 'Running').length)
        }
        // Pods labelled stall=yes never start (a rollout that cannot progress).
        for (const p of items)
          if (p.status?.phase !== 'Running' && p.metadata?.labels?.['stall'] !== 'yes')
            await pods
              .updateStatus({
                ...p,
                status: {
                  phase: 'Running',
                  podIP: `10.2.0.${ipSeq++ % 250}`,
                  conditions: [
                    {
                      type: 'Ready',
                      status: 'True',
                      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
                    },
                  ],
                },
              } as Pod)
              .catch(() => {})
      } catch {
        // the next tick tries again
      } finally {
        busy = false
      }
    }, 100)
  })
  afterAll(async () => {
    if (kubelet !== undefined) clearInterval(kubelet)
    await c?.stop()
    removeKubectlHomes()
  })

  const rsList = async () =>
    (
      await c.client
        .resource<ReplicaSet>({ group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true })
        .namespace('default')
        .list()
    ).items

  it('rolls out, rolls back, scales and cascades', async () => {
    await k.ok(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=4'])
    await k.ok(['rollout', 'status', 'deployment/web', '--timeout=30s'], { timeoutMs: 40_000 })
    await k.ok(['wait', '--for=condition=Available', 'deployment/web', '--timeout=30s'], {
      timeoutMs: 40_000,
    })
    const first = await rsList()
    expect(first).toHaveLength(1)
    expect(first[0]?.metadata?.annotations?.[REVISION_ANNOTATION]).toBe('1')

    watching = true
    await k.ok(['set', 'image', 'deployment/web', 'nginx=nginx:1.26'])
    await k.ok(['rollout', 'status', 'deployment/web', '--timeout=30s'], { timeoutMs: 40_000 })
    watching = false
    // 4 replicas: maxSurge 1, maxUnavailable 1.
    expect(maxPods.seen).toBeLessThanOrEqual(5)
    expect(maxPods.seen).toBeGreaterThanOrEqual(4)
    expect(minReady).toBeGreaterThanOrEqual(3)
    const second = await rsList()
    expect(second).toHaveLength(2)
    const byRev = (rev: string) =>
      second.find((rs) => rs.metadata?.annotations?.[REVISION_ANNOTATION] === rev)
    expect(byRev('2')?.spec?.replicas).toBe(4)
    expect(byRev('1')?.spec?.replicas).toBe(0)

    await k.ok(['rollout', 'undo', 'deployment/web'])
    await k.ok(['rollout', 'status', 'deployment/web', '--timeout=30s'], { timeoutMs: 40_000 })
    const image = await k.ok([
      'get',
      'deployment',
      'web',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ])
    expect(image).toBe('nginx:1.25')
    const history = await k.ok(['rollout', 'history', 'deployment/web'])
    expect(history).toMatch(/2\s/)
    expect(history).toMatch(/3\s/)

    await k.ok(['scale', 'deployment/web', '--replicas=0'])
    await eventually('no pods', async () => (await k.ok(['get', 'pods', '-o', 'name'])).trim() === '', 20_000)
    await k.ok(['scale', 'deployment/web', '--replicas=2'])
    await k.ok(['rollout', 'status', 'deployment/web', '--timeout=30s'], { timeoutMs: 40_000 })
    expect((await k.ok(['get', 'pods', '-o', 'name'])).trim().split('\n')).toHaveLength(2)

    await k.ok(['delete', 'deployment', 'web'])
    await eventually(
      'replica sets and pods collected',
      async () => (await rsList()).length === 0 && (await k.ok(['get', 'pods', '-o', 'name'])).trim() === '',
      20_000,
    )
  }, 120_000)

  it('reports a rollout stalled past progressDeadlineSeconds, as kubectl rollout status expects', async () => {
    const manifest = k.file(
      'stuck.yaml',
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: stuck}',
        'spec:',
        '  replicas: 2',
        '  progressDeadlineSeconds: 2',
        '  selector: {matchLabels: {app: stuck}}',
        '  template:',
        '    metadata: {labels: {app: stuck, stall: "yes"}}',
        '    spec: {containers: [{name: c, image: nginx}]}',
      ].join('\n'),
    )
    await k.ok(['apply', '-f', manifest])
    const r = await k.run(['rollout', 'status', 'deployment/stuck', '--timeout=30s'], { timeoutMs: 40_000 })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('deployment "stuck" exceeded its progress deadline')
    const reason = await k.ok([
      'get',
      'deployment',
      'stuck',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}',
    ])
    expect(reason).toBe('ProgressDeadlineExceeded')
    await k.ok(['delete', 'deployment', 'stuck'])
  }, 60_000)
})
