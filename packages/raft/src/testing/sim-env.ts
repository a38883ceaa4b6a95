import { parseSeed } from './sim-options.js'

/**
 * The simulation tests' environment variables (read only by the test files, never by the simulator):
 *
 *   SIM_SEED=<n|40-hex sha>  replay that one seed
 *   SIM_SEEDS=<n>            number of seeds in the sweep (default 2000, split over two test files)
 *   SIM_SEED_START=<n|sha>   first seed of the sweep (default 1); a commit SHA gives each commit new seeds
 *   SIM_TRACE=<0|1|2>        trace level of a replay (default 1: faults, roles, membership; 2: messages)
 */
export interface SimEnv {
  readonly replaySeed: number | undefined
  readonly start: number
  readonly count: number
  readonly traceLevel: number
}

export const DEFAULT_SWEEP_SEEDS = 2000

export interface SimEnvVars {
  SIM_SEED?: string
  SIM_SEEDS?: string
  SIM_SEED_START?: string
  SIM_TRACE?: string
}

export function simEnv(env: SimEnvVars = process.env): SimEnv {
  const replay = env.SIM_SEED
  const count = env.SIM_SEEDS === undefined ? DEFAULT_SWEEP_SEEDS : Number(env.SIM_SEEDS)
  if (!Number.isSafeInteger(count) || count <= 0) throw new Error('SIM_SEEDS must be a positive integer')
  const trace = env.SIM_TRACE === undefined ? 1 : Number(env.SIM_TRACE)
  return {
    replaySeed: replay === undefined || replay === '' ? undefined : parseSeed(replay),
    start: env.SIM_SEED_START === undefined ? 1 : parseSeed(env.SIM_SEED_START),
    count,
    traceLevel: trace,
  }
}
