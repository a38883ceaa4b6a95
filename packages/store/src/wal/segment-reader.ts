/**
 * Reads every segment of a WAL directory in order and decodes its records, deciding for each failure
 * whether it is a torn final write (recoverable: the caller truncates it) or corruption (refused).
 *
 * The rule, after etcd's `ReadAll`/`Repair` split (server/storage/wal/wal.go, repair.go): only the end of
 * the LAST segment can be torn, because every earlier segment was fsynced before its successor was
 * renamed into place. A failing record there is a torn tail only if no valid record header exists
 * anywhere after it; otherwise something in the middle of the log rotted and truncating would discard
 * acknowledged writes, so we refuse and name the file and offset.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Entry, HardState } from '@hakube/raft'
import { ByteReader, ByteWriter, DecodeError, decodeEntry, decodeHardState } from './codec.js'
import { errCorrupt, WalError, WalErrorCode } from './errors.js'
import type { SegmentName } from './files.js'
import { findNextPlausibleHeader, RecordType, readRecord } from './record.js'

export interface SnapshotMarker {
  readonly index: number
  readonly term: number
}

/** An entry together with where it was read, so replay can name the place a gap was found. */
export interface LocatedEntry {
  readonly entry: Entry
  readonly file: string
  readonly offset: number
}

export interface WalScan {
  readonly metadata: Uint8Array
  /** The last hard state record, or undefined if none was written. */
  readonly hardState: HardState | undefined
  readonly markers: readonly SnapshotMarker[]
  /** Every entry record in log order, including ones later overwritten or covered by a snapshot. */
  readonly entries: readonly LocatedEntry[]
  /** Where appending resumes: the end of the last valid record of the last segment. */
  readonly tail: {
    readonly segment: SegmentName
    readonly validBytes: number
    readonly fileBytes: number
    readonly crc: number
  }
  /** Set if the final record was torn and must be truncated away at `offset`. */
  readonly torn: { readonly file: string; readonly offset: number; readonly reason: string } | undefined
}

export function encodeCrcPayload(prevCrc: number, seq: number, firstIndex: number): Buffer {
  return new ByteWriter(24).u32(prevCrc).uvarint(seq).uvarint(firstIndex).finish()
}

export function encodeMarkerPayload(m: SnapshotMarker): Buffer {
  return new ByteWriter(16).uvarint(m.index).uvarint(m.term).finish()
}

export async function scanSegments(dir: string, segments: readonly SegmentName[]): Promise<WalScan> {
  const first = segments[0]
  if (first === undefined) throw new WalError(WalErrorCode.NotFound, `wal: no segment files in ${dir}`)
  for (let i = 1; i < segments.length; i++) {
    if (segments[i]!.seq !== first.seq + i) {
      const missingSeq = (first.seq + i).toString(16).padStart(16, '0')
      throw new WalError(
        WalErrorCode.MissingSegment,
        `wal: segment ${missingSeq}-*.wal is missing from ${dir} (found ${segments[i]!.name} after ${segments[i - 1]!.name})`,
        { file: join(dir, segments[i]!.name), offset: 0 },
      )
    }
  }

  let metadata: Uint8Array | undefined
  let hardState: HardState | undefined
  const markers: SnapshotMarker[] = []
  const entries: LocatedEntry[] = []
  let crc = 0
  let torn: WalScan['torn']
  let validBytes = 0
  let fileBytes = 0

  for (let si = 0; si < segments.length; si++) {
    const seg = segments[si]!
    const file = join(dir, seg.name)
    const isLast = si === segments.length - 1
    const buf = await readFile(file)
    fileBytes = buf.length
    let off = 0
    while (off < buf.length) {
      const rec = readRecord(buf, off, crc)
      if (!rec.ok) {
        const next = findNextPlausibleHeader(buf, off)
        if (!isLast)
          throw errCorrupt(file, off, `${rec.reason} (not the last segment, so this cannot be a torn write)`)
        if (next !== -1)
          throw errCorrupt(file, off, `${rec.reason}, and a valid record follows at offset ${next}`)
        if (off === 0) throw errCorrupt(file, 0, `${rec.reason} in the segment header`)
        torn = { file, offset: off, reason: rec.reason }
        break
      }
      const r = new ByteReader(rec.payload)
      try {
        if (off === 0) {
          if (rec.type !== RecordType.Crc) throw new DecodeError('segment does not start with a crc record')
          const prevCrc = r.u32()
          const seq = r.uvarint()
          const firstIndex = r.uvarint()
          r.expectDone('crc record')
          if (seq !== seg.seq || firstIndex !== seg.firstIndex) {
            throw new DecodeError(
              `header says seq ${seq} first index ${firstIndex}, which does not match the file name`,
            )
          }
          // The first remaining segment may follow released ones, whose chain value we no longer know.
          if (si > 0 && prevCrc !== crc) {
            throw new WalError(
              WalErrorCode.MissingSegment,
              `wal: ${file} does not continue the checksum chain of ${join(dir, segments[si - 1]!.name)}`,
              { file, offset: 0 },
            )
          }
        } else {
          switch (rec.type) {
            case RecordType.Crc:
              throw new DecodeError('crc record in the middle of a segment')
            case RecordType.Metadata: {
              const md = r.raw(rec.payload.length)
              if (metadata !== undefined && !Buffer.from(metadata).equals(md)) {
                throw new DecodeError('metadata differs from the metadata of earlier records')
              }
              metadata = md
              break
            }
            case RecordType.Entry:
              entries.push({ entry: decodeEntry(r), file, offset: off })
              r.expectDone('entry')
              break
            case RecordType.HardState:
              hardState = decodeHardState(r)
              r.expectDone('hard state')
              break
            case RecordType.Snapshot: {
              const index = r.uvarint()
              const term = r.uvarint()
              r.expectDone('snapshot marker')
              markers.push({ index, term })
              break
            }
          }
        }
      } catch (err) {
        if (err instanceof WalError) throw err
        // The checksum held, so this is not a torn write: refuse, whatever the position.
        throw errCorrupt(file, off, (err as Error).message)
      }
      crc = rec.crc
      off = rec.next
    }
    validBytes = torn === undefined ? buf.length : torn.offset
  }
  if (metadata === undefined) {
    const last = segments[segments.length - 1]!
    throw errCorrupt(join(dir, last.name), 0, 'no metadata record in the WAL')
  }
  const tailSegment = segments[segments.length - 1]!
  return {
    metadata,
    hardState,
    markers,
    entries,
    tail: { segment: tailSegment, validBytes, fileBytes, crc },
    torn,
  }
}
