/**
 * The scheduler's driver: informers on pods and nodes feed the cache and the scheduling queue at
 * all times (a standby keeps warm caches, as kube-scheduler does); `runLeading(signal)` schedules
 * only until that signal aborts, which also aborts every binding and status write in flight.
 *
 * One pod is scheduled at a time, synchronously (filters and scores are pure and cheap, see
 * algorithm.ts); the chosen node is *assumed* in the cache at once and the binding runs in the
 * background, up to `bindingsInFlightMax` at a time, so scheduling runs ahead of the api-server's
 * round trips as kube's binding goroutines do. A failed binding forgets the assumption and retries
 * the pod after its backoff. A pod no node fits gets `PodScheduled=False`/`Unschedulable` with
 * kube's message and a FailedScheduling Event, and waits in the unschedulable queue for a node or
 * pod change.
 */
import {
  type ApiClient,
  type Clock,
  type DeletedFinalStateUnknown,
  EventRecorder,
  type EventType,
  Informer,
  isConflict,
  isDeletedFinalStateUnknown,
  isNotFound,
  type Node,
  type Pod,
} from '@hakube/api'
import type { Logger } from 'pino'
import { type Scheduling, schedulePod } from './algorithm.js'
import { isTerminal, podKey, SchedulerCache } from './cache.js'
import { compilePod } from './filters.js'
import type { SchedulerMetrics } from './metrics.js'
import { type QueuedPod, SchedulingQueue } from './scheduling-queue.js'

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler'
const PODS = { group: '', version: 'v1', plural: 'pods', namespaced: true }
const NODES = { group: '', version: 'v1', plural: 'nodes', namespaced: false }
/** Pods scheduled between two yields to the event loop (bindings and watch events progress). */
const PODS_PER_TURN_MAX = 16

export interface SchedulerOptions {
  client: ApiClient
  log: Logger
  /** The leader-election identity; Events carry it as reportingInstance. */
  identity: string
  metrics?: SchedulerMetrics
  clock?: Clock
  random?: () => number
  bindingsInFlightMax?: number
  podInitialBackoffMs?: number
  podMaxBackoffMs?: number
  /** 0 = kube's adaptive percentage. */
  percentageOfNodesToScore?: number
  /** Deadline of each binding and status call. Default 30 s (the client's). */
  requestTimeoutMs?: number
}

export class Scheduler {
  readonly cache = new SchedulerCache()
  readonly queue: SchedulingQueue
  readonly events: EventRecorder
  /** An Event about `pod` from `default-scheduler` (fire and forget). */
  private event(pod: Pod, type: EventType, reason: string, message: string): void {
    this.events.record(
      DEFAULT_SCHEDULER_NAME,
      { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata },
      type,
      reason,
      message,
    )
  }

  private readonly podInformer: Informer<Pod>
  private readonly nodeInformer: Informer<Node>
  private readonly clock: Clock
  private readonly log: Logger
  private readonly scheduling: Scheduling
  private readonly bindingsInFlightMax: number
  private bindingsInFlight = 0
  private wake: (() => void) | undefined
  private flushTimer: NodeJS.Timeout | undefined
  private leftoverTimer: NodeJS.Timeout | undefined
  /** Pods bound by this instance (tests and logs). */
  boundCount = 0

