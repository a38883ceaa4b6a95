import type { RaftConfig } from '../config.js'
import type { SeededRandom } from '../rand.js'

/**
 * Parameters of one simulation run. Swarm testing (TigerBeetle's `options_swarm`): apart from the
 * constants below, every parameter is drawn from the run's seed, so across seeds the cluster size, the
 * fault mix and the workload all vary, and some seeds hit rare combinations hard.
 */

/** Logical time units per Raft tick: network latencies are drawn in units, timers count ticks. */
export const UNITS_PER_TICK = 10
export const ELECTION_TICKS = 10

/**
 * Liveness bounds, counted from the moment the faults heal (all members up, no partitions, no losses,
 * short delays). Generous multiples of the election timeout: a restarted member needs one randomized
 * timeout [T, 2T) to campaign, a split vote costs another, and CheckQuorum/PreVote may first have to
 * depose a stale leader.
 */
export const LIVENESS_LEADER_TICKS_MAX = 10 * ELECTION_TICKS
/**
 * The same bound for runs without PreVote, where a member whose log is behind still campaigns: it bumps
 * the term and restarts every other member's timer, so a round elects a leader only if an up-to-date
 * member times out first and alone (timeouts are whole ticks, so ties are common). Long streaks of such
 * rounds are rare but real (etcd behaves the same), hence the wider bound.
 */
export const LIVENESS_LEADER_TICKS_MAX_WITHOUT_PREVOTE = 30 * ELECTION_TICKS
/**
 * Counted from the moment a leader is followed by every member: every pending proposal and membership
 * change committed, and every member caught up (by appends or a snapshot). Covers a client's timeout
 * before it proposes again plus catching up a backlog of uncommitted entries from earlier terms.
 */
export const LIVENESS_CONVERGE_TICKS_MAX = 25 * ELECTION_TICKS

/** The leader election bound of a run (see the constants above). */
export function leaderElectionBoundTicks(o: Pick<SimOptions, 'preVote'>): number {
  return o.preVote ? LIVENESS_LEADER_TICKS_MAX : LIVENESS_LEADER_TICKS_MAX_WITHOUT_PREVOTE
}

export interface SimOptions {
  readonly seed: number
  readonly clusterSize: number
  readonly heartbeatTicks: number
  // Raft configuration (flow control and protocol extensions vary too).
  readonly preVote: boolean
  readonly checkQuorum: boolean
  readonly maxSizePerMsg: number
  readonly maxInflightMsgs: number
  readonly maxCommittedSizePerReady: number
  readonly maxUncommittedEntriesSize: number
  /** Length of the safety phase (faults on), in ticks. */
  readonly safetyTicks: number
  // Network (per message).
  readonly dropRate: number
  readonly duplicateRate: number
  readonly latencyMin: number
  readonly latencyMax: number
  readonly longDelayRate: number
  readonly longDelayMax: number
  /** Probability that the transport reports a dropped message as unreachable to its sender. */
  readonly reportUnreachableRate: number
  // Partitions (per tick).
  readonly partitionRate: number
  readonly healRate: number
  // Crashes.
  /** Per tick: probability that a running member crashes between Ready batches. */
  readonly crashRate: number
  /** Per Ready: probability that the member crashes in the middle of handling it. */
  readonly crashInReadyRate: number
  /** Per tick, per crashed member: probability that it restarts. */
  readonly restartRate: number
  /** At most this many members are down at once. */
  readonly maxDown: number
  // Workload (per tick).
  /** Expected proposals per tick (the fraction is a probability). */
  readonly proposeRate: number
  /** Probability that one client action proposes several entries as one batch. */
  readonly batchRate: number
  readonly readRate: number
  readonly transferRate: number
  /** A proposal not reported committed within this many ticks is proposed again. */
  readonly reproposeTicks: number
  // Snapshots.
  /** A member snapshots once it applied this many entries past its last snapshot. */
  readonly snapshotEvery: number
  /** Entries kept in the log before the snapshot index when compacting. */
  readonly snapshotKeep: number
  // Membership.
  /** Number of membership changes to make (0: membership stays fixed). */
  readonly membershipChanges: number
}

