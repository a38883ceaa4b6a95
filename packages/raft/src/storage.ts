import { errCompacted, errSnapOutOfDate, errUnavailable, RaftError, type RaftErrorCode } from './errors.js'
import type { ConfState, Entry, HardState, Snapshot } from './types.js'
import { emptyHardState, emptySnapshot } from './types.js'
import { limitSize } from './util.js'

/**
 * What the core reads from durable storage: the entries, hard state and snapshot that the application
 * persisted from earlier Ready batches. Reads are synchronous; the store keeps a memory image of its WAL
 * tail, so this never touches the disk on the hot path.
 *
 * Invariant: entries are contiguous from `firstIndex()` to `lastIndex()`; `term(firstIndex() - 1)` is
 * the term of the latest snapshot (or 0 for an empty log).
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState }
  /** Entries in [lo, hi), limited to `maxSize` bytes of data but always at least one entry. */
  entries(lo: number, hi: number, maxSize: number): Entry[] | RaftError
  /** The term of entry `i`, for `firstIndex() - 1 <= i <= lastIndex()`. */
  term(i: number): number | RaftError
  lastIndex(): number
  firstIndex(): number
  /** The most recent snapshot; `SnapshotTemporarilyUnavailable` while one is being produced. */
  snapshot(): Snapshot | RaftError
}

/**
 * Storage held in memory: the reference implementation used by tests and simulations (as the "disk"
 * that survives a simulated crash) and by the store as the image of its WAL.
 *
 * Invariant: `ents[0]` is a dummy entry carrying the snapshot's index and term.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState()
  private snap: Snapshot = emptySnapshot()
  private ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }]

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState }
  }

  setHardState(hs: HardState): void {
    this.hardState = hs
  }

  hardStateNow(): HardState {
    return this.hardState
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] | RaftError {
    const offset = this.ents[0]!.index
    if (lo <= offset) return errCompacted()
    if (hi > this.lastIndex() + 1) {
      throw new Error(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`)
    }
    if (this.ents.length === 1) return errUnavailable()
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize)
  }

  term(i: number): number | RaftError {
    const offset = this.ents[0]!.index
    if (i < offset) return errCompacted()
    if (i - offset >= this.ents.length) return errUnavailable()
    return this.ents[i - offset]!.term
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1
  }

  snapshot(): Snapshot {
    return this.snap
  }

  /** Replaces the contents with a received snapshot (the log restarts after it). */
  applySnapshot(snap: Snapshot): RaftError | undefined {
    if (this.snap.metadata.index >= snap.metadata.index) return errSnapOutOfDate()
    this.snap = snap
    this.ents = [
      { term: snap.metadata.term, index: snap.metadata.index, type: 'normal', data: new Uint8Array(0) },
    ]
    return undefined
  }

  /**
   * Records a snapshot of the application's state at `index` (which must be applied). Entries up to
   * `index` may then be dropped with `compact`.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot | RaftError {
    if (index <= this.snap.metadata.index) return errSnapOutOfDate()
    const offset = this.ents[0]!.index
    if (index > this.lastIndex()) {
      throw new Error(`snapshot ${index} is out of bound lastindex(${this.lastIndex()})`)
    }
    this.snap = { data, metadata: { index, term: this.ents[index - offset]!.term, confState } }
    return this.snap
  }

  /** Discards entries up to and including `compactIndex`. */
  compact(compactIndex: number): RaftError | undefined {
    const offset = this.ents[0]!.index
    if (compactIndex <= offset) return errCompacted()
    if (compactIndex > this.lastIndex()) {
      throw new Error(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`)
    }
    const i = compactIndex - offset
    const dummy: Entry = {
      term: this.ents[i]!.term,
      index: compactIndex,
      type: 'normal',
      data: new Uint8Array(0),
    }
    this.ents = [dummy, ...this.ents.slice(i + 1)]
    return undefined
  }

  /**
   * Appends entries, truncating any existing suffix they conflict with. Entries below the first index
   * (already compacted) are ignored.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const first = this.firstIndex()
    const last = entries[0]!.index + entries.length - 1
    if (last < first) return
    const toAppend = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries
    const offset = toAppend[0]!.index - this.ents[0]!.index
    if (offset > this.ents.length) {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${toAppend[0]!.index}]`)
    }
    if (offset < this.ents.length) this.ents.length = offset
    for (const e of toAppend) this.ents.push(e)
  }
}

/** True if `err` is a storage error of the given code. */
export function isRaftError(v: unknown, code?: RaftErrorCode): v is RaftError {
  return v instanceof RaftError && (code === undefined || v.code === code)
}
