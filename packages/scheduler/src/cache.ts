/**
 * The scheduler's cache (pkg/scheduler/backend/cache): one `NodeInfo` per node with everything a
 * filter or scorer reads precomputed (labels, taints that matter, allocatable and requested as
 * numbers, pod count, pods per controller owner), plus the pods bound to nodes, including the ones
 * this scheduler has *assumed* (chosen a node for, binding in flight) and the informer has not yet
 * shown bound. Counting assumed pods is what lets scheduling run ahead of the bindings without
 * over-committing a node.
 *
 * Guarantees: `nodeInfo.requested` is the sum of the requests of the cached pods on that node
 * (bound, not terminal, assumed included); a pod is counted on one node at most; updates are O(1)
 * per pod and O(labels + taints) per node.
 * Non-guarantees: a pod bound to a node the cache has not seen is kept on a node-less NodeInfo and
 * counted once the node appears; nothing here talks to the api-server.
 */
import type { Node, Pod, Taint } from '@hakube/api'
import {
  addResourceList,
  emptyResources,
  type NonZeroRequests,
  nonZeroRequests,
  podRequests,
  type Resources,
} from './resources.js'

/** The taints the node lifecycle controller puts on a node that is not Ready (NoSchedule variants). */
export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready'
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable'
export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable'

/** What the cache keeps of a pod: enough to add it to or take it off its node. */
export interface CachedPod {
  readonly uid: string
  readonly key: string
  readonly nodeName: string
  readonly requests: Resources
  readonly nonZero: NonZeroRequests
  /** The uid of the pod's controller owner (ownerReferences[].controller), or ''. */
  readonly ownerUid: string
  /** Chosen by this scheduler, binding not yet seen through the informer. */
  assumed: boolean
}

export class NodeInfo {
  /** The Node object; undefined while only pods name this node. */
  node: Node | undefined = undefined
  labels: Readonly<Record<string, string>> = {}
  unschedulable = false
  /** NoSchedule and NoExecute taints, plus a not-ready/unreachable one while Ready is not True. */
  taints: readonly Taint[] = []
  allocatable: Resources = emptyResources()
  allowedPodNumber = 0
  readonly requested: Resources = emptyResources()
  readonly nonZeroRequested: NonZeroRequests = { milliCpu: 0, memory: 0 }
  podCount = 0
  /** Pods on this node per controller-owner uid (the spreading scorer's counts). */
  readonly ownerCounts = new Map<string, number>()

  constructor(readonly name: string) {}

  setNode(node: Node): void {
    this.node = node
    this.labels = node.metadata?.labels ?? {}
    this.unschedulable = node.spec?.unschedulable === true
    const alloc = node.status?.allocatable
    const allocatable = emptyResources()
    addResourceList(allocatable, alloc)
    this.allocatable = allocatable
    const pods = alloc?.['pods']
    this.allowedPodNumber = pods === undefined ? 0 : Math.floor(Number(pods)) || 0
    this.taints = schedulingTaints(node)
  }

  addPod(p: CachedPod, sign: 1 | -1): void {
    const r = this.requested
    r.milliCpu += sign * p.requests.milliCpu
    r.memory += sign * p.requests.memory
    r.ephemeralStorage += sign * p.requests.ephemeralStorage
    if (p.requests.scalar !== undefined) {
      r.scalar ??= new Map()
      for (const [k, v] of p.requests.scalar) r.scalar.set(k, (r.scalar.get(k) ?? 0) + sign * v)
    }
    this.nonZeroRequested.milliCpu += sign * p.nonZero.milliCpu
    this.nonZeroRequested.memory += sign * p.nonZero.memory
    this.podCount += sign
    if (p.ownerUid !== '') {
      const n = (this.ownerCounts.get(p.ownerUid) ?? 0) + sign
      if (n <= 0) this.ownerCounts.delete(p.ownerUid)
      else this.ownerCounts.set(p.ownerUid, n)
    }
  }
}

function readyStatus(node: Node): string {
  for (const c of node.status?.conditions ?? []) if (c.type === 'Ready') return c.status
  return 'Unknown'
}

/**
 * The taints the scheduler filters on. A node whose Ready condition is not True gets the taint the
 * node lifecycle controller would add (TaintNodesByCondition: `not-ready` for False, `unreachable`
 * for Unknown or missing, NoSchedule), so an unready node is refused with kube's own message and a
 * pod that tolerates it (a DaemonSet's) may still land there.
 */
export function schedulingTaints(node: Node): Taint[] {
  const out: Taint[] = []
  for (const t of node.spec?.taints ?? []) {
    if (t.effect === 'NoSchedule' || t.effect === 'NoExecute') out.push(t)
  }
  const ready = readyStatus(node)
  if (ready !== 'True') {
    const key = ready === 'False' ? TAINT_NODE_NOT_READY : TAINT_NODE_UNREACHABLE
    if (!out.some((t) => t.key === key && t.effect === 'NoSchedule')) out.push({ key, effect: 'NoSchedule' })
  }
  return out
}

