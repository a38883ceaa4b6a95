/**
 * The file `etcdctl snapshot save` writes from a hakube-store member, and how `hakube-store snapshot
 * restore` / `status` read it back.
 *
 * ```
 *  | MVCC state image (mvcc/state-image.ts) | lease section | zero padding to 512 | SHA-256 of all before |
 * ```
 *
 * - `StoreServer.snapshot()` returns the image followed by the lease section (server/backup-image.ts);
 *   the gRPC Maintenance.Snapshot stream zero-pads that to a multiple of 512 bytes (etcdctl 3.4 only
 *   accepts a file whose size is 32 more than a multiple of 512, as bbolt files are page-aligned) and
 *   appends the SHA-256, which etcdctl checks and keeps.
 * - Lease section: `"HKLEASE"`, version byte 1, then a varint count and per lease its id (8 bytes,
 *   big-endian int64) and granted TTL in seconds (varint). It never starts with a zero byte, so it is
 *   told apart from padding; an image without it (another backend's) restores with no leases.
 * - Like etcd's `snapshot restore`, the trailer is verified unless `--skip-hash-check`, and required
 *   unless `--skip-hash-check` (a file whose size is not 32 more than a multiple of 512 has none).
 * - A member's own Raft snapshot file (`<data-dir>/member/snap/*.snap`, see wal/snap-file.ts) is
 *   accepted too, as etcd accepts `member/snap/db`: it has no trailer, so it needs `--skip-hash-check`.
 */
import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { deserializePrefix, type MvccStore } from '../mvcc/index.js'
import { encodeBackupImage, LEASE_MAGIC, LEASE_VERSION, type SnapshotLease } from '../server/backup-image.js'
import { decodeSnapshotData } from '../server/snapshot-data.js'
import { decodeSnapshotFile } from '../wal/index.js'

// The image's writer is the server (server/backup-image.ts); re-exported for the restore tooling's users.
export { encodeBackupImage, type SnapshotLease }

/** etcdctl's alignment (grpc-services.ts SNAPSHOT_ALIGN_BYTES): the file is 512·n + 32 bytes. */
export const SNAPSHOT_ALIGN_BYTES = 512
export const SHA256_BYTES = 32

const RAFT_SNAP_MAGIC = Buffer.from('HKSNAP01', 'latin1')

/** A failure to read a snapshot file; the message is what the command prints. */
export class SnapshotFileError extends Error {
  override readonly name = 'SnapshotFileError'
}

/** Pads and hashes `image` as the gRPC Maintenance.Snapshot stream does: what etcdctl saves. */
export function frameForEtcdctl(image: Uint8Array): Buffer {
  const padded = Buffer.alloc(Math.ceil(image.length / SNAPSHOT_ALIGN_BYTES) * SNAPSHOT_ALIGN_BYTES)
  padded.set(image)
  return Buffer.concat([padded, createHash('sha256').update(padded).digest()])
}

export interface SnapshotContents {
  readonly store: MvccStore
  /** The MVCC image exactly as saved (what the restored members' Raft snapshot carries). */
  readonly mvccImage: Uint8Array
  /** undefined: the file has no lease section. */
  readonly leases: readonly SnapshotLease[] | undefined
  /** Whether the file ends with etcdctl's SHA-256 trailer (verified unless skipHashCheck). */
  readonly hasHash: boolean
  /** Which kind of file this was. */
  readonly kind: 'etcdctl' | 'raft-snapshot'
  /** CRC-32 (IEEE) of the image and lease section (`snapshot status`'s HASH column). */
  readonly crc: number
  /** Bytes of the file. */
  readonly fileBytes: number
}

/** Go's `%v` of a []byte, as etcd's "expected sha256 %v, got %v" prints it. */
function goBytes(b: Uint8Array): string {
  return `[${[...b].join(' ')}]`
}

