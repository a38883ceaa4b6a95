/**
 * Turns a scanned WAL plus the snapshot directory into the state Raft restarts from.
 *
 * Snapshot choice follows etcd (server/storage/wal/wal.go `ValidSnapshotEntries`, and the order in
 * etcdserver's `SaveSnap`: .snap file first, WAL marker second): a .snap file counts only if the WAL
 * holds its marker and the durable hard state has committed its index. A file without a marker is an
 * orphan of a crash between the two writes and is ignored; a marker beyond `commit` belongs to a
 * snapshot that was never acknowledged. A corrupt newest file may be replaced by an older valid one only
 * if the WAL still holds every entry from the older one up to the corrupt one's index; otherwise
 * starting would silently lose committed state, so we refuse.
 */
import { join } from 'node:path'
import type { Entry, HardState, RaftLogger, Snapshot } from '@hakube/raft'
import { isWalError, WalError, WalErrorCode } from './errors.js'
import { listSnapFiles } from './files.js'
import type { WalScan } from './segment-reader.js'
import { readSnapshotFile } from './snap-file.js'

export interface WalReplay {
  /** The metadata given to `Wal.create`. */
  readonly metadata: Uint8Array
  /** The last durable hard state (all zero if none was saved). */
  readonly hardState: HardState
  /** The newest usable snapshot, or the empty snapshot (index 0). */
  readonly snapshot: Snapshot
  /** The log after `snapshot.metadata.index`, contiguous, with overwrites applied as `MemoryStorage.append` does. */
  readonly entries: Entry[]
}

export function emptyHardStateValue(): HardState {
  return { term: 0, vote: 0, commit: 0 }
}

export function emptySnapshotValue(): Snapshot {
  return { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } } }
}

interface BadSnap {
  readonly file: string
  readonly index: number
  readonly error: WalError
}

export async function assembleReplay(
  snapDirPath: string,
  scan: WalScan,
  log: RaftLogger,
): Promise<WalReplay> {
  const hardState = scan.hardState ?? emptyHardStateValue()
  const usable = new Set(
    scan.markers.filter((m) => m.index <= hardState.commit).map((m) => `${m.index}/${m.term}`),
  )

  let snapshot = emptySnapshotValue()
  let bad: BadSnap | undefined
  for (const f of await listSnapFiles(snapDirPath)) {
    const file = join(snapDirPath, f.name)
    if (!usable.has(`${f.index}/${f.term}`)) {
      log.warn(
        { file, commit: hardState.commit },
        'snapshot file has no committed marker in the WAL; ignoring it',
      )
      continue
    }
    try {
      snapshot = await readSnapshotFile(file)
      break
    } catch (err) {
      if (!isWalError(err, WalErrorCode.SnapshotCorrupt)) throw err
      log.warn({ file, err: err.message }, 'snapshot file is corrupt; trying an older one')
      bad ??= { file, index: f.index, error: err }
    }
  }
  const snapIndex = snapshot.metadata.index
  if (bad !== undefined && snapIndex === 0) {
    throw new WalError(WalErrorCode.SnapshotCorrupt, `${bad.error.message}; no older valid snapshot exists`, {
      file: bad.file,
      offset: bad.error.offset ?? 0,
    })
  }

  const entries: Entry[] = []
  let gap: { file: string; offset: number; index: number } | undefined
  for (const { entry, file, offset } of scan.entries) {
    if (entry.index <= snapIndex) continue
    const pos = entry.index - snapIndex - 1
    if (pos > entries.length) {
      gap = { file, offset, index: entry.index }
      break
    }
    entries.length = pos
    entries.push(entry)
  }
  const lastIndex = snapIndex + entries.length

  if (bad !== undefined && (gap !== undefined || lastIndex < bad.index)) {
    throw new WalError(
      WalErrorCode.SnapshotCorrupt,
      `${bad.error.message}; cannot fall back to snapshot ${snapIndex} because the WAL no longer holds every entry up to ${bad.index}`,
      { file: bad.file, offset: bad.error.offset ?? 0 },
    )
  }
  if (gap !== undefined) {
    throw new WalError(
      WalErrorCode.Inconsistent,
      `wal: entry ${gap.index} in ${gap.file} at offset ${gap.offset} leaves a gap: the log after snapshot ${snapIndex} reaches only ${lastIndex}`,
      { file: gap.file, offset: gap.offset },
    )
  }
  if (hardState.commit > lastIndex) {
    throw new WalError(
      WalErrorCode.Inconsistent,
      `wal: hard state commits ${hardState.commit} but the log (snapshot ${snapIndex}) ends at ${lastIndex}`,
      { file: join(snapDirPath, '..', 'wal', scan.tail.segment.name) },
    )
  }
  if (bad !== undefined) {
    log.warn(
      { corrupt: bad.file, snapshotIndex: snapIndex },
      'fell back to an older snapshot; the WAL covers the gap',
    )
  }
  return { metadata: scan.metadata, hardState, snapshot, entries }
}
