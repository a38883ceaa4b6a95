/**
 * Pod helpers the workload controllers share (kube's pkg/controller/controller_utils.go and
 * pkg/api/v1/pod): activeness, readiness and availability, the controller reference, and the order
 * in which a scaled-down ReplicaSet deletes its pods (ActivePods' Less).
 */
import type { OwnerReference, Pod } from '@hakube/api'

/** Not finished and not being deleted (FilterActivePods). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata?.deletionTimestamp === undefined
}

function readyCondition(pod: Pod) {
  return (pod.status?.conditions ?? []).find((c) => c.type === 'Ready')
}

export function isPodReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True'
}

/** Ready for at least `minReadySeconds` at `nowMs` (IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false
  if (minReadySeconds <= 0) return true
  const since = readyCondition(pod)?.lastTransitionTime
  return since !== undefined && Date.parse(since) + minReadySeconds * 1000 <= nowMs
}

export function controllerRefOf(obj: {
  metadata?: { ownerReferences?: OwnerReference[] }
}): OwnerReference | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((r) => r.controller === true)
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 }

function restarts(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, s) => Math.max(n, s.restartCount ?? 0), 0)
}

/**
 * Negative when `a` should be deleted before `b` (ActivePods.Less): unassigned before assigned,
 * Pending before Unknown before Running, not ready before ready, ready for less time before longer,
 * more restarts before fewer, newer before older.
 */
export function compareForDeletion(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec?.nodeName ? 1 : 0)
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b)
  const phase = (p: Pod) => PHASE_RANK[p.status?.phase ?? 'Pending'] ?? 0
  if (phase(a) !== phase(b)) return phase(a) - phase(b)
  const ready = (p: Pod) => (isPodReady(p) ? 1 : 0)
  if (ready(a) !== ready(b)) return ready(a) - ready(b)
  if (isPodReady(a) && isPodReady(b)) {
    const since = (p: Pod) => Date.parse(readyCondition(p)?.lastTransitionTime ?? '') || 0
    if (since(a) !== since(b)) return since(b) - since(a)
  }
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a)
  const created = (p: Pod) => Date.parse(p.metadata?.creationTimestamp ?? '') || 0
  if (created(a) !== created(b)) return created(b) - created(a)
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')
}
