/**
 * --workers N: what the primary and its proxy workers tell each other over the cluster IPC channel,
 * and the pure steps on each side (a pool's states as a snapshot and back, the workers' counts summed).
 *
 * The primary alone runs the health checks, so a backend's state (and its one log line per change) has
 * one source; each worker applies the snapshots it is sent. A worker's own passive failure (a refused
 * or reset connection) takes the backend out of its rotation at once and is reported, and the primary
 * applies it and sends the result to every worker. Progress (a backend answering) is reported too,
 * batched: the checker needs it to tell a busy backend from a hung one (health-checker.ts).
 */
import type { BackendPool, BackendStats } from './backend-pool.js'
import type { BackendHealth, BackendState } from './backend-state.js'
import type { BalancerCounters } from './stats-server.js'

/** One backend as the primary sees it. */
export interface BackendSnapshot {
  /** Backend.key (`scheme://host:port`). */
  readonly url: string
  readonly state: BackendState
  readonly busy: boolean
}

/** What one worker counts (answering `lb:stats?`). */
export interface WorkerReport {
  readonly backends: ReadonlyArray<{
    readonly url: string
    /** The worker's own view (what it balances by): the primary's, or down at once on a passive failure. */
    readonly state: BackendHealth
    readonly active: number
    readonly requests: number
    readonly errors: number
  }>
  readonly counters: BalancerCounters
  readonly inFlight: number
}

export type ToWorker =
  /** The whole set with every state, after each check or change (and first, before it listens). */
  | { readonly t: 'lb:state'; readonly backends: readonly BackendSnapshot[] }
  /** The backend was found dead or hung: cut what is in flight on it. */
  | { readonly t: 'lb:cut'; readonly url: string; readonly reason: string }
  | { readonly t: 'lb:stats?'; readonly id: number }
  /** SIGTERM reached the primary: drain as a single process would, then exit 0. */
  | { readonly t: 'lb:drain' }

export type ToPrimary =
  /** The worker listens for messages: send it the states. */
  | { readonly t: 'lb:hello' }
  | { readonly t: 'lb:listening'; readonly port: number }
  | { readonly t: 'lb:listen-error'; readonly message: string }
  | { readonly t: 'lb:passive'; readonly url: string; readonly error: string }
  /** Backend keys and when each last answered (Date.now() ms), for those that answered since the last. */
  | { readonly t: 'lb:progress'; readonly at: ReadonlyArray<readonly [string, number]> }
  | { readonly t: 'lb:stats'; readonly id: number; readonly report: WorkerReport }

/** Every message here has a `t` starting `lb:` (cluster's own messages never do). */
export function isLbMessage(m: unknown): m is { t: string } {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string'
    ? (m as { t: string }).t.startsWith('lb:')
    : false
}

export function snapshotPool(pool: BackendPool): BackendSnapshot[] {
  return pool.backends.map((b) => ({ url: b.key, state: b.state, busy: b.busy }))
}

/**
 * A worker takes its primary's view: the same set (backends kept keep their agents and counts) and
 * each one's state. Cutting what is in flight is a separate message (lb:cut), as in the primary the
 * cut follows the state change.
 */
export function applySnapshot(pool: BackendPool, backends: readonly BackendSnapshot[]): void {
  const current = pool.backends
  const same = current.length === backends.length && current.every((b, i) => b.key === backends[i]?.url)
  if (!same) pool.setBackends(backends.map((s) => new URL(s.url)))
  const byKey = new Map(pool.backends.map((b) => [b.key, b]))
  for (const s of backends) {
    const b = byKey.get(s.url)
    if (b === undefined) continue
    // JSON over IPC drops undefined fields; the state's optional ones come back as undefined.
    b.state = { ...s.state }
    b.busy = s.busy
  }
}

export function workerReport(pool: BackendPool, counters: BalancerCounters, inFlight: number): WorkerReport {
  return {
    backends: pool.backends.map((b) => ({
      url: b.key,
      state: b.state.health,
      active: b.active,
      requests: b.requests,
      errors: b.errors,
    })),
    counters: { ...counters },
    inFlight,
  }
}

export const ZERO_COUNTERS: BalancerCounters = Object.freeze({
  retries: 0,
  noBackend: 0,
  badGateway: 0,
  aborted: 0,
})

export function sumCounters(reports: readonly WorkerReport[]): BalancerCounters {
  const sum = { ...ZERO_COUNTERS }
  for (const r of reports) {
    sum.retries += r.counters.retries
    sum.noBackend += r.counters.noBackend
    sum.badGateway += r.counters.badGateway
    sum.aborted += r.counters.aborted
  }
  return sum
}

/**
 * The stats the primary serves: its own view of each backend's health (the checks are its own), with
 * the connections, requests and errors of every worker summed.
 */
export function aggregateStats(
  primary: readonly BackendStats[],
  reports: readonly WorkerReport[],
): BackendStats[] {
  return primary.map((p) => {
    let active = 0
    let requests = 0
    let errors = 0
    for (const r of reports)
      for (const b of r.backends)
        if (b.url === p.url) {
          active += b.active
          requests += b.requests
          errors += b.errors
        }
    return { ...p, activeConnections: active, requests, errors }
  })
}

/**
 * What a worker that is gone had counted, kept so that the sums never go back (its connections, a
 * gauge, are gone with it).
 */
export function retire(into: WorkerReport, gone: WorkerReport): WorkerReport {
  const byUrl = new Map(into.backends.map((b) => [b.url, { ...b }]))
  for (const b of gone.backends) {
    const e = byUrl.get(b.url)
    if (e === undefined) byUrl.set(b.url, { ...b, active: 0 })
    else byUrl.set(b.url, { ...e, requests: e.requests + b.requests, errors: e.errors + b.errors })
  }
  return { backends: [...byUrl.values()], counters: sumCounters([into, gone]), inFlight: 0 }
}
