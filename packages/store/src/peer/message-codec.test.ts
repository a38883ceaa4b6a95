/**
 * Goal: the peer frame format round-trips every message shape the Raft core can produce, and any other
 * input throws a PeerCodecError (never hangs, never allocates by a hostile length).
 * Method: seeded random messages of every type (SEED printed, replay with SEED=<n>), then truncations,
 * bit flips and random garbage of the encodings.
 */
import { type Entry, type Message, newMessage, SeededRandom } from '@hakube/raft'
import { describe, expect, it } from 'vitest'
import {
  decodeMessage,
  decodeMessages,
  encodeMessage,
  encodeMessages,
  PEER_CODEC_VERSION,
  PeerCodecError,
  peerMessageTypes,
} from './message-codec.js'

const SEED = Number(process.env['SEED'] ?? Date.now() % 1_000_000)
console.log(`SEED=${SEED}`)

function bigish(r: SeededRandom): number {
  // Mostly small numbers (varint 1 byte), sometimes beyond 2^32 up to 2^53 - 1.
  switch (r.intn(4)) {
    case 0:
      return r.intn(128)
    case 1:
      return r.intn(1 << 20)
    case 2:
      return r.nextUint32() * 0x100000 + r.intn(0x100000)
    default:
      return r.intn(2) === 0 ? Number.MAX_SAFE_INTEGER : 0
  }
}

function bytes(r: SeededRandom, max: number): Uint8Array {
  const b = new Uint8Array(r.intn(max + 1))
  for (let i = 0; i < b.length; i++) b[i] = r.intn(256)
  return b
}

function ids(r: SeededRandom): number[] {
  return Array.from({ length: r.intn(6) }, () => 1 + r.intn(1 << 30))
}

function randomMessage(r: SeededRandom): Message {
  const types = peerMessageTypes()
  const type = types[r.intn(types.length)] ?? 'MsgApp'
  const entries: Entry[] = Array.from({ length: r.intn(4) === 0 ? r.intn(20) : 0 }, () => ({
    term: bigish(r),
    index: bigish(r),
    type: r.intn(2) === 0 ? 'normal' : 'confChange',
    data: bytes(r, 64),
  }))
  const m = newMessage({
    type,
    to: bigish(r),
    from: bigish(r),
    term: bigish(r),
    logTerm: bigish(r),
    index: bigish(r),
    commit: bigish(r),
    reject: r.intn(2) === 0,
    rejectHint: bigish(r),
    entries,
  })
  if (type === 'MsgSnap' || r.intn(8) === 0) {
    m.snapshot = {
      data: bytes(r, 512),
      metadata: { index: bigish(r), term: bigish(r), confState: { voters: ids(r), learners: ids(r) } },
    }
  }
  if (r.intn(3) === 0) m.context = bytes(r, 16)
  return m
}

describe('message codec', () => {
  it('round-trips random messages of every type, alone and in batches', () => {
    const r = new SeededRandom(SEED)
    const seen = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const m = randomMessage(r)
      seen.add(m.type)
      expect(decodeMessage(encodeMessage(m))).toStrictEqual(m)
    }
    expect(seen.size).toBe(peerMessageTypes().length)
    for (let i = 0; i < 200; i++) {
      const batch = Array.from({ length: r.intn(30) }, () => randomMessage(r))
      expect(decodeMessages(encodeMessages(batch))).toStrictEqual(batch)
    }
  })

  it('keeps an empty context apart from no context', () => {
    const a = newMessage({ type: 'MsgReadIndex', to: 1, from: 2, context: new Uint8Array(0) })
    const b = newMessage({ type: 'MsgReadIndex', to: 1, from: 2 })
    expect(decodeMessage(encodeMessage(a)).context).toEqual(new Uint8Array(0))
    expect('context' in decodeMessage(encodeMessage(b))).toBe(false)
  })

  it('encodes a heartbeat in a few bytes', () => {
    const hb = newMessage({ type: 'MsgHeartbeat', to: 2, from: 1, term: 5, commit: 100 })
    expect(encodeMessage(hb).length).toBeLessThanOrEqual(16)
  })

  it('refuses to encode values outside the safe integer range', () => {
    expect(() => encodeMessage(newMessage({ type: 'MsgApp', index: -1 }))).toThrow(
      /non-negative safe integer/,
    )
    expect(() => encodeMessage(newMessage({ type: 'Bogus' as 'MsgApp' }))).toThrow(PeerCodecError)
  })

  it('rejects bad headers with a clear error', () => {
    expect(() => decodeMessages(new Uint8Array())).toThrow(/shorter than its header/)
    expect(() => decodeMessages(Buffer.from('GET / HTTP/1.1'))).toThrow(/bad magic/)
    const frame = encodeMessages([])
    frame[2] = PEER_CODEC_VERSION + 1
    expect(() => decodeMessages(frame)).toThrow(/unsupported frame version 2/)
  })

  it('rejects hostile counts before allocating', () => {
    // Header, then a message count of 2^53 - 1.
    const frame = Buffer.from([0x68, 0x72, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])
    expect(() => decodeMessages(frame)).toThrow(/message count \d+ cannot fit/)
    const one = encodeMessage(newMessage({ type: 'MsgApp', to: 1, from: 2 }))
    // Patch the entry count (the byte after the 7 one-byte varints) to a huge value.
    const patched = Buffer.concat([one.subarray(0, 13), Buffer.from([0xff, 0xff, 0xff, 0x7f])])
    expect(() => decodeMessages(patched)).toThrow(/entry count \d+ cannot fit/)
  })

  it('throws PeerCodecError for every truncation, bit flip and random garbage', () => {
    const r = new SeededRandom(SEED + 1)
    const samples = Array.from({ length: 20 }, () =>
      encodeMessages(Array.from({ length: 1 + r.intn(4) }, () => randomMessage(r))),
    )
    const mustFailCleanly = (input: Uint8Array): void => {
      try {
        decodeMessages(input)
      } catch (err) {
        expect(err).toBeInstanceOf(PeerCodecError)
        expect((err as PeerCodecError).code).toBe('PEER_ERR_DECODE')
        expect((err as Error).message).toMatch(/^cannot decode Raft message frame at byte \d+: |^expected/)
      }
    }
    for (const frame of samples) {
      for (let n = 0; n < frame.length; n++) {
        expect(() => decodeMessages(frame.subarray(0, n))).toThrow(PeerCodecError)
      }
      for (let i = 0; i < 200; i++) {
        const copy = Buffer.from(frame)
        const at = r.intn(copy.length)
        copy[at] = (copy[at] ?? 0) ^ (1 << r.intn(8))
        mustFailCleanly(copy) // may still decode (a flipped payload bit), but never crash otherwise
      }
    }
    for (let i = 0; i < 2000; i++) {
      const garbage = bytes(r, 200)
      if (r.intn(2) === 0 && garbage.length >= 3) {
        garbage[0] = 0x68
        garbage[1] = 0x72
        garbage[2] = 1
      }
      mustFailCleanly(garbage)
    }
  })
})
