/**
 * Goal: a Terminating namespace is emptied (every namespaced resource), waits for content still
 * going (finalizers, pod grace periods), then loses the `kubernetes` finalizer and disappears.
 * Method: the sync against a fake Actions (the calls one pass makes); then the controller over a
 * real in-process api-server (which has no /finalize subresource: the fallback PUT is exercised).
 */
import { isNotFound, type KubeObject, type Namespace, RESOURCES } from '@hakube/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestCluster, type TestCluster } from '../testing/cluster.js'
import { FakeActions } from '../testing/fake-actions.js'
import { syncNamespace } from './namespace.js'
import { servedResources } from './resources.js'

const served = servedResources(RESOURCES)
const NOW = Date.parse('2026-01-01T00:00:10Z')
const terminating: Namespace = {
  metadata: { name: 'doomed', deletionTimestamp: '2026-01-01T00:00:00Z', resourceVersion: '7' },
  spec: { finalizers: ['kubernetes'] },
  status: { phase: 'Terminating' },
}

describe('syncNamespace', () => {
  it('ignores namespaces not being deleted and those without the kubernetes finalizer', async () => {
    const a = new FakeActions()
    a.objects.set('namespaces|live', { metadata: { name: 'live' } })
    await syncNamespace('live', { namespace: () => ({ metadata: { name: 'live' } }) }, served, a, NOW)
    const noFinalizer = { ...terminating, spec: { finalizers: [] } }
    a.objects.set('namespaces|doomed', noFinalizer)
    await syncNamespace('doomed', { namespace: () => noFinalizer }, served, a, NOW)
    expect(a.calls).toEqual([])
  })

  it('leaves the content alone for 5 s after the namespace was deleted (kube: namespaceDeletionGracePeriod)', async () => {
    const a = new FakeActions()
    const fresh = {
      ...terminating,
      metadata: { ...terminating.metadata, deletionTimestamp: '2026-01-01T00:00:08Z' },
    }
    a.objects.set('namespaces|doomed', fresh)
    a.objects.set('configmaps|doomed/c', { metadata: { name: 'c', namespace: 'doomed' } })
    const r = await syncNamespace('doomed', { namespace: () => fresh }, served, a, NOW)
    expect(r).toEqual({ requeueAfterMs: 3000 })
    expect(a.calls.filter((c) => !c.startsWith('get'))).toEqual([])
  })

  it('deletes each non-empty collection, then requeues while content remains', async () => {
    const a = new FakeActions()
    a.objects.set('namespaces|doomed', terminating)
    a.objects.set('configmaps|doomed/c', { metadata: { name: 'c', namespace: 'doomed' } })
    // A pod in its grace period, due in 300 ms: the next pass comes then.
    a.objects.set('pods|doomed/p', {
      metadata: {
        name: 'p',
        namespace: 'doomed',
        deletionTimestamp: new Date(NOW + 300).toISOString(),
        deletionGracePeriodSeconds: 30,
      },
    } as KubeObject)
    const r = await syncNamespace('doomed', { namespace: () => terminating }, served, a, NOW)
    // The pod is already being deleted: only the config maps are deleted again.
    expect(a.calls).toEqual(['deletecollection configmaps doomed Background'])
    expect(r).toEqual({ requeueAfterMs: 300 })
  })

  it('finalizes an empty namespace through /finalize, falling back to a PUT of the namespace', async () => {
    const a = new FakeActions()
    a.objects.set('namespaces|doomed', terminating)
    expect(await syncNamespace('doomed', { namespace: () => terminating }, served, a, NOW)).toBeUndefined()
    expect(a.calls).toEqual(['update namespaces/finalize doomed'])

    const b = new FakeActions()
    b.objects.set('namespaces|doomed', terminating)
    b.outcomes.set('update namespaces/finalize doomed', 'NotFound')
    await syncNamespace('doomed', { namespace: () => terminating }, served, b, NOW)
    expect(b.calls).toEqual(['update namespaces/finalize doomed', 'update namespaces doomed'])
  })
})

describe('namespace controller on a real api-server', () => {
  let c: TestCluster
  beforeAll(async () => {
    c = await startTestCluster(['namespace', 'serviceaccount', 'garbagecollector'])
  })
  afterAll(async () => {
    await c?.stop()
  })

  const res = (plural: string, group = '', namespaced = true) =>
    c.client.resource<KubeObject>({ group, version: 'v1', plural, namespaced })
  const exists = async (get: () => Promise<unknown>) => {
    try {
      await get()
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  it('empties a deleted namespace and removes it; content with a finalizer holds it until released', async () => {
    const ns = 'team-a'
    await res('namespaces', '', false).create({ metadata: { name: ns } })
    await res('configmaps')
      .namespace(ns)
      .create({ metadata: { name: 'cm' } } as KubeObject)
    await res('secrets')
      .namespace(ns)
      .create({ metadata: { name: 's' } } as KubeObject)
    await res('configmaps')
      .namespace(ns)
      .create({ metadata: { name: 'held', finalizers: ['example.com/hold'] } } as KubeObject)
    await res('pods')
      .namespace(ns)
      .create({
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      } as KubeObject)
    await res('deployments', 'apps')
      .namespace(ns)
      .create({
        metadata: { name: 'd' },
        spec: {
          selector: { matchLabels: { app: 'd' } },
          template: {
            metadata: { labels: { app: 'd' } },
            spec: { containers: [{ name: 'c', image: 'nginx' }] },
          },
        },
      } as KubeObject)
    await res('namespaces', '', false).delete(ns)
    // Everything but the held config map goes; the namespace stays Terminating for it.
    await eventually('content gone', async () => {
      const left = await Promise.all([
        ...['configmaps', 'secrets', 'pods', 'serviceaccounts'].map(
          async (p) => (await res(p).namespace(ns).list()).items,
        ),
        // The controller deletes resource by resource: the Deployment may go after the others.
        res('deployments', 'apps')
          .namespace(ns)
          .list()
          .then((l) => l.items),
      ])
      const names = left.flat().map((o) => o.metadata?.name)
      return names.length === 1 && names[0] === 'held'
    })
    const still = (await res('namespaces', '', false).get(ns)) as Namespace
    expect(still.status?.phase).toBe('Terminating')
    await res('configmaps')
      .namespace(ns)
      .patch('held', { metadata: { finalizers: null } }, 'merge')
    await eventually(
      'namespace gone',
      async () => !(await exists(() => res('namespaces', '', false).get(ns))),
    )
  })
})
