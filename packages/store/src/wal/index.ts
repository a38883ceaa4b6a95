/**
 * The write-ahead log and snapshot files of hakube-store (`<data-dir>/member/{wal,snap}`), etcd's
 * layout in our own binary format. See `wal.ts` for the guarantees and non-guarantees, `record.ts` for
 * the record format, `snap-file.ts` for the snapshot file format.
 */

export { isWalError, WalError, WalErrorCode } from './errors.js'
export type { SegmentName, SnapName, WalIo } from './files.js'
export {
  defaultWalIo,
  listSegments,
  listSnapFiles,
  parseSegmentName,
  parseSnapName,
  segmentFileName,
  snapDir,
  snapFileName,
  walDir,
} from './files.js'
export { loadIntoStorage } from './load-storage.js'
export type { WalReplay } from './replay.js'
export { decodeSnapshotFile, encodeSnapshotFile, readSnapshotFile, writeSnapshotFile } from './snap-file.js'
export type { WalOptions, WalStats } from './wal.js'
export { BATCH_BYTES_MAX_DEFAULT, SEGMENT_SIZE_BYTES_DEFAULT, SNAPSHOTS_TO_KEEP_DEFAULT, Wal } from './wal.js'
