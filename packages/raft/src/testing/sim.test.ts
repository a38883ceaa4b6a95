import { describe, expect, it } from 'vitest'
import { simEnv } from './sim-env.js'
import { SIM_REGRESSION_SEEDS } from './sim-regressions.js'
import {
  describeLivenessBounds,
  formatFailures,
  formatRun,
  runSweep,
  type SweepSummary,
  shardSeeds,
} from './sim-sweep.js'
import { runSimulation } from './simulation.js'

/**
 * The deterministic simulation of the Raft core (see simulation.ts), shard 1 of 2 of the seed sweep;
 * sim-sweep.test.ts runs shard 2 on the other core. Goal: safety (election safety, log matching, leader
 * completeness, state machine safety, linearizable reads, durability of acknowledged writes) under
 * message loss, delay, reordering, duplication, partitions and crashes at any point of the Ready
 * handling, and liveness once the faults heal. Method: swarm testing over many seeds, each a pure
 * function of its seed.
 *
 *   SIM_SEED=<n|40-hex sha>   replay one seed (prints its parameters and trace)
 *   SIM_SEEDS=<n>             sweep n seeds (default 2000, half here) from SIM_SEED_START (default 1)
 *   SIM_TRACE=2               with SIM_SEED: trace every message too
 *
 * `npm run sim` (in packages/raft, or at the root) runs both shards with the same variables.
 */

const env = simEnv()

/** Seeds per `it` block: keeps each block's time well under the test timeout. */
const CHUNK = 100

if (env.replaySeed !== undefined) {
  const seed = env.replaySeed
  describe('simulation replay', () => {
    it(`SEED=${seed}`, () => {
      const r = runSimulation(seed, { traceLevel: env.traceLevel })
      console.log(`${r.trace.join('\n')}\n\n${formatRun(r)}\n${describeLivenessBounds()}`)
      expect(r.violation, formatRun(r)).toBeUndefined()
    })
  })
} else {
  describe('simulation', () => {
    it('passes every regression seed', () => {
      const summary = runSweep(SIM_REGRESSION_SEEDS.map((r) => r.seed))
      expect(summary.failures, formatFailures(summary)).toEqual([])
    })

    it('is deterministic: a seed replays to the same run', () => {
      for (const seed of [1, 2, 3, 4]) {
        const a = runSimulation(seed)
        const b = runSimulation(seed)
        expect(b.digest).toBe(a.digest)
        expect(b.stats).toEqual(a.stats)
      }
    })

    const seeds = shardSeeds(env.start, env.count, 0, 2)
    const summaries: SweepSummary[] = []
    for (let i = 0; i < seeds.length; i += CHUNK) {
      const chunk = seeds.slice(i, i + CHUNK)
      it(`sweep seeds ${chunk[0]}..${chunk[chunk.length - 1]} (every other seed)`, () => {
        const summary = runSweep(chunk)
        summaries.push(summary)
        expect(summary.failures, formatFailures(summary)).toEqual([])
      })
    }

    it('the sweep exercised every fault and feature', () => {
      expect(summaries.length).toBeGreaterThan(0)
      const total = (f: (s: SweepSummary) => number): number => summaries.reduce((n, s) => n + f(s), 0)
      const runs = total((s) => s.runs)
      console.log(`simulation shard 1/2: ${runs} seeds; ${describeLivenessBounds()}`)
      expect(runs).toBe(seeds.length)
      // A small SIM_SEEDS sweep need not hit every rare fault; the default one must.
      if (runs < 200) return
      for (const size of [3, 5, 7]) expect(total((s) => s.byClusterSize.get(size) ?? 0)).toBeGreaterThan(0)
      const counters = [
        'crashes',
        'crashesInReady',
        'partitions',
        'messagesDropped',
        'messagesDuplicated',
        'snapshotsCreated',
        'snapshotsInstalled',
        'transfers',
        'membershipChanges',
        'committed',
        'failedAndTold',
        'reproposals',
        'readsAnswered',
      ] as const
      for (const key of counters)
        expect(
          total((s) => s.totals[key]),
          key,
        ).toBeGreaterThan(0)
    })
  })
}
