import { errCompacted, errUnavailable, RaftError, RaftErrorCode } from './errors.js'
import { Unstable } from './log-unstable.js'
import type { RaftLogger } from './logger.js'
import type { Storage } from './storage.js'
import type { Entry, Snapshot } from './types.js'
import { limitSize } from './util.js'

/**
 * The node's view of the log: stable entries in `storage`, newer ones in `unstable`.
 *
 * Invariant: applied <= applying <= committed, and committed <= lastIndex().
 * Entries are handed to the application for applying only once they are stable (persisted locally):
 * committed entries that are still unstable wait for the next Ready (etcd #14370).
 */
export class RaftLog {
  readonly storage: Storage
  readonly unstable: Unstable
  /** Highest index known to be stored on a quorum. */
  committed: number
  /** Highest index handed to the application to apply. */
  applying: number
  /** Highest index the application has acknowledged as applied. */
  applied: number
  /** Maximum bytes of committed entries in one Ready. */
  readonly maxApplyingEntsSize: number

  constructor(storage: Storage, logger: RaftLogger, maxApplyingEntsSize: number) {
    this.storage = storage
    const first = storage.firstIndex()
    const last = storage.lastIndex()
    this.unstable = new Unstable(last + 1, logger)
    this.committed = first - 1
    this.applying = first - 1
    this.applied = first - 1
    this.maxApplyingEntsSize = maxApplyingEntsSize
  }

  /**
   * Appends `ents` if the entry at `index` has term `logTerm` (the AppendEntries consistency check,
   * Raft §5.3). Returns the index of the last new entry, or undefined when the check fails.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined
    const lastNew = index + ents.length
    const ci = this.findConflict(ents)
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`entry ${ci} conflict with committed entry [committed(${this.committed})]`)
      }
      const offset = index + 1
      this.append(ci - offset === 0 ? ents : ents.slice(ci - offset))
    }
    this.commitTo(Math.min(committed, lastNew))
    return lastNew
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex()
    const after = ents[0]!.index - 1
    if (after < this.committed) {
      throw new Error(`after(${after}) is out of range [committed(${this.committed})]`)
    }
    this.unstable.truncateAndAppend(ents)
    return this.lastIndex()
  }

  /**
   * The index of the first entry of `ents` that is new or conflicts with an existing entry (same index,
   * different term); 0 if all of them are already present.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index
    }
    return 0
  }

  /**
   * Fast back-off (etcd's findConflictByTerm): the largest index <= `index` whose term is <= `term`,
   * with that term. Lets the leader skip a whole term of mismatching entries per round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      const t = this.term(index)
      if (t instanceof RaftError) return { index, term: 0 }
      if (t <= term) return { index, term: t }
    }
    return { index: 0, term: 0 }
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries
  }

  /** Index of the last entry the application has persisted (or the pending snapshot's). */
  private lastStableIndex(): number {
    return this.unstable.offset - 1
  }

  hasNextCommittedEnts(): boolean {
    if (this.unstable.snapshot !== undefined) return false
    const lo = Math.max(this.applying + 1, this.firstIndex())
    const hi = Math.min(this.committed, this.lastStableIndex())
    return lo <= hi
  }

  /** Committed, stable entries not yet handed out, bounded by `maxApplyingEntsSize`. */
  nextCommittedEnts(): Entry[] {
    if (!this.hasNextCommittedEnts()) return []
    const lo = Math.max(this.applying + 1, this.firstIndex())
    const hi = Math.min(this.committed, this.lastStableIndex()) + 1
    const ents = this.slice(lo, hi, this.maxApplyingEntsSize)
    if (ents instanceof RaftError)
      throw new Error(`unexpected error when getting unapplied entries: ${ents.message}`)
    return ents
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined
  }

  snapshot(): Snapshot | RaftError {
    if (this.unstable.snapshot !== undefined) return this.unstable.snapshot
    return this.storage.snapshot()
  }

  firstIndex(): number {
    const i = this.unstable.maybeFirstIndex()
    return i !== undefined ? i : this.storage.firstIndex()
  }

  lastIndex(): number {
    const i = this.unstable.maybeLastIndex()
    return i !== undefined ? i : this.storage.lastIndex()
  }

