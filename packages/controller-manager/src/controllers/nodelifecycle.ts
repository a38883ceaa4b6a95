/**
 * The node lifecycle controller (kube's pkg/controller/nodelifecycle with the NoExecute taint
 * manager), node by node, each node rechecked every `--node-monitor-period`:
 *
 * - Health: the probe time is this controller's own clock whenever the node's Ready heartbeat
 *   (`lastHeartbeatTime`) changes or its Lease in `kube-node-lease` is renewed (kube's
 *   probeTimestamp). Past `--node-monitor-grace-period` without one, Ready, MemoryPressure,
 *   DiskPressure and PIDPressure become Unknown (reason NodeStatusUnknown, "Kubelet stopped posting
 *   node status."; a node that never posted one gets NodeStatusNeverUpdated
 *   --node-startup-grace-period after its creation).
 * - Taints: Ready=False → `node.kubernetes.io/not-ready`, Ready=Unknown →
 *   `node.kubernetes.io/unreachable`, each NoExecute and NoSchedule; Ready=True removes them; the
 *   pressure and NetworkUnavailable conditions and `spec.unschedulable` (`kubectl cordon`) give their
 *   NoSchedule taints (kube's TaintNodesByCondition). Adding the NoExecute taint is rate-limited to `--node-eviction-rate` nodes per second (a token bucket,
 *   burst 1, as kube's zone tainter in a healthy zone); removing is not.
 * - Pods: while a node is Unknown its pods' Ready condition is set False (MarkPodsNotReady, Event
 *   NodeNotReady on each), so Endpoints drop them at once; the node gets the Event NodeNotReady when
 *   this controller takes it out of Ready. The kubelet (hakube-node-sim) sets them Ready again once
 *   it is back.
 * - Evictions (taint manager): a pod on a node with NoExecute taints it does not tolerate is deleted
 *   at once; one that tolerates them all with `tolerationSeconds` is deleted that long after the
 *   taint's `timeAdded` (the smallest of its matching tolerations); without tolerationSeconds, never.
 *   Event TaintManagerEviction on the pod.
 */
import type { Clock, Informer, Lease, Node, Pod, Taint, Toleration } from '@hakube/api'
import { isDeletedFinalStateUnknown } from '@hakube/api'
import type { Actions } from '../actions.js'
import type { ControllerSpec, SyncResult } from '../controller.js'
import { NODES, PODS } from './resources.js'

export const NOT_READY_TAINT_KEY = 'node.kubernetes.io/not-ready'
export const UNREACHABLE_TAINT_KEY = 'node.kubernetes.io/unreachable'
const NODE_LEASE_NAMESPACE = 'kube-node-lease'
const PRESSURE_CONDITIONS = ['MemoryPressure', 'DiskPressure', 'PIDPressure']

export interface NodeLifecycleOptions {
  monitorPeriodMs: number
  gracePeriodMs: number
  /** A node that never posted status gets this long from its creation (60 s if unset). */
  startupGracePeriodMs?: number
  /** Nodes per second whose NoExecute taint may be added. */
  evictionRate: number
}

/** What the controller remembers per node (kube's nodeHealthData). */
export interface NodeHealth {
  probeMs: number
  heartbeat: string | undefined
  renew: string | undefined
}

export interface NodeLifecycleView {
  node(name: string): Node | undefined
  lease(name: string): Lease | undefined
  podsOn(name: string): Pod[]
}

/** A token bucket (burst 1): `take` says how long to wait, 0 when a token was taken. */
export class EvictionLimiter {
  private nextMs = Number.NEGATIVE_INFINITY
  constructor(private readonly ratePerSecond: number) {}
  take(nowMs: number): number {
    if (this.ratePerSecond <= 0) return Number.POSITIVE_INFINITY
    if (nowMs >= this.nextMs) {
      this.nextMs = nowMs + 1000 / this.ratePerSecond
      return 0
    }
    return this.nextMs - nowMs
  }
}

