/** Goal: HAProxy's fall/rise rule and passive marking, as a pure state machine (no sockets). */
import { describe, expect, it } from 'vitest'
import {
  type BackendState,
  initialBackendState,
  observeCheck,
  observePassiveFailure,
} from './backend-state.js'

const t = { fall: 2, rise: 3 }

function run(s: BackendState, results: Array<string | undefined>): { s: BackendState; changes: string[] } {
  const changes: string[] = []
  let now = 1000
  for (const r of results) {
    now += 100
    const tr = observeCheck(s, r, now, t)
    s = tr.state
    if (tr.changed !== undefined) changes.push(`${tr.changed}@${now}`)
  }
  return { s, changes }
}

describe('backend state', () => {
  it('starts up and goes down only after fall consecutive failures', () => {
    const { s, changes } = run(initialBackendState(0), ['refused', undefined, 'refused', 'refused'])
    expect(changes).toEqual(['down@1400'])
    expect(s).toMatchObject({
      health: 'down',
      consecutiveFailures: 2,
      lastCheckError: 'refused',
      lastChangeAtMs: 1400,
    })
  })

  it('comes back only after rise consecutive successes', () => {
    const { s, changes } = run(initialBackendState(0), [
      'x',
      'x',
      undefined,
      undefined,
      'x',
      undefined,
      undefined,
      undefined,
    ])
    expect(changes).toEqual(['down@1200', 'up@1800'])
    expect(s).toMatchObject({
      health: 'up',
      consecutiveFailures: 0,
      consecutiveSuccesses: 3,
      lastCheckAtMs: 1800,
    })
  })

  it('goes down at once on a passive failure and then needs rise checks', () => {
    const p = observePassiveFailure(initialBackendState(0), 'ECONNREFUSED', 50, t)
    expect(p.changed).toBe('down')
    expect(p.state).toMatchObject({ health: 'down', consecutiveFailures: 2, lastChangeAtMs: 50 })
    const again = observePassiveFailure(p.state, 'ECONNRESET', 60, t)
    expect(again.changed).toBeUndefined()
    const { changes } = run(p.state, [undefined, undefined, undefined])
    expect(changes).toEqual(['up@1300'])
  })

  it('with fall 1 and rise 1 flips on every changed result, and only then', () => {
    const one = { fall: 1, rise: 1 }
    let s = initialBackendState(0)
    const seen: string[] = []
    for (const r of [undefined, 'e', 'e', undefined, undefined, 'e']) {
      const tr = observeCheck(s, r, 0, one)
      s = tr.state
      seen.push(tr.changed ?? '-')
    }
    expect(seen).toEqual(['-', 'down', '-', 'up', '-', 'down'])
  })
})
