/**
 * The key index: per key, every retained change as a record ordered by (main, sub) revision, like
 * etcd's keyIndex with generations (mvcc/key_index.go). A generation ends with a tombstone record;
 * the next put starts a new one (createRevision = its revision, version 1).
 *
 * Invariant: records of a key are strictly increasing in (main, sub); after compaction to `c`, a key
 * keeps the last record with main <= c unless it is a tombstone, and every record with main > c.
 */
import { bytesToKey, lowerBound } from './bytes.js'
import type { KeyValue } from './types.js'

export interface KeyRecord {
  main: number
  sub: number
  tombstone: boolean
  createRevision: number
  version: number
  value: Uint8Array
  lease: bigint
}

export interface KeyHistory {
  key: Uint8Array
  records: KeyRecord[]
}

export function recordToKv(key: Uint8Array, r: KeyRecord): KeyValue {
  return {
    key,
    createRevision: r.createRevision,
    modRevision: r.main,
    version: r.version,
    value: r.value,
    lease: r.lease,
  }
}

/** Index of the last record with main <= rev, or -1. */
export function lastRecordAt(records: readonly KeyRecord[], rev: number): number {
  let lo = 0
  let hi = records.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((records[mid] as KeyRecord).main <= rev) lo = mid + 1
    else hi = mid
  }
  return lo - 1
}

/** The live record of a key at `rev`, or undefined if absent (never created, or deleted). */
export function recordAt(h: KeyHistory, rev: number): KeyRecord | undefined {
  const i = lastRecordAt(h.records, rev)
  if (i < 0) return undefined
  const r = h.records[i] as KeyRecord
  return r.tombstone ? undefined : r
}

export class KeyIndex {
  private readonly byKey = new Map<string, KeyHistory>()
  /** All indexed keys in bytewise order. */
  private sorted: string[] = []

  get size(): number {
    return this.byKey.size
  }

  get(key: string): KeyHistory | undefined {
    return this.byKey.get(key)
  }

  getOrCreate(key: string, bytes: Uint8Array): KeyHistory {
    let h = this.byKey.get(key)
    if (h === undefined) {
      h = { key: bytes, records: [] }
      this.byKey.set(key, h)
      const at = lowerBound(this.sorted, key)
      this.sorted.splice(at, 0, key)
    }
    return h
  }

  /** Histories of the keys selected by etcd range semantics (see `rangeEndOf`), in key order. */
  select(key: string, end: string | null | undefined): KeyHistory[] {
    if (end === undefined) {
      const h = this.byKey.get(key)
      return h === undefined ? [] : [h]
    }
    const out: KeyHistory[] = []
    for (let i = lowerBound(this.sorted, key); i < this.sorted.length; i++) {
      const k = this.sorted[i] as string
      if (end !== null && k >= end) break
      out.push(this.byKey.get(k) as KeyHistory)
    }
    return out
  }

  all(): KeyHistory[] {
    return this.sorted.map((k) => this.byKey.get(k) as KeyHistory)
  }

  /**
   * Drops records no revision >= `rev` needs (etcd keyIndex.compact); `onDrop` sees each dropped record
   * with its key history (for size accounting).
   */
  compact(rev: number, onDrop?: (h: KeyHistory, r: KeyRecord) => void): void {
    let removed = false
    for (const [k, h] of this.byKey) {
      const i = lastRecordAt(h.records, rev)
      if (i < 0) continue
      const keepFrom = (h.records[i] as KeyRecord).tombstone ? i + 1 : i
      if (onDrop !== undefined) for (let j = 0; j < keepFrom; j++) onDrop(h, h.records[j] as KeyRecord)
      if (keepFrom > 0) h.records = h.records.slice(keepFrom)
      if (h.records.length === 0) {
        this.byKey.delete(k)
        removed = true
      }
    }
    if (removed) this.sorted = this.sorted.filter((k) => this.byKey.has(k))
  }

  /** Restores a history (used by deserialization; keys must arrive in order). */
  restore(h: KeyHistory): void {
    const k = bytesToKey(h.key)
    this.byKey.set(k, h)
    this.sorted.push(k)
  }
}
