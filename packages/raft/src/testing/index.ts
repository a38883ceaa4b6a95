/**
 * @hakube/raft/testing — harnesses shared by the raft package's tests, the simulation and the benchmark,
 * and reusable by other packages: an in-process cluster and a fault-injecting deterministic simulation.
 */
export { MemoryCluster, MemoryMember } from './memory-cluster.js'
