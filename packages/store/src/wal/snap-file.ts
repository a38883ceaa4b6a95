/**
 * Snapshot files, usable without a WAL (the future `etcdctl snapshot save` / `snapshot restore` paths).
 *
 * ```
 *  0          8        12         16
 *  | "HKSNAP01" | crc32 | reserved | body: term, index, voters, learners (varints), data (length-prefixed)
 * ```
 *
 * The CRC covers the whole body, so a torn or truncated file never verifies. Files are written the way
 * etcd's snapshotter does (server/etcdserver/api/snap/snapshotter.go): to a temporary name, fsynced, then
 * renamed into place, then the directory fsynced, so a crash leaves either no file or a complete one
 * (a leftover `.tmp` is removed on open).
 */

import { open, readFile, rename, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { crc32 } from 'node:zlib'
import type { Snapshot } from '@hakube/raft'
import { ByteReader, ByteWriter } from './codec.js'
import { WalError, WalErrorCode } from './errors.js'
import { defaultWalIo, parseSnapName, snapFileName, type WalIo } from './files.js'

const MAGIC = Buffer.from('HKSNAP01', 'latin1')
const HEADER_BYTES = 16

export function encodeSnapshotFile(snap: Snapshot): Buffer {
  const w = new ByteWriter(HEADER_BYTES + snap.data.length + 64)
  w.raw(MAGIC).u32(0).u32(0)
  const { term, index, confState } = snap.metadata
  w.uvarint(term).uvarint(index)
  w.uvarint(confState.voters.length)
  for (const v of confState.voters) w.uvarint(v)
  w.uvarint(confState.learners.length)
  for (const l of confState.learners) w.uvarint(l)
  w.bytes(snap.data)
  const buf = w.finish()
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES)), 8)
  return buf
}

function snapCorrupt(file: string, offset: number, what: string): WalError {
  return new WalError(
    WalErrorCode.SnapshotCorrupt,
    `snap: corrupt snapshot file ${file} at offset ${offset}: ${what}`,
    {
      file,
      offset,
    },
  )
}

/** Decodes a snapshot file's bytes; `file` only names the source in errors. */
export function decodeSnapshotFile(buf: Buffer, file: string): Snapshot {
  if (buf.length < HEADER_BYTES) throw snapCorrupt(file, buf.length, 'file shorter than its header')
  if (!buf.subarray(0, 8).equals(MAGIC)) throw snapCorrupt(file, 0, 'bad magic')
  if (buf.readUInt32LE(12) !== 0) throw snapCorrupt(file, 12, 'reserved bytes are not zero')
  if (crc32(buf.subarray(HEADER_BYTES)) !== buf.readUInt32LE(8))
    throw snapCorrupt(file, 8, 'checksum mismatch')
  const r = new ByteReader(buf.subarray(HEADER_BYTES))
  try {
    const term = r.uvarint()
    const index = r.uvarint()
    const voters: number[] = []
    for (let n = r.uvarint(); n > 0; n--) voters.push(r.uvarint())
    const learners: number[] = []
    for (let n = r.uvarint(); n > 0; n--) learners.push(r.uvarint())
    const data = r.bytes()
    r.expectDone('snapshot')
    return { data, metadata: { term, index, confState: { voters, learners } } }
  } catch (err) {
    if (err instanceof WalError) throw err
    throw snapCorrupt(file, HEADER_BYTES + r.offset, (err as Error).message)
  }
}

/**
 * Reads and verifies a snapshot file. If its name follows the `%016x-%016x.snap` pattern, the name must
 * agree with the metadata inside (a renamed file is as wrong as a corrupt one).
 */
export async function readSnapshotFile(path: string): Promise<Snapshot> {
  const snap = decodeSnapshotFile(await readFile(path), path)
  const named = parseSnapName(basename(path))
  if (named !== undefined && (named.index !== snap.metadata.index || named.term !== snap.metadata.term)) {
    throw snapCorrupt(
      path,
      HEADER_BYTES,
      `file name says term ${named.term} index ${named.index}, contents say term ${snap.metadata.term} index ${snap.metadata.index}`,
    )
  }
  return snap
}

/** Writes `bytes` to `path` durably: temp file, fdatasync, rename, directory fsync. */
export async function writeFileDurably(
  dir: string,
  name: string,
  bytes: Uint8Array,
  io: WalIo = defaultWalIo,
): Promise<string> {
  const path = join(dir, name)
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await fh.write(bytes, 0, bytes.length, 0)
    await io.fdatasync(fh)
  } catch (err) {
    await fh.close()
    await rm(tmp, { force: true })
    throw err
  }
  await fh.close()
  await rename(tmp, path)
  await io.fsyncDir(dir)
  return path
}

/** Writes `snap` durably as `<dir>/%016x-%016x.snap` and returns the path. */
export async function writeSnapshotFile(
  dir: string,
  snap: Snapshot,
  io: WalIo = defaultWalIo,
): Promise<string> {
  if (snap.metadata.index === 0) {
    throw new WalError(WalErrorCode.InvalidArgument, 'snap: refusing to write the empty snapshot (index 0)')
  }
  return writeFileDurably(
    dir,
    snapFileName(snap.metadata.term, snap.metadata.index),
    encodeSnapshotFile(snap),
    io,
  )
}
