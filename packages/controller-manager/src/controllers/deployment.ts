/**
 * The deployment controller (kube's pkg/controller/deployment), over the ReplicaSets it controls:
 *
 * - Claim: ReplicaSets matching the selector without a controller are adopted, controlled ones that
 *   stopped matching are released (as the replicaset controller does with pods).
 * - The new ReplicaSet is the one whose template equals the Deployment's ignoring
 *   `pod-template-hash`; created as `<name>-<hash>` (hash label on its selector, template and
 *   labels, revision = the old ones' highest + 1, desired/max-replicas annotations) when missing; a
 *   name taken by another template bumps `status.collisionCount`.
 * - RollingUpdate: the new ReplicaSet grows while all ReplicaSets' replicas stay within
 *   replicas + maxSurge; old ones shrink (unhealthy replicas first, then oldest ReplicaSets first)
 *   while the available pods stay at least replicas − maxUnavailable (25 % / 25 % by default).
 *   Recreate: old ReplicaSets go to 0, and the new one scales up once their pods are gone.
 * - Paused: no rollout (no new ReplicaSet), the status kept current.
 * - Old ReplicaSets scaled to 0 beyond `revisionHistoryLimit` are deleted, oldest first, once the
 *   rollout is complete.
 * - Status: replicas, updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas,
 *   observedGeneration, and the Available (MinimumReplicasAvailable / MinimumReplicasUnavailable),
 *   Progressing (with the progress deadline: deployment-progress.ts) and ReplicaFailure conditions, so
 *   `kubectl rollout status` and `kubectl wait --for=condition=Available` work; `kubectl rollout
 *   undo` (client-side in kubectl) finds each ReplicaSet's revision annotation.
 * - Events: ScalingReplicaSet ("Scaled up replica set X from A to B"), source `deployment-controller`.
 *
 * - Scaling (deployment-scale.ts): a changed replica count, or a paused Deployment, is applied to
 *   the ReplicaSets (proportionally mid-rollout) before any rollout step.
 *
 * Not built: the deprecated rollback annotation.
 */
import {
  type Clock,
  type Deployment,
  type Informer,
  isDeletedFinalStateUnknown,
  labelSelectorAsSelector,
  type OwnerReference,
  objectKey,
  type ReplicaSet,
} from '@hakube/api'
import type { Actions } from '../actions.js'
import type { ControllerSpec, SyncResult } from '../controller.js'
import { controllerRefOf } from '../pods.js'
import {
  deploymentComplete,
  hasProgressDeadline,
  rolloutConditions,
  startingConditions,
} from './deployment-progress.js'
import { isScalingEvent, scaleTargets } from './deployment-scale.js'
import {
  computeHash,
  DESIRED_REPLICAS_ANNOTATION,
  equalIgnoreHash,
  MAX_REPLICAS_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  resolveFenceposts,
  revisionOf,
  setCondition,
  specReplicas,
  sum,
} from './deployment-util.js'
import { DEPLOYMENTS, REPLICA_SETS } from './resources.js'

type Condition = NonNullable<NonNullable<Deployment['status']>['conditions']>[number]

export interface DeploymentView {
  deployment(namespace: string, name: string): Deployment | undefined
  replicaSets(namespace: string): ReplicaSet[]
}

function controllerRef(d: Deployment): OwnerReference {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    name: d.metadata?.name ?? '',
    uid: d.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  }
}

