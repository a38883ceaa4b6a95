/**
 * The garbage collector (kube's pkg/controller/garbagecollector), level-triggered over the shared
 * informers of every served resource but Events (which kube's collector ignores too):
 *
 * - An object whose owners are all gone is deleted (background propagation): an owner counts as gone
 *   when no cached object has its uid and a live GET by kind and name finds nothing or another uid
 *   (the cache may not have seen a new owner yet, as kube's "virtual node" check).
 * - An object with a gone owner and a living one loses the dangling ownerReference (a patch).
 * - Foreground: an owner being deleted with the `foregroundDeletion` finalizer has its dependents
 *   deleted (in turn foreground when they have dependents of their own) and keeps the finalizer until
 *   no dependent with `blockOwnerDeletion: true` is left, then the finalizer is removed and it goes.
 * - Orphan: an owner being deleted with the `orphan` finalizer has its ownerReference removed from
 *   every dependent, then the finalizer is removed.
 *
 * Keys are `<group/version/resource>|<namespace/name>`. The indexes (uid → key, owner uid →
 * dependents) follow the informers. Every write that must not clobber a concurrent one (ownerRefs,
 * finalizers) carries the resourceVersion read, and a delete carries the uid as precondition, so a
 * recreated object of the same name is never collected by mistake.
 */
import {
  type Informer,
  isDeletedFinalStateUnknown,
  type KubeObject,
  type ObjectMeta,
  type OwnerReference,
  objectKey,
} from '@hakube/api'
import type { Actions, PropagationPolicy } from '../actions.js'
import type { ControllerSpec, SyncResult } from '../controller.js'
import { typeKey } from '../informers.js'
import type { ServedResource } from './resources.js'

export const FOREGROUND_FINALIZER = 'foregroundDeletion'
export const ORPHAN_FINALIZER = 'orphan'

export interface GcObject extends KubeObject {
  metadata?: ObjectMeta & { ownerReferences?: OwnerReference[]; finalizers?: string[] }
}

/** What the collector's sync reads (informer caches and indexes in production, maps in tests). */
export interface GcView {
  item(key: string): { resource: ServedResource; obj: GcObject } | undefined
  /** The cached object with this uid, if any. */
  byUid(uid: string): GcObject | undefined
  /** Keys of the cached objects whose ownerReferences name `uid`. */
  dependents(uid: string): string[]
  resourceFor(apiVersion: string, kind: string): ServedResource | undefined
}

export function itemKey(resource: ServedResource, obj: KubeObject): string {
  return `${typeKey(resource.type)}|${objectKey(obj)}`
}

function beingDeletedWith(obj: GcObject, finalizer: string): boolean {
  return obj.metadata?.deletionTimestamp !== undefined && (obj.metadata.finalizers ?? []).includes(finalizer)
}

/** Removes `finalizer` from the object (resourceVersion as precondition). */
async function removeFinalizer(
  resource: ServedResource,
  obj: GcObject,
  finalizer: string,
  actions: Actions,
): Promise<void> {
  const m = obj.metadata ?? {}
  const rest = (m.finalizers ?? []).filter((f) => f !== finalizer)
  const r = await actions.patch(resource.type, m.namespace, m.name ?? '', {
    metadata: { finalizers: rest.length > 0 ? rest : null, resourceVersion: m.resourceVersion },
  })
  if (!r.ok && r.reason === 'Conflict')
    throw new Error(`${objectKey(obj)} changed; removing ${finalizer} again`)
}

/** Sets the dependent's ownerReferences to `refs` (resourceVersion as precondition). */
async function setOwnerReferences(
  resource: ServedResource,
  obj: GcObject,
  refs: OwnerReference[],
  actions: Actions,
): Promise<void> {
  const m = obj.metadata ?? {}
  const r = await actions.patch(resource.type, m.namespace, m.name ?? '', {
    metadata: { ownerReferences: refs.length > 0 ? refs : null, resourceVersion: m.resourceVersion },
  })
  if (!r.ok && r.reason === 'Conflict')
    throw new Error(`${objectKey(obj)} changed; patching ownerReferences again`)
}

type OwnerState = 'solid' | 'dangling' | 'waiting'