  constructor(private readonly o: SchedulerOptions) {
    this.clock = o.clock ?? { now: () => Date.now() }
    this.log = o.log
    this.bindingsInFlightMax = o.bindingsInFlightMax ?? 64
    this.queue = new SchedulingQueue({
      podInitialBackoffMs: o.podInitialBackoffMs ?? 1000,
      podMaxBackoffMs: o.podMaxBackoffMs ?? 10_000,
    })
    this.queue.onActive = () => {
      const w = this.wake
      this.wake = undefined
      w?.()
    }
    this.scheduling = {
      nodes: [],
      random: o.random ?? Math.random,
      nextStartNodeIndex: 0,
      percentageOfNodesToScore: o.percentageOfNodesToScore ?? 0,
    }
    this.events = new EventRecorder({
      client: o.client,
      instance: o.identity,
      clock: this.clock,
      log: o.log.child({ component: 'events' }),
    })
    const onError = (err: unknown) => this.log.warn({ err: String(err) }, 'informer error')
    this.podInformer = new Informer<Pod>(o.client.resource<Pod>(PODS), { onError })
    this.nodeInformer = new Informer<Node>(o.client.resource<Node>(NODES), { onError })
    this.podInformer.addEventHandler({
      onAdd: (pod) => this.onPod(undefined, pod),
      onUpdate: (old, pod) => this.onPod(old, pod),
      onDelete: (pod) => this.onPodDelete(pod),
    })
    this.nodeInformer.addEventHandler({
      onAdd: (node) => this.onNode(undefined, node),
      onUpdate: (old, node) => this.onNode(old, node),
      onDelete: (node) => this.onNodeDelete(node),
    })
  }

  /** Starts the informers (and the queue's flush timers). */
  start(): void {
    this.nodeInformer.start()
    this.podInformer.start()
    this.flushTimer = setInterval(() => {
      this.queue.flushBackoffCompleted(this.clock.now())
      this.updatePendingGauge()
    }, 1000)
    this.leftoverTimer = setInterval(() => this.queue.flushUnschedulableLeftover(this.clock.now()), 30_000)
  }

  /** True once both informers listed. */
  hasSynced(): boolean {
    return this.podInformer.hasSynced() && this.nodeInformer.hasSynced()
  }