function readLeases(body: Buffer, at: number): { leases: SnapshotLease[]; end: number } {
  const corrupt = (what: string): SnapshotFileError =>
    new SnapshotFileError(`snapshot: corrupt lease section at offset ${at}: ${what}`)
  let pos = at + LEASE_MAGIC.length
  if (body.length < pos + 1 || !body.subarray(at, pos).equals(LEASE_MAGIC)) throw corrupt('bad magic')
  if (body[pos++] !== LEASE_VERSION) throw corrupt(`unknown version ${String(body[pos - 1])}`)
  const varint = (): number => {
    let n = 0
    let mul = 1
    for (;;) {
      const b = body[pos++]
      if (b === undefined) throw corrupt('truncated')
      n += (b & 0x7f) * mul
      if (b < 0x80) return n
      mul *= 0x80
      if (mul > 2 ** 49) throw corrupt('varint overflow')
    }
  }
  const leases: SnapshotLease[] = []
  for (let n = varint(); n > 0; n--) {
    if (body.length < pos + 8) throw corrupt('truncated')
    const id = body.readBigInt64BE(pos)
    pos += 8
    leases.push({ id: id.toString(), ttl: varint() })
  }
  return { leases, end: pos }
}

/**
 * Reads a snapshot file's bytes (`path` only names it in errors). Throws {@link SnapshotFileError}
 * with etcd's messages where etcd has one.
 */
export function readSnapshotBytes(
  file: Buffer,
  path: string,
  opts: { readonly skipHashCheck: boolean },
): SnapshotContents {
  // etcd (clientv3/snapshot v3_snapshot.go saveDB): a hash is present iff size % 512 == 32.
  const hasHash = file.length % SNAPSHOT_ALIGN_BYTES === SHA256_BYTES
  if (!hasHash && !opts.skipHashCheck) {
    throw new SnapshotFileError('snapshot missing hash but --skip-hash-check=false')
  }
  const body = hasHash ? file.subarray(0, file.length - SHA256_BYTES) : file
  if (hasHash && !opts.skipHashCheck) {
    const expected = file.subarray(file.length - SHA256_BYTES)
    const got = createHash('sha256').update(body).digest()
    if (!got.equals(expected))
      throw new SnapshotFileError(`expected sha256 ${goBytes(expected)}, got ${goBytes(got)}`)
  }
  if (body.subarray(0, RAFT_SNAP_MAGIC.length).equals(RAFT_SNAP_MAGIC)) return readRaftSnapshot(file, path)

  let parsed: ReturnType<typeof deserializePrefix>
  try {
    // A plain Uint8Array view: the store keeps slices of its input, which must not be Buffers.
    parsed = deserializePrefix(new Uint8Array(body.buffer, body.byteOffset, body.length))
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new SnapshotFileError(
      `${path} is not a snapshot saved from hakube-store (${why}); a real etcd's bbolt snapshot needs etcdctl snapshot restore`,
    )
  }
  let end = parsed.length
  let leases: SnapshotLease[] | undefined
  if (end < body.length && body[end] !== 0) {
    const r = readLeases(body, end)
    leases = r.leases
    end = r.end
  }
  for (let i = end; i < body.length; i++) {
    if (body[i] !== 0)
      throw new SnapshotFileError(
        `snapshot: unexpected byte 0x${body[i]!.toString(16)} at offset ${i} in the padding`,
      )
  }
  return {
    store: parsed.store,
    mvccImage: new Uint8Array(body.subarray(0, parsed.length)),
    leases,
    hasHash,
    kind: 'etcdctl',
    crc: crc32(body.subarray(0, end)),
    fileBytes: file.length,
  }
}

/** A member's own `member/snap/*.snap` file: the Raft snapshot's data carries image and leases. */
function readRaftSnapshot(file: Buffer, path: string): SnapshotContents {
  try {
    const snap = decodeSnapshotFile(file, path)
    const d = decodeSnapshotData(snap.data)
    const parsed = deserializePrefix(d.mvcc)
    if (parsed.length !== d.mvcc.length) throw new Error('trailing bytes after the image')
    return {
      store: parsed.store,
      mvccImage: d.mvcc,
      leases: d.leases,
      hasHash: false,
      kind: 'raft-snapshot',
      crc: crc32(encodeBackupImage(d.mvcc, d.leases)),
      fileBytes: file.length,
    }
  } catch (err) {
    if (err instanceof SnapshotFileError) throw err
    throw new SnapshotFileError(`${path}: ${err instanceof Error ? err.message : String(err)}`)
  }
}
