/**
 * The Deployment's Progressing and ReplicaFailure conditions, after kube's
 * pkg/controller/deployment/progress.go (syncRolloutStatus) and util/deployment_util.go:
 *
 * - With a progress deadline (`spec.progressDeadlineSeconds`, 600 by default, none when MaxInt32):
 *   a complete rollout is `NewReplicaSetAvailable`; a rollout that moved since the last status
 *   (more updated, ready or available replicas, fewer old ones) is `ReplicaSetUpdated`, its
 *   lastUpdateTime renewed (lastTransitionTime kept while it stays True); a rollout whose
 *   Progressing condition was last updated more than the deadline ago is False
 *   `ProgressDeadlineExceeded` ("... has timed out progressing.", which `kubectl rollout status`
 *   reports as "exceeded its progress deadline"). Anything else keeps the condition as it is.
 *   Without a deadline there is no Progressing condition.
 * - A creation records `NewReplicaSetCreated`, a new ReplicaSet found while no Progressing condition
 *   exists `FoundNewReplicaSet`; resuming a paused Deployment `DeploymentResumed` (the deadline
 *   counts from then).
 * - ReplicaFailure: the new ReplicaSet's (else the first old one's) ReplicaFailure condition is
 *   copied; none is removed.
 * - A rollout in progress is checked again when its deadline would pass (requeueStuckDeployment).
 */
import type { Deployment, ReplicaSet } from '@hakube/api'
import { setCondition } from './deployment-util.js'

type Condition = NonNullable<NonNullable<Deployment['status']>['conditions']>[number]

export const PROGRESSING = 'Progressing'
export const REPLICA_FAILURE = 'ReplicaFailure'
export const TIMED_OUT_REASON = 'ProgressDeadlineExceeded'
export const NEW_RS_AVAILABLE_REASON = 'NewReplicaSetAvailable'
export const RS_UPDATED_REASON = 'ReplicaSetUpdated'
export const NEW_RS_CREATED_REASON = 'NewReplicaSetCreated'
export const FOUND_NEW_RS_REASON = 'FoundNewReplicaSet'
export const PAUSED_REASON = 'DeploymentPaused'
export const RESUMED_REASON = 'DeploymentResumed'

const MAX_INT32 = 2147483647

/** The counts syncRolloutStatus compares (a Deployment's status, or the one just calculated). */
export interface RolloutCounts {
  observedGeneration?: number | undefined
  replicas?: number | undefined
  updatedReplicas?: number | undefined
  readyReplicas?: number | undefined
  availableReplicas?: number | undefined
}

/** HasProgressDeadline. */
export function hasProgressDeadline(d: Deployment): boolean {
  const s = d.spec?.progressDeadlineSeconds
  return s !== undefined && s !== MAX_INT32
}

/** DeploymentComplete. */
export function deploymentComplete(d: Deployment, s: RolloutCounts): boolean {
  const replicas = d.spec?.replicas ?? 1
  return (
    (s.updatedReplicas ?? 0) === replicas &&
    (s.replicas ?? 0) === replicas &&
    (s.availableReplicas ?? 0) === replicas &&
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
  )
}

/** DeploymentProgressing: the new status moved the rollout on since the Deployment's last status. */
export function deploymentProgressing(d: Deployment, s: RolloutCounts): boolean {
  const old = d.status ?? {}
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0)
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0)
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  )
}

function progressing(conditions: readonly Condition[]): Condition | undefined {
  return conditions.find((c) => c.type === PROGRESSING)
}

/** DeploymentTimedOut, against the Progressing condition in `conditions`. */
export function deploymentTimedOut(d: Deployment, conditions: readonly Condition[], nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false
  const c = progressing(conditions)
  if (c === undefined || c.reason === NEW_RS_AVAILABLE_REASON) return false
  if (c.reason === TIMED_OUT_REASON) return true
  const from = Date.parse(c.lastUpdateTime ?? '')
  if (!Number.isFinite(from)) return false
  return from + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 < nowMs
}

function rsLabel(d: Deployment, newRS: ReplicaSet | undefined): string {
  return newRS !== undefined ? `ReplicaSet "${newRS.metadata?.name}"` : `Deployment "${d.metadata?.name}"`
}

/**
 * The conditions a sync starts from: the Deployment's, with what getNewReplicaSet and
 * checkPausedConditions record (created / found / paused / resumed).
 */
