/**
 * @hakube/load-balancer: hakube-lb, the load balancer on 6443 in front of the api-servers.
 *
 * Guarantees (http mode):
 * - A request whose connection to a backend could not be made goes to another backend.
 * - An idempotent request (GET, HEAD, OPTIONS; a watch opens with GET) that failed before any response
 *   byte reached its client goes to another backend: clients see no error when one api-server dies.
 * - A request that is not idempotent is never replayed once it may have reached a backend; if that
 *   backend fails before answering, its client gets a 502 Kubernetes Status naming the backend.
 * - No backend up: 503 Status `no healthy api-server behind the load balancer`; service resumes by
 *   itself when a backend passes `rise` checks again.
 * - Responses stream with no proxy timeout; when a backend dies or hangs (health check timeout) the
 *   streams it serves end at once: a watch ends cleanly (informers re-list), any other response by a
 *   cut connection, never a silent truncation.
 *
 * Not guaranteed:
 * - A request with a body over 64 KiB is streamed, not held, so it is never retried, even when the
 *   connection to its backend could not be made.
 * - A non-idempotent request on a reused keep-alive connection that the backend closes just as the
 *   request is sent gets a 502 (it may have been read), as Go's transport decides.
 * - TCP mode retries only the connection; after that bytes are piped and a backend's death closes
 *   the client's connection.
 * - With --workers above 1, a worker's counts since the last stats request are lost if it crashes, and
 *   the kernel, not round robin, spreads connections over the workers (each balances its own).
 */
export {
  Backend,
  BackendPool,
  type BackendPoolOptions,
  type BackendStats,
  type InFlight,
  type PoolUpdate,
} from './backend-pool.js'
export {
  type BackendHealth,
  type BackendState,
  initialBackendState,
  observeCheck,
  observePassiveFailure,
  type Thresholds,
  type Transition,
} from './backend-state.js'
export { type Candidate, type Choice, chooseBackend } from './balancer.js'
export {
  aggregateStats,
  applySnapshot,
  type BackendSnapshot,
  retire,
  snapshotPool,
  sumCounters,
  type ToPrimary,
  type ToWorker,
  type WorkerReport,
  workerReport,
} from './cluster-protocol.js'
export {
  type BalanceAlgorithm,
  helpText,
  LB_FLAGS,
  LB_VERSION,
  type LbConfig,
  type LbFlagsResult,
  parseLbFlags,
} from './config.js'
export { endpointsToUrls, type Follower, type FollowOptions, followEndpoints } from './endpoints-follower.js'
export {
  backendFailedStatus,
  failureStatus,
  type LbErrorCode,
  NO_HEALTHY_BACKEND_MESSAGE,
  noHealthyBackendStatus,
} from './errors.js'
export { type CheckResult, checkOnce, HealthChecker, type HealthCheckOptions } from './health-checker.js'
export {
  HttpBalancer,
  type HttpBalancerOptions,
  isWatchRequest,
  type ProxyCounters,
} from './http-balancer.js'
export { type ListeningPorts, LoadBalancer } from './load-balancer.js'
export { type HeldBody, holdBody, MAX_REPLAY_BODY_BYTES } from './request-body.js'
export {
  decideRetry,
  type FailedAttempt,
  type FailureStage,
  isIdempotent,
  type RetryDecision,
} from './retry-policy.js'
export {
  type BalancerCounters,
  createStatsServer,
  metricsRegistry,
  type StatsBody,
  type StatsSource,
  statsBody,
  type WorkerStats,
} from './stats-server.js'
export { TcpBalancer, type TcpBalancerOptions } from './tcp-balancer.js'
