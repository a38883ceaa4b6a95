/**
 * What `hakube up` and `hakube status` read through the api: the schedulers' and controller-managers'
 * election records (the Endpoints annotation or the Lease, client-go's LeaderElectionRecord), and the
 * nodes with their heartbeat Leases, pod counts and the pods by phase. Five requests at most (the two
 * locks, the nodes, their Leases, the pods), with node:http only so `hakube status` stays quick to start; the
 * interpretation is pure and unit-tested.
 */
import { httpRequest } from './probes.js'
import type { ResourceLock, WorkerPlan } from './topology.js'

/** client-go's LeaderElectionRecord (resourcelock/interface.go), whichever object carries it. */
export interface LeaderRecord {
  readonly holderIdentity: string
  readonly leaseDurationSeconds: number
  readonly acquireTime: string | null
  readonly renewTime: string | null
  readonly leaderTransitions: number
}

export const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader'

/** The scheduler's (or controller-manager's) leader as `status` shows it. */
export interface SchedulerLeader {
  /** e.g. `endpoints kube-system/kube-scheduler`. */
  readonly lock: string
  /** The record; null when the lock object does not exist yet (no scheduler ever led). */
  readonly record: LeaderRecord | null
  /** The emulated host of the holder (identity `<hostname>_<uuid>`); null when released or none. */
  readonly holderHost: string | null
  /** Seconds since the record's renewTime, by this machine's clock (every host shares it). */
  readonly renewAgeSeconds: number | null
  /** The holder has not renewed within leaseDurationSeconds: a standby may take over. */
  readonly expired: boolean
}

type Obj = Record<string, unknown>

function asObj(v: unknown): Obj {
  return v !== null && typeof v === 'object' ? (v as Obj) : {}
}

/** The record in an Endpoints object's annotation, or null when there is none or it is not JSON. */
export function recordFromEndpoints(obj: unknown): LeaderRecord | null {
  const text = asObj(asObj(asObj(obj)['metadata'])['annotations'])[LEADER_ANNOTATION]
  if (typeof text !== 'string') return null
  try {
    const r = asObj(JSON.parse(text))
    return {
      holderIdentity: typeof r['holderIdentity'] === 'string' ? r['holderIdentity'] : '',
      leaseDurationSeconds: Number(r['leaseDurationSeconds'] ?? 0),
      acquireTime: typeof r['acquireTime'] === 'string' ? r['acquireTime'] : null,
      renewTime: typeof r['renewTime'] === 'string' ? r['renewTime'] : null,
      leaderTransitions: Number(r['leaderTransitions'] ?? 0),
    }
  } catch {
    return null
  }
}

/** The record a coordination.k8s.io/v1 Lease carries (leaseTransitions maps to leaderTransitions). */
export function recordFromLease(obj: unknown): LeaderRecord | null {
  const spec = asObj(asObj(obj)['spec'])
  if (Object.keys(spec).length === 0) return null
  return {
    holderIdentity: typeof spec['holderIdentity'] === 'string' ? spec['holderIdentity'] : '',
    leaseDurationSeconds: Number(spec['leaseDurationSeconds'] ?? 0),
    acquireTime: typeof spec['acquireTime'] === 'string' ? spec['acquireTime'] : null,
    renewTime: typeof spec['renewTime'] === 'string' ? spec['renewTime'] : null,
    leaderTransitions: Number(spec['leaseTransitions'] ?? 0),
  }
}

/** `master-2_6f0c...` → `master-2`; null for an empty (released) holder. */
export function holderHostOf(identity: string): string | null {
  if (identity === '') return null
  const i = identity.lastIndexOf('_')
  return i <= 0 ? identity : identity.slice(0, i)
}

export function schedulerLeaderFrom(
  lock: string,
  record: LeaderRecord | null,
  atMs: number,
): SchedulerLeader {
  const renewMs = record?.renewTime == null ? Number.NaN : Date.parse(record.renewTime)
  const renewAgeSeconds = Number.isNaN(renewMs) ? null : Math.max(0, (atMs - renewMs) / 1000)
  const holderHost = record === null ? null : holderHostOf(record.holderIdentity)
  return {
    lock,
    record,
    holderHost,
    renewAgeSeconds,
    expired:
      holderHost === null ||
      renewAgeSeconds === null ||
      renewAgeSeconds > (record?.leaseDurationSeconds ?? 0),
  }
}

