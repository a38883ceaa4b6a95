/**
 * Scaling a Deployment whose replicas changed, after kube's pkg/controller/deployment/sync.go
 * (`isScalingEvent`, `scale`) and util (`FindActiveOrLatest`, `IsSaturated`, `GetProportion`):
 *
 * - A scaling event: an active ReplicaSet's desired-replicas annotation differs from
 *   `spec.replicas` (the controller rewrites the annotations whenever it scales a set). A paused
 *   Deployment is scaled the same way (no rollout).
 * - One active ReplicaSet (or none: the newest) takes the whole count.
 * - A saturated new ReplicaSet (all replicas, all available): the old ones go to 0.
 * - Otherwise (RollingUpdate mid-rollout) the change is shared proportionally: each active set grows
 *   or shrinks by its share of the new max (replicas + maxSurge) against the max recorded on it
 *   before (the max-replicas annotation), rounded; the larger sets first (newer ones first when
 *   growing, older ones when shrinking); the rounding's leftover goes to the largest set.
 *
 * Pure: it answers the sizes to set; deployment.ts writes them.
 */
import type { Deployment, ReplicaSet } from '@hakube/api'
import {
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  resolveFenceposts,
  specReplicas,
  sum,
} from './deployment-util.js'

const active = (rs: ReplicaSet) => specReplicas(rs) > 0
const createdAt = (rs: ReplicaSet) => Date.parse(rs.metadata?.creationTimestamp ?? '') || 0
const name = (rs: ReplicaSet) => rs.metadata?.name ?? ''
/** ReplicaSetsByCreationTimestamp: older first, then by name. */
const olderFirst = (a: ReplicaSet, b: ReplicaSet) =>
  createdAt(a) - createdAt(b) || name(a).localeCompare(name(b))

function annotation(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata?.annotations?.[key]
  if (v === undefined) return undefined
  const n = Number(v)
  return Number.isInteger(n) ? n : undefined
}

/** isScalingEvent. */
export function isScalingEvent(d: Deployment, rss: readonly ReplicaSet[]): boolean {
  const replicas = d.spec?.replicas ?? 1
  return rss.filter(active).some((rs) => {
    const desired = annotation(rs, DESIRED_REPLICAS_ANNOTATION)
    return desired !== undefined && desired !== replicas
  })
}

/** FindActiveOrLatest: the only active set, else (none active) the newest; undefined for several. */
function findActiveOrLatest(
  newRS: ReplicaSet | undefined,
  olds: readonly ReplicaSet[],
): ReplicaSet | undefined {
  const all = [...(newRS === undefined ? [] : [newRS]), ...olds]
  const actives = all.filter(active)
  if (actives.length === 1) return actives[0]
  if (actives.length > 1) return undefined
  if (newRS !== undefined) return newRS
  return [...olds].sort(olderFirst).at(-1)
}

/** IsSaturated. */
function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (rs === undefined) return false
  const replicas = d.spec?.replicas ?? 1
  return (
    annotation(rs, DESIRED_REPLICAS_ANNOTATION) === replicas &&
    specReplicas(rs) === replicas &&
    (rs.status?.availableReplicas ?? 0) === replicas
  )
}

/** Go's math.Round: half away from zero. */
const round = (x: number) => Math.sign(x) * Math.round(Math.abs(x))

/** getReplicaSetFraction. */
function fraction(rs: ReplicaSet, d: Deployment): number {
  const replicas = d.spec?.replicas ?? 1
  if (replicas === 0) return -specReplicas(rs)
  const maxNow = replicas + resolveFenceposts(d).maxSurge
  const maxBefore = annotation(rs, MAX_REPLICAS_ANNOTATION)
  if (maxBefore === undefined || maxBefore === 0) return 0
  return round((specReplicas(rs) * maxNow) / maxBefore) - specReplicas(rs)
}

/** GetProportion. */
function proportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0
  const f = fraction(rs, d)
  const allowed = toAdd - added
  return toAdd > 0 ? Math.min(f, allowed) : Math.max(f, allowed)
}

/**
 * `scale`: the sizes to set, as [set, replicas] pairs (sets whose size stays are listed when their
 * annotations need the new counts: the proportional case rewrites every active set).
 */
export function scaleTargets(
  d: Deployment,
  newRS: ReplicaSet | undefined,
  olds: readonly ReplicaSet[],
): Array<[ReplicaSet, number]> {
  const replicas = d.spec?.replicas ?? 1
  const only = findActiveOrLatest(newRS, olds)
  if (only !== undefined) {
    // At its size but with a stale desired-replicas annotation it is listed too: the annotations
    // then get the new counts, which ends the scaling event.
    const desired = annotation(only, DESIRED_REPLICAS_ANNOTATION)
    const stale = desired !== undefined && desired !== replicas
    return specReplicas(only) !== replicas || stale ? [[only, replicas]] : []
  }
  if (isSaturated(d, newRS)) return olds.filter(active).map((rs) => [rs, 0])
  if (d.spec?.strategy?.type === 'Recreate') return []
  const all = [...olds, ...(newRS === undefined ? [] : [newRS])].filter(active)
  const allowedSize = replicas > 0 ? replicas + resolveFenceposts(d).maxSurge : 0
  const toAdd = allowedSize - sum(all, specReplicas)
  if (toAdd > 0)
    // ReplicaSetsBySizeNewer
    all.sort((a, b) => specReplicas(b) - specReplicas(a) || olderFirst(b, a))
  else if (toAdd < 0)
    // ReplicaSetsBySizeOlder
    all.sort((a, b) => specReplicas(b) - specReplicas(a) || olderFirst(a, b))
  let added = 0
  const sizes = all.map((rs) => {
    const p = toAdd === 0 ? 0 : proportion(rs, d, toAdd, added)
    added += p
    return specReplicas(rs) + p
  })
  if (toAdd !== 0 && sizes.length > 0) sizes[0] = Math.max(0, (sizes[0] ?? 0) + toAdd - added)
  return all.map((rs, i) => [rs, sizes[i] ?? 0])
}
