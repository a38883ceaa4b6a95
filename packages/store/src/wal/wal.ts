/**
 * The write-ahead log of hakube-store: Raft's hard state, entries and snapshot markers, appended to
 * segment files under `<data-dir>/member/wal/`, with the snapshot files under `<data-dir>/member/snap/`.
 *
 * Guarantees:
 * - `save(..., mustSync = true)` resolves only after the records are written and fdatasynced; records of
 *   an earlier `save` are never less durable than those of a later one (one append-only writer).
 * - Saves issued while a write or sync is in flight are batched into the next write + sync (group
 *   commit, as etcd's raft loop gets by saving a whole Ready at once), bounded by `batchBytesMax`.
 * - After a crash, `replay()` returns every record whose `save` resolved; a torn final record is dropped
 *   (logged at warn); any other damage is refused with a `WalError` naming the file and byte offset.
 *
 * Non-guarantees: no file lock against a second process opening the same directory (the server owns
 * its data dir); a failed write or sync poisons the WAL (etcd panics on fsync failure for the same
 * reason: after a failed fsync the page cache may no longer tell the truth about the disk).
 */
import { type FileHandle, mkdir, open, rename, rm, rmdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Entry, HardState, RaftLogger, Snapshot } from '@hakube/raft'
import { ByteWriter, encodeEntry, encodeHardState } from './codec.js'
import { WalError, WalErrorCode } from './errors.js'
import {
  defaultWalIo,
  listSegments,
  listSnapFiles,
  listTempFiles,
  memberDir,
  type SegmentName,
  segmentFileName,
  snapDir,
  type WalIo,
  walDir,
} from './files.js'
import { encodeRecord, RecordType } from './record.js'
import { assembleReplay, emptyHardStateValue, type WalReplay } from './replay.js'
import { encodeCrcPayload, encodeMarkerPayload, scanSegments } from './segment-reader.js'
import { writeSnapshotFile } from './snap-file.js'

export interface WalOptions {
  /** Start a new segment once the current one reaches this size. Default 64 MiB (etcd's SegmentSizeBytes). */
  readonly segmentSizeBytes?: number
  /** Snapshot files `releaseTo` keeps, newest first. Default 5 (etcd's --max-snapshots). */
  readonly snapshotsToKeep?: number
  /** Bytes one group-commit batch may write before the rest waits for the next batch. Default 16 MiB. */
  readonly batchBytesMax?: number
  readonly logger?: RaftLogger
  /** Durability syscalls; tests inject counters or failures. */
  readonly io?: WalIo
  /**
   * Append batches with blocking write(2) + fdatasync(2) on the event loop's thread (when `io` offers
   * `appendSync`) instead of two trips through libuv's thread pool. Default true: on this project's
   * machines a save then takes about a third of the time (the thread-pool round trips, not the disk,
   * dominated), and the Raft loop waits for the save either way; the cost is that nothing else runs in
   * the process during the fsync, as in etcd's raft goroutine, which also blocks on it.
   */
  readonly blockingAppends?: boolean
}

export interface WalStats {
  /** fdatasync calls on segment and snapshot files (directory fsyncs not included). */
  fdatasyncs: number
  /** Write batches (one write call each, whatever the number of saves in them). */
  batches: number
  /** `save` and `saveSnapshot` calls that have resolved. */
  savesCompleted: number
  bytesWritten: number
  segmentsCreated: number
}

export const SEGMENT_SIZE_BYTES_DEFAULT = 64 * 1024 * 1024
export const SNAPSHOTS_TO_KEEP_DEFAULT = 5
export const BATCH_BYTES_MAX_DEFAULT = 16 * 1024 * 1024

interface PendingRecord {
  readonly type: RecordType
  readonly payload: Buffer
  readonly entryIndex?: number
  readonly hardState?: HardState
  readonly markerIndex?: number
}

interface PendingSave {
  readonly records: readonly PendingRecord[]
  readonly bytes: number
  readonly mustSync: boolean
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

const silent: RaftLogger = { debug() {}, info() {}, warn() {}, error() {} }

function isEmptyHs(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0 && hs.commit === 0
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done)
    done += bytesWritten
  }
}

