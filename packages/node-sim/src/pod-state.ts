/**
 * The simulated kubelet's pod state machine, pure: the clock comes in as `nowMs`, nothing here does
 * I/O. A pod bound to a simulated node goes
 *
 *   Pending (containers waiting, ContainerCreating) --pod-start-delay--> Running (ready)
 *   Running --run time--> containers exit with the exit code, then per restartPolicy (the kubelet's
 *     rule): Always, or OnFailure with a non-zero code, restarts them (restartCount + 1; the first
 *     restart at once, then CrashLoopBackOff waits of crash-backoff doubling up to crash-backoff-max);
 *     otherwise the pod ends Succeeded (every exit code 0) or Failed.
 *   deletion requested --> running containers stop (exit 0, Completed) and the pod turns terminal;
 *     the runner then deletes it with grace 0.
 *
 * The run time of a pod's containers: annotation `hakube.io/crash-after` (exit code 1 unless
 * `hakube.io/exit-code` says otherwise), else `hakube.io/run-time` (exit code 0 unless
 * `hakube.io/exit-code`), else, for a Job's pod (an owner of kind Job or the `batch.kubernetes.io/
 * job-name` label), `--job-run-time`; without one the containers run until the pod is deleted. Every
 * container of a pod behaves alike. Init containers complete at once when the pod starts.
 */

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed'

/** What the state machine reads from a pod (see `podFacts`). */
export interface PodFacts {
  readonly uid: string
  readonly namespace: string
  readonly name: string
  readonly containers: readonly { readonly name: string; readonly image: string }[]
  readonly initContainers: readonly { readonly name: string; readonly image: string }[]
  readonly restartPolicy: 'Always' | 'OnFailure' | 'Never'
  /** Containers exit after this long (undefined: they run until deleted). */
  readonly runTimeMs: number | undefined
  readonly exitCode: number
  readonly qosClass: 'Guaranteed' | 'Burstable' | 'BestEffort'
  readonly deleting: boolean
}

export interface Termination {
  readonly exitCode: number
  readonly reason: 'Completed' | 'Error'
  readonly startedMs: number
  readonly finishedMs: number
}

/** The simulated state of one pod; replaced, never mutated. */
export interface PodSim {
  readonly phase: PodPhase
  /** When the node accepted the pod (its startTime). */
  readonly acceptedMs: number
  /** Start of the containers' current run, while they run. */
  readonly runStartMs: number | undefined
  /** Containers wait (ContainerCreating, then CrashLoopBackOff between restarts) until this time. */
  readonly waiting:
    | { readonly reason: 'ContainerCreating' | 'CrashLoopBackOff'; readonly untilMs: number }
    | undefined
  readonly restartCount: number
  readonly lastTermination: Termination | undefined
  /** The final termination of a terminal pod. */
  readonly terminated: Termination | undefined
}

export interface PodTimings {
  readonly podStartDelayMs: number
  readonly crashBackoffMs: number
  readonly crashBackoffMsMax: number
}

export const ANNOTATION_RUN_TIME = 'hakube.io/run-time'
export const ANNOTATION_CRASH_AFTER = 'hakube.io/crash-after'
export const ANNOTATION_EXIT_CODE = 'hakube.io/exit-code'

export function isTerminal(phase: PodPhase): boolean {
  return phase === 'Succeeded' || phase === 'Failed'
}

/** A pod the node has just accepted. */
export function acceptPod(nowMs: number, t: PodTimings): PodSim {
  return {
    phase: 'Pending',
    acceptedMs: nowMs,
    runStartMs: undefined,
    waiting: { reason: 'ContainerCreating', untilMs: nowMs + t.podStartDelayMs },
    restartCount: 0,
    lastTermination: undefined,
    terminated: undefined,
  }
}

/** The restart delay after `restartCount` restarts (the first restart waits nothing). */
export function restartDelayMs(restartCount: number, t: PodTimings): number {
  if (restartCount <= 1) return 0
  return Math.min(t.crashBackoffMsMax, t.crashBackoffMs * 2 ** Math.min(restartCount - 2, 30))
}

/** When the state changes next by itself (undefined: never, until deleted). */
export function nextEventMs(sim: PodSim, facts: PodFacts): number | undefined {
  if (isTerminal(sim.phase)) return undefined
  if (sim.waiting !== undefined) return sim.waiting.untilMs
  if (sim.runStartMs !== undefined && facts.runTimeMs !== undefined) return sim.runStartMs + facts.runTimeMs
  return undefined
}

