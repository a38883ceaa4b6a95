import type { ViolationKind } from './sim-checker.js'
import {
  describeOptions,
  LIVENESS_CONVERGE_TICKS_MAX,
  LIVENESS_LEADER_TICKS_MAX,
  LIVENESS_LEADER_TICKS_MAX_WITHOUT_PREVOTE,
  replayCommand,
} from './sim-options.js'
import { runSimulation, type SimResult, type SimRunOptions, type SimStats } from './simulation.js'

/**
 * Running many seeds and reporting them: what the simulation tests share. A failure report opens with
 * `SEED=<n>`, then every parameter derived from the seed, the violation, and the one-line command that
 * replays exactly that run.
 */

/** The liveness bounds, stated once for the logs of every sweep. */
export function describeLivenessBounds(): string {
  return (
    `liveness bounds after the faults heal: leader within ${LIVENESS_LEADER_TICKS_MAX} ticks ` +
    `(${LIVENESS_LEADER_TICKS_MAX_WITHOUT_PREVOTE} without PreVote), then every proposal committed on ` +
    `every member within ${LIVENESS_CONVERGE_TICKS_MAX} ticks`
  )
}

/** The report of one run: seed, derived parameters, outcome, replay command. */
export function formatRun(r: SimResult): string {
  const lines = [`SEED=${r.seed}`, describeOptions(r.options)]
  lines.push(r.violation === undefined ? 'result: ok' : `VIOLATION ${r.violation.message}`)
  if (r.leaderAfterHealTicks >= 0) {
    const converged =
      r.convergedAfterLeaderTicks >= 0
        ? `converged ${r.convergedAfterLeaderTicks} ticks later`
        : 'not converged'
    lines.push(`liveness: leader ${r.leaderAfterHealTicks} ticks after the heal, ${converged}`)
  }
  lines.push(`stats: ${JSON.stringify(r.stats)}`)
  lines.push(`replay: ${replayCommand(r.seed)}   (add SIM_TRACE=2 for every message)`)
  return lines.join('\n')
}

export interface SweepSummary {
  readonly runs: number
  readonly failures: readonly SimResult[]
  readonly byClusterSize: ReadonlyMap<number, number>
  /** Sums of every counter over the runs. */
  readonly totals: SimStats
  readonly leaderAfterHealTicksMax: number
  readonly convergedAfterLeaderTicksMax: number
}

/** Runs `seeds` one after the other (each a pure function of its seed) and sums them up. */
export function runSweep(seeds: readonly number[], run: SimRunOptions = {}): SweepSummary {
  const failures: SimResult[] = []
  const byClusterSize = new Map<number, number>()
  let totals: SimStats | undefined
  let leaderMax = 0
  let convergedMax = 0
  for (const seed of seeds) {
    const r = runSimulation(seed, run)
    if (r.violation !== undefined) failures.push(r)
    byClusterSize.set(r.options.clusterSize, (byClusterSize.get(r.options.clusterSize) ?? 0) + 1)
    totals = totals === undefined ? { ...r.stats } : addStats(totals, r.stats)
    leaderMax = Math.max(leaderMax, r.leaderAfterHealTicks)
    convergedMax = Math.max(convergedMax, r.convergedAfterLeaderTicks)
  }
  if (totals === undefined) throw new Error('runSweep: no seeds')
  return {
    runs: seeds.length,
    failures,
    byClusterSize,
    totals,
    leaderAfterHealTicksMax: leaderMax,
    convergedAfterLeaderTicksMax: convergedMax,
  }
}

function addStats(a: SimStats, b: SimStats): SimStats {
  const sum = { ...a }
  for (const key of Object.keys(b) as (keyof SimStats)[]) sum[key] = a[key] + b[key]
  return sum
}

/** The failure message of a sweep: every failing seed's report. */
export function formatFailures(summary: SweepSummary): string {
  return [
    `${summary.failures.length} of ${summary.runs} seeds failed:`,
    ...summary.failures.map((r) => formatRun(r)),
  ].join('\n\n')
}

/**
 * Searches seeds `first`, `first + 1`, ... (at most `limit`) for a run whose violation is one of
 * `kinds`: proves that a checker catches a deliberately broken variant within a bounded number of seeds.
 */
export function findViolation(
  kinds: readonly ViolationKind[],
  first: number,
  limit: number,
  run: SimRunOptions,
): { found: SimResult | undefined; seedsRun: number; otherKinds: Map<string, number> } {
  const otherKinds = new Map<string, number>()
  for (let i = 0; i < limit; i++) {
    const r = runSimulation(first + i, run)
    const kind = r.violation?.kind
    if (kind !== undefined && kinds.includes(kind)) return { found: r, seedsRun: i + 1, otherKinds }
    const key = kind ?? 'none'
    otherKinds.set(key, (otherKinds.get(key) ?? 0) + 1)
  }
  return { found: undefined, seedsRun: limit, otherKinds }
}

/** Seeds `start`, `start + 1`, ..., `start + count - 1` whose position is `shard` modulo `shards`. */
export function shardSeeds(start: number, count: number, shard: number, shards: number): number[] {
  const seeds: number[] = []
  for (let i = shard; i < count; i += shards) seeds.push((start + i) >>> 0)
  return seeds
}
