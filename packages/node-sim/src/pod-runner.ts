/**
 * Runs the pods bound to the simulated nodes, as the kubelet's pod workers and status manager do:
 * one informer for every bound pod (`spec.nodeName!=`, filtered here to our nodes: one watch however
 * many nodes), the pure state machine (pod-state.ts) per pod, its status written with a merge patch
 * of `pods/NAME/status` whenever it differs from what was last written, one write per pod at a time,
 * failures retried with backoff. A pod being deleted has its containers stopped, its final status
 * written, then is deleted with grace period 0 and a uid precondition (the kubelet's last step).
 *
 * A failed node's pods are left as they are: its kubelet hears nothing (new pods bound to it stay
 * Pending, changes and deletions wait) and writes nothing until the node recovers, when it catches up
 * from the informer's cache. While the api-servers are unreachable the pods go on in
 * memory; the informer relists when they return and every changed status is written then. After a
 * restart of the simulator, pods already running are adopted from their status (start times,
 * restarts, pod IP), not started over. A pod whose readiness someone else changed (the node
 * lifecycle controller marks a lost node's pods not Ready) gets its status written again, as the
 * kubelet's status manager reconciles with the api-server.
 */
import {
  type ApiClient,
  Informer,
  isDeletedFinalStateUnknown,
  isNotFound,
  type KubeObject,
  objectKey,
} from '@hakube/api'
import type { Logger } from 'pino'
import type { PodIpAllocator } from './node-object.js'
import {
  acceptPod,
  advancePod,
  isTerminal,
  nextEventMs,
  type PodFacts,
  type PodSim,
  type PodTimings,
  podFacts,
  podStatus,
} from './pod-state.js'
import type { RequestPool } from './request-pool.js'
import type { Scheduler } from './scheduler.js'

const PODS = { group: '', version: 'v1', plural: 'pods', namespaced: true }
const RETRY_MS_INITIAL = 500
const RETRY_MS_MAX = 10_000

export interface PodObject extends KubeObject {
  metadata?: KubeObject['metadata'] & {
    ownerReferences?: { kind?: string; apiVersion?: string }[]
    deletionGracePeriodSeconds?: number
  }
  spec?: { nodeName?: string; containers?: { name?: string; image?: string }[]; restartPolicy?: string }
  status?: Record<string, unknown>
}

/** What the runner needs to know about the simulated nodes. */
export interface NodeDirectory {
  /** The node's address and pod IP allocator, or undefined when it is not ours. */
  node(name: string): { address: string; ips: PodIpAllocator } | undefined
  isHeartbeating(name: string): boolean
}

/** The status of a pod status's Ready condition ('' when it has none). */
function readyOf(status: unknown): string {
  const conditions = (status as { conditions?: unknown } | undefined)?.conditions
  if (!Array.isArray(conditions)) return ''
  const ready = conditions.find((c) => (c as { type?: unknown })?.type === 'Ready') as
    | { status?: unknown }
    | undefined
  return typeof ready?.status === 'string' ? ready.status : ''
}

export interface PodRunnerOptions extends PodTimings {
  readonly jobRunTimeMs: number
}

interface PodEntry {
  readonly key: string
  readonly uid: string
  readonly node: string
  pod: PodObject
  facts: PodFacts
  sim: PodSim
  podIP: string | undefined
  lastWritten: string | undefined
  /** The phase of the last status written. */
  writtenPhase: string | undefined
  /** The Ready condition's status in the last status written, and the resourceVersion it made. */
  writtenReady: string | undefined
  writtenRV: number | undefined
  writing: boolean
  again: boolean
  retries: number
  deleteSent: boolean
  scheduledMs: number | undefined
  gone: boolean
}

export interface PodView {
  readonly pod: PodObject
  readonly node: string
  readonly facts: PodFacts
  readonly sim: PodSim
  readonly status: Record<string, unknown>
}

export class PodRunner {
  private readonly entries = new Map<string, PodEntry>()
  readonly informer: Informer<PodObject>
  private stopped = false

  constructor(
    private readonly client: ApiClient,
    private readonly nodes: NodeDirectory,
    private readonly pool: RequestPool,
    private readonly scheduler: Scheduler,
    private readonly opts: PodRunnerOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    fieldSelector = 'spec.nodeName!=',
  ) {
    this.informer = new Informer<PodObject>(client.resource<PodObject>(PODS), {
      fieldSelector,
      onError: (err) => log.warn({ err: errText(err) }, 'pod list/watch failed'),
    })
    this.informer.addEventHandler({
      onAdd: (pod) => this.upsert(pod),
      onUpdate: (_old, pod) => this.upsert(pod),
      onDelete: (pod) => this.remove(isDeletedFinalStateUnknown(pod) ? pod.obj : pod),
    })
  }

  start(): void {
    this.informer.start()
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.informer.stop()
  }