/** A node's state from its Ready condition and its heartbeat Lease. */
export type NodeReadiness = 'Ready' | 'NotReady'

export interface NodeSnapshot {
  readonly name: string
  /** The worker host that simulates it (from the plan), or null for a node hakube did not plan. */
  readonly worker: string | null
  readonly status: NodeReadiness
  /** Why it is NotReady, or an extra note (cordoned); null when Ready with nothing to add. */
  readonly reason: string | null
  readonly unschedulable: boolean
  /** Seconds since its Lease in kube-node-lease was renewed; null without a Lease. */
  readonly leaseAgeSeconds: number | null
  readonly leaseDurationSeconds: number | null
  /** Whether its simulator heartbeats it (false after `hakube fail-node`); null when not asked. */
  readonly heartbeating: boolean | null
  /** Pods bound to it that have not finished. */
  readonly pods: number
}

export interface NodesSnapshot {
  readonly nodes: readonly NodeSnapshot[]
  /** Unfinished pods not yet bound to a node (what the scheduler has still to place). */
  readonly pendingPods: number
  /** Unfinished pods bound to a node. */
  readonly boundPods: number
  /** Every pod by status.phase (Pending, Running, Succeeded, Failed, Unknown), from the same list. */
  readonly podPhases: Readonly<Record<string, number>>
}

interface ListOf {
  readonly items?: readonly unknown[]
}

/**
 * Ready needs both the Ready condition True and a Lease renewed within its duration (40 s for a
 * kubelet): without a node lifecycle controller nobody turns the condition to Unknown when the
 * heartbeat stops, so the Lease's age is what tells a failed node here, as it tells that controller.
 */
export function nodesFrom(
  nodeList: ListOf,
  leaseList: ListOf,
  podList: ListOf,
  workers: readonly WorkerPlan[],
  heartbeats: ReadonlyMap<string, boolean>,
  atMs: number,
): NodesSnapshot {
  const leases = new Map<string, Obj>()
  for (const l of leaseList.items ?? []) {
    const name = asObj(asObj(l)['metadata'])['name']
    if (typeof name === 'string') leases.set(name, asObj(asObj(l)['spec']))
  }
  const podsOn = new Map<string, number>()
  let pendingPods = 0
  let boundPods = 0
  const podPhases: Record<string, number> = {}
  for (const p of podList.items ?? []) {
    const phase = asObj(asObj(p)['status'])['phase']
    const phaseName = typeof phase === 'string' && phase !== '' ? phase : 'Pending'
    podPhases[phaseName] = (podPhases[phaseName] ?? 0) + 1
    if (phaseName === 'Succeeded' || phaseName === 'Failed') continue
    const node = asObj(asObj(p)['spec'])['nodeName']
    if (typeof node === 'string' && node !== '') {
      podsOn.set(node, (podsOn.get(node) ?? 0) + 1)
      boundPods++
    } else pendingPods++
  }
  const workerOf = new Map<string, string>()
  for (const w of workers) for (const n of w.nodes) workerOf.set(n, w.host)
  const nodes = (nodeList.items ?? []).map((n): NodeSnapshot => {
    const name = String(asObj(asObj(n)['metadata'])['name'] ?? '')
    const conditions = (asObj(asObj(n)['status'])['conditions'] as Obj[] | undefined) ?? []
    const ready = conditions.find((c) => c['type'] === 'Ready')
    const unschedulable = asObj(asObj(n)['spec'])['unschedulable'] === true
    const lease = leases.get(name)
    const renew = typeof lease?.['renewTime'] === 'string' ? Date.parse(lease['renewTime']) : Number.NaN
    const leaseAgeSeconds = Number.isNaN(renew) ? null : Math.max(0, (atMs - renew) / 1000)
    const leaseDurationSeconds =
      lease?.['leaseDurationSeconds'] == null ? null : Number(lease['leaseDurationSeconds'])
    let status: NodeReadiness = 'Ready'
    let reason: string | null = null
    if (ready?.['status'] !== 'True') {
      status = 'NotReady'
      reason =
        ready === undefined
          ? 'no Ready condition yet'
          : `Ready ${String(ready['status'])}${ready['reason'] ? ` (${String(ready['reason'])})` : ''}`
    } else if (leaseAgeSeconds === null) {
      status = 'NotReady'
      reason = 'no Lease in kube-node-lease'
    } else if (leaseAgeSeconds > (leaseDurationSeconds ?? 40)) {
      status = 'NotReady'
      reason = `Lease not renewed for ${Math.floor(leaseAgeSeconds)} s`
    }
    const heartbeating = heartbeats.get(name) ?? null
    if (heartbeating === false)
      reason = `${reason === null ? '' : `${reason}; `}heartbeat stopped (hakube fail-node)`
    if (unschedulable) reason = `${reason === null ? '' : `${reason}; `}SchedulingDisabled`
    return {
      name,
      worker: workerOf.get(name) ?? null,
      status,
      reason,
      unschedulable,
      leaseAgeSeconds,
      leaseDurationSeconds,
      heartbeating,
      pods: podsOn.get(name) ?? 0,
    }
  })
  nodes.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
  return { nodes, pendingPods, boundPods, podPhases }
}

