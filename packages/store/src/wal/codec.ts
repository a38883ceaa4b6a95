/**
 * The compact binary encoding of record payloads: unsigned LEB128 varints for integers (terms, indexes
 * and node IDs are usually small) and length-prefixed byte strings. Integers are JS numbers, so values
 * are limited to safe integers (2^53 - 1), which the Raft core already guarantees for IDs and indexes.
 */
import type { Entry, HardState } from '@hakube/raft'

/** Thrown by `ByteReader` on malformed input; record decoding turns it into a `WalError` with a location. */
export class DecodeError extends Error {
  override name = 'DecodeError'
}

export class ByteWriter {
  private buf: Buffer
  private len = 0

  constructor(initialBytes = 64) {
    this.buf = Buffer.allocUnsafe(initialBytes)
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }

  uvarint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`cannot encode ${v}: not a non-negative safe integer`)
    this.ensure(8)
    // Division, not bit shifts: shifts truncate to 32 bits and indexes may exceed 2^32.
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.len++] = v
    return this
  }

  u8(v: number): this {
    this.ensure(1)
    this.buf[this.len++] = v & 0xff
    return this
  }

  u32(v: number): this {
    this.ensure(4)
    this.buf.writeUInt32LE(v >>> 0, this.len)
    this.len += 4
    return this
  }

  /** A varint length followed by the bytes. */
  bytes(b: Uint8Array): this {
    this.uvarint(b.length)
    this.ensure(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
    return this
  }

  raw(b: Uint8Array): this {
    this.ensure(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
    return this
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.len)
  }
}

export class ByteReader {
  private pos = 0

  constructor(private readonly buf: Uint8Array) {}

  get offset(): number {
    return this.pos
  }

  done(): boolean {
    return this.pos === this.buf.length
  }

  uvarint(): number {
    let result = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.buf.length) throw new DecodeError('varint runs past the end')
      const b = this.buf[this.pos++]!
      result += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new DecodeError('varint exceeds 2^53')
        return result
      }
      scale *= 0x80
    }
    throw new DecodeError('varint longer than 8 bytes')
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new DecodeError('byte runs past the end')
    return this.buf[this.pos++]!
  }

  u32(): number {
    if (this.pos + 4 > this.buf.length) throw new DecodeError('u32 runs past the end')
    const b = this.buf
    const v =
      (b[this.pos]! | (b[this.pos + 1]! << 8) | (b[this.pos + 2]! << 16)) + b[this.pos + 3]! * 0x1000000
    this.pos += 4
    return v
  }

  /** A varint length followed by that many bytes, copied so the result does not pin the file buffer. */
  bytes(): Uint8Array {
    const n = this.uvarint()
    return this.raw(n)
  }

  raw(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new DecodeError('byte string runs past the end')
    const out = new Uint8Array(n)
    out.set(this.buf.subarray(this.pos, this.pos + n))
    this.pos += n
    return out
  }

  expectDone(what: string): void {
    if (!this.done()) throw new DecodeError(`${this.buf.length - this.pos} trailing bytes after ${what}`)
  }
}

const ENTRY_TYPE_NORMAL = 0
const ENTRY_TYPE_CONF_CHANGE = 1

export function encodeEntry(w: ByteWriter, e: Entry): void {
  w.uvarint(e.term)
    .uvarint(e.index)
    .u8(e.type === 'confChange' ? ENTRY_TYPE_CONF_CHANGE : ENTRY_TYPE_NORMAL)
    .bytes(e.data)
}

export function decodeEntry(r: ByteReader): Entry {
  const term = r.uvarint()
  const index = r.uvarint()
  const t = r.u8()
  if (t !== ENTRY_TYPE_NORMAL && t !== ENTRY_TYPE_CONF_CHANGE)
    throw new DecodeError(`unknown entry type ${t}`)
  const data = r.bytes()
  return { term, index, type: t === ENTRY_TYPE_CONF_CHANGE ? 'confChange' : 'normal', data }
}

export function encodeHardState(w: ByteWriter, hs: HardState): void {
  w.uvarint(hs.term).uvarint(hs.vote).uvarint(hs.commit)
}

export function decodeHardState(r: ByteReader): HardState {
  const term = r.uvarint()
  const vote = r.uvarint()
  const commit = r.uvarint()
  return { term, vote, commit }
}
