/**
 * The replicaset controller (kube's pkg/controller/replicaset): the number of active pods a
 * ReplicaSet controls equals `spec.replicas`.
 *
 * - Claim (ControllerRefManager): an orphan pod matching the selector is adopted (a controller
 *   ownerReference is added, after a live read confirms the ReplicaSet still exists and is not being
 *   deleted); a pod it controls that no longer matches is released (the reference removed). Pods
 *   another controller owns are left alone. Every patch carries the pod's resourceVersion.
 * - Too few: pods are created from the template (generateName `<rs>-`, the template's labels and
 *   annotations, the controller reference) in slow-start batches of 1, 2, 4, ... stopping at the
 *   first failed batch, at most `burstReplicas` (500) per sync. Too many: the pods first in
 *   deletion order (pods.ts compareForDeletion: unscheduled, then not ready, then newest) are deleted.
 * - Expectations (expectations.ts): the creates and deletes made are expected in the informer before
 *   the key syncs again, so a slow informer never causes a double creation.
 * - Status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready for
 *   minReadySeconds), observedGeneration, written through `/status` when they change; with
 *   minReadySeconds the key is checked again when pods should become available.
 * - Events: SuccessfulCreate / FailedCreate / SuccessfulDelete / FailedDelete, source
 *   `replicaset-controller`, reportingInstance the acting instance.
 */
import {
  type Clock,
  type Informer,
  isDeletedFinalStateUnknown,
  labelSelectorAsSelector,
  type OwnerReference,
  objectKey,
  type Pod,
  type ReplicaSet,
} from '@hakube/api'
import type { Actions } from '../actions.js'
import type { ControllerSpec, SyncResult } from '../controller.js'
import type { Expectations } from '../expectations.js'
import { compareForDeletion, controllerRefOf, isPodActive, isPodAvailable, isPodReady } from '../pods.js'
import { PODS, REPLICA_SETS } from './resources.js'

/** kube's BurstReplicas: creates or deletes per sync. */
export const BURST_REPLICAS = 500
/** kube's SlowStartInitialBatchSize. */
const SLOW_START_INITIAL_BATCH = 1

export interface ReplicaSetView {
  replicaSet(namespace: string, name: string): ReplicaSet | undefined
  pods(namespace: string): Pod[]
}

export interface ReplicaSetDeps {
  expectations: Expectations
  nowMs: number
  burstReplicas?: number
}

function controllerRef(rs: ReplicaSet): OwnerReference {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    name: rs.metadata?.name ?? '',
    uid: rs.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  }
}

const involved = (rs: ReplicaSet) => ({ ...rs, apiVersion: 'apps/v1', kind: 'ReplicaSet' })

/** ClaimPods: adopts matching orphans, releases non-matching pods; returns the pods controlled. */
async function claimPods(rs: ReplicaSet, pods: Pod[], actions: Actions): Promise<Pod[]> {
  const selector = labelSelectorAsSelector(rs.spec?.selector)
  const uid = rs.metadata?.uid
  const ns = rs.metadata?.namespace ?? ''
  const claimed: Pod[] = []
  let canAdopt: boolean | undefined
  for (const pod of pods) {
    const labels = pod.metadata?.labels ?? {}
    const ref = controllerRefOf(pod)
    const refs = pod.metadata?.ownerReferences ?? []
    if (ref !== undefined) {
      if (ref.uid !== uid) continue
      if (selector.matches(labels)) {
        claimed.push(pod)
        continue
      }
      if (rs.metadata?.deletionTimestamp !== undefined) continue
      const r = await actions.patch(PODS, ns, pod.metadata?.name ?? '', {
        metadata: {
          ownerReferences:
            refs.filter((o) => o.uid !== uid).length > 0 ? refs.filter((o) => o.uid !== uid) : null,
          resourceVersion: pod.metadata?.resourceVersion,
        },
      })
      if (!r.ok && r.reason === 'Conflict')
        throw new Error(`pod ${objectKey(pod)} changed while releasing it`)
      continue
    }
    if (rs.metadata?.deletionTimestamp !== undefined || pod.metadata?.deletionTimestamp !== undefined)
      continue
    if (!selector.matches(labels)) continue
    // RecheckDeletionTimestamp: adopt only for a ReplicaSet that still exists and is not being deleted.
    if (canAdopt === undefined) {
      const fresh = await actions.get<ReplicaSet>(REPLICA_SETS, ns, rs.metadata?.name ?? '')
      canAdopt = fresh?.metadata?.uid === uid && fresh?.metadata?.deletionTimestamp === undefined
    }
    if (!canAdopt) continue
    const r = await actions.patch<Pod>(PODS, ns, pod.metadata?.name ?? '', {
      metadata: {
        ownerReferences: [...refs, controllerRef(rs)],
        resourceVersion: pod.metadata?.resourceVersion,
      },
    })
    if (r.ok) claimed.push(r.object)
    else if (r.reason === 'Conflict') throw new Error(`pod ${objectKey(pod)} changed while adopting it`)
  }
  return claimed
}