/** GET `path` from an api-server (or the balancer) as JSON; null for 404; throws otherwise. */
export async function apiGet(base: string, path: string, timeoutMs = 2000): Promise<unknown> {
  const res = await httpRequest(`${base}${path}`, { timeoutMs })
  if (res.status === 404) return null
  if (res.status !== 200) {
    let message = res.text.trim().slice(0, 200)
    try {
      message = String(asObj(JSON.parse(res.text))['message'] ?? message)
    } catch {
      // not a Status
    }
    throw new Error(`GET ${path}: HTTP ${res.status}: ${message}`)
  }
  return JSON.parse(res.text)
}

/** The lock object's path; for `endpointsleases` (the migration lock) the Endpoints is the primary. */
export function lockPath(lock: { kind: ResourceLock; namespace: string; name: string }): string {
  return lock.kind === 'leases'
    ? `/apis/coordination.k8s.io/v1/namespaces/${lock.namespace}/leases/${lock.name}`
    : `/api/v1/namespaces/${lock.namespace}/endpoints/${lock.name}`
}

export async function readSchedulerLeader(
  base: string,
  lock: { kind: ResourceLock; namespace: string; name: string },
  timeoutMs = 2000,
): Promise<SchedulerLeader> {
  const obj = await apiGet(base, lockPath(lock), timeoutMs)
  const record =
    obj === null ? null : lock.kind === 'leases' ? recordFromLease(obj) : recordFromEndpoints(obj)
  return schedulerLeaderFrom(`${lock.kind} ${lock.namespace}/${lock.name}`, record, Date.now())
}

/** Nodes, their Leases and the pods (finished ones too, for their phases), in three lists. */
export async function readNodes(
  base: string,
  workers: readonly WorkerPlan[],
  heartbeats: ReadonlyMap<string, boolean>,
  timeoutMs = 3000,
): Promise<NodesSnapshot> {
  const [nodes, leases, pods] = await Promise.all([
    apiGet(base, '/api/v1/nodes', timeoutMs),
    apiGet(base, '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', timeoutMs),
    apiGet(base, '/api/v1/pods', timeoutMs),
  ])
  return nodesFrom(
    (nodes ?? {}) as ListOf,
    (leases ?? {}) as ListOf,
    (pods ?? {}) as ListOf,
    workers,
    heartbeats,
    Date.now(),
  )
}

/** One simulated node as a worker's admin endpoint lists it (`GET /admin/nodes`). */
export interface SimNode {
  readonly name: string
  readonly heartbeating: boolean
  /** Registered (or adopted) by this simulator process; absent from older simulators. */
  readonly registered?: boolean
  readonly pods?: number
}

export async function workerNodes(workerUrl: string, timeoutMs = 1500): Promise<SimNode[]> {
  const res = await httpRequest(`${workerUrl}/admin/nodes`, { timeoutMs })
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text.trim().slice(0, 200)}`)
  const body = JSON.parse(res.text) as unknown
  const list = Array.isArray(body) ? body : ((asObj(body)['items'] ?? asObj(body)['nodes']) as unknown[])
  return (Array.isArray(list) ? list : []).map((n) => ({
    name: String(asObj(n)['name'] ?? ''),
    heartbeating: asObj(n)['heartbeating'] !== false,
    ...(typeof asObj(n)['registered'] === 'boolean' ? { registered: asObj(n)['registered'] as boolean } : {}),
    ...(typeof asObj(n)['pods'] === 'number' ? { pods: asObj(n)['pods'] as number } : {}),
  }))
}