/** The frames that open every segment: the chain value, the metadata, and the current hard state. */
function segmentHeader(
  crc: number,
  seq: number,
  firstIndex: number,
  metadata: Uint8Array,
  hs: HardState,
): { bytes: Buffer; crc: number } {
  const frames: Buffer[] = []
  let r = encodeRecord(RecordType.Crc, encodeCrcPayload(crc, seq, firstIndex), crc)
  frames.push(r.frame)
  r = encodeRecord(RecordType.Metadata, Buffer.from(metadata), r.crc)
  frames.push(r.frame)
  // Repeating the hard state (as etcd's cut does) keeps it alive when older segments are released.
  if (!isEmptyHs(hs)) {
    const w = new ByteWriter(24)
    encodeHardState(w, hs)
    r = encodeRecord(RecordType.HardState, w.finish(), r.crc)
    frames.push(r.frame)
  }
  return { bytes: Buffer.concat(frames), crc: r.crc }
}

export class Wal {
  private readonly walDirPath: string
  private readonly snapDirPath: string
  private readonly segmentSizeBytes: number
  private readonly snapshotsToKeep: number
  private readonly batchBytesMax: number
  private readonly log: RaftLogger
  private readonly io: WalIo
  private readonly appendSync: WalIo['appendSync']
  private readonly counters: WalStats = {
    fdatasyncs: 0,
    batches: 0,
    savesCompleted: 0,
    bytesWritten: 0,
    segmentsCreated: 0,
  }

  private replayed: WalReplay | undefined
  private fh: FileHandle | undefined
  private segments: SegmentName[] = []
  /** Bytes of the tail segment. Invariant: equals the end of the last fully written record. */
  private size = 0
  /** Rolling CRC after the last record written. */
  private crc = 0
  /** Index of the last entry written (after overwrites), or of a newer snapshot marker. */
  private lastIndex = 0
  private hardState: HardState = emptyHardStateValue()
  private metadata: Uint8Array = new Uint8Array(0)
  /** Indexes of snapshot markers written or replayed, ascending; `releaseTo` stops at a usable one. */
  private markers: number[] = []
  /**
   * Last entry index of all saves accepted so far, written or still queued. Lets `save` refuse a batch
   * that would leave a gap, which replay would otherwise refuse later, after the damage is on disk.
   */
  private acceptedLastIndex = 0

  private pending: PendingSave[] = []
  private flushing: Promise<void> | undefined
  private failure: WalError | undefined
  private closing = false

  private constructor(dataDir: string, options: WalOptions) {
    this.walDirPath = walDir(dataDir)
    this.snapDirPath = snapDir(dataDir)
    this.segmentSizeBytes = options.segmentSizeBytes ?? SEGMENT_SIZE_BYTES_DEFAULT
    this.snapshotsToKeep = options.snapshotsToKeep ?? SNAPSHOTS_TO_KEEP_DEFAULT
    this.batchBytesMax = options.batchBytesMax ?? BATCH_BYTES_MAX_DEFAULT
    if (!(this.segmentSizeBytes > 0) || !(this.snapshotsToKeep >= 1) || !(this.batchBytesMax > 0)) {
      throw new WalError(
        WalErrorCode.InvalidArgument,
        'wal: segmentSizeBytes and batchBytesMax must be positive and snapshotsToKeep at least 1',
      )
    }
    this.log = options.logger ?? silent
    const base = options.io ?? defaultWalIo
    this.io = {
      fdatasync: async (fh) => {
        this.counters.fdatasyncs++
        await base.fdatasync(fh)
      },
      fsyncDir: (dir) => base.fsyncDir(dir),
    }
    this.appendSync = options.blockingAppends === false ? undefined : base.appendSync
  }

  /** True if `dataDir` holds a WAL (at least one segment file). */
  static async exists(dataDir: string): Promise<boolean> {
    return (await listSegments(walDir(dataDir))).length > 0
  }