async function ownerState(
  view: GcView,
  dependent: GcObject,
  ref: OwnerReference,
  actions: Actions,
): Promise<OwnerState> {
  let owner = view.byUid(ref.uid)
  if (owner === undefined) {
    const r = view.resourceFor(ref.apiVersion, ref.kind)
    if (r === undefined)
      throw new Error(`ownerReference to ${ref.apiVersion}/${ref.kind}: the kind is not served`)
    const namespace = dependent.metadata?.namespace
    // A namespaced owner of a cluster-scoped dependent cannot exist (kube: OwnerRefInvalidNamespace).
    if (r.type.namespaced && (namespace === undefined || namespace === '')) return 'dangling'
    const live = await actions.get<GcObject>(r.type, r.type.namespaced ? namespace : undefined, ref.name)
    if (live === undefined || live.metadata?.uid !== ref.uid) return 'dangling'
    owner = live
  }
  return beingDeletedWith(owner, FOREGROUND_FINALIZER) ? 'waiting' : 'solid'
}

/** attemptToDeleteItem: deletes or patches an object according to its owners' states. */
async function attemptToDelete(
  view: GcView,
  resource: ServedResource,
  obj: GcObject,
  actions: Actions,
): Promise<void> {
  const m = obj.metadata ?? {}
  const refs = m.ownerReferences ?? []
  if (refs.length === 0) return
  const states = new Map<string, OwnerState>()
  for (const ref of refs) states.set(ref.uid, await ownerState(view, obj, ref, actions))
  const count = (s: OwnerState) => [...states.values()].filter((v) => v === s).length
  if (count('solid') > 0) {
    if (count('dangling') === 0 && count('waiting') === 0) return
    await setOwnerReferences(
      resource,
      obj,
      refs.filter((r) => states.get(r.uid) === 'solid'),
      actions,
    )
    return
  }
  const finalizers = m.finalizers ?? []
  let policy: PropagationPolicy = 'Background'
  if (count('waiting') > 0 && view.dependents(m.uid ?? '').length > 0) policy = 'Foreground'
  else if (finalizers.includes(ORPHAN_FINALIZER)) policy = 'Orphan'
  else if (finalizers.includes(FOREGROUND_FINALIZER)) policy = 'Foreground'
  const outcome = await actions.delete(resource.type, m.namespace, m.name ?? '', {
    propagationPolicy: policy,
    ...(m.uid !== undefined && { uid: m.uid }),
  })
  if (outcome === 'conflict') return // another incarnation: its own owners decide
}

/** One pass over an item. */
export async function syncGarbage(
  key: string,
  view: GcView,
  actions: Actions,
): Promise<SyncResult | undefined> {
  const it = view.item(key)
  if (it === undefined) return undefined
  const { resource, obj } = it
  const m = obj.metadata ?? {}
  if (m.deletionTimestamp !== undefined) {
    const uid = m.uid ?? ''
    if (beingDeletedWith(obj, ORPHAN_FINALIZER)) {
      for (const dk of view.dependents(uid)) {
        const d = view.item(dk)
        if (d === undefined) continue
        const refs = d.obj.metadata?.ownerReferences ?? []
        await setOwnerReferences(
          d.resource,
          d.obj,
          refs.filter((r) => r.uid !== uid),
          actions,
        )
      }
      await removeFinalizer(resource, obj, ORPHAN_FINALIZER, actions)
    } else if (beingDeletedWith(obj, FOREGROUND_FINALIZER)) {
      const blocking = view
        .dependents(uid)
        .filter((dk) =>
          (view.item(dk)?.obj.metadata?.ownerReferences ?? []).some(
            (r) => r.uid === uid && r.blockOwnerDeletion === true,
          ),
        )
      if (blocking.length === 0) await removeFinalizer(resource, obj, FOREGROUND_FINALIZER, actions)
    }
    return undefined
  }
  await attemptToDelete(view, resource, obj, actions)
  return undefined
}

/** The production view and informer wiring. */
export class GarbageCollector implements ControllerSpec, GcView {
  readonly name = 'garbagecollector'
  private readonly byType = new Map<string, { resource: ServedResource; informer: Informer<GcObject> }>()
  private readonly byKind = new Map<string, ServedResource>()
  private readonly uidToKey = new Map<string, string>()
  private readonly ownerIndex = new Map<string, Set<string>>()
  private readonly ownersOf = new Map<string, string[]>()

