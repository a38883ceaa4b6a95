/**
 * @hakube/node-sim: simulated worker nodes, as KWOK does. `NodeSimulator` registers Nodes, renews
 * their Leases in kube-node-lease and posts their status as the kubelet does, runs the pods bound to
 * them through their phases (pure state machine: pod-state.ts), serves their generated logs over the
 * kubelet's read API, and stops or resumes a node's heartbeat on request (a node failure).
 *
 * Guarantees: one timer and a bounded number of requests in flight however many nodes; nothing is
 * deleted on stop. Non-guarantees: no container runs; resource usage, probes, volumes, images and
 * networking are not simulated; pod IPs are unique among the pods of one process.
 */
export {
  ConfigError,
  helpText,
  KUBELET_VERSION,
  NODE_SIM_VERSION,
  type NodeGroup,
  type NodeSimConfig,
  type NodeSimFlagsResult,
  parseNodeSimFlags,
  type Taint,
} from './config.js'
export { loadNodeGroupsFile, nodeGroupsFromDocument } from './node-groups.js'
export {
  acceptPod,
  advancePod,
  type PodFacts,
  type PodPhase,
  type PodSim,
  type PodTimings,
  podFacts,
  podStatus,
} from './pod-state.js'
export { NodeSimulator, type SimulatorConfig, type SimulatorStats } from './simulator.js'
