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
export type { ViolationKind } from './sim-checker.js'
export { chainHash, entryDigest, SimChecker, SimViolation } from './sim-checker.js'
export type { ClientStats, Proposal, ProposalStatus } from './sim-clients.js'
export { SimClients } from './sim-clients.js'
export type { StateMachineImage } from './sim-member.js'
export { decodeImage, encodeImage, SimMember } from './sim-member.js'
export type { DropReason, Envelope, NetworkFaults } from './sim-network.js'
export { SimNetwork } from './sim-network.js'
export type { SimOptions } from './sim-options.js'
export {
  deriveOptions,
  describeOptions,
  ELECTION_TICKS,
  LIVENESS_CONVERGE_TICKS_MAX,
  LIVENESS_LEADER_TICKS_MAX,
  LIVENESS_LEADER_TICKS_MAX_WITHOUT_PREVOTE,
  leaderElectionBoundTicks,
  parseSeed,
  replayCommand,
  UNITS_PER_TICK,
} from './sim-options.js'
export type { RegressionSeed } from './sim-regressions.js'
export { SIM_REGRESSION_SEEDS } from './sim-regressions.js'
export type { SweepSummary } from './sim-sweep.js'
export {
  describeLivenessBounds,
  findViolation,
  formatFailures,
  formatRun,
  runSweep,
  shardSeeds,
} from './sim-sweep.js'
export type { SimHooks, SimResult, SimRunOptions, SimStats } from './simulation.js'
export { runSimulation, Simulation } from './simulation.js'