  commitTo(tocommit: number): void {
    if (this.committed < tocommit) {
      if (this.lastIndex() < tocommit) {
        throw new Error(
          `tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
        )
      }
      this.committed = tocommit
    }
  }

  /** The application was handed entries up to `i` to apply. */
  acceptApplying(i: number): void {
    if (i > this.committed) throw new Error(`applying(${i}) is out of range [committed(${this.committed})]`)
    this.applying = i
  }

  appliedTo(i: number): void {
    if (i === 0) return
    if (this.committed < i || i < this.applied) {
      throw new Error(
        `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
      )
    }
    this.applied = i
    if (this.applying < i) this.applying = i
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t)
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i)
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex())
    if (t instanceof RaftError) throw new Error(`unexpected error when getting the last term: ${t.message}`)
    return t
  }

  /** The term of entry `i`, or Compacted / Unavailable. */
  term(i: number): number | RaftError {
    const ut = this.unstable.maybeTerm(i)
    if (ut !== undefined) return ut
    // The valid range is [firstIndex-1, lastIndex]: the entry before the first still has a known term.
    if (i + 1 < this.firstIndex()) return errCompacted()
    if (i > this.lastIndex()) return errUnavailable()
    const t = this.storage.term(i)
    if (
      t instanceof RaftError &&
      t.code !== RaftErrorCode.Compacted &&
      t.code !== RaftErrorCode.Unavailable
    ) {
      throw t
    }
    return t
  }

  /** The term of `i`, or 0 when it is out of bounds (compacted or not yet present). */
  zeroTermOnOutOfBounds(i: number): number {
    const t = this.term(i)
    return t instanceof RaftError ? 0 : t
  }

  entries(i: number, maxSize: number): Entry[] | RaftError {
    if (i > this.lastIndex()) return []
    return this.slice(i, this.lastIndex() + 1, maxSize)
  }

  /** Every entry from the first retained one (tests and the simulation's checkers). */
  allEntries(): Entry[] {
    const ents = this.entries(this.firstIndex(), Number.POSITIVE_INFINITY)
    if (ents instanceof RaftError) throw new Error(`allEntries: ${ents.message}`)
    return ents
  }

  /**
   * Raft §5.4.1: a candidate's log is at least as up-to-date as ours if its last term is greater, or
   * equal with a last index at least ours.
   */
  isUpToDate(lasti: number, term: number): boolean {
    const ourTerm = this.lastTerm()
    return term > ourTerm || (term === ourTerm && lasti >= this.lastIndex())
  }

  matchTerm(i: number, term: number): boolean {
    const t = this.term(i)
    return !(t instanceof RaftError) && t === term
  }

  /** Advances the commit index to `maxIndex` if that entry is of `term` (Raft §5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.zeroTermOnOutOfBounds(maxIndex) === term) {
      this.commitTo(maxIndex)
      return true
    }
    return false
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index
    this.unstable.restore(s)
  }

  /** Entries in [lo, hi) from storage and unstable, limited to `maxSize` bytes (at least one). */
  slice(lo: number, hi: number, maxSize: number): Entry[] | RaftError {
    const err = this.mustCheckOutOfBounds(lo, hi)
    if (err !== undefined) return err
    if (lo === hi) return []
    let ents: Entry[] = []
    if (lo < this.unstable.offset) {
      const stored = this.storage.entries(lo, Math.min(hi, this.unstable.offset), maxSize)
      if (stored instanceof RaftError) {
        if (stored.code === RaftErrorCode.Compacted) return stored
        if (stored.code === RaftErrorCode.Unavailable) {
          throw new Error(`entries[${lo}:${Math.min(hi, this.unstable.offset)}) is unavailable from storage`)
        }
        throw stored
      }
      // Storage returned fewer entries than asked for: the size limit was hit.
      if (stored.length < Math.min(hi, this.unstable.offset) - lo) return stored
      ents = stored
    }
    if (hi > this.unstable.offset) {
      const fromUnstable = this.unstable.slice(Math.max(lo, this.unstable.offset), hi)
      ents = ents.length > 0 ? ents.concat(fromUnstable) : fromUnstable
    }
    return limitSize(ents, maxSize)
  }

  private mustCheckOutOfBounds(lo: number, hi: number): RaftError | undefined {
    if (lo > hi) throw new Error(`invalid slice ${lo} > ${hi}`)
    const fi = this.firstIndex()
    if (lo < fi) return errCompacted()
    const length = this.lastIndex() + 1 - fi
    if (hi > fi + length) throw new Error(`slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`)
    return undefined
  }
}
