/**
 * The balancing choice, pure: which backend takes the next request, among those up and not already
 * tried for this request. Round robin walks a cursor over the list; least connections takes the
 * fewest active requests, ties broken by the round-robin cursor so equal backends share the load.
 */
import type { BalanceAlgorithm } from './config.js'

export interface Candidate {
  readonly up: boolean
  /** Requests (or TCP connections) in flight on it now. */
  readonly active: number
}

export interface Choice {
  /** Index into the candidates, or undefined when none is up and untried. */
  readonly index: number | undefined
  /** The cursor to pass next time. */
  readonly cursor: number
}

export function chooseBackend(
  candidates: readonly Candidate[],
  algorithm: BalanceAlgorithm,
  cursor: number,
  tried: ReadonlySet<number> = new Set(),
): Choice {
  const n = candidates.length
  if (n === 0) return { index: undefined, cursor: 0 }
  const start = ((cursor % n) + n) % n
  let best: number | undefined
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n
    const c = candidates[i] as Candidate
    if (!c.up || tried.has(i)) continue
    if (algorithm === 'roundrobin') {
      best = i
      break
    }
    if (best === undefined || c.active < (candidates[best] as Candidate).active) best = i
  }
  return { index: best, cursor: best === undefined ? start : best + 1 }
}
