/**
 * The wire format of Raft messages between hakube-store members (our own format, not etcd's raftpb).
 *
 * A frame is a versioned header followed by a batch of messages:
 *
 *   frame    := magic 'h' 'r' (0x68 0x72) | version u8 (= 1) | count uvarint | message*count
 *   message  := type u8 | flags u8 | to | from | term | logTerm | index | commit | rejectHint (uvarints)
 *               | entryCount uvarint | entry*entryCount
 *               | [snapshot, when flags & HAS_SNAPSHOT] | [context bytes, when flags & HAS_CONTEXT]
 *   entry    := term uvarint | index uvarint | type u8 (0 normal, 1 confChange) | data bytes
 *               (the WAL's entry encoding, src/wal/codec.ts, so both stay in step)
 *   snapshot := index uvarint | term uvarint | voterCount uvarint | voter uvarint* | learnerCount uvarint
 *               | learner uvarint* | data bytes
 *   bytes    := length uvarint | raw bytes
 *   flags    := bit 0 reject, bit 1 has snapshot, bit 2 has context (absent and empty context differ)
 *
 * Varints because terms, indexes and ids are small most of the time: a heartbeat is about 12 bytes.
 * Integers must be non-negative safe integers (the Raft core's invariant); the encoder throws otherwise.
 *
 * Decoding is total: any input either decodes or throws {@link PeerCodecError} (code
 * `PEER_ERR_DECODE`) naming what was wrong and where. Every count is checked against the bytes left
 * before anything is allocated, so a hostile length can neither exhaust memory nor loop.
 */
import type { Entry, Message, MessageType, Snapshot } from '@hakube/raft'
import { ByteReader, ByteWriter, DecodeError, decodeEntry, encodeEntry } from '../wal/codec.js'

/** The format version this code writes and the only one it reads. Bump on any incompatible change. */
export const PEER_CODEC_VERSION = 1

const MAGIC_0 = 0x68 // 'h'
const MAGIC_1 = 0x72 // 'r'

const FLAG_REJECT = 1
const FLAG_HAS_SNAPSHOT = 2
const FLAG_HAS_CONTEXT = 4
const FLAGS_KNOWN = FLAG_REJECT | FLAG_HAS_SNAPSHOT | FLAG_HAS_CONTEXT

/** Smallest possible encodings, used to reject counts that cannot fit in the bytes left. */
const MESSAGE_BYTES_MIN = 10
const ENTRY_BYTES_MIN = 4

/**
 * Stable numeric codes of message types. Local types are listed too so a frame can carry any Message the
 * core produces (the transport only sends network types, but the codec need not know that).
 * NB: append only; never renumber (it would break mixed-version clusters).
 */
const MESSAGE_TYPES: readonly MessageType[] = [
  'MsgHup',
  'MsgBeat',
  'MsgProp',
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgSnap',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgUnreachable',
  'MsgSnapStatus',
  'MsgCheckQuorum',
  'MsgTransferLeader',
  'MsgTimeoutNow',
  'MsgReadIndex',
  'MsgReadIndexResp',
  'MsgPreVote',
  'MsgPreVoteResp',
]
const MESSAGE_TYPE_CODES: ReadonlyMap<MessageType, number> = new Map(MESSAGE_TYPES.map((t, i) => [t, i]))

/** Thrown for a frame that cannot be decoded (or a message that cannot be encoded). */
export class PeerCodecError extends Error {
  override name = 'PeerCodecError'
  readonly code = 'PEER_ERR_DECODE'
}

/** Every message type the codec knows, in code order (for tests and tools). */
export function peerMessageTypes(): readonly MessageType[] {
  return MESSAGE_TYPES
}

/** Encodes a batch of messages as one frame. */
export function encodeMessages(messages: readonly Message[]): Buffer {
  let hint = 16
  for (const m of messages) hint += estimateMessageBytes(m)
  const w = new ByteWriter(hint)
  w.u8(MAGIC_0).u8(MAGIC_1).u8(PEER_CODEC_VERSION).uvarint(messages.length)
  for (const m of messages) encodeMessageBody(w, m)
  return w.finish()
}

/** Encodes one message as a frame (a batch of one). */
export function encodeMessage(m: Message): Buffer {
  return encodeMessages([m])
}

/** Decodes a frame; throws {@link PeerCodecError} on any malformed input. */
export function decodeMessages(frame: Uint8Array): Message[] {
  const r = new ByteReader(frame)
  try {
    if (frame.length < 4) throw new DecodeError(`frame of ${frame.length} bytes is shorter than its header`)
    if (r.u8() !== MAGIC_0 || r.u8() !== MAGIC_1)
      throw new DecodeError('bad magic (not a Raft message frame)')
    const version = r.u8()
    if (version !== PEER_CODEC_VERSION)
      throw new DecodeError(`unsupported frame version ${version} (this member reads ${PEER_CODEC_VERSION})`)
    const count = readCount(r, frame.length, MESSAGE_BYTES_MIN, 'message')
    const out: Message[] = []
    for (let i = 0; i < count; i++) out.push(decodeMessageBody(r, frame.length))
    r.expectDone('the last message')
    return out
  } catch (err) {
    if (err instanceof DecodeError)
      throw new PeerCodecError(`cannot decode Raft message frame at byte ${r.offset}: ${err.message}`)
    throw err
  }
}