  async waitForSync(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (this.hasSynced()) return true
      await sleep(50, signal)
    }
    return false
  }

  /**
   * Schedules until `signal` aborts (leadership lost or shutdown). Aborting ends the loop at once
   * and aborts the bindings in flight; it resolves when the loop has stopped.
   */
  async runLeading(signal: AbortSignal): Promise<void> {
    if (!(await this.waitForSync(signal))) return
    const wakeOnAbort = () => {
      const w = this.wake
      this.wake = undefined
      w?.()
    }
    signal.addEventListener('abort', wakeOnAbort, { once: true })
    this.log.info({ nodes: this.cache.nodeCount(), pending: this.queue.counts() }, 'scheduling')
    try {
      let turn = 0
      while (!signal.aborted) {
        if (this.bindingsInFlight >= this.bindingsInFlightMax) {
          await new Promise<void>((resolve) => {
            this.wake = resolve
          })
          continue
        }
        const qp = this.queue.pop()
        if (qp === undefined) {
          turn = 0
          await new Promise<void>((resolve) => {
            this.wake = resolve
          })
          continue
        }
        this.scheduleOne(qp, signal)
        if (++turn >= PODS_PER_TURN_MAX) {
          turn = 0
          await new Promise<void>((resolve) => setImmediate(resolve))
        }
      }
    } finally {
      signal.removeEventListener('abort', wakeOnAbort)
      this.log.info({ bound: this.boundCount }, 'stopped scheduling')
    }
  }

  async stop(): Promise<void> {
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer)
    if (this.leftoverTimer !== undefined) clearInterval(this.leftoverTimer)
    await Promise.all([this.podInformer.stop(), this.nodeInformer.stop()])
  }

  /** Counts of the queues and the bindings in flight. */
  stats(): { active: number; backoff: number; unschedulable: number; bindingsInFlight: number } {
    return { ...this.queue.counts(), bindingsInFlight: this.bindingsInFlight }
  }

  private scheduleOne(qp: QueuedPod, signal: AbortSignal): void {
    const pod = qp.pod
    const startedMs = performance.now()
    const cycle = this.queue.currentCycle()
    const p = compilePod(pod)
    this.scheduling.nodes = this.cache.list()
    const result = schedulePod(p, this.scheduling)
    const attemptSeconds = (performance.now() - startedMs) / 1000
    const metrics = this.o.metrics
    if (!result.ok) {
      metrics?.scheduleAttempts.inc({ result: 'unschedulable', profile: DEFAULT_SCHEDULER_NAME })
      metrics?.attemptSeconds.observe(
        { result: 'unschedulable', profile: DEFAULT_SCHEDULER_NAME },
        attemptSeconds,
      )
      this.queue.addUnschedulable(qp, cycle, this.clock.now())
      this.log.info({ pod: p.key, message: result.message }, 'unable to schedule pod; waiting')
      this.reportUnschedulable(pod, result.message, signal)
      return
    }
    metrics?.attemptSeconds.observe({ result: 'scheduled', profile: DEFAULT_SCHEDULER_NAME }, attemptSeconds)
    const nodeName = result.node.name
    this.cache.assume(pod, nodeName)
    this.bind(qp, nodeName, signal)
  }

  private bind(qp: QueuedPod, nodeName: string, signal: AbortSignal): void {
    const pod = qp.pod
    const meta = pod.metadata ?? {}
    const key = podKey(pod)
    const body = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: meta.name, namespace: meta.namespace, uid: meta.uid },
      target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
    }
    this.bindingsInFlight++
    this.log.debug({ pod: key, node: nodeName }, 'binding')
    const pods = this.o.client.resource(PODS).namespace(meta.namespace ?? 'default')
    pods
      .postSubresource(meta.name ?? '', 'binding', body, {
        signal,
        ...(this.o.requestTimeoutMs === undefined ? {} : { timeoutMs: this.o.requestTimeoutMs }),
      })
      .then(
        () => {
          this.boundCount++
          this.queue.done(qp.uid)
          const seconds = (this.clock.now() - qp.initialTimestampMs) / 1000
          this.o.metrics?.scheduleAttempts.inc({ result: 'scheduled', profile: DEFAULT_SCHEDULER_NAME })
          this.o.metrics?.e2eSchedulingSeconds.observe(
            { result: 'scheduled', profile: DEFAULT_SCHEDULER_NAME },
            seconds,
          )
          this.log.info({ pod: key, node: nodeName }, 'bound')
          if (!signal.aborted)
            this.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${nodeName}`)
        },
        (err: unknown) => {
          this.cache.forget(qp.uid)
          this.o.metrics?.scheduleAttempts.inc({ result: 'error', profile: DEFAULT_SCHEDULER_NAME })
          if (signal.aborted) {
            this.log.info({ pod: key, node: nodeName }, 'binding abandoned: no longer leading')
            this.queue.addBackoff(qp, this.clock.now())
            return
          }
          if (isNotFound(err) || (isConflict(err) && /already assigned|being deleted/.test(String(err)))) {
            // Bound elsewhere or deleted: the informer will show it; nothing to retry.
            this.queue.delete(qp.uid)
            this.log.info({ pod: key, err: String(err) }, 'binding refused; dropping the pod from the queue')
            return
          }
          this.log.warn(
            { pod: key, node: nodeName, err: String(err) },
            'binding failed; retrying after backoff',
          )
          this.queue.addBackoff(qp, this.clock.now())
          if (!signal.aborted)
            this.event(pod, 'Warning', 'FailedScheduling', `Binding rejected: ${errorMessage(err)}`)
        },
      )
      .finally(() => {
        this.bindingsInFlight--
        if (this.bindingsInFlight === this.bindingsInFlightMax - 1) {
          const w = this.wake
          this.wake = undefined
          w?.()
        }
      })
  }

  /** PodScheduled=False/Unschedulable on the pod (when it changed) and a FailedScheduling Event. */
  private reportUnschedulable(pod: Pod, message: string, signal: AbortSignal): void {
    this.event(pod, 'Warning', 'FailedScheduling', message)
    const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled')
    if (current?.status === 'False' && current.reason === 'Unschedulable' && current.message === message)
      return
    const now = new Date(this.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z')
    const condition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastProbeTime: null,
      lastTransitionTime: current?.status === 'False' ? (current.lastTransitionTime ?? now) : now,
    }
    const meta = pod.metadata ?? {}
    this.o.client
      .resource(PODS)
      .namespace(meta.namespace ?? 'default')
      .patch(meta.name ?? '', { status: { conditions: [condition] } }, 'strategic', {
        subresource: 'status',
        signal,
      })
      .catch((err: unknown) => {
        if (!signal.aborted)
          this.log.warn({ pod: podKey(pod), err: String(err) }, 'could not update pod status')
      })
  }

  private onPod(old: Pod | undefined, pod: Pod): void {
    const uid = pod.metadata?.uid ?? ''
    const nodeName = pod.spec?.nodeName ?? ''
    if (isTerminal(pod)) {
      this.queue.delete(uid)
      if (this.cache.removePod(uid) !== undefined) this.queue.moveAllToActiveOrBackoff(this.clock.now())
      return
    }
    if (nodeName !== '') {
      this.queue.delete(uid)
      this.cache.addOrUpdateBoundPod(pod)
      return
    }
    const ours = (pod.spec?.schedulerName ?? DEFAULT_SCHEDULER_NAME) === DEFAULT_SCHEDULER_NAME
    // A gated pod waits outside the queue (the SchedulingGates plugin) until its gates are removed.
    const gated = (pod.spec?.schedulingGates?.length ?? 0) > 0
    if (!ours || gated || pod.metadata?.deletionTimestamp !== undefined) {
      this.queue.delete(uid)
      return
    }
    // A binding in flight for it, or done and not yet seen: a stale pending copy, not a new pod.
    if (this.cache.isAssumed(uid) && !this.queue.has(uid)) return
    const now = this.clock.now()
    if (old === undefined || !this.queue.has(uid)) this.queue.add(pod, now)
    else this.queue.update(pod, schedulingInputsChanged(old, pod), now)
  }

  private onPodDelete(obj: Pod | DeletedFinalStateUnknown<Pod>): void {
    const pod = isDeletedFinalStateUnknown(obj) ? obj.obj : obj
    const uid = pod.metadata?.uid ?? ''
    this.queue.delete(uid)
    if (this.cache.removePod(uid) !== undefined) this.queue.moveAllToActiveOrBackoff(this.clock.now())
  }

  private onNode(old: Node | undefined, node: Node): void {
    this.cache.setNode(node)
    if (old === undefined || nodeSchedulingChanged(old, node))
      this.queue.moveAllToActiveOrBackoff(this.clock.now())
  }

  private onNodeDelete(obj: Node | DeletedFinalStateUnknown<Node>): void {
    const node = isDeletedFinalStateUnknown(obj) ? obj.obj : obj
    this.cache.removeNode(node.metadata?.name ?? '')
  }

  private updatePendingGauge(): void {
    const m = this.o.metrics
    if (m === undefined) return
    const c = this.queue.counts()
    m.pendingPods.set({ queue: 'active' }, c.active)
    m.pendingPods.set({ queue: 'backoff' }, c.backoff)
    m.pendingPods.set({ queue: 'unschedulable' }, c.unschedulable)
  }
}

/** kube's `isPodUpdated` for a pending pod: anything but status and bookkeeping metadata. */
function schedulingInputsChanged(old: Pod, pod: Pod): boolean {
  return (
    JSON.stringify(old.spec) !== JSON.stringify(pod.spec) ||
    JSON.stringify(old.metadata?.labels) !== JSON.stringify(pod.metadata?.labels)
  )
}

/** NodeAllocatableChanged / NodeLabelChanged / NodeTaintChanged / NodeConditionChanged / spec.unschedulable. */
function nodeSchedulingChanged(old: Node, node: Node): boolean {
  const conditions = (n: Node) => JSON.stringify((n.status?.conditions ?? []).map((c) => [c.type, c.status]))
  return (
    JSON.stringify(old.status?.allocatable) !== JSON.stringify(node.status?.allocatable) ||
    JSON.stringify(old.metadata?.labels) !== JSON.stringify(node.metadata?.labels) ||
    JSON.stringify(old.spec?.taints) !== JSON.stringify(node.spec?.taints) ||
    old.spec?.unschedulable !== node.spec?.unschedulable ||
    conditions(old) !== conditions(node)
  )
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms)
    function done(): void {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
