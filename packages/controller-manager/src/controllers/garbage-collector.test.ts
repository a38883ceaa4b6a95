/**
 * Goal: kube's garbage collector semantics: background (dependents whose owners are all gone are
 * deleted, a dangling reference next to a living owner is removed), foreground (the owner waits for
 * its blockOwnerDeletion dependents, then loses the finalizer) and orphan (dependents lose the
 * reference, then the owner loses the finalizer); a new owner the cache has not seen yet is found by
 * a live read and keeps its dependents.
 * Method: the sync over a map view and a fake Actions; then the controller over a real in-process
 * api-server.
 */
import { isNotFound, type KubeObject, RESOURCES } from '@hakube/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestCluster, type TestCluster } from '../testing/cluster.js'
import { FakeActions } from '../testing/fake-actions.js'
import { type GcObject, type GcView, itemKey, syncGarbage } from './garbage-collector.js'
import { type ServedResource, servedResources } from './resources.js'

const served = servedResources(RESOURCES)
const CM = served.find((r) => r.kind === 'ConfigMap') as ServedResource

function cm(name: string, uid: string, extra: Partial<NonNullable<GcObject['metadata']>> = {}): GcObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'ns', uid, resourceVersion: '5', ...extra },
  }
}
const ref = (name: string, uid: string, block?: boolean) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  name,
  uid,
  ...(block !== undefined && { blockOwnerDeletion: block }),
})

function mapView(objs: GcObject[]): GcView {
  const items = new Map(objs.map((o) => [itemKey(CM, o), o]))
  return {
    item: (key) => {
      const obj = items.get(key)
      return obj === undefined ? undefined : { resource: CM, obj }
    },
    byUid: (uid) => objs.find((o) => o.metadata?.uid === uid),
    dependents: (uid) =>
      objs
        .filter((o) => (o.metadata?.ownerReferences ?? []).some((r) => r.uid === uid))
        .map((o) => itemKey(CM, o)),
    resourceFor: (apiVersion, kind) => served.find((r) => r.apiVersion === apiVersion && r.kind === kind),
  }
}

describe('syncGarbage', () => {
  it('deletes a dependent whose only owner is gone, with its uid as precondition', async () => {
    const a = new FakeActions()
    const dep = cm('dep', 'd1', { ownerReferences: [ref('owner', 'o1')] })
    await syncGarbage(itemKey(CM, dep), mapView([dep]), a)
    expect(a.calls).toEqual(['delete configmaps ns/dep Background uid=d1'])
  })

  it('keeps a dependent whose owner is cached, or found by a live read with the same uid', async () => {
    const a = new FakeActions()
    const owner = cm('owner', 'o1')
    const dep = cm('dep', 'd1', { ownerReferences: [ref('owner', 'o1')] })
    await syncGarbage(itemKey(CM, dep), mapView([owner, dep]), a)
    a.objects.set('configmaps|ns/owner', owner)
    await syncGarbage(itemKey(CM, dep), mapView([dep]), a)
    expect(a.calls).toEqual([])
    // The same name with another uid is another object: the owner is gone.
    a.objects.set('configmaps|ns/owner', cm('owner', 'o2'))
    await syncGarbage(itemKey(CM, dep), mapView([dep]), a)
    expect(a.calls).toEqual(['delete configmaps ns/dep Background uid=d1'])
  })

  it('removes only the dangling reference when another owner lives', async () => {
    const a = new FakeActions()
    const owner = cm('owner', 'o1')
    const dep = cm('dep', 'd1', { ownerReferences: [ref('owner', 'o1'), ref('gone', 'g1')] })
    await syncGarbage(itemKey(CM, dep), mapView([owner, dep]), a)
    expect(a.calls).toEqual(['patch configmaps ns/dep'])
    expect(a.patches).toEqual([{ metadata: { ownerReferences: [ref('owner', 'o1')], resourceVersion: '5' } }])
  })

  it('takes the dependent’s own deletion finalizers as its propagation policy', async () => {
    const a = new FakeActions()
    const dep = cm('dep', 'd1', { ownerReferences: [ref('gone', 'g1')], finalizers: ['orphan'] })
    await syncGarbage(itemKey(CM, dep), mapView([dep]), a)
    expect(a.calls).toEqual(['delete configmaps ns/dep Orphan uid=d1'])
  })

  it('foreground: deletes the dependents (foreground when they have their own), waits for the blocking ones', async () => {
    const a = new FakeActions()
    const owner = cm('owner', 'o1', { deletionTimestamp: 'now', finalizers: ['foregroundDeletion'] })
    const mid = cm('mid', 'm1', { ownerReferences: [ref('owner', 'o1', true)] })
    const leaf = cm('leaf', 'l1', { ownerReferences: [ref('mid', 'm1', true)] })
    const v = mapView([owner, mid, leaf])
    await syncGarbage(itemKey(CM, mid), v, a)
    await syncGarbage(itemKey(CM, owner), v, a)
    expect(a.calls).toEqual(['delete configmaps ns/mid Foreground uid=m1'])
    // Once no blocking dependent is left, the finalizer goes (resourceVersion as precondition).
    const b = new FakeActions()
    const loose = cm('loose', 'x1', { ownerReferences: [ref('owner', 'o1', false)] })
    await syncGarbage(itemKey(CM, owner), mapView([owner, loose]), b)
    expect(b.calls).toEqual(['patch configmaps ns/owner'])
    expect(b.patches).toEqual([{ metadata: { finalizers: null, resourceVersion: '5' } }])
  })

  it('orphan: removes the owner’s reference from every dependent, then the finalizer', async () => {
    const a = new FakeActions()
    const owner = cm('owner', 'o1', { deletionTimestamp: 'now', finalizers: ['orphan', 'example.com/keep'] })
    const dep = cm('dep', 'd1', { ownerReferences: [ref('owner', 'o1'), ref('other', 'x1')] })
    await syncGarbage(itemKey(CM, owner), mapView([owner, dep]), a)
    expect(a.calls).toEqual(['patch configmaps ns/dep', 'patch configmaps ns/owner'])
    expect(a.patches).toEqual([
      { metadata: { ownerReferences: [ref('other', 'x1')], resourceVersion: '5' } },
      { metadata: { finalizers: ['example.com/keep'], resourceVersion: '5' } },
    ])
  })

  it('requeues (throws) on a conflict and on an owner kind that is not served', async () => {
    const a = new FakeActions()
    const owner = cm('owner', 'o1')
    const dep = cm('dep', 'd1', { ownerReferences: [ref('owner', 'o1'), ref('gone', 'g1')] })
    a.outcomes.set('patch configmaps ns/dep', 'Conflict')
    await expect(syncGarbage(itemKey(CM, dep), mapView([owner, dep]), a)).rejects.toThrow(/changed/)
    const odd = cm('odd', 'q1', {
      ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'w1' }],
    })
    await expect(syncGarbage(itemKey(CM, odd), mapView([odd]), a)).rejects.toThrow(/not served/)
  })
})