/** Decodes a frame that must hold exactly one message. */
export function decodeMessage(frame: Uint8Array): Message {
  const ms = decodeMessages(frame)
  if (ms.length !== 1 || ms[0] === undefined)
    throw new PeerCodecError(`expected a frame with one Raft message, got ${ms.length}`)
  return ms[0]
}

/** Roughly how many bytes a message takes on the wire (for batch sizing; never less than the truth). */
export function estimateMessageBytes(m: Message): number {
  let n = 80
  for (const e of m.entries) n += 24 + e.data.length
  if (m.snapshot !== undefined) {
    const cs = m.snapshot.metadata.confState
    n += 40 + 9 * (cs.voters.length + cs.learners.length) + m.snapshot.data.length
  }
  if (m.context !== undefined) n += 9 + m.context.length
  return n
}

function encodeMessageBody(w: ByteWriter, m: Message): void {
  const code = MESSAGE_TYPE_CODES.get(m.type)
  if (code === undefined) throw new PeerCodecError(`cannot encode unknown message type ${String(m.type)}`)
  let flags = 0
  if (m.reject) flags |= FLAG_REJECT
  if (m.snapshot !== undefined) flags |= FLAG_HAS_SNAPSHOT
  if (m.context !== undefined) flags |= FLAG_HAS_CONTEXT
  w.u8(code).u8(flags)
  w.uvarint(m.to).uvarint(m.from).uvarint(m.term).uvarint(m.logTerm).uvarint(m.index)
  w.uvarint(m.commit).uvarint(m.rejectHint)
  w.uvarint(m.entries.length)
  for (const e of m.entries) encodeEntry(w, e)
  if (m.snapshot !== undefined) encodeSnapshot(w, m.snapshot)
  if (m.context !== undefined) w.bytes(m.context)
}

function decodeMessageBody(r: ByteReader, frameBytes: number): Message {
  const code = r.u8()
  const type = MESSAGE_TYPES[code]
  if (type === undefined) throw new DecodeError(`unknown message type code ${code}`)
  const flags = r.u8()
  if ((flags & ~FLAGS_KNOWN) !== 0) throw new DecodeError(`unknown message flags 0x${flags.toString(16)}`)
  const to = r.uvarint()
  const from = r.uvarint()
  const term = r.uvarint()
  const logTerm = r.uvarint()
  const index = r.uvarint()
  const commit = r.uvarint()
  const rejectHint = r.uvarint()
  const entryCount = readCount(r, frameBytes, ENTRY_BYTES_MIN, 'entry')
  const entries: Entry[] = []
  for (let i = 0; i < entryCount; i++) entries.push(decodeEntry(r))
  const m: Message = {
    type,
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
  }
  if ((flags & FLAG_HAS_SNAPSHOT) !== 0) m.snapshot = decodeSnapshot(r, frameBytes)
  if ((flags & FLAG_HAS_CONTEXT) !== 0) m.context = r.bytes()
  return m
}

function encodeSnapshot(w: ByteWriter, s: Snapshot): void {
  const { index, term, confState } = s.metadata
  w.uvarint(index).uvarint(term)
  w.uvarint(confState.voters.length)
  for (const id of confState.voters) w.uvarint(id)
  w.uvarint(confState.learners.length)
  for (const id of confState.learners) w.uvarint(id)
  w.bytes(s.data)
}

function decodeSnapshot(r: ByteReader, frameBytes: number): Snapshot {
  const index = r.uvarint()
  const term = r.uvarint()
  const voters: number[] = []
  const voterCount = readCount(r, frameBytes, 1, 'voter')
  for (let i = 0; i < voterCount; i++) voters.push(r.uvarint())
  const learners: number[] = []
  const learnerCount = readCount(r, frameBytes, 1, 'learner')
  for (let i = 0; i < learnerCount; i++) learners.push(r.uvarint())
  const data = r.bytes()
  return { data, metadata: { index, term, confState: { voters, learners } } }
}

/** Reads a count and checks that that many items of at least `itemBytesMin` bytes fit in what is left. */
function readCount(r: ByteReader, frameBytes: number, itemBytesMin: number, what: string): number {
  const n = r.uvarint()
  const left = frameBytes - r.offset
  if (n * itemBytesMin > left)
    throw new DecodeError(`${what} count ${n} cannot fit in the ${left} bytes left`)
  return n
}
