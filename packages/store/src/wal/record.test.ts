/**
 * Goal: the payload codec and the record framing hold their edge cases (varints up to 2^53 - 1,
 * alignment, the Crc record's self-seeded checksum, the resync scan). Method: encode, decode, damage.
 */
import { describe, expect, it } from 'vitest'
import { ByteReader, ByteWriter, DecodeError, decodeEntry, encodeEntry } from './codec.js'
import {
  encodeRecord,
  findNextPlausibleHeader,
  RECORD_HEADER_BYTES,
  RecordType,
  readRecord,
} from './record.js'
import { encodeCrcPayload } from './segment-reader.js'

describe('codec', () => {
  it('round-trips varints at the edges of each byte length and up to MAX_SAFE_INTEGER', () => {
    const values = [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER]
    const w = new ByteWriter(1)
    for (const v of values) w.uvarint(v)
    const r = new ByteReader(w.finish())
    expect(values.map(() => r.uvarint())).toEqual(values)
    expect(r.done()).toBe(true)
  })

  it('refuses negative, fractional and unsafe integers, and truncated input', () => {
    for (const v of [-1, 1.5, 2 ** 53, Number.NaN])
      expect(() => new ByteWriter().uvarint(v)).toThrow(RangeError)
    expect(() => new ByteReader(new Uint8Array([0x80, 0x80])).uvarint()).toThrow(DecodeError)
    expect(() => new ByteReader(new Uint8Array(9).fill(0xff)).uvarint()).toThrow(DecodeError)
  })

  it('round-trips entries of both types', () => {
    const e = { term: 2 ** 40, index: 2 ** 33, type: 'confChange' as const, data: new Uint8Array([1, 2, 3]) }
    const w = new ByteWriter()
    encodeEntry(w, e)
    encodeEntry(w, { ...e, type: 'normal', data: new Uint8Array() })
    const r = new ByteReader(w.finish())
    expect(decodeEntry(r)).toEqual(e)
    expect(decodeEntry(r)).toEqual({ ...e, type: 'normal', data: new Uint8Array() })
  })
})

describe('record framing', () => {
  it('aligns frames to 8 bytes and chains the checksum', () => {
    const a = encodeRecord(RecordType.Entry, new Uint8Array(5), 0)
    expect(a.frame.length).toBe(RECORD_HEADER_BYTES + 8)
    const b = encodeRecord(RecordType.Entry, new Uint8Array(5), a.crc)
    const buf = Buffer.concat([a.frame, b.frame])
    const ra = readRecord(buf, 0, 0)
    expect(ra.ok).toBe(true)
    // The same bytes do not verify with a different predecessor: records cannot be replayed out of place.
    expect(readRecord(buf, a.frame.length, 0)).toMatchObject({
      ok: false,
      reason: 'record data checksum mismatch',
    })
    expect(readRecord(buf, a.frame.length, a.crc).ok).toBe(true)
  })

  it('seeds a Crc record from the chain value it carries', () => {
    const rec = encodeRecord(RecordType.Crc, encodeCrcPayload(0xdeadbeef, 3, 9), 0xdeadbeef)
    expect(readRecord(rec.frame, 0, 12345)).toMatchObject({ ok: true, type: RecordType.Crc })
  })

  it('finds the next plausible header past garbage, and none in zeros', () => {
    const rec = encodeRecord(RecordType.HardState, new Uint8Array([1, 2, 3]), 0).frame
    const buf = Buffer.concat([Buffer.alloc(64, 0xab), rec, Buffer.alloc(64)])
    expect(findNextPlausibleHeader(buf, 0)).toBe(64)
    expect(findNextPlausibleHeader(buf, 64)).toBe(-1)
  })
})