function podFromTemplate(rs: ReplicaSet): Pod {
  const t = rs.spec?.template ?? {}
  const meta = t.metadata ?? {}
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata?.name}-`,
      namespace: rs.metadata?.namespace,
      ...(meta.labels !== undefined && { labels: { ...meta.labels } }),
      ...(meta.annotations !== undefined && { annotations: { ...meta.annotations } }),
      ownerReferences: [controllerRef(rs)],
    },
    spec: structuredClone(t.spec) as Pod['spec'],
  } as Pod
}

/** A failure of manageReplicas: the ReplicaFailure condition's reason and message come from it. */
class ManageReplicasError extends Error {
  constructor(
    context: string,
    readonly reason: 'FailedCreate' | 'FailedDelete',
    readonly detail: string,
  ) {
    super(`${context}: ${detail}`)
  }
}

/** manageReplicas: creates or deletes toward spec.replicas; throws the first failure after recording it. */
async function manageReplicas(
  key: string,
  rs: ReplicaSet,
  active: Pod[],
  actions: Actions,
  deps: ReplicaSetDeps,
): Promise<void> {
  const burst = deps.burstReplicas ?? BURST_REPLICAS
  const ns = rs.metadata?.namespace ?? ''
  const diff = active.length - (rs.spec?.replicas ?? 1)
  if (diff < 0) {
    const count = Math.min(-diff, burst)
    deps.expectations.expectCreations(key, count)
    let remaining = count
    let batch = Math.min(remaining, SLOW_START_INITIAL_BATCH)
    let firstError: string | undefined
    while (batch > 0) {
      const results = await Promise.all(
        Array.from({ length: batch }, () =>
          actions.create<Pod>(PODS, ns, podFromTemplate(rs)).then(
            (r): { pod: Pod } | { error: string } => (r.ok ? { pod: r.object } : { error: r.reason }),
            (err: unknown): { error: string } => ({
              error: err instanceof Error ? err.message : String(err),
            }),
          ),
        ),
      )
      let failed = 0
      for (const r of results) {
        if ('pod' in r) {
          actions.event(involved(rs), 'Normal', 'SuccessfulCreate', `Created pod: ${r.pod.metadata?.name}`)
          continue
        }
        failed++
        // No pod will appear for a failed create.
        deps.expectations.creationObserved(key)
        const message = r.error
        firstError ??= message
        actions.event(involved(rs), 'Warning', 'FailedCreate', `Error creating: ${message}`)
      }
      remaining -= batch
      if (failed > 0) {
        // The batches not attempted will not appear either.
        for (let i = 0; i < remaining; i++) deps.expectations.creationObserved(key)
        throw new ManageReplicasError(`creating pods for ${key}`, 'FailedCreate', firstError ?? '')
      }
      batch = Math.min(remaining, 2 * batch)
    }
    return
  }
  if (diff > 0) {
    const count = Math.min(diff, burst)
    const victims = [...active].sort(compareForDeletion).slice(0, count)
    deps.expectations.expectDeletions(
      key,
      victims.map((p) => p.metadata?.uid ?? ''),
    )
    let firstError: string | undefined
    await Promise.all(
      victims.map(async (pod) => {
        const name = pod.metadata?.name ?? ''
        try {
          const outcome = await actions.delete(PODS, ns, name, {
            ...(pod.metadata?.uid && { uid: pod.metadata.uid }),
          })
          if (outcome === 'notFound' || outcome === 'conflict')
            deps.expectations.deletionObserved(key, pod.metadata?.uid ?? '')
          else actions.event(involved(rs), 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`)
        } catch (err) {
          deps.expectations.deletionObserved(key, pod.metadata?.uid ?? '')
          const message = err instanceof Error ? err.message : String(err)
          firstError ??= message
          actions.event(involved(rs), 'Warning', 'FailedDelete', `Error deleting: ${message}`)
        }
      }),
    )
    if (firstError !== undefined)
      throw new ManageReplicasError(`deleting pods of ${key}`, 'FailedDelete', firstError)
  }
}

