import { describe, expect, it } from 'vitest'
import { RaftErrorCode } from './errors.js'
import { isRaftError, MemoryStorage } from './storage.js'
import type { ConfState, Entry } from './types.js'

const ent = (index: number, term: number, data = ''): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(data),
})
const cs: ConfState = { voters: [1, 2, 3], learners: [] }

/** A storage holding a snapshot at (3, 3) and entries 4..5 of terms 4, 5 (etcd's storage tests). */
function compacted(): MemoryStorage {
  const s = new MemoryStorage()
  s.append([ent(1, 1), ent(2, 2), ent(3, 3), ent(4, 4), ent(5, 5)])
  s.createSnapshot(3, cs, new Uint8Array())
  s.compact(3)
  return s
}

const terms = (v: Entry[] | unknown): number[] => (v as Entry[]).map((e) => e.term)

describe('MemoryStorage', () => {
  it('starts empty: first index 1, last index 0, term(0) = 0, empty hard state', () => {
    const s = new MemoryStorage()
    expect(s.firstIndex()).toBe(1)
    expect(s.lastIndex()).toBe(0)
    expect(s.term(0)).toBe(0)
    expect(isRaftError(s.term(1), RaftErrorCode.Unavailable)).toBe(true)
    expect(s.initialState().hardState).toEqual({ term: 0, vote: 0, commit: 0 })
    expect(isRaftError(s.entries(1, 1, 100), RaftErrorCode.Unavailable)).toBe(true)
  })

  it('term: compacted below the snapshot, unavailable past the end', () => {
    const s = compacted()
    expect(isRaftError(s.term(2), RaftErrorCode.Compacted)).toBe(true)
    expect(s.term(3)).toBe(3)
    expect(s.term(4)).toBe(4)
    expect(s.term(5)).toBe(5)
    expect(isRaftError(s.term(6), RaftErrorCode.Unavailable)).toBe(true)
  })

  it('entries: bounds, compaction and the size limit (always at least one entry)', () => {
    const s = new MemoryStorage()
    s.append([ent(1, 1), ent(2, 2), ent(3, 3, 'x'.repeat(10)), ent(4, 4, 'y'.repeat(10)), ent(5, 5)])
    s.createSnapshot(2, cs, new Uint8Array())
    s.compact(2)
    expect(isRaftError(s.entries(2, 4, Number.POSITIVE_INFINITY), RaftErrorCode.Compacted)).toBe(true)
    expect(terms(s.entries(3, 6, Number.POSITIVE_INFINITY))).toEqual([3, 4, 5])
    expect(terms(s.entries(3, 4, Number.POSITIVE_INFINITY))).toEqual([3])
    // Entry size is payload + 16: 26 each for 3 and 4.
    expect(terms(s.entries(3, 6, 0))).toEqual([3])
    expect(terms(s.entries(3, 6, 51))).toEqual([3])
    expect(terms(s.entries(3, 6, 52))).toEqual([3, 4])
    expect(terms(s.entries(3, 6, 52 + 16))).toEqual([3, 4, 5])
    expect(() => s.entries(3, 7, 100)).toThrow(/out of bound/)
  })

  it('entries returns copies: a later append does not change an earlier result', () => {
    const s = new MemoryStorage()
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)])
    const before = s.entries(1, 4, Number.POSITIVE_INFINITY) as Entry[]
    s.append([ent(2, 2)])
    expect(terms(before)).toEqual([1, 1, 1])
    expect(terms(s.entries(1, 3, Number.POSITIVE_INFINITY))).toEqual([1, 2])
  })

  it('append: extends, truncates a conflicting suffix, skips compacted entries, refuses gaps', () => {
    // Overwrite from the middle.
    let s = compacted()
    s.append([ent(4, 6), ent(5, 6)])
    expect(terms(s.entries(4, 6, Number.POSITIVE_INFINITY))).toEqual([6, 6])
    // Truncate and extend.
    s = compacted()
    s.append([ent(4, 4), ent(5, 6), ent(6, 6)])
    expect(s.lastIndex()).toBe(6)
    expect(terms(s.entries(4, 7, Number.POSITIVE_INFINITY))).toEqual([4, 6, 6])
    // A shorter overwrite truncates the rest.
    s = compacted()
    s.append([ent(4, 7)])
    expect(s.lastIndex()).toBe(4)
    expect(s.term(4)).toBe(7)
    // Entries at or below the snapshot are ignored.
    s = compacted()
    s.append([ent(2, 3), ent(3, 3), ent(4, 5)])
    expect(s.firstIndex()).toBe(4)
    expect(terms(s.entries(4, 5, Number.POSITIVE_INFINITY))).toEqual([5])
    s = compacted()
    s.append([ent(1, 1), ent(2, 2)]) // entirely compacted: no-op
    expect(s.lastIndex()).toBe(5)
    // Directly after the end.
    s = compacted()
    s.append([ent(6, 5)])
    expect(s.lastIndex()).toBe(6)
    // A gap is a caller bug.
    s = compacted()
    expect(() => s.append([ent(7, 5)])).toThrow(/missing log entry/)
    s.append([])
    expect(s.lastIndex()).toBe(5)
  })

  it('compact: keeps the term of the compacted index, refuses compacted or missing indexes', () => {
    const s = compacted()
    expect(isRaftError(s.compact(2), RaftErrorCode.Compacted)).toBe(true)
    expect(isRaftError(s.compact(3), RaftErrorCode.Compacted)).toBe(true)
    expect(s.compact(4)).toBeUndefined()
    expect(s.firstIndex()).toBe(5)
    expect(s.lastIndex()).toBe(5)
    expect(s.term(4)).toBe(4)
    expect(isRaftError(s.term(3), RaftErrorCode.Compacted)).toBe(true)
    expect(() => s.compact(6)).toThrow(/out of bound/)
    expect(s.compact(5)).toBeUndefined()
    expect(s.firstIndex()).toBe(6)
    expect(s.lastIndex()).toBe(5) // empty, but the term of 5 is still known
    expect(s.term(5)).toBe(5)
  })

  it('createSnapshot: records index, term and configuration; refuses older ones', () => {
    const s = new MemoryStorage()
    s.append([ent(1, 1), ent(2, 2), ent(3, 3)])
    const snap = s.createSnapshot(2, cs, new Uint8Array([9]))
    expect(isRaftError(snap)).toBe(false)
    expect(s.snapshot().metadata).toEqual({ index: 2, term: 2, confState: cs })
    expect(s.snapshot().data).toEqual(new Uint8Array([9]))
    expect(isRaftError(s.createSnapshot(2, cs, new Uint8Array()), RaftErrorCode.SnapOutOfDate)).toBe(true)
    expect(isRaftError(s.createSnapshot(1, cs, new Uint8Array()), RaftErrorCode.SnapOutOfDate)).toBe(true)
    expect(() => s.createSnapshot(4, cs, new Uint8Array())).toThrow(/out of bound/)
    // Creating a snapshot does not compact by itself.
    expect(s.firstIndex()).toBe(1)
    expect(s.initialState().confState).toEqual(cs)
  })

  it('applySnapshot: replaces the log, refuses an older snapshot', () => {
    const s = new MemoryStorage()
    s.append([ent(1, 1), ent(2, 1)])
    const snap = { data: new Uint8Array(), metadata: { index: 10, term: 4, confState: cs } }
    expect(s.applySnapshot(snap)).toBeUndefined()
    expect(s.firstIndex()).toBe(11)
    expect(s.lastIndex()).toBe(10)
    expect(s.term(10)).toBe(4)
    expect(isRaftError(s.term(9), RaftErrorCode.Compacted)).toBe(true)
    expect(s.initialState().confState).toEqual(cs)
    const older = { data: new Uint8Array(), metadata: { index: 5, term: 2, confState: cs } }
    expect(isRaftError(s.applySnapshot(older), RaftErrorCode.SnapOutOfDate)).toBe(true)
    expect(isRaftError(s.applySnapshot(snap), RaftErrorCode.SnapOutOfDate)).toBe(true)
    s.append([ent(11, 4)])
    expect(s.lastIndex()).toBe(11)
  })

  it('keeps the hard state it is given', () => {
    const s = new MemoryStorage()
    s.setHardState({ term: 3, vote: 2, commit: 0 })
    expect(s.initialState().hardState).toEqual({ term: 3, vote: 2, commit: 0 })
    expect(s.hardStateNow()).toEqual({ term: 3, vote: 2, commit: 0 })
  })
})

describe('isRaftError', () => {
  it('matches RaftErrors, optionally by code', () => {
    const s = new MemoryStorage()
    const err = s.term(5)
    expect(isRaftError(err)).toBe(true)
    expect(isRaftError(err, RaftErrorCode.Unavailable)).toBe(true)
    expect(isRaftError(err, RaftErrorCode.Compacted)).toBe(false)
    expect(isRaftError(new Error('x'))).toBe(false)
    expect(isRaftError(3)).toBe(false)
  })
})
