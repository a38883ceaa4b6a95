/**
 * Goal: a Raft snapshot's data round-trips through the binary envelope with the MVCC image untouched,
 * snapshots written in the old JSON envelope are still read, and damage is refused, not misread.
 */
import { describe, expect, it } from 'vitest'
import { encodeJson } from './codec.js'
import { decodeSnapshotData, encodeSnapshotData, type SnapshotData } from './snapshot-data.js'

const data: SnapshotData = {
  founders: [3, 1, 2],
  members: [{ id: 1, name: 'm1', peerUrls: ['http://127.0.1.1:2380'], clientUrls: [], isLearner: false }],
  removed: [9],
  confState: { voters: [1, 2, 3], learners: [] },
  leases: [{ id: '7', ttl: 60 }],
  mvcc: new Uint8Array(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256)),
}

describe('snapshot data envelope', () => {
  it('round-trips, with the image stored as raw bytes (no base64)', () => {
    const bytes = encodeSnapshotData(data)
    expect(bytes.length).toBeLessThan(data.mvcc.length + 400)
    const back = decodeSnapshotData(bytes)
    expect({ ...back, mvcc: [...back.mvcc] }).toEqual({ ...data, mvcc: [...data.mvcc] })
  })

  it('reads the version 1 JSON envelope', () => {
    const v1 = encodeJson({ v: 1, ...data })
    const back = decodeSnapshotData(v1)
    expect([...back.mvcc]).toEqual([...data.mvcc])
    expect(back.founders).toEqual(data.founders)
  })

  it('refuses an unknown version and a truncated header', () => {
    const bytes = Buffer.from(encodeSnapshotData(data))
    const other = Buffer.from(bytes)
    other[4] = 9
    expect(() => decodeSnapshotData(other)).toThrow(/unknown snapshot data version 9/)
    expect(() => decodeSnapshotData(bytes.subarray(0, 20))).toThrow(/truncated/)
  })
})