export function startingConditions(
  d: Deployment,
  newRS: ReplicaSet | undefined,
  createdRS: boolean,
  nowIso: string,
): Condition[] {
  let conditions = [...(d.status?.conditions ?? [])]
  if (!hasProgressDeadline(d)) return conditions
  const current = progressing(conditions)
  const paused = d.spec?.paused === true
  if (paused && current?.reason !== PAUSED_REASON) {
    return setCondition(
      conditions,
      { type: PROGRESSING, status: 'Unknown', reason: PAUSED_REASON, message: 'Deployment is paused' },
      nowIso,
    )
  }
  if (!paused && current?.reason === PAUSED_REASON) {
    conditions = setCondition(
      conditions,
      { type: PROGRESSING, status: 'Unknown', reason: RESUMED_REASON, message: 'Deployment is resumed' },
      nowIso,
    )
  }
  if (newRS !== undefined && createdRS)
    return setCondition(
      conditions,
      {
        type: PROGRESSING,
        status: 'True',
        reason: NEW_RS_CREATED_REASON,
        message: `Created new replica set "${newRS.metadata?.name}"`,
      },
      nowIso,
    )
  if (newRS !== undefined && progressing(conditions) === undefined)
    return setCondition(
      conditions,
      {
        type: PROGRESSING,
        status: 'True',
        reason: FOUND_NEW_RS_REASON,
        message: `Found new replica set "${newRS.metadata?.name}"`,
      },
      nowIso,
    )
  return conditions
}

/** The ReplicaFailure condition of the ReplicaSets, the new one first (getReplicaFailures). */
function replicaFailure(newRS: ReplicaSet | undefined, all: readonly ReplicaSet[]): Condition | undefined {
  const ordered = newRS === undefined ? all : [newRS, ...all.filter((rs) => rs !== newRS)]
  for (const rs of ordered) {
    const c = rs.status?.conditions?.find((x) => x.type === REPLICA_FAILURE)
    if (c !== undefined)
      return {
        type: REPLICA_FAILURE,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastUpdateTime: c.lastTransitionTime,
        lastTransitionTime: c.lastTransitionTime,
      } as Condition
  }
  return undefined
}

/**
 * syncRolloutStatus's conditions for a Deployment that is not paused, from `conditions` (what
 * startingConditions gave, with Available already set) and the status just calculated; with when
 * to check again should the rollout stall (undefined: no need).
 */
export function rolloutConditions(
  d: Deployment,
  newRS: ReplicaSet | undefined,
  all: readonly ReplicaSet[],
  conditions: readonly Condition[],
  counts: RolloutCounts,
  nowMs: number,
  nowIso: string,
): { conditions: Condition[]; requeueAfterMs: number | undefined } {
  let out = [...conditions]
  if (!hasProgressDeadline(d)) out = out.filter((c) => c.type !== PROGRESSING)
  const current = progressing(out)
  const isComplete =
    (counts.replicas ?? 0) === (counts.updatedReplicas ?? 0) && current?.reason === NEW_RS_AVAILABLE_REASON
  if (hasProgressDeadline(d) && !isComplete) {
    if (deploymentComplete(d, counts)) {
      out = setCondition(
        out,
        {
          type: PROGRESSING,
          status: 'True',
          reason: NEW_RS_AVAILABLE_REASON,
          message: `${rsLabel(d, newRS)} has successfully progressed.`,
        },
        nowIso,
      )
    } else if (deploymentProgressing(d, counts)) {
      // Everything but lastTransitionTime is updated (while it stays True).
      const next = {
        type: PROGRESSING,
        status: 'True',
        reason: RS_UPDATED_REASON,
        message: `${rsLabel(d, newRS)} is progressing.`,
        lastUpdateTime: nowIso,
        lastTransitionTime: current?.status === 'True' ? current.lastTransitionTime : nowIso,
      } as Condition
      out = [...out.filter((c) => c.type !== PROGRESSING), next]
    } else if (deploymentTimedOut(d, out, nowMs)) {
      out = setCondition(
        out,
        {
          type: PROGRESSING,
          status: 'False',
          reason: TIMED_OUT_REASON,
          message: `${rsLabel(d, newRS)} has timed out progressing.`,
        },
        nowIso,
      )
    }
  }
  const failure = replicaFailure(newRS, all)
  if (failure !== undefined) {
    const old = out.find((c) => c.type === REPLICA_FAILURE)
    if (old?.status !== failure.status || old?.reason !== failure.reason || old?.message !== failure.message)
      out = [...out.filter((c) => c.type !== REPLICA_FAILURE), failure]
  } else out = out.filter((c) => c.type !== REPLICA_FAILURE)
  return { conditions: out, requeueAfterMs: stuckRequeue(d, out, counts, nowMs) }
}

/** requeueStuckDeployment: when the deadline of a rollout still in progress would pass. */
function stuckRequeue(
  d: Deployment,
  conditions: readonly Condition[],
  counts: RolloutCounts,
  nowMs: number,
): number | undefined {
  const c = progressing(conditions)
  if (!hasProgressDeadline(d) || c === undefined || c.reason === TIMED_OUT_REASON) return undefined
  if (deploymentComplete(d, counts)) return undefined
  const from = Date.parse(c.lastUpdateTime ?? '')
  if (!Number.isFinite(from)) return undefined
  // A second after the deadline (kube: at once, rate-limited, when it is less than a second away).
  return Math.max(0, from + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 - nowMs) + 1000
}