/** Applies every transition due at `nowMs`, then deletion if requested. */
export function advancePod(sim: PodSim, facts: PodFacts, nowMs: number, t: PodTimings): PodSim {
  for (let guard = 0; guard < 10_000; guard++) {
    const due = nextEventMs(sim, facts)
    if (due === undefined || due > nowMs) break
    sim = stepOnce(sim, facts, due, t)
  }
  return facts.deleting ? killPod(sim, nowMs) : sim
}

function stepOnce(sim: PodSim, facts: PodFacts, atMs: number, t: PodTimings): PodSim {
  if (sim.waiting !== undefined)
    return { ...sim, phase: 'Running', waiting: undefined, runStartMs: sim.waiting.untilMs }
  const started = sim.runStartMs ?? atMs
  const term: Termination = {
    exitCode: facts.exitCode,
    reason: facts.exitCode === 0 ? 'Completed' : 'Error',
    startedMs: started,
    finishedMs: atMs,
  }
  const restart =
    facts.restartPolicy === 'Always' || (facts.restartPolicy === 'OnFailure' && facts.exitCode !== 0)
  if (!restart)
    return {
      ...sim,
      phase: facts.exitCode === 0 ? 'Succeeded' : 'Failed',
      runStartMs: undefined,
      terminated: term,
    }
  const restartCount = sim.restartCount + 1
  const delay = restartDelayMs(restartCount, t)
  return {
    ...sim,
    restartCount,
    lastTermination: term,
    runStartMs: delay === 0 ? atMs : undefined,
    waiting: delay === 0 ? undefined : { reason: 'CrashLoopBackOff', untilMs: atMs + delay },
  }
}

/** Deletion: the containers stop at once (exit 0). A pod whose containers never ran stays as it is. */
export function killPod(sim: PodSim, nowMs: number): PodSim {
  if (isTerminal(sim.phase)) return sim
  if (sim.runStartMs === undefined) {
    if (sim.lastTermination === undefined) return sim
    return { ...sim, phase: 'Failed', waiting: undefined, terminated: sim.lastTermination }
  }
  const term: Termination = { exitCode: 0, reason: 'Completed', startedMs: sim.runStartMs, finishedMs: nowMs }
  return { ...sim, phase: 'Succeeded', runStartMs: undefined, waiting: undefined, terminated: term }
}

/** Kubernetes `metav1.Time`: RFC 3339 in seconds. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

export interface StatusContext {
  readonly hostIP: string
  /** Assigned once the pod runs (the sandbox exists). */
  readonly podIP: string | undefined
}

type Json = Record<string, unknown>

function stateOf(sim: PodSim): Json {
  if (sim.terminated !== undefined) return { terminated: terminationJson(sim.terminated) }
  if (sim.runStartMs !== undefined) return { running: { startedAt: formatTime(sim.runStartMs) } }
  const reason = sim.waiting?.reason ?? 'ContainerCreating'
  if (reason === 'CrashLoopBackOff')
    return { waiting: { reason, message: 'back-off restarting failed container' } }
  return { waiting: { reason } }
}

function terminationJson(t: Termination): Json {
  return {
    exitCode: t.exitCode,
    reason: t.reason,
    startedAt: formatTime(t.startedMs),
    finishedAt: formatTime(t.finishedMs),
  }
}

function condition(type: string, ok: boolean, atMs: number, reason?: string, message?: string): Json {
  return {
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: formatTime(atMs),
    ...(reason !== undefined && { reason }),
    ...(message !== undefined && { message }),
  }
}

