/**
 * What a member's Raft snapshot carries: the MVCC image (`serialize`), the lessor's replicated state
 * and the cluster membership.
 */
import type { ConfState } from '@hakube/raft'
import type { AlarmMember, Member } from '../backend.js'
import { decodeJson, encodeJson } from './codec.js'

export interface SnapshotData {
  readonly founders: number[]
  readonly members: Member[]
  readonly removed: number[]
  readonly confState: ConfState
  readonly leases: Array<{ id: string; ttl: number }>
  /** Raised alarms; absent in snapshots taken before alarms existed. */
  readonly alarms?: AlarmMember[]
  readonly mvcc: Uint8Array
}

/**
 * Version 2 (binary): "HKSD", a version byte, the u32 (big-endian) length of a JSON header holding
 * everything but the MVCC image, the header, then the image as is. Version 1 was one JSON envelope with
 * the image in base64, which cost a third more bytes and a base64 and JSON pass over the whole key space
 * at every snapshot; it is still read.
 */
const MAGIC = Buffer.from('HKSD')
const VERSION = 2
const PREFIX_BYTES = MAGIC.length + 1 + 4

export function encodeSnapshotData(d: SnapshotData): Uint8Array {
  const { mvcc, ...rest } = d
  const header = encodeJson(rest)
  const out = Buffer.allocUnsafe(PREFIX_BYTES + header.length + mvcc.length)
  MAGIC.copy(out, 0)
  out[MAGIC.length] = VERSION
  out.writeUInt32BE(header.length, MAGIC.length + 1)
  out.set(header, PREFIX_BYTES)
  out.set(mvcc, PREFIX_BYTES + header.length)
  return out
}

export function decodeSnapshotData(bytes: Uint8Array): SnapshotData {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length >= PREFIX_BYTES && b.subarray(0, MAGIC.length).equals(MAGIC)) {
    const version = b[MAGIC.length]
    if (version !== VERSION) throw new Error(`unknown snapshot data version ${String(version)}`)
    const headerEnd = PREFIX_BYTES + b.readUInt32BE(MAGIC.length + 1)
    if (headerEnd > b.length) throw new Error('snapshot data truncated in its header')
    const header = decodeJson<Omit<SnapshotData, 'mvcc'>>(b.subarray(PREFIX_BYTES, headerEnd))
    return { ...header, mvcc: b.subarray(headerEnd) }
  }
  const d = decodeJson<SnapshotData & { v: number }>(bytes)
  if (d.v !== 1) throw new Error(`unknown snapshot data version ${String(d.v)}`)
  return d
}