describe('garbage collector on a real api-server', () => {
  let c: TestCluster
  beforeAll(async () => {
    c = await startTestCluster(['garbagecollector'], { namespaces: ['default', 'kube-system', 'gc'] })
  })
  afterAll(async () => {
    await c?.stop()
  })

  const cms = () =>
    c.client
      .resource<GcObject>({ group: '', version: 'v1', plural: 'configmaps', namespaced: true })
      .namespace('gc')
  const get = async (name: string) => {
    try {
      return await cms().get(name)
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }
  const create = async (name: string, extra: Partial<NonNullable<GcObject['metadata']>> = {}) =>
    cms().create({ metadata: { name, ...extra } } as GcObject)
  const refTo = (o: KubeObject, block?: boolean) => ref(o.metadata?.name ?? '', o.metadata?.uid ?? '', block)

  it('background: deleting an owner deletes its dependents; a dependent of a never-existing owner goes', async () => {
    const owner = await create('bg-owner')
    await create('bg-dep1', { ownerReferences: [refTo(owner)] })
    await create('bg-dep2', { ownerReferences: [refTo(owner), ref('ghost', 'no-such-uid')] })
    await create('bg-orphan', { ownerReferences: [ref('ghost', 'no-such-uid')] })
    await eventually('bg-orphan collected', async () => (await get('bg-orphan')) === undefined)
    // The dangling reference next to a living owner is dropped, the dependent stays.
    await eventually(
      'bg-dep2 lost its dangling ref',
      async () => (await get('bg-dep2'))?.metadata?.ownerReferences?.length === 1,
    )
    expect(await get('bg-dep1')).toBeDefined()
    await cms().delete('bg-owner')
    await eventually(
      'dependents collected',
      async () => (await get('bg-dep1')) === undefined && (await get('bg-dep2')) === undefined,
    )
  })

  it('foreground: the owner stays until its blocking dependents are gone, then goes', async () => {
    const owner = await create('fg-owner')
    const dep = await create('fg-dep', {
      ownerReferences: [refTo(owner, true)],
      finalizers: ['example.com/hold'],
    })
    await cms().delete('fg-owner', { propagationPolicy: 'Foreground' })
    // The dependent is being deleted but held by its own finalizer: the owner waits.
    await eventually(
      'fg-dep being deleted',
      async () => (await get('fg-dep'))?.metadata?.deletionTimestamp !== undefined,
    )
    await new Promise((r) => setTimeout(r, 300))
    expect((await get('fg-owner'))?.metadata?.finalizers).toEqual(['foregroundDeletion'])
    await cms().patch(dep.metadata?.name ?? '', { metadata: { finalizers: null } }, 'merge')
    await eventually('fg-owner gone', async () => (await get('fg-owner')) === undefined)
    // A config map with no dependents at all completes its foreground deletion at once.
    await create('fg-lonely')
    await cms().delete('fg-lonely', { propagationPolicy: 'Foreground' })
    await eventually('fg-lonely gone', async () => (await get('fg-lonely')) === undefined)
  })

  it('orphan: dependents lose the reference and stay, the owner goes', async () => {
    const owner = await create('or-owner', { finalizers: ['orphan'] })
    await create('or-dep', { ownerReferences: [refTo(owner)] })
    await cms().delete('or-owner')
    await eventually('or-owner gone', async () => (await get('or-owner')) === undefined)
    const dep = await get('or-dep')
    expect(dep?.metadata?.ownerReferences ?? []).toEqual([])
    await new Promise((r) => setTimeout(r, 300))
    expect(await get('or-dep')).toBeDefined()
  })
})
