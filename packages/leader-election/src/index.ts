/**
 * @hakube/leader-election: client-go's leader election (tools/leaderelection) for hakube's
 * scheduler and controller-manager. The record lives in the `control-plane.alpha.kubernetes.io/leader`
 * annotation of an Endpoints object (`endpoints`), a coordination.k8s.io/v1 Lease (`leases`), or
 * both (`endpointsleases`, client-go's MultiLock).
 *
 * API:
 * ```ts
 * type ResourceLockKind = 'endpoints' | 'leases' | 'endpointsleases'
 * interface LeaderElectionRecord { holderIdentity; leaseDurationSeconds; acquireTime; renewTime; leaderTransitions }
 * interface LeaderCallbacks {
 *   onStartedLeading(signal: AbortSignal): void | Promise<void> // signal aborts when leadership ends
 *   onStoppedLeading(): void                                    // only if this instance led
 *   onNewLeader?(identity: string): void
 * }
 * interface LeaderElectionConfig {
 *   client: ApiClient; lock: ResourceLockKind; name; namespace; identity
 *   leaseDurationMs; renewDeadlineMs; retryPeriodMs; releaseOnCancel?: boolean (true)
 *   callbacks: LeaderCallbacks; clock?: Clock; random?: () => number; logger?: pino.Logger
 *   eventSource?: string; healthzToleranceMs?: number (20 000)
 * }
 * class LeaderElector {
 *   run(signal): Promise<void> // resolves once leadership is lost (exit non-zero) or after signal aborts (released first)
 *   isLeader(): boolean; getLeader(): string; healthz(): { ok: true } | { ok: false; reason }
 * }
 * leaderElectionFlags(resourceName)   // { leaderElect, leaseDuration, renewDeadline, retryPeriod,
 *                                     //   resourceLock, resourceName, resourceNamespace } for parseFlags
 * leaderElectionOptions(values)       // { ok: true, options } | { ok: false, error } (exit 2)
 * defaultIdentity()                   // `${HAKUBE_HOSTNAME || hostname}_${uuid}`
 * ```
 * The flags part is also at `@hakube/leader-election/flags`, which loads no zod (for main.ts).
 *
 * Guarantees (with every clock running at the same rate; offsets do not matter): a candidate
 * takes over only after the record stayed unchanged for its leaseDurationSeconds by its own clock,
 * or when the holder is empty; a leader's leading signal aborts no later than renewDeadline after
 * it *sent* its last successful renewal, before anyone else can take over (leaseDuration after
 * observing that renewal); writes carry the cached resourceVersion (409: someone else won); each
 * lock call times out after max(1 s, renewDeadline/2).
 * Not guaranteed (as client-go): clocks whose rates differ by about leaseDuration/renewDeadline or
 * more; a process paused across its deadline (it stops at its next tick once resumed: work already
 * queued may overlap a successor; the pause tolerated is leaseDuration − renewDeadline); fencing
 * of the leader's other writes. See election-core.ts.
 */
export {
  type ComponentContext,
  type ElectedComponentOptions,
  type ElectedWork,
  runElectedComponent,
} from './component.js'
export {
  ElectionCore,
  type ElectionCoreConfig,
  type ElectionEvent,
  JITTER_FACTOR,
  jitter,
  type LockRead,
  type Phase,
  type Step,
  validateTimings,
  type WriteOutcome,
} from './election-core.js'
export { type LeaderCallbacks, type LeaderElectionConfig, LeaderElector } from './elector.js'
export {
  defaultIdentity,
  type LeaderElectionFlagDefs,
  type LeaderElectionFlagValues,
  type LeaderElectionOptions,
  leaderElectionFlags,
  leaderElectionOptions,
  RESOURCE_LOCK_KINDS,
  type ResourceLockKind,
} from './flags.js'
export {
  EndpointsLock,
  type EventOptions,
  LeaseLock,
  type LockIdentity,
  MultiLock,
  newResourceLock,
  type ResourceLock,
} from './locks.js'
export {
  decodeRecord,
  encodeRecord,
  formatMicroTime,
  formatTime,
  LEADER_ANNOTATION,
  type LeaderElectionRecord,
  leaseSpecFromRecord,
  recordFromLeaseSpec,
  UNKNOWN_LEADER,
} from './record.js'
