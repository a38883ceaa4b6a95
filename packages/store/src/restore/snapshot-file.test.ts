import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SNAPSHOT_ALIGN_BYTES as GRPC_ALIGN_BYTES } from '../grpc/grpc-services.js'
import { MvccStore, type Result, serialize } from '../mvcc/index.js'
import { encodeSnapshotData } from '../server/snapshot-data.js'
import { encodeSnapshotFile } from '../wal/index.js'
import {
  encodeBackupImage,
  frameForEtcdctl,
  readSnapshotBytes,
  SNAPSHOT_ALIGN_BYTES,
  SnapshotFileError,
} from './snapshot-file.js'

const b = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'))

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error
  return r.response
}

const LEASE = 0x39447c0423c57294n

/** A store whose image ends in a zero byte (an empty value), so padding cannot simply be trimmed. */
function build(): MvccStore {
  const st = new MvccStore({ leaseExists: () => true })
  unwrap(st.put({ key: b('a'), value: b('1') }))
  unwrap(st.put({ key: b('b'), value: b('2') }))
  unwrap(st.put({ key: b('a'), value: b('3') }))
  unwrap(st.deleteRange({ key: b('b') }))
  unwrap(st.put({ key: b('lk'), value: b('v'), lease: LEASE }))
  unwrap(st.put({ key: b('z'), value: new Uint8Array(0) }))
  return st
}

const leases = [{ id: LEASE.toString(), ttl: 600 }]

function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('did not throw')
}

