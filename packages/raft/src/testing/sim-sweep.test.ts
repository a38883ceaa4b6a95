import { describe, expect, it } from 'vitest'
import { simEnv } from './sim-env.js'
import { describeLivenessBounds, formatFailures, formatRun, runSweep, shardSeeds } from './sim-sweep.js'
import { runSimulation } from './simulation.js'

/**
 * Shard 2 of 2 of the simulation's seed sweep (sim.test.ts runs shard 1 and documents the variables):
 * a second test file, so that vitest runs both halves in parallel on two cores.
 */

const env = simEnv()
const CHUNK = 100

if (env.replaySeed !== undefined) {
  const seed = env.replaySeed
  describe('simulation replay', () => {
    it(`SEED=${seed} replays identically`, () => {
      // sim.test.ts replays the seed with its trace; here, the replay itself must be deterministic.
      const a = runSimulation(seed)
      const b = runSimulation(seed)
      expect(b.digest, formatRun(b)).toBe(a.digest)
      expect(b.stats).toEqual(a.stats)
    })
  })
} else {
  describe('simulation', () => {
    const seeds = shardSeeds(env.start, env.count, 1, 2)
    let runs = 0
    for (let i = 0; i < seeds.length; i += CHUNK) {
      const chunk = seeds.slice(i, i + CHUNK)
      it(`sweep seeds ${chunk[0]}..${chunk[chunk.length - 1]} (every other seed)`, () => {
        const summary = runSweep(chunk)
        runs += summary.runs
        expect(summary.failures, formatFailures(summary)).toEqual([])
      })
    }

    it('ran the whole shard', () => {
      console.log(`simulation shard 2/2: ${runs} seeds; ${describeLivenessBounds()}`)
      expect(runs).toBe(seeds.length)
    })
  })
}