/** Derives every parameter from the seed's generator (the first draws of the run). */
export function deriveOptions(seed: number, rng: SeededRandom): SimOptions {
  const clusterSize = rng.pick([3, 5, 7])
  const latencyMax = rng.between(2, 3 * UNITS_PER_TICK)
  // Entries weigh ~20 bytes for flow control: small limits split appends and applies into many pieces.
  // Pairs keep at least ~3 entries per round trip, so that catching up a long backlog of uncommitted
  // entries from earlier terms fits the liveness bound.
  const [maxSizePerMsg, maxInflightMsgs] = rng.pick([
    [1, 4],
    [1, 16],
    [64, 1],
    [64, 4],
    [256, 2],
    [1024 * 1024, 1],
    [1024 * 1024, 256],
    [1024 * 1024, 256],
  ] as const)
  // Tight flow control replicates a few entries per round trip: the leader must then refuse proposals
  // beyond a bounded uncommitted backlog (etcd's MaxUncommittedEntriesSize), or retrying clients would
  // outrun replication for good and no liveness bound could hold.
  const tight = maxSizePerMsg < 256 || maxInflightMsgs < 4
  // A mix of calm and harsh runs: each fault is sometimes off entirely.
  const sometimes = (p: number, lo: number, hi: number): number =>
    rng.chance(p) ? lo + rng.float() * (hi - lo) : 0
  return {
    seed,
    clusterSize,
    heartbeatTicks: rng.pick([1, 1, 2, 3]),
    preVote: rng.chance(0.8),
    checkQuorum: rng.chance(0.8),
    maxSizePerMsg,
    maxInflightMsgs,
    maxCommittedSizePerReady: rng.pick([1, 100, 64 * 1024 * 1024]),
    // Proposal payloads are ~5 bytes ("p123"): 1024 bytes is a backlog of ~200 entries.
    maxUncommittedEntriesSize: tight ? rng.pick([64, 256, 1024]) : rng.pick([0, 0, 256, 4096]),
    safetyTicks: rng.between(200, 800),
    dropRate: sometimes(0.8, 0.01, 0.25),
    duplicateRate: sometimes(0.6, 0.01, 0.15),
    latencyMin: 1,
    latencyMax,
    longDelayRate: sometimes(0.5, 0.001, 0.03),
    longDelayMax: rng.between(latencyMax, 40 * UNITS_PER_TICK),
    reportUnreachableRate: sometimes(0.5, 0.1, 1),
    partitionRate: sometimes(0.7, 0.005, 0.05),
    healRate: 0.02 + rng.float() * 0.1,
    crashRate: sometimes(0.7, 0.002, 0.03),
    crashInReadyRate: sometimes(0.6, 0.001, 0.01),
    restartRate: 0.02 + rng.float() * 0.2,
    maxDown: rng.chance(0.8) ? rng.between(1, (clusterSize - 1) / 2) : rng.between(1, clusterSize),
    proposeRate: 0.1 + rng.float() * rng.pick([1, 3]),
    batchRate: sometimes(0.5, 0.05, 0.5),
    readRate: sometimes(0.7, 0.05, 0.5),
    transferRate: sometimes(0.4, 0.002, 0.03),
    reproposeTicks: rng.between(3, 8) * ELECTION_TICKS,
    snapshotEvery: rng.pick([5, 10, 20, 50, 100]),
    snapshotKeep: rng.pick([0, 0, 1, 3, 10]),
    membershipChanges: rng.chance(0.35) ? rng.pick([3, 6]) : 0,
  }
}

/** The Raft configuration of every member of a run (the driver adds id, storage and randomness). */
export function raftConfigOf(o: SimOptions): Omit<RaftConfig, 'id' | 'storage' | 'random'> {
  return {
    electionTick: ELECTION_TICKS,
    heartbeatTick: o.heartbeatTicks,
    preVote: o.preVote,
    checkQuorum: o.checkQuorum,
    maxSizePerMsg: o.maxSizePerMsg,
    maxInflightMsgs: o.maxInflightMsgs,
    maxCommittedSizePerReady: o.maxCommittedSizePerReady,
    maxUncommittedEntriesSize: o.maxUncommittedEntriesSize,
  }
}

/** One line per parameter group, for the report that opens a failure. */
export function describeOptions(o: SimOptions): string {
  const pct = (p: number): string => `${(p * 100).toFixed(2)}%`
  return [
    `cluster=${o.clusterSize} heartbeatTicks=${o.heartbeatTicks} electionTicks=${ELECTION_TICKS} safetyTicks=${o.safetyTicks}`,
    `raft: preVote=${o.preVote} checkQuorum=${o.checkQuorum} maxSizePerMsg=${o.maxSizePerMsg} maxInflightMsgs=${o.maxInflightMsgs} maxCommittedSizePerReady=${o.maxCommittedSizePerReady} maxUncommittedEntriesSize=${o.maxUncommittedEntriesSize}`,
    `network: drop=${pct(o.dropRate)} duplicate=${pct(o.duplicateRate)} latency=[${o.latencyMin},${o.latencyMax}]u longDelay=${pct(o.longDelayRate)}<=${o.longDelayMax}u unreachableReports=${pct(o.reportUnreachableRate)} (units/tick=${UNITS_PER_TICK})`,
    `partitions: rate=${pct(o.partitionRate)}/tick heal=${pct(o.healRate)}/tick`,
    `crashes: rate=${pct(o.crashRate)}/tick inReady=${pct(o.crashInReadyRate)}/ready restart=${pct(o.restartRate)}/tick maxDown=${o.maxDown}`,
    `workload: propose=${o.proposeRate.toFixed(2)}/tick batch=${pct(o.batchRate)} read=${pct(o.readRate)}/tick transfer=${pct(o.transferRate)}/tick repropose=${o.reproposeTicks}t`,
    `snapshots: every=${o.snapshotEvery} keep=${o.snapshotKeep}; membershipChanges=${o.membershipChanges}`,
  ].join('\n')
}

/**
 * Parses a seed: a decimal integer in [0, 2^32), or a 40-hex git commit SHA (folded to 32 bits), so that
 * CI can seed each commit differently and replay a failure from the commit alone (TigerBeetle's
 * `parse_seed`).
 */
export function parseSeed(text: string): number {
  const s = text.trim()
  if (/^[0-9a-fA-F]{40}$/.test(s)) {
    let h = 0
    for (let i = 0; i < 40; i += 8) h = (h ^ Number.parseInt(s.slice(i, i + 8), 16)) >>> 0
    return h
  }
  if (!/^\d+$/.test(s))
    throw new Error(`invalid seed ${JSON.stringify(text)}: want a decimal or a 40-hex SHA`)
  const n = Number(s)
  if (!Number.isSafeInteger(n) || n >= 2 ** 32) throw new Error(`seed ${s} out of range [0, 2^32)`)
  return n
}

/** The one-line command that replays `seed` from the repository root. */
export function replayCommand(seed: number): string {
  return `SIM_SEED=${seed} npx vitest run packages/raft/src/testing/sim.test.ts`
}
