/**
 * What a member's Raft snapshot carries: the MVCC image (`serialize`), the lessor's replicated state
 * and the cluster membership, in one JSON envelope (see codec.ts) with a version field.
 */
import type { ConfState } from '@hakube/raft'
import type { Member } from '../backend.js'
import { decodeJson, encodeJson } from './codec.js'

export interface SnapshotData {
  readonly founders: number[]
  readonly members: Member[]
  readonly removed: number[]
  readonly confState: ConfState
  readonly leases: Array<{ id: string; ttl: number }>
  readonly mvcc: Uint8Array
}

const VERSION = 1

export function encodeSnapshotData(d: SnapshotData): Uint8Array {
  return encodeJson({ v: VERSION, ...d })
}

export function decodeSnapshotData(bytes: Uint8Array): SnapshotData {
  const d = decodeJson<SnapshotData & { v: number }>(bytes)
  if (d.v !== VERSION) throw new Error(`unknown snapshot data version ${String(d.v)}`)
  return d
}
