/**
 * On-disk layout (etcd's): `<data-dir>/member/wal/%016x-%016x.wal` (sequence, first Raft index of the
 * segment) and `<data-dir>/member/snap/%016x-%016x.snap` (term, index). Hex names of fixed width sort
 * lexically in numeric order, which keeps `ls` output meaningful to an operator.
 *
 * Also the one seam for durability syscalls (`WalIo`), so tests can count fsyncs and inject failures.
 */
import { fdatasyncSync, writeSync } from 'node:fs'
import { type FileHandle, open, readdir } from 'node:fs/promises'
import { join } from 'node:path'

export function memberDir(dataDir: string): string {
  return join(dataDir, 'member')
}

export function walDir(dataDir: string): string {
  return join(dataDir, 'member', 'wal')
}

export function snapDir(dataDir: string): string {
  return join(dataDir, 'member', 'snap')
}

function hex16(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot name a file after ${n}`)
  return n.toString(16).padStart(16, '0')
}

const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/
const SNAP_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/

export interface SegmentName {
  readonly seq: number
  readonly firstIndex: number
  readonly name: string
}

export interface SnapName {
  readonly term: number
  readonly index: number
  readonly name: string
}

export function segmentFileName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`
}

export function snapFileName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}.snap`
}

function parseHex(s: string): number | undefined {
  const n = Number.parseInt(s, 16)
  return Number.isSafeInteger(n) ? n : undefined
}

export function parseSegmentName(name: string): SegmentName | undefined {
  const m = SEGMENT_RE.exec(name)
  if (m === null) return undefined
  const seq = parseHex(m[1]!)
  const firstIndex = parseHex(m[2]!)
  return seq === undefined || firstIndex === undefined ? undefined : { seq, firstIndex, name }
}

export function parseSnapName(name: string): SnapName | undefined {
  const m = SNAP_RE.exec(name)
  if (m === null) return undefined
  const term = parseHex(m[1]!)
  const index = parseHex(m[2]!)
  return term === undefined || index === undefined ? undefined : { term, index, name }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

/** Segment files sorted by sequence. Names that do not parse are ignored (as etcd does). */
export async function listSegments(dir: string): Promise<SegmentName[]> {
  const out: SegmentName[] = []
  for (const name of await readdirOrEmpty(dir)) {
    const s = parseSegmentName(name)
    if (s !== undefined) out.push(s)
  }
  return out.sort((a, b) => a.seq - b.seq)
}

/** Snapshot files, newest (highest index, then term) first. */
export async function listSnapFiles(dir: string): Promise<SnapName[]> {
  const out: SnapName[] = []
  for (const name of await readdirOrEmpty(dir)) {
    const s = parseSnapName(name)
    if (s !== undefined) out.push(s)
  }
  return out.sort((a, b) => b.index - a.index || b.term - a.term)
}

export async function listTempFiles(dir: string): Promise<string[]> {
  return (await readdirOrEmpty(dir)).filter((n) => n.endsWith('.tmp'))
}

/**
 * The durability syscalls, injectable. `fdatasync` is enough for appends (etcd's WAL uses fdatasync
 * too): the file size is metadata that fdatasync does flush, and we never need the mtime durable.
 */
export interface WalIo {
  fdatasync(fh: FileHandle): Promise<void>
  /**
   * Appends `buf` at `position` of the open file `fd` and, when `sync`, fdatasyncs it, on the calling
   * thread. When present, the WAL appends its group-commit batches with this (see
   * {@link WalOptions.blockingAppends}); an injected `io` without it keeps every append asynchronous.
   */
  appendSync?(fd: number, buf: Buffer, position: number, sync: boolean): void
  /** fsync a directory so that a create, rename or unlink in it survives a power loss. */
  fsyncDir(dir: string): Promise<void>
}

export const defaultWalIo: WalIo = {
  fdatasync: (fh) => fh.datasync(),
  appendSync: (fd, buf, position, sync) => {
    let done = 0
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, position + done)
    if (sync) fdatasyncSync(fd)
  },
  fsyncDir: async (dir) => {
    const fh = await open(dir, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  },
}
