/**
 * @hakube/controller-manager: kube-controller-manager's controllers for hakube, run only while the
 * instance holds the `kube-controller-manager` lock. Built so far: serviceaccount, namespace,
 * garbagecollector, replicaset, deployment, endpoint, nodelifecycle (README lists what each leaves
 * out).
 *
 * Guarantees: every controller is level-triggered (shared informers, a deduplicating rate-limited
 * queue per controller, N workers, requeue with backoff on error); a term's work stops when its
 * signal aborts (requests in flight abort, workers drain) before `runLeading` resolves; every write
 * names the acting instance (field manager `kube-controller-manager/<identity>`, Events'
 * reportingInstance). Non-guarantees: no fencing of a paused leader's in-flight writes beyond what
 * leader election gives (see @hakube/leader-election).
 */
export {
  type Actions,
  ApiActions,
  type DeleteRequest,
  fieldManagerOf,
  type PropagationPolicy,
  type WriteOutcome,
} from './actions.js'
export {
  CONTROLLER_MANAGER_VERSION,
  type ControllerManagerConfig,
  type ControllerName,
  KNOWN_CONTROLLERS,
  parseControllerManagerFlags,
  selectControllers,
} from './config.js'
export { Controller, type ControllerSpec, type SyncResult } from './controller.js'
export { DeploymentController, syncDeployment } from './controllers/deployment.js'
export { computeHash, equalIgnoreHash, resolveFenceposts } from './controllers/deployment-util.js'
export { computeSubsets, EndpointController, syncEndpoints } from './controllers/endpoint.js'
export { GarbageCollector, syncGarbage } from './controllers/garbage-collector.js'
export { NamespaceController, syncNamespace } from './controllers/namespace.js'
export { EvictionLimiter, NodeLifecycleController, syncNode } from './controllers/nodelifecycle.js'
export { BURST_REPLICAS, ReplicaSetController, syncReplicaSet } from './controllers/replicaset.js'
export { ServiceAccountController, syncServiceAccounts } from './controllers/serviceaccount.js'
export { EXPECTATIONS_TIMEOUT_MS, Expectations } from './expectations.js'
export { SharedInformers } from './informers.js'
export { ControllerManager, type ControllerManagerOptions } from './manager.js'
export { ControllerManagerMetrics } from './metrics.js'
