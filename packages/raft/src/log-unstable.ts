import type { RaftLogger } from './logger.js'
import type { Entry, Snapshot } from './types.js'

/**
 * Entries (and possibly a snapshot) that the node holds but the application has not yet persisted.
 *
 * Invariants: `entries[i].index === offset + i`; when `snapshot` is set, `offset === snapshot index + 1`.
 * Entries leave this structure only through `stableTo` / `stableSnapTo`, called from `advance()` once
 * the application has written them.
 */
export class Unstable {
  snapshot: Snapshot | undefined
  entries: Entry[] = []
  offset: number

  constructor(
    offset: number,
    private readonly logger: RaftLogger,
  ) {
    this.offset = offset
  }

  /** The index of the first possible entry, if only a snapshot is held. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length !== 0) return this.offset + this.entries.length - 1
    if (this.snapshot !== undefined) return this.snapshot.metadata.index
    return undefined
  }

  /** The term of entry `i` if this structure knows it. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.metadata.index === i)
        return this.snapshot.metadata.term
      return undefined
    }
    const last = this.maybeLastIndex()
    if (last === undefined || i > last) return undefined
    return this.entries[i - this.offset]!.term
  }

  /** The application persisted entries up to `(i, t)`: drop them, unless they were replaced since. */
  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i)
    if (gt === undefined || i < this.offset) return
    if (gt === t) {
      this.entries = this.entries.slice(i + 1 - this.offset)
      this.offset = i + 1
    }
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) this.snapshot = undefined
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1
    this.entries = []
    this.snapshot = s
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index
    if (after === this.offset + this.entries.length) {
      // Directly after what we hold: append.
      for (const e of ents) this.entries.push(e)
    } else if (after <= this.offset) {
      // Replaces everything unstable; the application truncates its storage when it persists these.
      this.logger.info({ index: after }, 'replace the unstable entries from index')
      this.offset = after
      this.entries = ents.slice()
    } else {
      this.logger.info({ index: after }, 'truncate the unstable entries before index')
      this.entries = this.entries.slice(0, after - this.offset)
      for (const e of ents) this.entries.push(e)
    }
  }

  /** Entries in [lo, hi); the caller has checked the bounds. */
  slice(lo: number, hi: number): Entry[] {
    if (lo > hi) throw new Error(`invalid unstable.slice ${lo} > ${hi}`)
    const upper = this.offset + this.entries.length
    if (lo < this.offset || hi > upper) {
      throw new Error(`unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`)
    }
    return this.entries.slice(lo - this.offset, hi - this.offset)
  }
}
