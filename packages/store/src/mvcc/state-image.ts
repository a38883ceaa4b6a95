/**
 * The state image of an {@link MvccStore} for Raft snapshots and `etcdctl snapshot save`, and HashKV.
 *
 * Image format (all integers unsigned LEB128 varints unless noted; deterministic: keys in bytewise
 * order, records in revision order, so equal states give equal bytes):
 *   magic "HKMVCC" + format version byte 1
 *   currentRevision, compactRevision + 1 (0 = never compacted), keyCount
 *   per key: keyLength, key bytes, recordCount
 *     per record: main, sub, flags (bit 0 = tombstone), createRevision, version,
 *                 lease (8 bytes, big-endian two's complement int64), valueLength, value bytes
 */
import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { StoreError } from '../errors.js'
import { bytesToKey } from './bytes.js'
import type { KeyHistory, KeyRecord } from './key-index.js'
import { MvccStore, type MvccStoreOptions } from './kv-store.js'

const MAGIC = [0x48, 0x4b, 0x4d, 0x56, 0x43, 0x43] // "HKMVCC"
const FORMAT_VERSION = 1

class Writer {
  private chunks: Uint8Array[] = []
  private buf = new Uint8Array(4096)
  private pos = 0

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    this.chunks.push(this.buf.subarray(0, this.pos))
    this.buf = new Uint8Array(Math.max(4096, n))
    this.pos = 0
  }

  byte(b: number): void {
    this.ensure(1)
    this.buf[this.pos++] = b
  }

  uvarint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`cannot encode ${n} as uvarint`)
    this.ensure(10)
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.buf[this.pos++] = n
  }

  int64(v: bigint): void {
    this.ensure(8)
    new DataView(this.buf.buffer, this.buf.byteOffset).setBigInt64(this.pos, v)
    this.pos += 8
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length)
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  finish(): Uint8Array {
    this.chunks.push(this.buf.subarray(0, this.pos))
    const total = this.chunks.reduce((n, c) => n + c.length, 0)
    const out = new Uint8Array(total)
    let at = 0
    for (const c of this.chunks) {
      out.set(c, at)
      at += c.length
    }
    return out
  }
}

class Reader {
  private pos = 0
  constructor(private readonly buf: Uint8Array) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new StoreError('MVCC_ERR_CORRUPT_SNAPSHOT', 'truncated')
  }

  byte(): number {
    this.need(1)
    return this.buf[this.pos++] as number
  }

  uvarint(): number {
    let n = 0
    let mul = 1
    for (;;) {
      const b = this.byte()
      n += (b & 0x7f) * mul
      if (b < 0x80) break
      mul *= 0x80
      if (mul > 2 ** 56) throw new StoreError('MVCC_ERR_CORRUPT_SNAPSHOT', 'varint overflow')
    }
    return n
  }

  int64(): bigint {
    this.need(8)
    const v = new DataView(this.buf.buffer, this.buf.byteOffset).getBigInt64(this.pos)
    this.pos += 8
    return v
  }

  bytes(): Uint8Array {
    const n = this.uvarint()
    this.need(n)
    const out = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  get offset(): number {
    return this.pos
  }
}

export function serialize(store: MvccStore): Uint8Array {
  const w = new Writer()
  for (const b of MAGIC) w.byte(b)
  w.byte(FORMAT_VERSION)
  w.uvarint(store.revision)
  w.uvarint(store.compactRevision + 1)
  const histories = store.histories()
  w.uvarint(histories.length)
  for (const h of histories) {
    w.bytes(h.key)
    w.uvarint(h.records.length)
    for (const r of h.records) {
      w.uvarint(r.main)
      w.uvarint(r.sub)
      w.byte(r.tombstone ? 1 : 0)
      w.uvarint(r.createRevision)
      w.uvarint(r.version)
      w.int64(r.lease)
      w.bytes(r.value)
    }
  }
  return w.finish()
}

/** Rebuilds a store from an image; throws a MVCC_ERR_CORRUPT_SNAPSHOT StoreError on bad input. */
export function deserialize(image: Uint8Array, options: MvccStoreOptions = {}): MvccStore {
  const { store, length } = deserializePrefix(image, options)
  if (length !== image.length) throw new StoreError('MVCC_ERR_CORRUPT_SNAPSHOT', 'trailing bytes')
  return store
}