  /** Pods on `node` (or on every node). */
  count(node?: string): number {
    if (node === undefined) return this.entries.size
    let n = 0
    for (const e of this.entries.values()) if (e.node === node) n++
    return n
  }

  /** Pods whose Running status has been written. */
  runningWritten(): number {
    let n = 0
    for (const e of this.entries.values()) if (e.writtenPhase === 'Running') n++
    return n
  }

  countsByNode(): Map<string, number> {
    const out = new Map<string, number>()
    for (const e of this.entries.values()) out.set(e.node, (out.get(e.node) ?? 0) + 1)
    return out
  }

  /** The pod as the node sees it now (its state advanced to `now`). */
  view(namespace: string, name: string): PodView | undefined {
    const e = this.entries.get(`${namespace}/${name}`)
    if (e === undefined) return undefined
    const sim = advancePod(e.sim, e.facts, this.now(), this.opts)
    return { pod: e.pod, node: e.node, facts: e.facts, sim, status: this.statusOf(e, sim) }
  }

  views(): PodView[] {
    return [...this.entries.values()].map((e) => this.view(e.facts.namespace, e.facts.name) as PodView)
  }

  /**
   * After the node recovered: catches up with what it missed while it heard nothing (pods bound,
   * changed or deleted meanwhile, from the informer's cache) and writes what is pending.
   */
  resyncNode(node: string): void {
    const cached = new Map<string, PodObject>()
    for (const pod of this.informer.list()) if (pod.spec?.nodeName === node) cached.set(objectKey(pod), pod)
    for (const e of [...this.entries.values()])
      if (e.node === node && cached.get(e.key)?.metadata?.uid !== e.uid) this.forget(e)
    for (const pod of cached.values()) this.upsert(pod)
  }

  private upsert(pod: PodObject): void {
    const node = pod.spec?.nodeName ?? ''
    const dir = this.nodes.node(node)
    // A failed node's kubelet hears nothing from the api-server: resyncNode catches up on recovery.
    if (dir !== undefined && !this.nodes.isHeartbeating(node)) return
    const key = objectKey(pod)
    const uid = pod.metadata?.uid ?? ''
    let e = this.entries.get(key)
    if (e !== undefined && e.uid !== uid) {
      this.forget(e)
      e = undefined
    }
    if (dir === undefined) return
    const facts = podFacts(pod, this.opts.jobRunTimeMs)
    if (e === undefined) {
      const adopted = adoptPod(pod.status, this.now(), this.opts)
      let podIP = typeof pod.status?.['podIP'] === 'string' ? (pod.status['podIP'] as string) : undefined
      if (podIP !== undefined && !dir.ips.claim(podIP)) podIP = undefined
      e = {
        key,
        uid,
        node,
        pod,
        facts,
        sim: adopted ?? acceptPod(this.now(), this.opts),
        podIP,
        lastWritten: undefined,
        writtenPhase: undefined,
        writtenReady: undefined,
        writtenRV: undefined,
        writing: false,
        again: false,
        retries: 0,
        deleteSent: false,
        scheduledMs: undefined,
        gone: false,
      }
      this.entries.set(key, e)
    }
    // The status manager's reconcile: someone else changed the pod's readiness since our last write
    // (the node lifecycle controller marks a lost node's pods not Ready): write ours again.
    if (e.writtenReady !== undefined && readyOf(pod.status) !== e.writtenReady) {
      const rv = Number(pod.metadata?.resourceVersion)
      if (e.writtenRV === undefined || !Number.isFinite(rv) || rv > e.writtenRV) e.lastWritten = undefined
    }
    e.pod = pod
    e.facts = facts
    this.sync(e)
  }

  private remove(pod: PodObject): void {
    const e = this.entries.get(objectKey(pod))
    if (e !== undefined && e.uid === (pod.metadata?.uid ?? '') && this.nodes.isHeartbeating(e.node))
      this.forget(e)
  }

  private forget(e: PodEntry): void {
    e.gone = true
    this.entries.delete(e.key)
    if (e.podIP !== undefined) this.nodes.node(e.node)?.ips.release(e.podIP)
  }

  private statusOf(e: PodEntry, sim: PodSim): Record<string, unknown> {
    const address = this.nodes.node(e.node)?.address ?? ''
    return podStatus(sim, e.facts, {
      hostIP: address,
      podIP: sim.runStartMs !== undefined || isTerminal(sim.phase) ? e.podIP : undefined,
    })
  }