  /**
   * Creates a new WAL holding `metadata`, ready to append. Like etcd, the directory is built as
   * `wal.tmp` and renamed into place, so a crash never leaves a half-created WAL that `open` accepts.
   */
  static async create(dataDir: string, metadata: Uint8Array, options: WalOptions = {}): Promise<Wal> {
    const wal = new Wal(dataDir, options)
    const dir = wal.walDirPath
    if ((await listSegments(dir)).length > 0) {
      throw new WalError(WalErrorCode.Exists, `wal: ${dir} already holds a WAL`, { file: dir })
    }
    const member = memberDir(dataDir)
    await mkdir(member, { recursive: true })
    const tmpDir = `${dir}.tmp`
    await rm(tmpDir, { recursive: true, force: true })
    await mkdir(tmpDir)
    const header = segmentHeader(0, 0, 0, metadata, emptyHardStateValue())
    const fh = await open(join(tmpDir, segmentFileName(0, 0)), 'w')
    try {
      await writeAll(fh, header.bytes, 0)
      await wal.io.fdatasync(fh)
    } finally {
      await fh.close()
    }
    await wal.io.fsyncDir(tmpDir)
    await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err
    })
    await rename(tmpDir, dir)
    await mkdir(wal.snapDirPath, { recursive: true })
    await wal.io.fsyncDir(member)
    wal.counters.segmentsCreated++
    await wal.replay()
    return wal
  }

  /** Opens an existing WAL. Call `replay()` next: appending resumes where the last valid record ends. */
  static async open(dataDir: string, options: WalOptions = {}): Promise<Wal> {
    const wal = new Wal(dataDir, options)
    if ((await listSegments(wal.walDirPath)).length === 0) {
      throw new WalError(WalErrorCode.NotFound, `wal: no WAL in ${wal.walDirPath}`, { file: wal.walDirPath })
    }
    return wal
  }

  /**
   * Reads the WAL and snapshot files (see `WalReplay`), truncates a torn final record, and prepares
   * the WAL for appending. If it throws, nothing on disk was changed (apart from removing leftover
   * `.tmp` files, which were never acknowledged). Later calls return the same result.
   */
  async replay(): Promise<WalReplay> {
    if (this.replayed !== undefined) return this.replayed
    this.checkOpen()
    for (const dir of [this.walDirPath, this.snapDirPath]) {
      for (const name of await listTempFiles(dir)) {
        // Leftovers of a crash before a rename: never acknowledged, so safe to drop.
        this.log.info({ file: join(dir, name) }, 'removing leftover temporary file')
        await rm(join(dir, name), { force: true })
      }
    }
    const segments = await listSegments(this.walDirPath)
    const scan = await scanSegments(this.walDirPath, segments)
    const result = await assembleReplay(this.snapDirPath, scan, this.log)

    const tail = scan.tail
    const fh = await open(join(this.walDirPath, tail.segment.name), 'r+')
    if (scan.torn !== undefined) {
      this.log.warn(
        { ...scan.torn, droppedBytes: tail.fileBytes - tail.validBytes },
        'truncating torn final WAL record',
      )
      await fh.truncate(tail.validBytes)
      await this.io.fdatasync(fh)
    }
    this.fh = fh
    this.segments = segments
    this.size = tail.validBytes
    this.crc = tail.crc
    this.metadata = result.metadata
    this.hardState = scan.hardState ?? emptyHardStateValue()
    this.markers = scan.markers.map((m) => m.index).sort((a, b) => a - b)
    this.lastIndex = result.snapshot.metadata.index + result.entries.length
    this.acceptedLastIndex = this.lastIndex
    this.replayed = result
    return result
  }

  /**
   * Appends `entries` (contiguous; they overwrite any suffix from their first index on) and then
   * `hardState` (skipped if undefined or empty). Resolves once written, and synced if `mustSync`.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[], mustSync: boolean): Promise<void> {
    const records: PendingRecord[] = []
    try {
      this.checkWritable()
      const first = entries[0]
      if (first !== undefined && first.index > this.acceptedLastIndex + 1) {
        throw new WalError(
          WalErrorCode.InvalidArgument,
          `wal: entry ${first.index} would leave a gap after ${this.acceptedLastIndex}`,
        )
      }
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!
        if (i > 0 && e.index !== entries[i - 1]!.index + 1) {
          throw new WalError(WalErrorCode.InvalidArgument, `wal: entries not contiguous at index ${e.index}`)
        }
        const w = new ByteWriter(e.data.length + 24)
        encodeEntry(w, e)
        records.push({ type: RecordType.Entry, payload: w.finish(), entryIndex: e.index })
      }
      if (hardState !== undefined && !isEmptyHs(hardState)) {
        const w = new ByteWriter(24)
        encodeHardState(w, hardState)
        records.push({ type: RecordType.HardState, payload: w.finish(), hardState })
      }
    } catch (err) {
      if (err instanceof RangeError) {
        return Promise.reject(
          new WalError(WalErrorCode.InvalidArgument, `wal: ${err.message}`, { cause: err }),
        )
      }
      return Promise.reject(err)
    }
    const last = entries[entries.length - 1]
    if (last !== undefined) this.acceptedLastIndex = last.index
    if (records.length === 0 && !mustSync) return Promise.resolve()
    return this.enqueue(records, mustSync)
  }

  /**
   * Makes `snap` durable: the .snap file first (temp, fsync, rename, directory fsync), then a synced
   * marker record in the WAL. That order (etcd's `SaveSnap`) means a marker never points at a missing
   * file; a crash in between leaves an orphan file that replay ignores.
   */
  async saveSnapshot(snap: Snapshot): Promise<void> {
    this.checkWritable()
    if (snap.metadata.index === 0) {
      throw new WalError(WalErrorCode.InvalidArgument, 'wal: cannot save the empty snapshot (index 0)')
    }
    await writeSnapshotFile(this.snapDirPath, snap, this.io)
    const marker = { index: snap.metadata.index, term: snap.metadata.term }
    this.acceptedLastIndex = Math.max(this.acceptedLastIndex, marker.index)
    await this.enqueue(
      [{ type: RecordType.Snapshot, payload: encodeMarkerPayload(marker), markerIndex: marker.index }],
      true,
    )
  }

  /**
   * Deletes segments that hold only entries at or below `index`, keeping the segment that contains it
   * (as etcd's `ReleaseLockTo` does), and .snap files beyond the newest `snapshotsToKeep`. `index` is
   * capped at the newest snapshot replay would use (a marker at or below the durable commit), so a
   * release can never leave the WAL without the entries after its starting snapshot.
   */
  async releaseTo(index: number): Promise<void> {
    this.checkWritable()
    let usable = 0
    for (const m of this.markers) if (m <= this.hardState.commit) usable = m
    const upTo = Math.min(index, usable)
    this.markers = this.markers.filter((m) => m >= usable)
    let keepFrom = 0
    for (let i = 0; i < this.segments.length; i++) if (this.segments[i]!.firstIndex <= upTo) keepFrom = i
    // Decide and drop from the list synchronously: a concurrent cut pushes onto `segments`.
    const doomed = this.segments.slice(0, keepFrom)
    this.segments = this.segments.slice(keepFrom)
    for (const s of doomed) await unlink(join(this.walDirPath, s.name))
    if (doomed.length > 0) {
      await this.io.fsyncDir(this.walDirPath)
      this.log.info({ released: doomed.map((s) => s.name), upTo }, 'released WAL segments')
    }
    const snaps = await listSnapFiles(this.snapDirPath)
    const old = snaps.slice(this.snapshotsToKeep).filter((s) => s.index !== usable)
    for (const s of old) await unlink(join(this.snapDirPath, s.name))
    if (old.length > 0) await this.io.fsyncDir(this.snapDirPath)
  }

  /** Waits for pending saves, syncs and closes the tail segment. Idempotent. */
  async close(): Promise<void> {
    if (this.closing && this.fh === undefined) return
    this.closing = true
    while (this.flushing !== undefined) await this.flushing
    const fh = this.fh
    this.fh = undefined
    if (fh !== undefined) {
      try {
        if (this.failure === undefined) await this.io.fdatasync(fh)
      } finally {
        await fh.close()
      }
    }
  }

  stats(): Readonly<WalStats> {
    return { ...this.counters }
  }

  /** Segment file names currently in the WAL, oldest first (for tests and `etcdutl`-style tooling). */
  segmentNames(): string[] {
    return this.segments.map((s) => s.name)
  }

  private checkOpen(): void {
    if (this.closing) throw new WalError(WalErrorCode.Closed, `wal: ${this.walDirPath} is closed`)
  }

  private checkWritable(): void {
    this.checkOpen()
    if (this.failure !== undefined) throw this.failure
    if (this.replayed === undefined) {
      throw new WalError(WalErrorCode.NotReplayed, 'wal: replay() must complete before writing')
    }
  }

  private enqueue(records: readonly PendingRecord[], mustSync: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let bytes = 0
      for (const r of records) bytes += r.payload.length + 16
      this.pending.push({ records, bytes, mustSync, resolve, reject })
      if (this.flushing === undefined) this.flushing = this.flushLoop()
    })
  }

  private async flushLoop(): Promise<void> {
    // Yield once so that saves issued in the same turn share the first write and sync.
    await Promise.resolve()
    while (this.pending.length > 0) {
      let n = 0
      let bytes = 0
      while (n < this.pending.length && (n === 0 || bytes + this.pending[n]!.bytes <= this.batchBytesMax)) {
        bytes += this.pending[n]!.bytes
        n++
      }
      const batch = this.pending.splice(0, n)
      try {
        await this.writeBatch(batch)
      } catch (err) {
        this.poison(err, batch)
        break
      }
      this.counters.savesCompleted += batch.length
      for (const p of batch) p.resolve()
      if (this.size >= this.segmentSizeBytes) {
        try {
          await this.cut()
        } catch (err) {
          this.poison(err, [])
          break
        }
      }
    }
    this.flushing = undefined
  }

  private async writeBatch(batch: readonly PendingSave[]): Promise<void> {
    const fh = this.fh
    if (fh === undefined) throw new WalError(WalErrorCode.Closed, `wal: ${this.walDirPath} is closed`)
    const frames: Buffer[] = []
    let mustSync = false
    for (const p of batch) {
      mustSync ||= p.mustSync
      for (const r of p.records) {
        const enc = encodeRecord(r.type, r.payload, this.crc)
        this.crc = enc.crc
        frames.push(enc.frame)
        if (r.entryIndex !== undefined) this.lastIndex = r.entryIndex
        if (r.hardState !== undefined) this.hardState = r.hardState
        if (r.markerIndex !== undefined) {
          this.markers.push(r.markerIndex)
          this.lastIndex = Math.max(this.lastIndex, r.markerIndex)
        }
      }
    }
    const buf = Buffer.concat(frames)
    if (this.appendSync !== undefined) {
      this.appendSync(fh.fd, buf, this.size, mustSync)
      if (mustSync) this.counters.fdatasyncs++
    } else {
      if (buf.length > 0) await writeAll(fh, buf, this.size)
      if (mustSync) await this.io.fdatasync(fh)
    }
    this.size += buf.length
    this.counters.bytesWritten += buf.length
    this.counters.batches++
  }

  /**
   * Starts the next segment. The old one is synced first: a reader trusts every non-final segment
   * completely. The new one is written under a temp name and renamed, then the directory synced, so
   * it exists either whole (with its header) or not at all (etcd's filePipeline + cut, wal.go).
   */
  private async cut(): Promise<void> {
    const old = this.fh!
    await this.io.fdatasync(old)
    const seq = this.segments[this.segments.length - 1]!.seq + 1
    const firstIndex = this.lastIndex + 1
    const name = segmentFileName(seq, firstIndex)
    const path = join(this.walDirPath, name)
    const header = segmentHeader(this.crc, seq, firstIndex, this.metadata, this.hardState)
    const fh = await open(`${path}.tmp`, 'w')
    try {
      await writeAll(fh, header.bytes, 0)
      await this.io.fdatasync(fh)
      await rename(`${path}.tmp`, path)
      await this.io.fsyncDir(this.walDirPath)
    } catch (err) {
      await fh.close()
      throw err
    }
    await old.close()
    this.fh = fh
    this.size = header.bytes.length
    this.crc = header.crc
    this.segments.push({ seq, firstIndex, name })
    this.counters.segmentsCreated++
    this.log.info({ segment: name }, 'created WAL segment')
  }

  private poison(err: unknown, batch: readonly PendingSave[]): void {
    this.failure =
      err instanceof WalError && err.code === WalErrorCode.Closed
        ? err
        : new WalError(
            WalErrorCode.Failed,
            `wal: write to ${this.walDirPath} failed; refusing further writes`,
            {
              cause: err,
            },
          )
    this.log.error({ err: String(err) }, 'WAL write failed')
    for (const p of [...batch, ...this.pending.splice(0)]) p.reject(this.failure)
  }
}