/** The pod's `status` for this state, as the kubelet posts it. */
export function podStatus(sim: PodSim, facts: PodFacts, ctx: StatusContext): Json {
  const running = sim.runStartMs !== undefined
  const names = facts.containers.map((c) => c.name)
  const changedMs =
    sim.terminated?.finishedMs ?? sim.runStartMs ?? sim.lastTermination?.finishedMs ?? sim.acceptedMs
  const notReadyReason = sim.terminated !== undefined ? 'PodCompleted' : 'ContainersNotReady'
  const notReadyMessage =
    sim.terminated !== undefined ? undefined : `containers with unready status: [${names.join(' ')}]`
  const started =
    sim.runStartMs !== undefined || sim.lastTermination !== undefined || sim.terminated !== undefined
  const conditions = [
    condition('PodReadyToStartContainers', started || running, sim.acceptedMs),
    condition('Initialized', true, sim.acceptedMs),
    running
      ? condition('Ready', true, changedMs)
      : condition('Ready', false, changedMs, notReadyReason, notReadyMessage),
    running
      ? condition('ContainersReady', true, changedMs)
      : condition('ContainersReady', false, changedMs, notReadyReason, notReadyMessage),
    condition('PodScheduled', true, sim.acceptedMs),
  ]
  const state = stateOf(sim)
  const containerStatuses = facts.containers.map((c) => ({
    name: c.name,
    image: c.image,
    imageID: '',
    ...(started && { containerID: `hakube://${facts.uid}/${c.name}/${sim.restartCount}` }),
    ready: running,
    started: running,
    restartCount: sim.restartCount,
    state,
    lastState: sim.lastTermination === undefined ? {} : { terminated: terminationJson(sim.lastTermination) },
  }))
  const status: Json = {
    phase: sim.phase,
    conditions,
    hostIP: ctx.hostIP,
    hostIPs: [{ ip: ctx.hostIP }],
    startTime: formatTime(sim.acceptedMs),
    containerStatuses,
    qosClass: facts.qosClass,
  }
  if (ctx.podIP !== undefined) {
    status['podIP'] = ctx.podIP
    status['podIPs'] = [{ ip: ctx.podIP }]
  }
  if (facts.initContainers.length > 0)
    status['initContainerStatuses'] = facts.initContainers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: true,
      started: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode: 0,
          reason: 'Completed',
          startedAt: formatTime(sim.acceptedMs),
          finishedAt: formatTime(sim.acceptedMs),
        },
      },
      lastState: {},
    }))
  return status
}

/** A Go duration such as `30s`, `1m30s`, `500ms` (only what annotations need), or undefined. */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g
  let total = 0
  let consumed = 0
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) return undefined
    consumed += m[0].length
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms']
  }
  return consumed === text.length && consumed > 0 ? total : undefined
}

interface PodLike {
  metadata?: {
    uid?: string
    name?: string
    namespace?: string
    annotations?: Record<string, string>
    labels?: Record<string, string>
    ownerReferences?: { kind?: string; apiVersion?: string }[]
    deletionTimestamp?: string
  }
  spec?: {
    containers?: ContainerLike[]
    initContainers?: ContainerLike[]
    restartPolicy?: string
  }
}

interface ContainerLike {
  name?: string
  image?: string
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> }
}

/** Kubernetes' QoS class (pkg/apis/core/v1/helper/qos): cpu and memory requests and limits. */
export function qosClassOf(containers: readonly ContainerLike[]): PodFacts['qosClass'] {
  let any = false
  let guaranteed = true
  for (const c of containers) {
    const req = c.resources?.requests ?? {}
    const lim = c.resources?.limits ?? {}
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true
      const l = lim[r]
      const q = req[r] ?? l
      if (l === undefined || String(q) !== String(l)) guaranteed = false
    }
  }
  if (!any) return 'BestEffort'
  return guaranteed ? 'Guaranteed' : 'Burstable'
}

/** What the state machine needs from a pod object. */
export function podFacts(pod: PodLike, jobRunTimeMs: number): PodFacts {
  const m = pod.metadata ?? {}
  const a = m.annotations ?? {}
  const isJob =
    (m.ownerReferences ?? []).some((o) => o.kind === 'Job') ||
    m.labels?.['batch.kubernetes.io/job-name'] !== undefined ||
    m.labels?.['job-name'] !== undefined
  const crashAfter = parseDurationMs(a[ANNOTATION_CRASH_AFTER])
  const runTime = parseDurationMs(a[ANNOTATION_RUN_TIME])
  const codeText = a[ANNOTATION_EXIT_CODE]
  const code = codeText !== undefined && /^\d{1,3}$/.test(codeText) ? Number(codeText) : undefined
  let runTimeMs: number | undefined
  let exitCode = code ?? 0
  if (crashAfter !== undefined) {
    runTimeMs = crashAfter
    exitCode = code ?? 1
  } else if (runTime !== undefined) runTimeMs = runTime
  else if (isJob && jobRunTimeMs > 0) runTimeMs = jobRunTimeMs
  const spec = pod.spec ?? {}
  const policy = spec.restartPolicy
  const list = (cs: ContainerLike[] | undefined) =>
    (cs ?? []).map((c) => ({ name: c.name ?? '', image: c.image ?? '' }))
  return {
    uid: m.uid ?? '',
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    containers: list(spec.containers),
    initContainers: list(spec.initContainers),
    restartPolicy: policy === 'Never' || policy === 'OnFailure' ? policy : 'Always',
    runTimeMs: runTimeMs !== undefined && runTimeMs > 0 ? runTimeMs : undefined,
    exitCode,
    qosClass: qosClassOf([...(spec.initContainers ?? []), ...(spec.containers ?? [])]),
    deleting: m.deletionTimestamp !== undefined,
  }
}