  private sync(e: PodEntry): void {
    if (e.gone || this.stopped) return
    const now = this.now()
    e.sim = advancePod(e.sim, e.facts, now, this.opts)
    if (e.sim.runStartMs !== undefined && e.podIP === undefined)
      e.podIP = this.nodes.node(e.node)?.ips.allocate()
    this.scheduleNext(e)
    if (!this.nodes.isHeartbeating(e.node)) return
    if (e.writing) {
      e.again = true
      return
    }
    const status = this.statusOf(e, e.sim)
    const text = JSON.stringify(status)
    const deletable = e.facts.deleting && (isTerminal(e.sim.phase) || e.sim.runStartMs === undefined)
    const neverRan =
      e.sim.runStartMs === undefined && e.sim.lastTermination === undefined && !isTerminal(e.sim.phase)
    const needWrite = text !== e.lastWritten && !(deletable && neverRan)
    if (!needWrite && !(deletable && !e.deleteSent)) return
    e.writing = true
    const pods = this.client.resource<PodObject>(PODS).namespace(e.facts.namespace)
    this.pool
      .submit('pods', async () => {
        if (e.gone) return
        if (needWrite) {
          const written = await pods.patch(e.facts.name, { status }, 'merge', { subresource: 'status' })
          e.lastWritten = text
          e.writtenPhase = String(status['phase'])
          e.writtenReady = readyOf(status)
          const rv = Number(written?.metadata?.resourceVersion)
          e.writtenRV = Number.isFinite(rv) ? rv : undefined
        }
        if (deletable && !e.deleteSent) {
          await pods.delete(e.facts.name, { gracePeriodSeconds: 0, preconditions: { uid: e.uid } })
          e.deleteSent = true
          this.log.debug({ pod: e.key }, 'pod deleted after its containers stopped')
        }
      })
      .then(
        () => {
          e.writing = false
          e.retries = 0
          if (e.again) {
            e.again = false
            this.sync(e)
          }
        },
        (err: unknown) => {
          e.writing = false
          e.again = false
          if (isNotFound(err) || e.gone) return
          const wait = Math.min(RETRY_MS_MAX, RETRY_MS_INITIAL * 2 ** Math.min(e.retries++, 10))
          this.log.warn({ pod: e.key, err: errText(err), retryMs: wait }, 'pod status update failed')
          this.scheduler.at(this.now() + wait, () => this.sync(e))
        },
      )
  }

  private scheduleNext(e: PodEntry): void {
    const next = nextEventMs(e.sim, e.facts)
    if (next === undefined || next === e.scheduledMs) return
    e.scheduledMs = next
    this.scheduler.at(next, () => {
      if (e.scheduledMs === next) e.scheduledMs = undefined
      this.sync(e)
    })
  }
}

const ms = (v: unknown): number | undefined => {
  if (typeof v !== 'string') return undefined
  const t = Date.parse(v)
  return Number.isNaN(t) ? undefined : t
}

/**
 * A pod's simulated state rebuilt from the status a node (maybe this one before a restart) wrote:
 * running containers keep their start time and restart count; terminal pods stay terminal. Undefined
 * when there is nothing to adopt (no status yet, or still Pending).
 */
export function adoptPod(
  status: Record<string, unknown> | undefined,
  nowMs: number,
  t: PodTimings,
): PodSim | undefined {
  if (status === undefined) return undefined
  const phase = status['phase']
  const startMs = ms(status['startTime'])
  const cs = Array.isArray(status['containerStatuses'])
    ? (status['containerStatuses'][0] as ContainerStatusJson)
    : undefined
  if (startMs === undefined || cs === undefined) return undefined
  const restartCount = typeof cs['restartCount'] === 'number' ? cs['restartCount'] : 0
  const base = acceptPod(startMs, t)
  const term = (x: Record<string, unknown> | undefined) => {
    if (x === undefined) return undefined
    const code = typeof x['exitCode'] === 'number' ? x['exitCode'] : 0
    return {
      exitCode: code,
      reason: code === 0 ? ('Completed' as const) : ('Error' as const),
      startedMs: ms(x['startedAt']) ?? startMs,
      finishedMs: ms(x['finishedAt']) ?? nowMs,
    }
  }
  const lastTermination = term(cs['lastState']?.['terminated'])
  if (phase === 'Succeeded' || phase === 'Failed') {
    const terminated = term(cs['state']?.['terminated']) ?? {
      exitCode: 0,
      reason: 'Completed' as const,
      startedMs: startMs,
      finishedMs: nowMs,
    }
    return { ...base, phase, waiting: undefined, restartCount, lastTermination, terminated }
  }
  const runStart = ms(cs['state']?.['running']?.['startedAt'])
  if (phase === 'Running' && runStart !== undefined)
    return {
      ...base,
      phase: 'Running',
      waiting: undefined,
      runStartMs: runStart,
      restartCount,
      lastTermination,
    }
  if (phase === 'Running' && cs['state']?.['waiting']?.['reason'] === 'CrashLoopBackOff')
    return {
      ...base,
      phase: 'Running',
      waiting: { reason: 'CrashLoopBackOff', untilMs: nowMs },
      restartCount,
      lastTermination,
    }
  return undefined
}

interface ContainerStatusJson {
  restartCount?: unknown
  state?: {
    running?: { startedAt?: unknown }
    waiting?: { reason?: unknown }
    terminated?: Record<string, unknown>
  }
  lastState?: { terminated?: Record<string, unknown> }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