export function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`
}

export function controllerOwnerUid(pod: Pod): string {
  for (const ref of pod.metadata?.ownerReferences ?? []) if (ref.controller === true) return ref.uid
  return ''
}

/** Succeeded or Failed: the pod holds no resources any more. */
export function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase
  return phase === 'Succeeded' || phase === 'Failed'
}

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>()
  private readonly pods = new Map<string, CachedPod>()
  /** NodeInfos that have a Node, in the order nodes were added; rebuilt when that set changes. */
  private nodeList: NodeInfo[] | undefined = []

  /** Adds or updates a Node. */
  setNode(node: Node): NodeInfo {
    const name = node.metadata?.name ?? ''
    let info = this.nodes.get(name)
    if (info === undefined) {
      info = new NodeInfo(name)
      this.nodes.set(name, info)
    }
    if (info.node === undefined) this.nodeList = undefined
    info.setNode(node)
    return info
  }

  removeNode(name: string): void {
    const info = this.nodes.get(name)
    if (info === undefined) return
    info.node = undefined
    this.nodeList = undefined
    if (info.podCount === 0) this.nodes.delete(name)
  }

  /** The nodes (with a Node object) in a stable order. */
  list(): readonly NodeInfo[] {
    this.nodeList ??= [...this.nodes.values()].filter((n) => n.node !== undefined)
    return this.nodeList
  }

  nodeCount(): number {
    return this.list().length
  }

  get(name: string): NodeInfo | undefined {
    return this.nodes.get(name)
  }

  /**
   * A pod the informer shows bound (and not terminal). Replaces what the cache had for its uid, an
   * assumed copy included (the binding is confirmed).
   */
  addOrUpdateBoundPod(pod: Pod): void {
    const uid = pod.metadata?.uid ?? ''
    const nodeName = pod.spec?.nodeName ?? ''
    const old = this.pods.get(uid)
    const fresh = cachedPod(pod, nodeName, false)
    if (old !== undefined) {
      if (!old.assumed && old.nodeName === nodeName && sameRequests(old, fresh)) return
      this.takeOff(old)
    }
    this.putOn(fresh)
  }

  /** A pod deleted, or terminal: its resources are free again. */
  removePod(uid: string): CachedPod | undefined {
    const old = this.pods.get(uid)
    if (old !== undefined) this.takeOff(old)
    return old
  }

  /** Counts `pod` on `nodeName` before its binding is confirmed (kube's AssumePod). */
  assume(pod: Pod, nodeName: string): void {
    const uid = pod.metadata?.uid ?? ''
    const old = this.pods.get(uid)
    if (old !== undefined) this.takeOff(old)
    this.putOn(cachedPod(pod, nodeName, true))
  }

  /** The binding failed: forget the assumed pod (kube's ForgetPod). Confirmed pods stay. */
  forget(uid: string): void {
    const old = this.pods.get(uid)
    if (old?.assumed === true) this.takeOff(old)
  }

  isAssumed(uid: string): boolean {
    return this.pods.get(uid)?.assumed === true
  }

  /** The cached pod under `uid` (bound or assumed). */
  pod(uid: string): CachedPod | undefined {
    return this.pods.get(uid)
  }

  podCount(): number {
    return this.pods.size
  }

  private putOn(p: CachedPod): void {
    this.pods.set(p.uid, p)
    let info = this.nodes.get(p.nodeName)
    if (info === undefined) {
      info = new NodeInfo(p.nodeName)
      this.nodes.set(p.nodeName, info)
    }
    info.addPod(p, 1)
  }

  private takeOff(p: CachedPod): void {
    this.pods.delete(p.uid)
    const info = this.nodes.get(p.nodeName)
    if (info === undefined) return
    info.addPod(p, -1)
    if (info.node === undefined && info.podCount === 0) this.nodes.delete(p.nodeName)
  }
}

function cachedPod(pod: Pod, nodeName: string, assumed: boolean): CachedPod {
  return {
    uid: pod.metadata?.uid ?? '',
    key: podKey(pod),
    nodeName,
    requests: podRequests(pod.spec),
    nonZero: nonZeroRequests(pod.spec),
    ownerUid: controllerOwnerUid(pod),
    assumed,
  }
}

function sameRequests(a: CachedPod, b: CachedPod): boolean {
  const x = a.requests
  const y = b.requests
  if (x.milliCpu !== y.milliCpu || x.memory !== y.memory || x.ephemeralStorage !== y.ephemeralStorage)
    return false
  if ((x.scalar?.size ?? 0) !== (y.scalar?.size ?? 0)) return false
  if (x.scalar !== undefined) for (const [k, v] of x.scalar) if (y.scalar?.get(k) !== v) return false
  return (
    a.ownerUid === b.ownerUid &&
    a.nonZero.milliCpu === b.nonZero.milliCpu &&
    a.nonZero.memory === b.nonZero.memory
  )
}