/**
 * Rebuilds a store from the image at the start of `bytes`, which may continue with other data (a
 * snapshot file's lease section and padding); `length` is the image's size in bytes.
 */
export function deserializePrefix(
  bytes: Uint8Array,
  options: MvccStoreOptions = {},
): { store: MvccStore; length: number } {
  const r = new Reader(bytes)
  for (const b of MAGIC) {
    if (r.byte() !== b) throw new StoreError('MVCC_ERR_CORRUPT_SNAPSHOT', 'bad magic')
  }
  if (r.byte() !== FORMAT_VERSION) throw new StoreError('MVCC_ERR_CORRUPT_SNAPSHOT', 'unknown format version')
  const currentRev = r.uvarint()
  const compactRev = r.uvarint() - 1
  const keyCount = r.uvarint()
  const histories: KeyHistory[] = []
  let prevKey: string | undefined
  for (let i = 0; i < keyCount; i++) {
    const key = r.bytes()
    const k = bytesToKey(key)
    if (key.length === 0 || (prevKey !== undefined && k <= prevKey)) {
      throw new StoreError('MVCC_ERR_CORRUPT_SNAPSHOT', 'keys out of order')
    }
    prevKey = k
    const n = r.uvarint()
    const records: KeyRecord[] = []
    for (let j = 0; j < n; j++) {
      const main = r.uvarint()
      const sub = r.uvarint()
      const tombstone = r.byte() === 1
      const createRevision = r.uvarint()
      const version = r.uvarint()
      const lease = r.int64()
      const value = r.bytes()
      if (main > currentRev)
        throw new StoreError('MVCC_ERR_CORRUPT_SNAPSHOT', 'record above current revision')
      records.push({ main, sub, tombstone, createRevision, version, lease, value })
    }
    histories.push({ key, records })
  }
  const store = new MvccStore(options)
  store.restoreState(currentRev, compactRev, histories)
  return { store, length: r.offset }
}

export interface HashKvResult {
  /** CRC-32 (IEEE, node:zlib) — not bit-compatible with etcd's Castagnoli hash over bbolt keys. */
  hash: number
  compactRevision: number
  /** The revision hashed up to (the current revision when 0 was asked). */
  revision: number
}

/**
 * HashKV: a hash of every retained record with main revision <= `revision` (0 = current), in (main,
 * sub) order, each encoded as main(8 BE) sub(8 BE) tombstone(1) createRevision(8 BE) version(8 BE)
 * lease(8 BE) keyLength(4 BE) key valueLength(4 BE) value. Members that applied the same log and
 * compacted at the same revision agree, as with etcd's HashKV. Errors as Range on the revision.
 */
export function hashKV(
  store: MvccStore,
  revision = 0,
): { ok: true; response: HashKvResult } | { ok: false; error: StoreError } {
  const rev = revision <= 0 ? store.revision : revision
  if (rev > store.revision) return { ok: false, error: new StoreError('MVCC_ERR_FUTURE_REV') }
  if (rev < store.compactRevision) return { ok: false, error: new StoreError('MVCC_ERR_COMPACTED') }
  const items: { key: Uint8Array; r: KeyRecord }[] = []
  for (const h of store.histories()) {
    for (const r of h.records) if (r.main <= rev) items.push({ key: h.key, r })
  }
  items.sort((a, b) => a.r.main - b.r.main || a.r.sub - b.r.sub)
  let hash = 0
  const head = new Uint8Array(45)
  const view = new DataView(head.buffer)
  const len = new Uint8Array(4)
  const lenView = new DataView(len.buffer)
  for (const { key, r } of items) {
    view.setBigUint64(0, BigInt(r.main))
    view.setBigUint64(8, BigInt(r.sub))
    head[16] = r.tombstone ? 1 : 0
    view.setBigUint64(17, BigInt(r.createRevision))
    view.setBigUint64(25, BigInt(r.version))
    view.setBigInt64(33, r.lease)
    view.setUint32(41, key.length)
    hash = crc32(head, hash)
    hash = crc32(key, hash)
    lenView.setUint32(0, r.value.length)
    hash = crc32(len, hash)
    hash = crc32(r.value, hash)
  }
  return { ok: true, response: { hash, compactRevision: store.compactRevision, revision: rev } }
}

/** SHA-256 of an image, as etcd appends to `snapshot save` streams for integrity. */
export function imageDigest(image: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(image).digest())
}
