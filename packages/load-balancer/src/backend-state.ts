/**
 * A backend's health as a pure state machine (no timers, no sockets): HAProxy's `fall`/`rise` rule for
 * active checks (down after `fall` consecutive failures, up after `rise` consecutive successes), plus
 * passive detection (a refused or reset connection marks it down at once, since the process behind it
 * is gone and waiting `fall` intervals would send it more requests).
 *
 * A backend starts up: hakube-lb serves at once, and a dead seed is found by its first refused
 * connection or `fall` checks, whichever comes first.
 */

export type BackendHealth = 'up' | 'down'

export interface BackendState {
  readonly health: BackendHealth
  /** Invariant: 0 while health is up and the last check passed. */
  readonly consecutiveFailures: number
  readonly consecutiveSuccesses: number
  /** Time of the last finished active check, or undefined before the first. */
  readonly lastCheckAtMs: number | undefined
  readonly lastCheckError: string | undefined
  readonly lastChangeAtMs: number
}

export interface Thresholds {
  readonly fall: number
  readonly rise: number
}

export interface Transition {
  readonly state: BackendState
  /** The new health when this observation changed it, for the one log line per change. */
  readonly changed: BackendHealth | undefined
}

export function initialBackendState(nowMs: number): BackendState {
  return {
    health: 'up',
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    lastCheckAtMs: undefined,
    lastCheckError: undefined,
    lastChangeAtMs: nowMs,
  }
}

/** One active health check finished: `error` undefined means it passed. */
export function observeCheck(
  s: BackendState,
  error: string | undefined,
  nowMs: number,
  t: Thresholds,
): Transition {
  if (error === undefined) {
    const successes = s.consecutiveSuccesses + 1
    const becomesUp = s.health === 'down' && successes >= t.rise
    const state: BackendState = {
      health: becomesUp ? 'up' : s.health,
      consecutiveFailures: 0,
      consecutiveSuccesses: successes,
      lastCheckAtMs: nowMs,
      lastCheckError: undefined,
      lastChangeAtMs: becomesUp ? nowMs : s.lastChangeAtMs,
    }
    return { state, changed: becomesUp ? 'up' : undefined }
  }
  const failures = s.consecutiveFailures + 1
  const becomesDown = s.health === 'up' && failures >= t.fall
  const state: BackendState = {
    health: becomesDown ? 'down' : s.health,
    consecutiveFailures: failures,
    consecutiveSuccesses: 0,
    lastCheckAtMs: nowMs,
    lastCheckError: error,
    lastChangeAtMs: becomesDown ? nowMs : s.lastChangeAtMs,
  }
  return { state, changed: becomesDown ? 'down' : undefined }
}

/**
 * A proxied connection was refused or reset: down at once, and it must then pass `rise` checks, as
 * if it had just failed `fall` of them.
 */
export function observePassiveFailure(
  s: BackendState,
  error: string,
  nowMs: number,
  t: Thresholds,
): Transition {
  if (s.health === 'down') return { state: { ...s, consecutiveSuccesses: 0 }, changed: undefined }
  const state: BackendState = {
    health: 'down',
    consecutiveFailures: Math.max(s.consecutiveFailures, t.fall),
    consecutiveSuccesses: 0,
    lastCheckAtMs: s.lastCheckAtMs,
    lastCheckError: error,
    lastChangeAtMs: nowMs,
  }
  return { state, changed: 'down' }
}
