/**
 * @hakube/scheduler: kube-scheduler's default profile, reduced to what hakube's objects carry.
 *
 * - `SchedulingQueue`, `SchedulerCache`, `compilePod`/`filterNode`, `schedulePod`: the pure core
 *   (no sockets, no timers, time and randomness passed in): queue order and backoff, the node cache
 *   with assumed pods, the filters (cordon, taints and tolerations with the not-ready/unreachable
 *   taint of unready nodes, nodeSelector and required node affinity, resources and pod count), the
 *   scores (least allocated, spreading one controller's pods) and kube's FitError message.
 * - `Scheduler`: the driver over the api-server (informers, binding, status and Events); it acts
 *   only inside `runLeading(signal)`.
 *
 * Non-guarantees: no preemption, no inter-pod affinity, topology spread, host ports or volumes;
 * one profile (`default-scheduler`).
 */
export {
  fitErrorMessage,
  leastAllocatedScore,
  MAX_NODE_SCORE,
  numFeasibleNodesToFind,
  type ScheduleResult,
  type Scheduling,
  schedulePod,
  selectHost,
} from './algorithm.js'
export {
  type CachedPod,
  controllerOwnerUid,
  isTerminal,
  NodeInfo,
  podKey,
  SchedulerCache,
  schedulingTaints,
  TAINT_NODE_NOT_READY,
  TAINT_NODE_UNREACHABLE,
  TAINT_NODE_UNSCHEDULABLE,
} from './cache.js'
export {
  compilePod,
  type FilterResult,
  filterNode,
  insufficientResources,
  matchesNodeAffinity,
  type PodInfo,
  REASON_AFFINITY,
  REASON_TOO_MANY_PODS,
  REASON_UNSCHEDULABLE,
  reasonInsufficient,
  reasonUntoleratedTaint,
  toleratesTaint,
} from './filters.js'
export { SchedulerMetrics } from './metrics.js'
export {
  DEFAULT_MEMORY_REQUEST,
  DEFAULT_MILLI_CPU_REQUEST,
  milliValue,
  type NonZeroRequests,
  nonZeroRequests,
  podRequests,
  type Resources,
  wholeValue,
} from './resources.js'
export { DEFAULT_SCHEDULER_NAME, Scheduler, type SchedulerOptions } from './scheduler.js'
export { type QueuedPod, type QueueOptions, SchedulingQueue } from './scheduling-queue.js'