type Cond = NonNullable<NonNullable<Node['status']>['conditions']>[number]

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
}

/** Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false
  if ((t.operator ?? 'Equal') === 'Exists') return !t.key || t.key === taint.key
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '')
}

/** When the pod must go because of these NoExecute taints: now, a time, or never (undefined). */
export function evictionTimeMs(pod: Pod, taints: readonly Taint[], nowMs: number): number | undefined {
  let at: number | undefined
  for (const taint of taints) {
    const matching = (pod.spec?.tolerations ?? []).filter((t) => tolerates(t, taint))
    if (matching.length === 0) return nowMs
    const seconds = matching
      .map((t) => t.tolerationSeconds)
      .filter((s): s is number => s !== undefined)
      .reduce<number | undefined>((min, s) => (min === undefined || s < min ? s : min), undefined)
    if (seconds === undefined) continue
    const added = Date.parse(taint.timeAdded ?? '') || nowMs
    const due = added + Math.max(0, seconds) * 1000
    at = at === undefined ? due : Math.min(at, due)
  }
  return at
}

async function markPodsNotReady(pods: readonly Pod[], actions: Actions, nowMs: number): Promise<void> {
  for (const pod of pods) {
    const conditions = pod.status?.conditions ?? []
    const ready = conditions.find((c) => c.type === 'Ready')
    if (ready === undefined || ready.status !== 'True' || pod.metadata?.deletionTimestamp !== undefined)
      continue
    const next = conditions.map((c) =>
      c === ready ? { ...c, status: 'False', lastTransitionTime: rfc3339(nowMs) } : c,
    )
    const ns = pod.metadata?.namespace ?? ''
    const r = await actions.update<Pod>(
      PODS,
      ns,
      { ...pod, status: { ...pod.status, conditions: next } },
      'status',
    )
    if (!r.ok) continue // gone, or changed meanwhile: the next check sees it again
    actions.event({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Warning', 'NodeNotReady', 'Node is not ready')
  }
}

/** The NoSchedule taint of each condition status (kube's nodeConditionToTaintKeyStatusMap). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: NOT_READY_TAINT_KEY, Unknown: UNREACHABLE_TAINT_KEY },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
}
export const UNSCHEDULABLE_TAINT_KEY = 'node.kubernetes.io/unschedulable'
/** The NoSchedule taints this controller owns. */
const NO_SCHEDULE_KEYS = new Set([
  ...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)),
  UNSCHEDULABLE_TAINT_KEY,
])

/** The NoSchedule taint keys a node's conditions and spec.unschedulable call for. */
function noScheduleTaintKeys(node: Node): Set<string> {
  const keys = new Set<string>()
  for (const c of node.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[c.type]?.[c.status]
    if (key !== undefined) keys.add(key)
  }
  if (node.spec?.unschedulable === true) keys.add(UNSCHEDULABLE_TAINT_KEY)
  return keys
}

