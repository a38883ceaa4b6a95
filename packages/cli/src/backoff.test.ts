import { describe, expect, it } from 'vitest'
import { Backoff } from './backoff.js'

describe('Backoff', () => {
  it('doubles from 1 s up to the cap while the component keeps crashing', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 8000, resetAfterMs: 10_000 })
    expect([1, 2, 3, 4, 5, 6].map(() => b.delayAfter(50))).toEqual([1000, 2000, 4000, 8000, 8000, 8000])
  })

  it('starts over after a run of at least 10 s, not after a shorter one', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000, resetAfterMs: 10_000 })
    b.delayAfter(0)
    b.delayAfter(0)
    expect(b.delayAfter(9_999)).toBe(4000)
    expect(b.delayAfter(10_000)).toBe(1000)
    expect(b.delayAfter(100)).toBe(2000)
  })

  it('reset() (a start the user asked for) starts over', () => {
    const b = new Backoff()
    b.delayAfter(0)
    b.delayAfter(0)
    b.reset()
    expect(b.delayAfter(0)).toBe(1000)
  })
})
