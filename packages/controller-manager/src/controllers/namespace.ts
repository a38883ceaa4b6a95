/**
 * The namespace controller (kube's pkg/controller/namespace, NamespacedResourcesDeleter): a namespace
 * marked for deletion (`deletionTimestamp`, phase Terminating) with the `kubernetes` finalizer in
 * `spec.finalizers` is emptied, every namespaced resource the api-server serves, then the finalizer
 * is removed and the namespace goes.
 *
 * The content is left alone for 5 s after the namespace's deletion, as kube does. Each pass reads the namespace live (the cache may lag, as kube's deleter re-reads it), then per
 * resource lists the namespace's objects and deletes the collection (Background propagation, as
 * kube) if anything in it is not yet being deleted. Objects still there (pods in their grace period,
 * objects with finalizers the garbage collector will clear) requeue the namespace: after the shortest
 * pod grace period left, at most `recheckMsMax`. Once nothing is left, `spec.finalizers` without
 * `kubernetes` is PUT to the namespace's `/finalize` subresource; an api-server that does not serve
 * it (hakube's today: 404 while the namespace exists) gets the same PUT on the namespace itself,
 * which deletes a Terminating namespace once no finalizer is left.
 */
import type { Clock, Informer, KubeObject, Namespace } from '@hakube/api'
import type { Actions } from '../actions.js'
import type { ControllerSpec, SyncResult } from '../controller.js'
import { NAMESPACES, type ServedResource } from './resources.js'

export const KUBERNETES_FINALIZER = 'kubernetes'
/** How long after its deletion a namespace's content starts to go (kube's namespaceDeletionGracePeriod). */
const DELETION_GRACE_MS = 5000
/** The longest wait between two passes over a namespace whose content is still going. */
const RECHECK_MS_MAX = 1000

export interface NamespaceView {
  namespace(name: string): Namespace | undefined
}

interface PodLike extends KubeObject {
  metadata?: KubeObject['metadata'] & { deletionGracePeriodSeconds?: number }
}

export async function syncNamespace(
  key: string,
  view: NamespaceView,
  resources: readonly ServedResource[],
  actions: Actions,
  nowMs: number,
): Promise<SyncResult | undefined> {
  const cached = view.namespace(key)
  if (cached?.metadata?.deletionTimestamp === undefined) return undefined
  const ns = await actions.get<Namespace>(NAMESPACES, undefined, key)
  if (ns?.metadata?.deletionTimestamp === undefined) return undefined
  const finalizers = ns.spec?.finalizers ?? []
  if (!finalizers.includes(KUBERNETES_FINALIZER)) return undefined
  // kube's namespaceDeletionGracePeriod: the content waits 5 s after the namespace's deletion, so
  // that a client deleting the namespace's objects itself (`kubectl delete -f` of a file with the
  // Namespace first) finds them still there, and other controllers' caches catch up.
  const graceLeftMs = Date.parse(ns.metadata.deletionTimestamp) + DELETION_GRACE_MS - nowMs
  if (graceLeftMs > 0) return { requeueAfterMs: Math.min(graceLeftMs, DELETION_GRACE_MS) }

  let remaining = 0
  let recheckMs = RECHECK_MS_MAX
  for (const r of resources) {
    if (!r.type.namespaced) continue
    const items = await actions.list<PodLike>(r.type, key)
    if (items.length === 0) continue
    if (items.some((o) => o.metadata?.deletionTimestamp === undefined)) {
      if (r.deleteCollection) await actions.deleteCollection(r.type, key, { propagationPolicy: 'Background' })
      else
        for (const o of items)
          await actions.delete(r.type, key, o.metadata?.name ?? '', { propagationPolicy: 'Background' })
    }
    const left = await actions.list<PodLike>(r.type, key)
    remaining += left.length
    for (const o of left) {
      const ts = o.metadata?.deletionTimestamp
      // A pod in its grace period: check again when it should be gone (kube's estimate).
      if (ts !== undefined && (o.metadata?.deletionGracePeriodSeconds ?? 0) > 0)
        recheckMs = Math.min(recheckMs, Math.max(100, Date.parse(ts) - nowMs))
    }
  }
  if (remaining > 0) return { requeueAfterMs: recheckMs }

  const body: Namespace = {
    ...ns,
    spec: { ...ns.spec, finalizers: finalizers.filter((f) => f !== KUBERNETES_FINALIZER) },
  }
  let done = await actions.update<Namespace>(NAMESPACES, undefined, body, 'finalize')
  if (!done.ok && done.reason === 'NotFound') {
    // Either the namespace is gone, or the api-server has no /finalize: tell them apart.
    if ((await actions.get<Namespace>(NAMESPACES, undefined, key)) === undefined) return undefined
    done = await actions.update<Namespace>(NAMESPACES, undefined, body)
  }
  if (!done.ok && done.reason === 'Conflict') throw new Error(`namespace ${key} changed while finalizing`)
  return undefined
}

export class NamespaceController implements ControllerSpec {
  readonly name = 'namespace'
  private readonly view: NamespaceView

  constructor(
    private readonly namespaces: Informer<Namespace>,
    private readonly resources: readonly ServedResource[],
    private readonly clock: Clock = { now: () => Date.now() },
  ) {
    this.view = { namespace: (name) => namespaces.get(name) }
  }

  register(enqueue: (key: string) => void): void {
    const onChange = (ns: Namespace) => {
      if (ns.metadata?.deletionTimestamp !== undefined) enqueue(ns.metadata.name ?? '')
    }
    this.namespaces.addEventHandler({
      onAdd: onChange,
      onUpdate: (_old, ns) => onChange(ns),
    })
  }

  hasSynced(): boolean {
    return this.namespaces.hasSynced()
  }

  initialKeys(): Iterable<string> {
    return this.namespaces
      .list()
      .filter((ns) => ns.metadata?.deletionTimestamp !== undefined)
      .map((ns) => ns.metadata?.name ?? '')
  }

  sync(key: string, actions: Actions): Promise<SyncResult | undefined> {
    return syncNamespace(key, this.view, this.resources, actions, this.clock.now())
  }
}
