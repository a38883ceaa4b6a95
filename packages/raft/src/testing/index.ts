/**
 * @hakube/raft/testing — harnesses shared by the raft package's tests, the simulation and the benchmark,
 * and reusable by other packages: an in-process cluster and a fault-injecting deterministic simulation.
 */
export type { RaftBenchOptions, RaftBenchResult } from './bench.js'
export { runRaftBench } from './bench.js'
export type { InteractionBlock } from './interaction.js'
export { InteractionEnv, parseScript, rewriteScript } from './interaction.js'
export { MemoryCluster, MemoryMember } from './memory-cluster.js'
export type { Delivery, MessageFilter, TestRaftOptions } from './network.js'
export {
  appliedData,
  ConfiguredStorage,
  newTestRawNode,
  storageWithLog,
  TestMember,
  TestNetwork,
} from './network.js'