export async function syncNode(
  name: string,
  view: NodeLifecycleView,
  actions: Actions,
  state: Map<string, NodeHealth>,
  limiter: EvictionLimiter,
  o: NodeLifecycleOptions,
  nowMs: number,
): Promise<SyncResult | undefined> {
  let node = view.node(name)
  if (node === undefined) {
    state.delete(name)
    return undefined
  }
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready')
  const heartbeat = ready?.lastHeartbeatTime
  const renew = view.lease(name)?.spec?.renewTime
  const prior = state.get(name)
  if (prior === undefined || prior.heartbeat !== heartbeat || (renew !== undefined && renew !== prior.renew))
    state.set(name, { probeMs: nowMs, heartbeat, renew })
  const health = state.get(name) as NodeHealth
  let readyStatus = ready?.status ?? 'Unknown'
  let requeueMs = o.monitorPeriodMs
  // A node that never posted status: the startup grace period from its creation (kube's fake Ready
  // condition at node.CreationTimestamp).
  const created = Date.parse(node.metadata?.creationTimestamp ?? '')
  const [probeMs, graceMs] =
    ready === undefined
      ? [Number.isFinite(created) ? created : health.probeMs, o.startupGracePeriodMs ?? 60_000]
      : [health.probeMs, o.gracePeriodMs]

  // 1. Silent past the grace period: the conditions become Unknown.
  if (nowMs > probeMs + graceMs && (ready === undefined || ready.status !== 'Unknown')) {
    const now = rfc3339(nowMs)
    const byType = new Map((node.status?.conditions ?? []).map((c) => [c.type, c]))
    for (const type of ['Ready', ...PRESSURE_CONDITIONS]) {
      const old = byType.get(type)
      if (old?.status === 'Unknown') continue
      byType.set(type, {
        ...(old ?? { type }),
        type,
        status: 'Unknown',
        reason: old === undefined ? 'NodeStatusNeverUpdated' : 'NodeStatusUnknown',
        message:
          old === undefined ? 'Kubelet never posted node status.' : 'Kubelet stopped posting node status.',
        lastTransitionTime: now,
        ...(old?.lastHeartbeatTime !== undefined && { lastHeartbeatTime: old.lastHeartbeatTime }),
      } as Cond)
    }
    const r = await actions.update<Node>(
      NODES,
      undefined,
      { ...node, status: { ...node.status, conditions: [...byType.values()] } },
      'status',
    )
    if (!r.ok) throw new Error(`node ${name}: ${r.reason} while marking it Unknown`)
    if (ready?.status === 'True')
      // RecordNodeStatusChange (reported once, when this controller takes the node out of Ready).
      actions.event(
        { apiVersion: 'v1', kind: 'Node', metadata: { name, uid: name } },
        'Normal',
        'NodeNotReady',
        `Node ${name} status is now: NodeNotReady`,
      )
    node = r.object
    readyStatus = 'Unknown'
  }

  // MarkPodsNotReady: while the node is Unknown (only this controller writes that), its pods are
  // not Ready, so Services stop sending to them long before they are evicted. Pods already not
  // Ready are left alone; a failure is retried at the next check.
  if (readyStatus === 'Unknown') await markPodsNotReady(view.podsOn(name), actions, nowMs)

  // 2. NoSchedule taints follow the conditions and spec.unschedulable (doNoScheduleTaintingPass).
  const taints = node.spec?.taints ?? []
  const wantNoSchedule = noScheduleTaintKeys(node)
  let next = taints.filter(
    (t) => t.effect !== 'NoSchedule' || !NO_SCHEDULE_KEYS.has(t.key) || wantNoSchedule.has(t.key),
  )
  for (const key of wantNoSchedule)
    if (!next.some((t) => t.key === key && t.effect === 'NoSchedule'))
      next.push({ key, effect: 'NoSchedule', timeAdded: rfc3339(nowMs) })

  // A node that never posted a Ready condition gets no NoExecute taint until the grace period marks it.
  const posted = (node.status?.conditions ?? []).some((c) => c.type === 'Ready')
  // 3. The NoExecute taint follows readiness (its additions rate-limited).
  const wantKey = !posted
    ? undefined
    : readyStatus === 'False'
      ? NOT_READY_TAINT_KEY
      : readyStatus === 'Unknown'
        ? UNREACHABLE_TAINT_KEY
        : undefined
  const readyTaint = (t: Taint) =>
    t.effect === 'NoExecute' && (t.key === NOT_READY_TAINT_KEY || t.key === UNREACHABLE_TAINT_KEY)
  if (posted) next = next.filter((t) => !readyTaint(t) || t.key === wantKey)
  if (wantKey !== undefined && !next.some((t) => t.key === wantKey && t.effect === 'NoExecute')) {
    const waitMs = limiter.take(nowMs)
    if (waitMs > 0) requeueMs = Math.min(requeueMs, Number.isFinite(waitMs) ? waitMs : requeueMs)
    else next.push({ key: wantKey, effect: 'NoExecute', timeAdded: rfc3339(nowMs) })
  }
  if (JSON.stringify(next) !== JSON.stringify(taints)) {
    const r = await actions.patch<Node>(NODES, undefined, name, {
      spec: { taints: next.length > 0 ? next : null },
      metadata: { resourceVersion: node.metadata?.resourceVersion },
    })
    if (!r.ok) throw new Error(`node ${name}: ${r.reason} while updating its taints`)
    node = r.object
  }

  // 4. The taint manager: pods that do not tolerate the NoExecute taints go.
  const noExecute = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute')
  if (noExecute.length > 0) {
    for (const pod of view.podsOn(name)) {
      if (pod.metadata?.deletionTimestamp !== undefined) continue
      const at = evictionTimeMs(pod, noExecute, nowMs)
      if (at === undefined) continue
      if (at > nowMs) {
        requeueMs = Math.min(requeueMs, at - nowMs)
        continue
      }
      const ns = pod.metadata?.namespace ?? ''
      const outcome = await actions.delete(PODS, ns, pod.metadata?.name ?? '', {
        ...(pod.metadata?.uid !== undefined && { uid: pod.metadata.uid }),
      })
      if (outcome !== 'notFound' && outcome !== 'conflict')
        actions.event(
          { ...pod, apiVersion: 'v1', kind: 'Pod' },
          'Normal',
          'TaintManagerEviction',
          `Marking for deletion Pod ${ns}/${pod.metadata?.name}`,
        )
    }
  }
  return { requeueAfterMs: Math.max(10, requeueMs) }
}