describe('snapshot file (what etcdctl snapshot save writes from hakube-store)', () => {
  it('frames like the gRPC stream: 512-aligned body, then the SHA-256 of it', () => {
    expect(SNAPSHOT_ALIGN_BYTES).toBe(GRPC_ALIGN_BYTES)
    const image = encodeBackupImage(serialize(build()), leases)
    const file = frameForEtcdctl(image)
    expect(file.length % 512).toBe(32)
    const body = file.subarray(0, file.length - 32)
    expect(
      createHash('sha256')
        .update(body)
        .digest()
        .equals(file.subarray(file.length - 32)),
    ).toBe(true)
    expect(body.subarray(0, image.length).equals(image)).toBe(true)
    expect(body.subarray(image.length).every((x) => x === 0)).toBe(true)
  })

  it('reads back keys, history, revision and leases, ignoring the zero padding', () => {
    const mvcc = serialize(build())
    expect(mvcc[mvcc.length - 1]).toBe(0)
    const c = readSnapshotBytes(frameForEtcdctl(encodeBackupImage(mvcc, leases)), 'f', {
      skipHashCheck: false,
    })
    expect(c.kind).toBe('etcdctl')
    expect(c.hasHash).toBe(true)
    expect(Buffer.from(c.mvccImage).equals(Buffer.from(mvcc))).toBe(true)
    expect(c.leases).toEqual(leases)
    expect(c.store.revision).toBe(7)
    expect(unwrap(c.store.range({ key: b('a') })).kvs[0]).toMatchObject({ modRevision: 4, version: 2 })
    expect(unwrap(c.store.range({ key: b('a'), revision: 2 })).kvs[0]?.value).toEqual(b('1'))
    expect(c.store.leaseKeys(LEASE)).toEqual([b('lk')])
    expect(unwrap(c.store.range({ key: b('z') })).kvs[0]?.value).toEqual(new Uint8Array(0))
  })

  it('an image without a lease section (another backend) restores with no leases', () => {
    const c = readSnapshotBytes(frameForEtcdctl(serialize(build())), 'f', { skipHashCheck: false })
    expect(c.leases).toBeUndefined()
    expect(c.store.revision).toBe(7)
  })

  it('an image already a multiple of 512 bytes gets no padding and still reads back', () => {
    let image: Uint8Array | undefined
    for (let v = 0; image === undefined || image.length % 512 !== 0; v++) {
      const st = new MvccStore()
      unwrap(st.put({ key: b('k'), value: new Uint8Array(v).fill(1) }))
      image = encodeBackupImage(serialize(st), [])
    }
    const file = frameForEtcdctl(image)
    expect(file.length).toBe(image.length + 32)
    const c = readSnapshotBytes(file, 'f', { skipHashCheck: false })
    expect(c.leases).toEqual([])
    expect(c.store.revision).toBe(2)
  })

  it('refuses a hash mismatch with etcd message, unless --skip-hash-check', () => {
    const file = frameForEtcdctl(encodeBackupImage(serialize(build()), leases))
    const bad = Buffer.from(file)
    bad[bad.length - 1]! ^= 0xff
    const err = thrown(() => readSnapshotBytes(bad, 'f', { skipHashCheck: false }))
    expect(err).toBeInstanceOf(SnapshotFileError)
    expect(err.message).toMatch(/^expected sha256 \[(\d+ ){31}\d+\], got \[(\d+ ){31}\d+\]$/)
    expect(readSnapshotBytes(bad, 'f', { skipHashCheck: true }).store.revision).toBe(7)
    // A flipped byte in the image itself is caught by the hash too.
    const flipped = Buffer.from(file)
    flipped[10]! ^= 0x01
    expect(thrown(() => readSnapshotBytes(flipped, 'f', { skipHashCheck: false })).message).toMatch(
      /^expected sha256/,
    )
  })

  it('a file without the trailer needs --skip-hash-check, as etcd', () => {
    const image = encodeBackupImage(serialize(build()), leases)
    const raw = Buffer.from(image)
    expect(raw.length % 512).not.toBe(32)
    expect(thrown(() => readSnapshotBytes(raw, 'f', { skipHashCheck: false })).message).toBe(
      'snapshot missing hash but --skip-hash-check=false',
    )
    expect(readSnapshotBytes(raw, 'f', { skipHashCheck: true })).toMatchObject({ hasHash: false, leases })
  })

  it('refuses non-zero bytes in the padding, a truncated image, a bad lease section and foreign files', () => {
    const image = encodeBackupImage(serialize(build()), leases)
    const padded = Buffer.alloc(512)
    padded.set(image)
    padded[511] = 7
    const withHash = Buffer.concat([padded, createHash('sha256').update(padded).digest()])
    expect(thrown(() => readSnapshotBytes(withHash, 'f', { skipHashCheck: false })).message).toBe(
      'snapshot: unexpected byte 0x7 at offset 511 in the padding',
    )
    const mvcc = serialize(build())
    const truncated = frameForEtcdctl(mvcc.subarray(0, 20))
    expect(thrown(() => readSnapshotBytes(truncated, 'snap.db', { skipHashCheck: false })).message).toMatch(
      /^snap\.db is not a snapshot saved from hakube-store \(mvcc: corrupt state image: /,
    )
    const badLease = frameForEtcdctl(Buffer.concat([mvcc, Buffer.from('HKLEASX\x01\x00', 'latin1')]))
    expect(thrown(() => readSnapshotBytes(badLease, 'f', { skipHashCheck: false })).message).toMatch(
      /^snapshot: corrupt lease section at offset \d+: bad magic$/,
    )
    // Unframed (no padding to read as zeros): the count promises two leases, none follows.
    const shortLease = Buffer.concat([mvcc, Buffer.from('HKLEASE\x01\x02', 'latin1')])
    expect(thrown(() => readSnapshotBytes(shortLease, 'f', { skipHashCheck: true })).message).toMatch(
      /^snapshot: corrupt lease section at offset \d+: truncated$/,
    )
    // A bbolt file (etcd's own snapshot) starts with a page header, not our magic.
    const bolt = frameForEtcdctl(Buffer.alloc(4096, 0xed))
    expect(thrown(() => readSnapshotBytes(bolt, 'etcd.db', { skipHashCheck: false })).message).toMatch(
      /^etcd\.db is not a snapshot saved from hakube-store \(.*bad magic.*\); a real etcd's bbolt snapshot/,
    )
  })

  it("accepts a member's own Raft snapshot file (member/snap/*.snap) with --skip-hash-check", () => {
    const mvcc = serialize(build())
    const data = encodeSnapshotData({
      founders: [1],
      members: [],
      removed: [],
      confState: { voters: [1], learners: [] },
      leases,
      mvcc,
    })
    const file = encodeSnapshotFile({
      data,
      metadata: { index: 9, term: 2, confState: { voters: [1], learners: [] } },
    })
    expect(file.length % 512).not.toBe(32)
    expect(thrown(() => readSnapshotBytes(file, 'x.snap', { skipHashCheck: false })).message).toBe(
      'snapshot missing hash but --skip-hash-check=false',
    )
    const c = readSnapshotBytes(file, 'x.snap', { skipHashCheck: true })
    expect(c.kind).toBe('raft-snapshot')
    expect(c.leases).toEqual(leases)
    expect(c.store.revision).toBe(7)
  })
})