  constructor(monitored: readonly { resource: ServedResource; informer: Informer<GcObject> }[]) {
    for (const m of monitored) {
      this.byType.set(typeKey(m.resource.type), m)
      this.byKind.set(`${m.resource.apiVersion}|${m.resource.kind}`, m.resource)
    }
  }

  register(enqueue: (key: string) => void): void {
    for (const { resource, informer } of this.byType.values()) {
      const upsert = (obj: GcObject) => {
        const key = itemKey(resource, obj)
        const m = obj.metadata ?? {}
        if (m.uid !== undefined) this.uidToKey.set(m.uid, key)
        const owners = (m.ownerReferences ?? []).map((r) => r.uid)
        const before = this.ownersOf.get(key) ?? []
        for (const o of before) if (!owners.includes(o)) this.unindex(o, key, enqueue)
        for (const o of owners) {
          const set = this.ownerIndex.get(o) ?? new Set<string>()
          this.ownerIndex.set(o, set)
          set.add(key)
        }
        if (owners.length > 0) this.ownersOf.set(key, owners)
        else this.ownersOf.delete(key)
        if (owners.length > 0) enqueue(key)
        if (beingDeletedWith(obj, ORPHAN_FINALIZER) || beingDeletedWith(obj, FOREGROUND_FINALIZER)) {
          enqueue(key)
          for (const d of this.dependents(m.uid ?? '')) enqueue(d)
        }
      }
      informer.addEventHandler({
        onAdd: (obj) => upsert(obj),
        onUpdate: (_old, obj) => upsert(obj),
        onDelete: (gone) => {
          const obj = isDeletedFinalStateUnknown(gone) ? gone.obj : gone
          const key = itemKey(resource, obj)
          const uid = obj.metadata?.uid
          if (uid !== undefined && this.uidToKey.get(uid) === key) this.uidToKey.delete(uid)
          for (const o of this.ownersOf.get(key) ?? []) this.unindex(o, key, enqueue)
          this.ownersOf.delete(key)
          // Its dependents may now be orphans.
          if (uid !== undefined) for (const d of this.dependents(uid)) enqueue(d)
        },
      })
    }
  }

  /** Drops `key` from `owner`'s dependents; an owner waiting in foreground deletion re-checks. */
  private unindex(owner: string, key: string, enqueue: (key: string) => void): void {
    const set = this.ownerIndex.get(owner)
    set?.delete(key)
    if (set?.size === 0) this.ownerIndex.delete(owner)
    const ownerKey = this.uidToKey.get(owner)
    if (ownerKey !== undefined) enqueue(ownerKey)
  }

  hasSynced(): boolean {
    for (const { informer } of this.byType.values()) if (!informer.hasSynced()) return false
    return true
  }

  initialKeys(): Iterable<string> {
    const keys: string[] = []
    for (const { resource, informer } of this.byType.values())
      for (const obj of informer.list()) {
        const m = obj.metadata ?? {}
        if ((m.ownerReferences ?? []).length > 0 || m.deletionTimestamp !== undefined)
          keys.push(itemKey(resource, obj))
      }
    return keys
  }

  sync(key: string, actions: Actions): Promise<SyncResult | undefined> {
    return syncGarbage(key, this, actions)
  }

  item(key: string): { resource: ServedResource; obj: GcObject } | undefined {
    const bar = key.indexOf('|')
    const m = this.byType.get(key.slice(0, bar))
    const obj = m?.informer.get(key.slice(bar + 1))
    return m === undefined || obj === undefined ? undefined : { resource: m.resource, obj }
  }

  byUid(uid: string): GcObject | undefined {
    const key = this.uidToKey.get(uid)
    const found = key === undefined ? undefined : this.item(key)?.obj
    return found?.metadata?.uid === uid ? found : undefined
  }

  dependents(uid: string): string[] {
    return [...(this.ownerIndex.get(uid) ?? [])]
  }

  resourceFor(apiVersion: string, kind: string): ServedResource | undefined {
    return this.byKind.get(`${apiVersion}|${kind}`)
  }
}