export class NodeLifecycleController implements ControllerSpec {
  readonly name = 'nodelifecycle'
  private readonly view: NodeLifecycleView
  private readonly state = new Map<string, NodeHealth>()
  private readonly limiter: EvictionLimiter

  constructor(
    private readonly nodes: Informer<Node>,
    leases: Informer<Lease>,
    private readonly pods: Informer<Pod>,
    private readonly o: NodeLifecycleOptions,
    private readonly clock: Clock,
  ) {
    this.limiter = new EvictionLimiter(o.evictionRate)
    this.view = {
      node: (name) => nodes.get(name),
      lease: (name) => leases.get(`${NODE_LEASE_NAMESPACE}/${name}`),
      podsOn: (name) => pods.list().filter((p) => p.spec?.nodeName === name),
    }
    this.leases = leases
  }

  private readonly leases: Informer<Lease>

  register(enqueue: (key: string) => void): void {
    this.nodes.addEventHandler({
      onAdd: (n) => enqueue(n.metadata?.name ?? ''),
      onUpdate: (_old, n) => enqueue(n.metadata?.name ?? ''),
      onDelete: (gone) => enqueue((isDeletedFinalStateUnknown(gone) ? gone.obj : gone).metadata?.name ?? ''),
    })
    this.leases.addEventHandler({
      onUpdate: (_old, l) => {
        if (l.metadata?.namespace === NODE_LEASE_NAMESPACE) enqueue(l.metadata.name ?? '')
      },
    })
    // A pod landing on a tainted node is checked at once.
    const onPod = (p: Pod) => {
      const node = p.spec?.nodeName ? this.nodes.get(p.spec.nodeName) : undefined
      if (node !== undefined && (node.spec?.taints ?? []).some((t) => t.effect === 'NoExecute'))
        enqueue(p.spec?.nodeName ?? '')
    }
    this.pods.addEventHandler({ onAdd: onPod, onUpdate: (_old, p) => onPod(p) })
  }

  hasSynced(): boolean {
    return this.nodes.hasSynced() && this.leases.hasSynced() && this.pods.hasSynced()
  }

  initialKeys(): Iterable<string> {
    return this.nodes.keys()
  }

  sync(key: string, actions: Actions): Promise<SyncResult | undefined> {
    return syncNode(key, this.view, actions, this.state, this.limiter, this.o, this.clock.now())
  }
}
