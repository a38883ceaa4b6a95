/**
 * Errors of the write-ahead log and snapshot files, each with a stable code. Every corruption error
 * names the file and, where it has one, the byte offset, so an operator can inspect the file with `xxd`
 * before deciding what to do: the WAL never "repairs" anything except a torn final record.
 */

export const WalErrorCode = {
  /** A record failed its checksum or could not be decoded somewhere other than the torn tail. */
  Corrupt: 'WAL_ERR_CORRUPT',
  /** The segment sequence has a hole, or a segment does not continue its predecessor's checksum chain. */
  MissingSegment: 'WAL_ERR_MISSING_SEGMENT',
  /** The log does not hold what Raft needs: entries missing after the snapshot, or commit beyond the log. */
  Inconsistent: 'WAL_ERR_INCONSISTENT',
  /** A snapshot file is unreadable and no older snapshot can stand in for it. */
  SnapshotCorrupt: 'WAL_ERR_SNAPSHOT_CORRUPT',
  /** `Wal.create` found an existing WAL. */
  Exists: 'WAL_ERR_EXISTS',
  /** `Wal.open` found no WAL. */
  NotFound: 'WAL_ERR_NOT_FOUND',
  /** The WAL was closed. */
  Closed: 'WAL_ERR_CLOSED',
  /** A previous write or sync failed; the on-disk state is unknown and the WAL refuses further writes. */
  Failed: 'WAL_ERR_FAILED',
  /** `save` or `saveSnapshot` before `replay()`: appending needs the position of the last valid record. */
  NotReplayed: 'WAL_ERR_NOT_REPLAYED',
  /** A caller passed a value the format cannot hold (negative or unsafe integer, bad option). */
  InvalidArgument: 'WAL_ERR_INVALID_ARGUMENT',
} as const

export type WalErrorCode = (typeof WalErrorCode)[keyof typeof WalErrorCode]

export class WalError extends Error {
  readonly code: WalErrorCode
  /** The file the problem was found in, if any (absolute path). */
  readonly file: string | undefined
  /** Byte offset in `file` of the record (or field) that failed, if known. */
  readonly offset: number | undefined

  constructor(
    code: WalErrorCode,
    message: string,
    where?: { file?: string; offset?: number; cause?: unknown },
  ) {
    super(message, where?.cause === undefined ? undefined : { cause: where.cause })
    this.name = 'WalError'
    this.code = code
    this.file = where?.file
    this.offset = where?.offset
  }
}

export function isWalError(v: unknown, code?: WalErrorCode): v is WalError {
  return v instanceof WalError && (code === undefined || v.code === code)
}

export const errCorrupt = (file: string, offset: number, what: string): WalError =>
  new WalError(WalErrorCode.Corrupt, `wal: corrupt record in ${file} at offset ${offset}: ${what}`, {
    file,
    offset,
  })
