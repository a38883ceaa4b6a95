/** Goal: the balancing choice skips down and already-tried backends; round robin rotates, leastconn levels. */
import { describe, expect, it } from 'vitest'
import { type Candidate, chooseBackend } from './balancer.js'

function sequence(cs: Candidate[], algo: 'roundrobin' | 'leastconn', n: number): Array<number | undefined> {
  let cursor = 0
  const out: Array<number | undefined> = []
  for (let i = 0; i < n; i++) {
    const c = chooseBackend(cs, algo, cursor)
    cursor = c.cursor
    out.push(c.index)
  }
  return out
}

describe('chooseBackend', () => {
  it('round robin rotates over the backends that are up', () => {
    const cs = [
      { up: true, active: 0 },
      { up: false, active: 0 },
      { up: true, active: 0 },
    ]
    expect(sequence(cs, 'roundrobin', 5)).toEqual([0, 2, 0, 2, 0])
  })

  it('least connections picks the fewest active, ties in rotation', () => {
    const cs = [
      { up: true, active: 3 },
      { up: true, active: 1 },
      { up: true, active: 1 },
    ]
    expect(sequence(cs, 'leastconn', 4)).toEqual([1, 2, 1, 2])
    expect(
      chooseBackend(
        [
          { up: false, active: 0 },
          { up: true, active: 9 },
        ],
        'leastconn',
        0,
      ).index,
    ).toBe(1)
  })

  it('skips backends already tried for the request, and gives none when all are down or tried', () => {
    const cs = [
      { up: true, active: 0 },
      { up: true, active: 0 },
    ]
    expect(chooseBackend(cs, 'roundrobin', 0, new Set([0])).index).toBe(1)
    expect(chooseBackend(cs, 'leastconn', 0, new Set([0, 1])).index).toBeUndefined()
    expect(chooseBackend([{ up: false, active: 0 }], 'roundrobin', 7).index).toBeUndefined()
    expect(chooseBackend([], 'roundrobin', 3)).toEqual({ index: undefined, cursor: 0 })
  })
})
