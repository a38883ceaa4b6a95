/** @hakube/cli: the `hakube` command (main.ts) and its pure parts, for tests and for deploy/. */
export const CLI_NAME = 'hakube'
export { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from './backoff.js'
export { type ComponentSpec, componentSpecs, componentsOf, type NodeConfig } from './components.js'
export { type ClusterPlan, checkCounts, type HostPlan, planCluster, quorumOf, type Role } from './topology.js'
