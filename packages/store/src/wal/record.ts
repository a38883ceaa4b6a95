/**
 * Record framing of WAL segments.
 *
 * Every record is one frame, 8-byte aligned (as in etcd's WAL, so a torn sector never splits a header
 * across an alignment boundary and a resync scan only needs to look at aligned offsets):
 *
 * ```
 *  0      4     5        8           12          16                16+pad(len)
 *  | len  | type| 0 0 0  | dataCrc   | headerCrc | payload | zero padding |
 *    u32LE   u8  reserved   u32LE       u32LE
 * ```
 *
 * - `dataCrc` is a *rolling* CRC-32: it covers bytes 0..8 of this header plus the padded payload and is
 *   seeded with the previous record's `dataCrc`, so a record copied from elsewhere (or a stale block left
 *   by the file system) does not verify in a new position. etcd's WAL chains its CRC the same way
 *   (server/storage/wal/encoder.go); each segment opens with a `crc` record carrying the chain value,
 *   which lets the reader check that a segment continues exactly where its predecessor stopped.
 * - `headerCrc` covers bytes 0..12 and is NOT chained. etcd has no header checksum; we add one so that a
 *   flipped bit in a length field is told apart from a write that was torn: with a trusted length we know
 *   where the record ends, and an untrusted header in the middle of a file is refused instead of being
 *   taken for the end of the log (which would silently drop every later record).
 */
import { crc32 } from 'node:zlib'

export const RecordType = {
  /** First record of every segment: the rolling CRC so far, the segment's sequence and first index. */
  Crc: 1,
  /** Opaque metadata given to `Wal.create` (the store puts member and cluster IDs there). */
  Metadata: 2,
  Entry: 3,
  HardState: 4,
  /** Marker {index, term} of a snapshot whose .snap file is durable. */
  Snapshot: 5,
} as const

export type RecordType = (typeof RecordType)[keyof typeof RecordType]

export const RECORD_HEADER_BYTES = 16
export const RECORD_ALIGN_BYTES = 8
/** Upper bound of one record's payload; a longer length can only be corruption. */
export const RECORD_PAYLOAD_BYTES_MAX = 512 * 1024 * 1024

export function paddedLength(len: number): number {
  return Math.ceil(len / RECORD_ALIGN_BYTES) * RECORD_ALIGN_BYTES
}

function isKnownType(t: number): t is RecordType {
  return t >= RecordType.Crc && t <= RecordType.Snapshot
}

/**
 * Frames `payload`. For a `Crc` record, `prevCrc` must equal the chain value stored in the payload's first
 * four bytes (the record seeds its own checksum with it).
 */
export function encodeRecord(
  type: RecordType,
  payload: Uint8Array,
  prevCrc: number,
): { frame: Buffer; crc: number } {
  if (payload.length > RECORD_PAYLOAD_BYTES_MAX) {
    throw new RangeError(`record payload of ${payload.length} bytes exceeds ${RECORD_PAYLOAD_BYTES_MAX}`)
  }
  const frame = Buffer.alloc(RECORD_HEADER_BYTES + paddedLength(payload.length))
  frame.writeUInt32LE(payload.length, 0)
  frame[4] = type
  frame.set(payload, RECORD_HEADER_BYTES)
  let crc = crc32(frame.subarray(0, 8), prevCrc)
  crc = crc32(frame.subarray(RECORD_HEADER_BYTES), crc)
  frame.writeUInt32LE(crc, 8)
  frame.writeUInt32LE(crc32(frame.subarray(0, 12)), 12)
  return { frame, crc }
}

export type ReadResult =
  | {
      readonly ok: true
      readonly type: RecordType
      readonly payload: Buffer
      readonly next: number
      readonly crc: number
    }
  | { readonly ok: false; readonly reason: string }

/**
 * True if a header at `off` verifies and its frame fits in `buf`. Used both to read and to scan past a
 * bad record for any later valid one (which decides "torn tail" versus "corruption in the middle").
 */
export function isPlausibleHeader(buf: Buffer, off: number): boolean {
  if (off + RECORD_HEADER_BYTES > buf.length) return false
  // Cheap filters first: a scan over megabytes of zeros or garbage must not checksum every offset.
  if (!isKnownType(buf[off + 4]!) || buf[off + 5] !== 0 || buf[off + 6] !== 0 || buf[off + 7] !== 0)
    return false
  if (crc32(buf.subarray(off, off + 12)) !== buf.readUInt32LE(off + 12)) return false
  const len = buf.readUInt32LE(off)
  return len <= RECORD_PAYLOAD_BYTES_MAX && off + RECORD_HEADER_BYTES + paddedLength(len) <= buf.length
}

/** Reads the record at `off`, verifying both checksums; `prevCrc` is the chain value before it. */
export function readRecord(buf: Buffer, off: number, prevCrc: number): ReadResult {
  if (off + RECORD_HEADER_BYTES > buf.length) return { ok: false, reason: 'incomplete record header' }
  const type = buf[off + 4]!
  if (crc32(buf.subarray(off, off + 12)) !== buf.readUInt32LE(off + 12)) {
    return { ok: false, reason: 'record header checksum mismatch' }
  }
  if (!isKnownType(type) || buf[off + 5] !== 0 || buf[off + 6] !== 0 || buf[off + 7] !== 0) {
    return { ok: false, reason: `unknown record type ${type}` }
  }
  const len = buf.readUInt32LE(off)
  if (len > RECORD_PAYLOAD_BYTES_MAX) return { ok: false, reason: `record length ${len} too large` }
  const end = off + RECORD_HEADER_BYTES + paddedLength(len)
  if (end > buf.length) return { ok: false, reason: 'incomplete record payload' }
  const payload = buf.subarray(off + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES + len)
  // A Crc record restarts the chain from the value it carries (checked against the predecessor by the caller).
  const seed = type === RecordType.Crc && len >= 4 ? payload.readUInt32LE(0) : prevCrc
  let crc = crc32(buf.subarray(off, off + 8), seed)
  crc = crc32(buf.subarray(off + RECORD_HEADER_BYTES, end), crc)
  if (crc !== buf.readUInt32LE(off + 8)) return { ok: false, reason: 'record data checksum mismatch' }
  return { ok: true, type, payload, next: end, crc }
}

/** The first aligned offset after `from` where a plausible record header starts, or -1. */
export function findNextPlausibleHeader(buf: Buffer, from: number): number {
  const start = paddedLength(from + 1)
  for (let p = start; p + RECORD_HEADER_BYTES <= buf.length; p += RECORD_ALIGN_BYTES) {
    if (isPlausibleHeader(buf, p)) return p
  }
  return -1
}