type RSCondition = NonNullable<NonNullable<ReplicaSet['status']>['conditions']>[number]

/**
 * The ReplicaFailure condition as kube's calculateStatus keeps it: set (FailedCreate / FailedDelete,
 * the first error's message) when creating or deleting pods failed and none is set, removed once a
 * sync manages its replicas without error, left as it is otherwise.
 */
function failureConditions(rs: ReplicaSet, err: unknown, nowMs: number): RSCondition[] | undefined {
  const conditions = rs.status?.conditions ?? []
  const failure = conditions.find((c) => c.type === 'ReplicaFailure')
  if (err instanceof ManageReplicasError && failure === undefined) {
    const at = new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z')
    return [
      ...conditions,
      {
        type: 'ReplicaFailure',
        status: 'True',
        reason: err.reason,
        message: err.detail,
        lastTransitionTime: at,
      } as RSCondition,
    ]
  }
  if (err === undefined && failure !== undefined) {
    const rest = conditions.filter((c) => c !== failure)
    return rest.length === 0 ? undefined : rest
  }
  return rs.status?.conditions
}

export async function syncReplicaSet(
  key: string,
  view: ReplicaSetView,
  actions: Actions,
  deps: ReplicaSetDeps,
): Promise<SyncResult | undefined> {
  const slash = key.indexOf('/')
  const ns = key.slice(0, slash)
  const rs = view.replicaSet(ns, key.slice(slash + 1))
  if (rs === undefined) {
    deps.expectations.delete(key)
    return undefined
  }
  const needsSync = deps.expectations.satisfied(key) && rs.metadata?.deletionTimestamp === undefined
  const active = await claimPods(rs, view.pods(ns).filter(isPodActive), actions)
  let manageError: unknown
  if (needsSync) {
    try {
      await manageReplicas(key, rs, active, actions, deps)
    } catch (err) {
      manageError = err
    }
  }
  const minReady = rs.spec?.minReadySeconds ?? 0
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {}
  const status = {
    ...rs.status,
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) =>
      Object.entries(templateLabels).every(([k, v]) => p.metadata?.labels?.[k] === v),
    ).length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, minReady, deps.nowMs)).length,
    observedGeneration: rs.metadata?.generation ?? rs.status?.observedGeneration,
    conditions: failureConditions(rs, manageError, deps.nowMs),
  }
  if (status.conditions === undefined) delete status.conditions
  const old = rs.status ?? {}
  const changed = [...new Set([...Object.keys(status), ...Object.keys(old)])].some(
    (k) =>
      JSON.stringify((status as Record<string, unknown>)[k]) !==
      JSON.stringify((old as Record<string, unknown>)[k]),
  )
  if (changed) {
    let r = await actions.update<ReplicaSet>(REPLICA_SETS, ns, { ...rs, status }, 'status')
    if (!r.ok && r.reason === 'Conflict') {
      // updateReplicaSetStatus: one retry on a fresh read (the cache lagged a write of ours).
      const fresh = await actions.get<ReplicaSet>(REPLICA_SETS, ns, rs.metadata?.name ?? '')
      if (fresh?.metadata?.uid === rs.metadata?.uid && fresh !== undefined)
        r = await actions.update<ReplicaSet>(REPLICA_SETS, ns, { ...fresh, status }, 'status')
      if (!r.ok && r.reason === 'Conflict')
        throw new Error(`replicaset ${key} changed while updating its status`)
    }
  }
  if (manageError !== undefined) throw manageError
  const wanted = rs.spec?.replicas ?? 1
  if (minReady > 0 && status.readyReplicas === wanted && status.availableReplicas !== wanted)
    return { requeueAfterMs: minReady * 1000 }
  return undefined
}