const involved = (d: Deployment) => ({ ...d, apiVersion: 'apps/v1', kind: 'Deployment' })
const created = (rs: ReplicaSet) => Date.parse(rs.metadata?.creationTimestamp ?? '') || 0
const byAge = (a: ReplicaSet, b: ReplicaSet) =>
  created(a) - created(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')

async function claimReplicaSets(d: Deployment, all: ReplicaSet[], actions: Actions): Promise<ReplicaSet[]> {
  const selector = labelSelectorAsSelector(d.spec?.selector)
  const uid = d.metadata?.uid
  const ns = d.metadata?.namespace ?? ''
  const out: ReplicaSet[] = []
  for (const rs of all) {
    const ref = controllerRefOf(rs)
    const refs = rs.metadata?.ownerReferences ?? []
    const matches = selector.matches(rs.metadata?.labels ?? {})
    if (ref !== undefined) {
      if (ref.uid !== uid) continue
      if (matches || d.metadata?.deletionTimestamp !== undefined) {
        out.push(rs)
        continue
      }
      const rest = refs.filter((r) => r.uid !== uid)
      await actions.patch(REPLICA_SETS, ns, rs.metadata?.name ?? '', {
        metadata: {
          ownerReferences: rest.length > 0 ? rest : null,
          resourceVersion: rs.metadata?.resourceVersion,
        },
      })
      continue
    }
    if (
      !matches ||
      d.metadata?.deletionTimestamp !== undefined ||
      rs.metadata?.deletionTimestamp !== undefined
    )
      continue
    const r = await actions.patch<ReplicaSet>(REPLICA_SETS, ns, rs.metadata?.name ?? '', {
      metadata: {
        ownerReferences: [...refs, controllerRef(d)],
        resourceVersion: rs.metadata?.resourceVersion,
      },
    })
    if (r.ok) out.push(r.object)
  }
  return out
}

/** Sets an RS's replicas (and the annotations kube keeps on it); an Event when the count changes. */
async function scaleReplicaSet(
  d: Deployment,
  rs: ReplicaSet,
  replicas: number,
  actions: Actions,
): Promise<ReplicaSet> {
  const { maxSurge } = resolveFenceposts(d)
  const desired = String(d.spec?.replicas ?? 1)
  const max = String((d.spec?.replicas ?? 1) + maxSurge)
  const ann = rs.metadata?.annotations ?? {}
  const from = specReplicas(rs)
  if (
    from === replicas &&
    ann[DESIRED_REPLICAS_ANNOTATION] === desired &&
    ann[MAX_REPLICAS_ANNOTATION] === max
  )
    return rs
  const body: ReplicaSet = structuredClone(rs)
  body.spec = { ...body.spec, replicas }
  body.metadata = {
    ...body.metadata,
    annotations: { ...ann, [DESIRED_REPLICAS_ANNOTATION]: desired, [MAX_REPLICAS_ANNOTATION]: max },
  }
  const r = await actions.update<ReplicaSet>(REPLICA_SETS, rs.metadata?.namespace, body)
  if (!r.ok) throw new Error(`replica set ${objectKey(rs)}: ${r.reason} while scaling`)
  if (from !== replicas)
    actions.event(
      involved(d),
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata?.name} from ${from} to ${replicas}`,
    )
  return r.object
}

/** NewRSNewReplicas for a rolling update. */
function newReplicasRolling(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet | undefined): number {
  const replicas = d.spec?.replicas ?? 1
  const { maxSurge } = resolveFenceposts(d)
  const current = sum(all, specReplicas)
  const maxTotal = replicas + maxSurge
  if (current >= maxTotal) return specReplicas(newRS)
  const scaleUp = Math.min(maxTotal - current, replicas - specReplicas(newRS))
  return specReplicas(newRS) + Math.max(0, scaleUp)
}

/** Finds or (if allowed) creates the new ReplicaSet, keeping revisions in step. */
async function newReplicaSet(
  d: Deployment,
  rss: ReplicaSet[],
  create: boolean,
  actions: Actions,
): Promise<{ newRS: ReplicaSet | undefined; created: boolean; collision: boolean }> {
  const ns = d.metadata?.namespace ?? ''
  const existing = rss.filter((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template)).sort(byAge)[0]
  const olds = rss.filter((rs) => rs !== existing)
  const revision = String(Math.max(0, ...olds.map(revisionOf)) + 1)
  if (existing !== undefined) {
    if (revisionOf(existing) >= Number(revision)) return { newRS: existing, created: false, collision: false }
    const body = structuredClone(existing)
    body.metadata = {
      ...body.metadata,
      annotations: { ...body.metadata?.annotations, [REVISION_ANNOTATION]: revision },
    }
    const r = await actions.update<ReplicaSet>(REPLICA_SETS, ns, body)
    if (!r.ok) throw new Error(`replica set ${objectKey(existing)}: ${r.reason} while updating its revision`)
    return { newRS: r.object, created: false, collision: false }
  }
  if (!create) return { newRS: undefined, created: false, collision: false }
  const collisionCount = d.status?.collisionCount
  const hash = computeHash(d.spec?.template, collisionCount)
  const template = structuredClone(d.spec?.template ?? {})
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash },
  }
  const selector = structuredClone(d.spec?.selector ?? {})
  selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash }
  const { maxSurge } = resolveFenceposts(d)
  const replicas = d.spec?.replicas ?? 1
  // NewRSNewReplicas: Recreate creates it only once the old pods are gone.
  const initial = d.spec?.strategy?.type === 'Recreate' ? replicas : newReplicasRolling(d, rss, undefined)
  const rs: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata?.name}-${hash}`,
      namespace: ns,
      labels: template.metadata.labels,
      annotations: {
        ...(d.metadata?.annotations ?? {}),
        [REVISION_ANNOTATION]: revision,
        [DESIRED_REPLICAS_ANNOTATION]: String(replicas),
        [MAX_REPLICAS_ANNOTATION]: String(replicas + maxSurge),
      },
      ownerReferences: [controllerRef(d)],
    },
    spec: {
      replicas: initial,
      ...(d.spec?.minReadySeconds !== undefined && { minReadySeconds: d.spec.minReadySeconds }),
      selector,
      template,
    },
  } as ReplicaSet
  delete rs.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']
  const r = await actions.create<ReplicaSet>(REPLICA_SETS, ns, rs)
  if (r.ok) {
    if (initial > 0)
      actions.event(
        involved(d),
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${rs.metadata?.name} from 0 to ${initial}`,
      )
    return { newRS: r.object, created: true, collision: false }
  }
  if (r.reason === 'AlreadyExists') return { newRS: undefined, created: false, collision: true }
  throw new Error(`creating replica set ${rs.metadata?.name}: ${r.reason}`)
}

/**
 * Available replicas an RS can be counted on for: its status, but never more than its spec. Right
 * after a scale-down the status still counts the pods being deleted; counting them would let the
 * next sync scale down again and drop below replicas − maxUnavailable.
 */
function availableOf(rs: ReplicaSet): number {
  return Math.min(rs.status?.availableReplicas ?? 0, specReplicas(rs))
}

async function rolloutRolling(
  d: Deployment,
  newRS: ReplicaSet,
  olds: ReplicaSet[],
  actions: Actions,
): Promise<ReplicaSet[]> {
  const replicas = d.spec?.replicas ?? 1
  let all = [newRS, ...olds]
  // reconcileNewReplicaSet
  const target = specReplicas(newRS) > replicas ? replicas : newReplicasRolling(d, all, newRS)
  if (target !== specReplicas(newRS)) {
    const scaled = await scaleReplicaSet(d, newRS, target, actions)
    return [scaled, ...olds]
  }
  // reconcileOldReplicaSets
  if (sum(olds, specReplicas) === 0) return all
  const { maxUnavailable } = resolveFenceposts(d)
  const minAvailable = replicas - maxUnavailable
  const newUnavailable = specReplicas(newRS) - availableOf(newRS)
  let maxScaledDown = sum(all, specReplicas) - minAvailable - newUnavailable
  if (maxScaledDown <= 0) return all
  const sorted = [...olds].sort(byAge)
  const next = new Map<ReplicaSet, number>(sorted.map((rs) => [rs, specReplicas(rs)]))
  // cleanupUnhealthyReplicas: unavailable replicas of old sets go first.
  for (const rs of sorted) {
    if (maxScaledDown <= 0) break
    const unhealthy = (next.get(rs) ?? 0) - availableOf(rs)
    if (unhealthy <= 0) continue
    const down = Math.min(unhealthy, maxScaledDown)
    next.set(rs, (next.get(rs) ?? 0) - down)
    maxScaledDown -= down
  }
  // scaleDownOldReplicaSetsForRollingUpdate: keep minAvailable available pods.
  const available = sum(all, availableOf)
  let budget = available - minAvailable
  for (const rs of sorted) {
    if (budget <= 0) break
    const cur = next.get(rs) ?? 0
    const down = Math.min(cur, budget)
    next.set(rs, cur - down)
    budget -= down
  }
  const scaledOlds: ReplicaSet[] = []
  for (const rs of olds)
    scaledOlds.push(await scaleReplicaSet(d, rs, next.get(rs) ?? specReplicas(rs), actions))
  all = [newRS, ...scaledOlds]
  return all
}

/** calculateStatus: the counts and the Available condition, over `conditions`. */
function calculateStatus(
  d: Deployment,
  newRS: ReplicaSet | undefined,
  all: ReplicaSet[],
  conditions: Condition[],
  nowIso: string,
) {
  const replicas = d.spec?.replicas ?? 1
  const { maxUnavailable } = resolveFenceposts(d)
  const status = {
    observedGeneration: d.metadata?.generation,
    replicas: sum(all, (rs) => rs.status?.replicas ?? 0),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum(all, (rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: sum(all, (rs) => rs.status?.availableReplicas ?? 0),
    unavailableReplicas: 0,
    ...(d.status?.collisionCount !== undefined && { collisionCount: d.status.collisionCount }),
    conditions,
  }
  status.unavailableReplicas = Math.max(0, sum(all, specReplicas) - status.availableReplicas)
  const available = status.availableReplicas >= replicas - maxUnavailable
  status.conditions = setCondition(
    status.conditions,
    available
      ? {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        }
      : {
          type: 'Available',
          status: 'False',
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        },
    nowIso,
  )
  return status
}

export async function syncDeployment(
  key: string,
  view: DeploymentView,
  actions: Actions,
  nowMs: number,
): Promise<SyncResult | undefined> {
  const slash = key.indexOf('/')
  const ns = key.slice(0, slash)
  const d = view.deployment(ns, key.slice(slash + 1))
  if (d === undefined) return undefined
  const nowIso = new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z')
  const sel = d.spec?.selector
  if (
    sel === undefined ||
    (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)
  ) {
    actions.event(
      involved(d),
      'Warning',
      'SelectingAll',
      'This deployment is selecting all pods. A non-empty selector is required.',
    )
    return undefined
  }
  const rss = await claimReplicaSets(d, view.replicaSets(ns), actions)
  const deleting = d.metadata?.deletionTimestamp !== undefined
  const paused = d.spec?.paused === true || deleting
  const recreate = d.spec?.strategy?.type === 'Recreate'
  // A paused Deployment, or one whose replicas changed, is scaled (no rollout in this sync).
  const scaling = !deleting && (d.spec?.paused === true || isScalingEvent(d, rss))
  const found = await newReplicaSet(d, rss, !paused && !recreate && !scaling, actions)
  if (found.collision) {
    const r = await actions.patch(
      DEPLOYMENTS,
      ns,
      d.metadata?.name ?? '',
      { status: { collisionCount: (d.status?.collisionCount ?? 0) + 1 } },
      'status',
    )
    if (!r.ok && r.reason === 'Conflict') throw new Error(`deployment ${key} changed`)
    return { requeueAfterMs: 0 }
  }
  let newRS = found.newRS
  let createdRS = found.created
  const olds = rss.filter((rs) => rs.metadata?.uid !== newRS?.metadata?.uid)
  let all = newRS === undefined ? olds : [newRS, ...olds]
  if (scaling) {
    const scaled = new Map<ReplicaSet, ReplicaSet>()
    for (const [rs, n] of scaleTargets(d, newRS, olds))
      scaled.set(rs, await scaleReplicaSet(d, rs, n, actions))
    if (newRS !== undefined) newRS = scaled.get(newRS) ?? newRS
    all = all.map((rs) => scaled.get(rs) ?? rs)
  } else if (!paused) {
    if (recreate) {
      const active = olds.filter((rs) => specReplicas(rs) > 0)
      if (active.length > 0) {
        for (const rs of active) await scaleReplicaSet(d, rs, 0, actions)
      } else if (sum(olds, (rs) => rs.status?.replicas ?? 0) === 0) {
        if (newRS === undefined) {
          const made = await newReplicaSet(d, rss, true, actions)
          newRS = made.newRS
          createdRS = made.created
        }
        if (newRS !== undefined) newRS = await scaleReplicaSet(d, newRS, d.spec?.replicas ?? 1, actions)
        all = newRS === undefined ? olds : [newRS, ...olds]
      }
    } else if (newRS !== undefined) all = await rolloutRolling(d, newRS, olds, actions)
  }
  const start = startingConditions(d, newRS, createdRS, nowIso)
  const status = calculateStatus(d, newRS, all, start, nowIso)
  let requeueAfterMs: number | undefined
  if (!paused && !scaling) {
    const r = rolloutConditions(d, newRS, all, status.conditions, status, nowMs, nowIso)
    status.conditions = r.conditions
    requeueAfterMs = r.requeueAfterMs
  }
  if (deploymentComplete(d, status) && !paused) {
    // cleanupDeployment: old sets at 0 beyond revisionHistoryLimit, oldest first.
    const limit = d.spec?.revisionHistoryLimit ?? 10
    const idle = olds
      .filter(
        (rs) =>
          specReplicas(rs) === 0 &&
          (rs.status?.replicas ?? 0) === 0 &&
          rs.metadata?.deletionTimestamp === undefined,
      )
      .sort(byAge)
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit)))
      await actions.delete(REPLICA_SETS, ns, rs.metadata?.name ?? '', {
        ...(rs.metadata?.uid && { uid: rs.metadata.uid }),
      })
  }
  const revision = String(Math.max(0, ...all.map(revisionOf)))
  if (newRS !== undefined && d.metadata?.annotations?.[REVISION_ANNOTATION] !== String(revisionOf(newRS))) {
    const r = await actions.patch(DEPLOYMENTS, ns, d.metadata?.name ?? '', {
      metadata: {
        annotations: { [REVISION_ANNOTATION]: String(revisionOf(newRS)) },
        resourceVersion: d.metadata?.resourceVersion,
      },
    })
    if (!r.ok && r.reason === 'Conflict')
      throw new Error(`deployment ${key} changed while setting revision ${revision}`)
    // The status follows once the update comes back through the informer; a creation is recorded
    // now (getNewReplicaSet's NewReplicaSetCreated), as the next sync would find the set instead.
    if (createdRS && hasProgressDeadline(d))
      await actions.patch(
        DEPLOYMENTS,
        ns,
        d.metadata?.name ?? '',
        { status: { conditions: start } },
        'status',
      )
    return undefined
  }
  if (JSON.stringify({ ...d.status, ...status }) !== JSON.stringify(d.status ?? {})) {
    const r = await actions.update<Deployment>(
      DEPLOYMENTS,
      ns,
      { ...d, status: { ...d.status, ...status } },
      'status',
    )
    if (!r.ok && r.reason === 'Conflict')
      throw new Error(`deployment ${key} changed while updating its status`)
  }
  return requeueAfterMs === undefined ? undefined : { requeueAfterMs }
}

export class DeploymentController implements ControllerSpec {
  readonly name = 'deployment'
  private readonly view: DeploymentView

  constructor(
    private readonly deployments: Informer<Deployment>,
    private readonly replicaSets: Informer<ReplicaSet>,
    private readonly clock: Clock,
  ) {
    this.view = {
      deployment: (ns, name) => deployments.get(`${ns}/${name}`),
      replicaSets: (ns) => replicaSets.list().filter((rs) => rs.metadata?.namespace === ns),
    }
  }

  /** The Deployment controlling an RS, or (orphans) those whose selector matches it. */
  private owners(rs: ReplicaSet): string[] {
    const ref = controllerRefOf(rs)
    const ns = rs.metadata?.namespace
    if (ref !== undefined) return ref.kind === 'Deployment' ? [`${ns}/${ref.name}`] : []
    return this.deployments
      .list()
      .filter((d) => d.metadata?.namespace === ns)
      .filter((d) => {
        try {
          return labelSelectorAsSelector(d.spec?.selector).matches(rs.metadata?.labels ?? {})
        } catch {
          return false
        }
      })
      .map((d) => objectKey(d))
  }

  register(enqueue: (key: string) => void): void {
    this.deployments.addEventHandler({
      onAdd: (d) => enqueue(objectKey(d)),
      onUpdate: (_old, d) => enqueue(objectKey(d)),
      onDelete: (gone) => enqueue(objectKey(isDeletedFinalStateUnknown(gone) ? gone.obj : gone)),
    })
    this.replicaSets.addEventHandler({
      onAdd: (rs) => {
        for (const k of this.owners(rs)) enqueue(k)
      },
      onUpdate: (old, rs) => {
        for (const k of new Set([...this.owners(old), ...this.owners(rs)])) enqueue(k)
      },
      onDelete: (gone) => {
        for (const k of this.owners(isDeletedFinalStateUnknown(gone) ? gone.obj : gone)) enqueue(k)
      },
    })
  }

  hasSynced(): boolean {
    return this.deployments.hasSynced() && this.replicaSets.hasSynced()
  }

  initialKeys(): Iterable<string> {
    return this.deployments.keys()
  }

  sync(key: string, actions: Actions): Promise<SyncResult | undefined> {
    return syncDeployment(key, this.view, actions, this.clock.now())
  }
}
