import { describe, expect, it } from 'vitest'
import { Unstable } from './log-unstable.js'
import { silentLogger } from './logger.js'
import type { Entry, Snapshot } from './types.js'

const ent = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array() })
const snap = (index: number, term: number): Snapshot => ({
  data: new Uint8Array(),
  metadata: { index, term, confState: { voters: [1], learners: [] } },
})

function unstable(offset: number, entries: Entry[], snapshot?: Snapshot): Unstable {
  const u = new Unstable(offset, silentLogger)
  u.entries = entries
  u.snapshot = snapshot
  return u
}

const idx = (u: Unstable): string[] => u.entries.map((e) => `${e.index}/${e.term}`)

describe('Unstable', () => {
  it('maybeFirstIndex is known only with a snapshot', () => {
    expect(unstable(5, [ent(5, 1)]).maybeFirstIndex()).toBeUndefined()
    expect(unstable(5, [ent(5, 1)], snap(4, 1)).maybeFirstIndex()).toBe(5)
    expect(unstable(5, [], snap(4, 1)).maybeFirstIndex()).toBe(5)
  })

  it('maybeLastIndex comes from the entries, else the snapshot', () => {
    expect(unstable(5, [ent(5, 1)]).maybeLastIndex()).toBe(5)
    expect(unstable(5, [ent(5, 1), ent(6, 1)], snap(4, 1)).maybeLastIndex()).toBe(6)
    expect(unstable(5, [], snap(4, 1)).maybeLastIndex()).toBe(4)
    expect(unstable(0, []).maybeLastIndex()).toBeUndefined()
  })

  it('maybeTerm knows its entries and the snapshot index only', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 2)], snap(4, 1))
    expect(u.maybeTerm(4)).toBe(1)
    expect(u.maybeTerm(5)).toBe(1)
    expect(u.maybeTerm(6)).toBe(2)
    expect(u.maybeTerm(7)).toBeUndefined()
    expect(u.maybeTerm(3)).toBeUndefined()
    const v = unstable(5, [ent(5, 1)])
    expect(v.maybeTerm(4)).toBeUndefined()
    expect(v.maybeTerm(5)).toBe(1)
  })

  it('stableTo drops persisted entries, unless they were replaced since', () => {
    let u = unstable(5, [ent(5, 1), ent(6, 1), ent(7, 1)])
    u.stableTo(6, 1)
    expect(u.offset).toBe(7)
    expect(idx(u)).toEqual(['7/1'])
    // Term mismatch: the entry at 6 was replaced after the write started.
    u = unstable(5, [ent(5, 1), ent(6, 2)])
    u.stableTo(6, 1)
    expect(u.offset).toBe(5)
    expect(idx(u)).toEqual(['5/1', '6/2'])
    // Unknown index.
    u.stableTo(9, 2)
    expect(u.offset).toBe(5)
    // The snapshot's index is not an entry.
    u = unstable(5, [ent(5, 1)], snap(4, 1))
    u.stableTo(4, 1)
    expect(u.offset).toBe(5)
    expect(idx(u)).toEqual(['5/1'])
  })

  it('stableSnapTo clears the snapshot only at its index', () => {
    const u = unstable(5, [], snap(4, 1))
    u.stableSnapTo(3)
    expect(u.snapshot).toBeDefined()
    u.stableSnapTo(4)
    expect(u.snapshot).toBeUndefined()
  })

  it('restore drops the entries and holds the snapshot', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1)])
    u.restore(snap(10, 3))
    expect(u.offset).toBe(11)
    expect(u.entries).toEqual([])
    expect(u.snapshot?.metadata.index).toBe(10)
    expect(u.maybeLastIndex()).toBe(10)
  })

  it('truncateAndAppend appends, replaces everything, or truncates in the middle', () => {
    // Directly after.
    let u = unstable(5, [ent(5, 1)])
    u.truncateAndAppend([ent(6, 1), ent(7, 1)])
    expect([u.offset, ...idx(u)]).toEqual([5, '5/1', '6/1', '7/1'])
    // Replace everything (at the offset).
    u = unstable(5, [ent(5, 1)])
    u.truncateAndAppend([ent(5, 2), ent(6, 2)])
    expect([u.offset, ...idx(u)]).toEqual([5, '5/2', '6/2'])
    // Replace everything from before the offset (the storage part will be truncated when persisted).
    u = unstable(5, [ent(5, 1)])
    u.truncateAndAppend([ent(4, 2), ent(5, 2), ent(6, 2)])
    expect([u.offset, ...idx(u)]).toEqual([4, '4/2', '5/2', '6/2'])
    // Truncate in the middle.
    u = unstable(5, [ent(5, 1), ent(6, 1), ent(7, 1)])
    u.truncateAndAppend([ent(6, 2)])
    expect([u.offset, ...idx(u)]).toEqual([5, '5/1', '6/2'])
    u = unstable(5, [ent(5, 1), ent(6, 1), ent(7, 1)])
    u.truncateAndAppend([ent(7, 2), ent(8, 2)])
    expect([u.offset, ...idx(u)]).toEqual([5, '5/1', '6/1', '7/2', '8/2'])
  })

  it('slice returns [lo, hi) and checks bounds', () => {
    const u = unstable(5, [ent(5, 1), ent(6, 1), ent(7, 2)])
    expect(u.slice(5, 8).map((e) => e.index)).toEqual([5, 6, 7])
    expect(u.slice(6, 7).map((e) => e.index)).toEqual([6])
    expect(u.slice(6, 6)).toEqual([])
    expect(() => u.slice(4, 6)).toThrow(/out of bound/)
    expect(() => u.slice(6, 9)).toThrow(/out of bound/)
    expect(() => u.slice(7, 6)).toThrow(/invalid/)
  })
})
