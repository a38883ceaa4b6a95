import { describe, expect, it } from 'vitest'
import { RaftErrorCode } from './errors.js'
import { silentLogger } from './logger.js'
import { RaftLog } from './raft-log.js'
import { isRaftError, MemoryStorage } from './storage.js'
import type { Entry, Snapshot } from './types.js'

const ent = (index: number, term: number, size = 0): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array(size),
})
/** Entries 1..n with the given terms. */
const ents = (terms: number[], from = 1): Entry[] => terms.map((t, i) => ent(from + i, t))
const terms = (v: Entry[] | unknown): number[] => (v as Entry[]).map((e) => e.term)

/** A log whose storage holds `stable` and whose unstable part holds `unstable` (appended after). */
function newLog(stable: Entry[], unstable: Entry[] = [], maxApplying = Number.POSITIVE_INFINITY): RaftLog {
  const s = new MemoryStorage()
  s.append(stable)
  const l = new RaftLog(s, silentLogger, maxApplying)
  if (unstable.length > 0) l.append(unstable)
  return l
}

describe('RaftLog', () => {
  it('starts committed and applied at the storage first index - 1', () => {
    const s = new MemoryStorage()
    s.append(ents([1, 1, 2, 3]))
    s.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array())
    s.compact(2)
    const l = new RaftLog(s, silentLogger, 100)
    expect([l.committed, l.applying, l.applied]).toEqual([2, 2, 2])
    expect([l.firstIndex(), l.lastIndex(), l.lastTerm()]).toEqual([3, 4, 3])
  })

  it('findConflict: the first new or conflicting index, 0 if all present', () => {
    const l = newLog(ents([1, 2, 3]))
    expect(l.findConflict([])).toBe(0)
    expect(l.findConflict(ents([1, 2, 3]))).toBe(0)
    expect(l.findConflict(ents([2, 3], 2))).toBe(0)
    expect(l.findConflict(ents([1, 2, 3, 4, 4]))).toBe(4)
    expect(l.findConflict(ents([3, 4], 3))).toBe(4)
    expect(l.findConflict(ents([4, 4], 1))).toBe(1)
    expect(l.findConflict(ents([1, 4, 4]))).toBe(2)
    expect(l.findConflict(ents([4, 4, 4, 4], 3))).toBe(3)
  })

  it('findConflictByTerm: the largest index <= index whose term <= term', () => {
    // Terms by index: 1:1 2:2 3:2 4:5 5:5 6:5
    const l = newLog(ents([1, 2, 2, 5, 5, 5]))
    expect(l.findConflictByTerm(6, 5)).toEqual({ index: 6, term: 5 })
    expect(l.findConflictByTerm(6, 4)).toEqual({ index: 3, term: 2 })
    expect(l.findConflictByTerm(6, 2)).toEqual({ index: 3, term: 2 })
    expect(l.findConflictByTerm(6, 1)).toEqual({ index: 1, term: 1 })
    expect(l.findConflictByTerm(6, 0)).toEqual({ index: 0, term: 0 })
    expect(l.findConflictByTerm(2, 5)).toEqual({ index: 2, term: 2 })
    // Compacted entries: assume a possible match with an unknown term.
    const s = new MemoryStorage()
    s.append(ents([1, 2, 2, 5, 5, 5]))
    s.createSnapshot(3, { voters: [1], learners: [] }, new Uint8Array())
    s.compact(3)
    const c = new RaftLog(s, silentLogger, 100)
    expect(c.findConflictByTerm(6, 4)).toEqual({ index: 3, term: 2 }) // term(3) is still known
    expect(c.findConflictByTerm(6, 1)).toEqual({ index: 2, term: 0 })
  })

  it('isUpToDate: higher last term wins, then longer log (Raft §5.4.1)', () => {
    const l = newLog(ents([1, 2, 3]))
    expect(l.isUpToDate(2, 4)).toBe(true) // higher term, shorter log
    expect(l.isUpToDate(3, 3)).toBe(true) // same
    expect(l.isUpToDate(4, 3)).toBe(true) // same term, longer
    expect(l.isUpToDate(2, 3)).toBe(false) // same term, shorter
    expect(l.isUpToDate(9, 2)).toBe(false) // lower term, longer
  })

  describe('maybeAppend (the AppendEntries consistency check, Raft §5.3)', () => {
    const base = (): RaftLog => {
      const l = newLog(ents([1, 2, 3]))
      l.commitTo(1)
      return l
    }

    it('rejects when the previous entry does not match', () => {
      const l = base()
      expect(l.maybeAppend(3, 2, 3, [ent(4, 4)])).toBeUndefined() // term mismatch at 3
      expect(l.maybeAppend(4, 3, 3, [ent(5, 4)])).toBeUndefined() // index past the end
      expect(l.lastIndex()).toBe(3)
      expect(l.committed).toBe(1)
    })

    it('accepts a match and commits up to min(leader commit, last new index)', () => {
      let l = base()
      expect(l.maybeAppend(3, 3, 3, [])).toBe(3)
      expect(l.committed).toBe(3)
      l = base()
      expect(l.maybeAppend(3, 3, 5, [ent(4, 4)])).toBe(4)
      expect(l.committed).toBe(4) // not 5: we only know the entries up to 4 match the leader's
      l = base()
      expect(l.maybeAppend(3, 3, 2, [ent(4, 4), ent(5, 4)])).toBe(5)
      expect(l.committed).toBe(2)
      expect(l.lastIndex()).toBe(5)
    })

    it('keeps matching entries and a longer suffix of ours when nothing conflicts', () => {
      const l = base()
      expect(l.maybeAppend(1, 1, 1, [ent(2, 2)])).toBe(2)
      expect(l.lastIndex()).toBe(3) // entry 3 stays: no conflict
      expect(l.committed).toBe(1)
    })

    it('truncates a conflicting suffix (log matching)', () => {
      const l = base()
      expect(l.maybeAppend(1, 1, 1, [ent(2, 4)])).toBe(2)
      expect(l.lastIndex()).toBe(2)
      expect(terms(l.allEntries())).toEqual([1, 4])
    })

    it('refuses to overwrite a committed entry', () => {
      const l = base()
      l.commitTo(2)
      expect(() => l.maybeAppend(0, 0, 2, [ent(1, 1), ent(2, 5)])).toThrow(/conflict with committed/)
    })
  })

  it('append refuses to rewrite committed entries and truncates unstable ones', () => {
    const l = newLog(ents([1, 1]), ents([2, 2], 3))
    l.commitTo(2)
    expect(() => l.append([ent(2, 3)])).toThrow(/out of range/)
    expect(l.append([ent(4, 3)])).toBe(4)
    expect(terms(l.allEntries())).toEqual([1, 1, 2, 3])
    expect(l.append([])).toBe(4)
  })

  it('commitTo never decreases and refuses to go past the last index', () => {
    const l = newLog(ents([1, 1, 1]))
    l.commitTo(2)
    l.commitTo(1)
    expect(l.committed).toBe(2)
    expect(() => l.commitTo(4)).toThrow(/out of range/)
  })

  it('maybeCommit commits only an entry of the given term (Raft §5.4.2)', () => {
    const l = newLog(ents([1, 2, 3]))
    expect(l.maybeCommit(2, 3)).toBe(false)
    expect(l.committed).toBe(0)
    expect(l.maybeCommit(3, 3)).toBe(true)
    expect(l.committed).toBe(3)
    expect(l.maybeCommit(2, 2)).toBe(false) // never backwards
    expect(l.maybeCommit(9, 3)).toBe(false) // out of bounds: term 0
  })

  it('term: across storage and unstable, compacted and unavailable', () => {
    const s = new MemoryStorage()
    s.append(ents([1, 2, 3, 4]))
    s.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array())
    s.compact(2)
    const l = new RaftLog(s, silentLogger, 100)
    l.append([ent(5, 5)])
    expect(isRaftError(l.term(1), RaftErrorCode.Compacted)).toBe(true)
    expect([l.term(2), l.term(3), l.term(4), l.term(5)]).toEqual([2, 3, 4, 5])
    expect(isRaftError(l.term(6), RaftErrorCode.Unavailable)).toBe(true)
    expect(l.zeroTermOnOutOfBounds(1)).toBe(0)
    expect(l.zeroTermOnOutOfBounds(6)).toBe(0)
    expect(l.matchTerm(4, 4)).toBe(true)
    expect(l.matchTerm(4, 3)).toBe(false)
    expect(l.matchTerm(1, 1)).toBe(false)
  })

  it('slice: spans storage and unstable, honours the size limit, reports compaction', () => {
    const s = new MemoryStorage()
    s.append([ent(1, 1, 10), ent(2, 1, 10), ent(3, 1, 10)])
    const l = new RaftLog(s, silentLogger, 100)
    l.append([ent(4, 2, 10), ent(5, 2, 10)])
    expect(terms(l.slice(2, 6, Number.POSITIVE_INFINITY))).toEqual([1, 1, 2, 2])
    expect(terms(l.slice(4, 6, Number.POSITIVE_INFINITY))).toEqual([2, 2])
    expect(l.slice(3, 3, 100)).toEqual([])
    // 26 bytes per entry.
    expect((l.slice(1, 6, 52) as Entry[]).map((e) => e.index)).toEqual([1, 2])
    expect((l.slice(2, 6, 78) as Entry[]).map((e) => e.index)).toEqual([2, 3, 4])
    expect((l.slice(1, 6, 0) as Entry[]).map((e) => e.index)).toEqual([1])
    expect(() => l.slice(4, 7, 100)).toThrow(/out of bound/)
    expect(() => l.slice(4, 3, 100)).toThrow(/invalid slice/)
    s.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array())
    s.compact(2)
    expect(isRaftError(l.slice(2, 4, 100), RaftErrorCode.Compacted)).toBe(true)
    expect(isRaftError(l.entries(1, 100), RaftErrorCode.Compacted)).toBe(true)
    expect(l.entries(6, 100)).toEqual([])
  })

  it('hands out committed entries for applying only once they are stable (etcd #14370)', () => {
    const s = new MemoryStorage()
    s.append(ents([1, 1]))
    const l = new RaftLog(s, silentLogger, Number.POSITIVE_INFINITY)
    l.append(ents([1, 1], 3))
    l.commitTo(4)
    expect(l.hasNextCommittedEnts()).toBe(true)
    expect(l.nextCommittedEnts().map((e) => e.index)).toEqual([1, 2])
    l.acceptApplying(2)
    expect(l.hasNextCommittedEnts()).toBe(false) // 3 and 4 are committed but not yet persisted
    s.append(l.unstableEntries())
    l.stableTo(4, 1)
    expect(l.nextCommittedEnts().map((e) => e.index)).toEqual([3, 4])
    l.appliedTo(4)
    expect([l.applied, l.applying]).toEqual([4, 4])
    expect(l.hasNextCommittedEnts()).toBe(false)
  })

  it('bounds the committed entries of one Ready by size (at least one)', () => {
    const l = newLog([ent(1, 1, 100), ent(2, 1, 100), ent(3, 1, 100)], [], 150)
    l.commitTo(3)
    expect(l.nextCommittedEnts().map((e) => e.index)).toEqual([1])
    l.acceptApplying(1)
    expect(l.nextCommittedEnts().map((e) => e.index)).toEqual([2])
  })

  it('appliedTo and acceptApplying stay within [applied, committed]', () => {
    const l = newLog(ents([1, 1, 1]))
    l.commitTo(2)
    expect(() => l.acceptApplying(3)).toThrow(/out of range/)
    expect(() => l.appliedTo(3)).toThrow(/out of range/)
    l.appliedTo(2)
    expect(() => l.appliedTo(1)).toThrow(/out of range/)
    l.appliedTo(0) // ignored
    expect(l.applied).toBe(2)
  })

  it('restore installs a snapshot: committed at its index, nothing to apply until it is stable', () => {
    const l = newLog(ents([1, 1, 1]))
    l.commitTo(3)
    const snap: Snapshot = {
      data: new Uint8Array(),
      metadata: { index: 10, term: 4, confState: { voters: [1], learners: [] } },
    }
    l.restore(snap)
    expect(l.committed).toBe(10)
    expect([l.firstIndex(), l.lastIndex(), l.lastTerm()]).toEqual([11, 10, 4])
    expect(l.hasPendingSnapshot()).toBe(true)
    expect(l.snapshot()).toBe(snap)
    expect(l.hasNextCommittedEnts()).toBe(false)
    l.append([ent(11, 4)])
    expect(l.lastIndex()).toBe(11)
  })
})