/** The production wiring: informers, expectations, pod → ReplicaSet mapping (kube's add/update/deletePod). */
export class ReplicaSetController implements ControllerSpec {
  readonly name = 'replicaset'
  private readonly view: ReplicaSetView

  constructor(
    private readonly replicaSets: Informer<ReplicaSet>,
    private readonly podInformer: Informer<Pod>,
    private readonly expectations: Expectations,
    private readonly clock: Clock,
  ) {
    this.view = {
      replicaSet: (ns, name) => replicaSets.get(`${ns}/${name}`),
      pods: (ns) => podInformer.list().filter((p) => p.metadata?.namespace === ns),
    }
  }

  /** The key of the ReplicaSet a controller reference names, if cached with that uid. */
  private ownerKey(pod: Pod, ref: OwnerReference | undefined): string | undefined {
    if (ref === undefined || ref.kind !== 'ReplicaSet' || ref.apiVersion !== 'apps/v1') return undefined
    const key = `${pod.metadata?.namespace}/${ref.name}`
    return this.replicaSets.get(key)?.metadata?.uid === ref.uid ? key : undefined
  }

  /** ReplicaSets in the pod's namespace whose selector matches it (an orphan's candidates). */
  private matching(pod: Pod): string[] {
    const labels = pod.metadata?.labels ?? {}
    return this.replicaSets
      .list()
      .filter((rs) => rs.metadata?.namespace === pod.metadata?.namespace)
      .filter((rs) => {
        try {
          return labelSelectorAsSelector(rs.spec?.selector).matches(labels)
        } catch {
          return false
        }
      })
      .map((rs) => objectKey(rs))
  }

  register(enqueue: (key: string) => void): void {
    this.replicaSets.addEventHandler({
      onAdd: (rs) => enqueue(objectKey(rs)),
      onUpdate: (_old, rs) => enqueue(objectKey(rs)),
      onDelete: (gone) => {
        const rs = isDeletedFinalStateUnknown(gone) ? gone.obj : gone
        this.expectations.delete(objectKey(rs))
        enqueue(objectKey(rs))
      },
    })
    const deleted = (pod: Pod) => {
      const key = this.ownerKey(pod, controllerRefOf(pod))
      if (key === undefined) return
      this.expectations.deletionObserved(key, pod.metadata?.uid ?? '')
      enqueue(key)
    }
    this.podInformer.addEventHandler({
      onAdd: (pod) => {
        if (pod.metadata?.deletionTimestamp !== undefined) return deleted(pod)
        const ref = controllerRefOf(pod)
        if (ref !== undefined) {
          const key = this.ownerKey(pod, ref)
          if (key === undefined) return
          this.expectations.creationObserved(key)
          enqueue(key)
          return
        }
        for (const key of this.matching(pod)) enqueue(key)
      },
      onUpdate: (old, pod) => {
        if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return
        if (pod.metadata?.deletionTimestamp !== undefined && old.metadata?.deletionTimestamp === undefined)
          return deleted(pod)
        const oldRef = controllerRefOf(old)
        const ref = controllerRefOf(pod)
        const oldKey = this.ownerKey(old, oldRef)
        if (oldKey !== undefined && oldRef?.uid !== ref?.uid) enqueue(oldKey)
        const key = this.ownerKey(pod, ref)
        if (key !== undefined) enqueue(key)
        else if (ref === undefined) for (const k of this.matching(pod)) enqueue(k)
      },
      onDelete: (gone) => deleted(isDeletedFinalStateUnknown(gone) ? gone.obj : gone),
    })
  }

  hasSynced(): boolean {
    return this.replicaSets.hasSynced() && this.podInformer.hasSynced()
  }

  initialKeys(): Iterable<string> {
    return this.replicaSets.keys()
  }

  sync(key: string, actions: Actions): Promise<SyncResult | undefined> {
    return syncReplicaSet(key, this.view, actions, {
      expectations: this.expectations,
      nowMs: this.clock.now(),
    })
  }
}
