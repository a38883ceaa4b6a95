/**
 * Goal: a record torn by a crash at ANY byte is dropped on open, and any other damage is refused with
 * the file and offset. Method: build a small WAL, then (a) cut the segment at every byte offset inside
 * its last record, (b) flip one bit in every byte of every record, and reopen each variant.
 */
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Entry } from '@hakube/raft'
import { afterAll, describe, expect, it } from 'vitest'
import { WalError, WalErrorCode } from './errors.js'
import { walDir } from './files.js'
import { readRecord } from './record.js'
import type { WalReplay } from './replay.js'
import { Wal } from './wal.js'

const root = await mkdtemp(join(tmpdir(), 'hakube-wal-torn-'))
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})
let counter = 0
const fresh = (): string => join(root, `d${counter++}`)

const meta = new Uint8Array([9, 9, 9])
const ent = (index: number, size: number): Entry => ({
  index,
  term: 1,
  type: 'normal',
  data: new Uint8Array(size).fill(index),
})

/** Record offsets of a segment file: [start, end) of every frame. */
function frames(buf: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = []
  let off = 0
  let crc = 0
  while (off < buf.length) {
    const r = readRecord(buf, off, crc)
    if (!r.ok) throw new Error(`unexpected bad record at ${off}`)
    out.push([off, r.next])
    crc = r.crc
    off = r.next
  }
  return out
}

async function replayOf(dataDir: string): Promise<{ replay: WalReplay; warnings: string[] }> {
  const warnings: string[] = []
  const noop = (): void => {}
  const wal = await Wal.open(dataDir, {
    logger: { debug: noop, info: noop, error: noop, warn: (_o, m) => warnings.push(m) },
  })
  try {
    return { replay: await wal.replay(), warnings }
  } finally {
    await wal.close()
  }
}

/** A one-segment WAL: crc, metadata, 3 entries, hard state, 1 entry (the "last record" under test). */
async function buildSmallWal(
  lastIsHardState: boolean,
): Promise<{ dir: string; segment: string; before: WalReplay }> {
  const dir = fresh()
  const wal = await Wal.create(dir, meta)
  await wal.save({ term: 1, vote: 1, commit: 1 }, [ent(1, 0), ent(2, 13), ent(3, 40)], true)
  const before = await (async () => {
    await wal.close()
    return (await replayOf(dir)).replay
  })()
  const w2 = await Wal.open(dir)
  await w2.replay()
  if (lastIsHardState) await w2.save({ term: 1, vote: 1, commit: 3 }, [], true)
  else await w2.save(undefined, [ent(4, 21)], true)
  await w2.close()
  const [segment] = await readdir(walDir(dir))
  return { dir, segment: join(walDir(dir), segment!), before }
}

describe('torn final record', () => {
  for (const lastIsHardState of [false, true]) {
    it(`is truncated away when cut at every byte offset (last record: ${lastIsHardState ? 'hard state' : 'entry'})`, async () => {
      const { dir, segment, before } = await buildSmallWal(lastIsHardState)
      const buf = await readFile(segment)
      const [start, end] = frames(buf).at(-1)!
      expect(end).toBe(buf.length)
      for (let cut = start; cut < end; cut++) {
        const copy = fresh()
        await cp(dir, copy, { recursive: true })
        const seg = join(walDir(copy), segment.slice(segment.lastIndexOf('/') + 1))
        await truncate(seg, cut)
        const { replay, warnings } = await replayOf(copy)
        expect(replay, `cut at ${cut}`).toEqual(before)
        if (cut > start) expect(warnings).toContain('truncating torn final WAL record')
        expect((await stat(seg)).size).toBe(start)
        await rm(copy, { recursive: true })
      }
    })
  }

  it('treats zeros after the last record (file extended but not written) as torn, and appends after it', async () => {
    const { dir, segment, before } = await buildSmallWal(false)
    const buf = await readFile(segment)
    const [start] = frames(buf).at(-1)!
    await writeFile(segment, Buffer.concat([buf.subarray(0, start), Buffer.alloc(4096)]))
    expect((await replayOf(dir)).replay).toEqual(before)
    const wal = await Wal.open(dir)
    await wal.replay()
    await wal.save({ term: 2, vote: 0, commit: 4 }, [ent(4, 5)], true)
    await wal.close()
    const { replay } = await replayOf(dir)
    expect(replay.entries.map((e) => e.index)).toEqual([1, 2, 3, 4])
    expect(replay.hardState).toEqual({ term: 2, vote: 0, commit: 4 })
  })
})

describe('a flipped bit', () => {
  it('in any record is a torn tail if it is the last record, and refused with file and offset otherwise', async () => {
    const { dir, segment, before } = await buildSmallWal(false)
    const pristine = await readFile(segment)
    const fs = frames(pristine)
    expect(fs.length).toBe(7)
    for (let ri = 0; ri < fs.length; ri++) {
      const [start, end] = fs[ri]!
      const isLast = ri === fs.length - 1
      for (let b = start; b < end; b++) {
        const bad = Buffer.from(pristine)
        bad[b]! ^= 1 << (b % 8)
        await writeFile(segment, bad)
        const where = `record ${ri} byte ${b}`
        if (isLast) {
          expect((await replayOf(dir)).replay, where).toEqual(before)
        } else {
          const err = await replayOf(dir).then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(err, where).toBeInstanceOf(WalError)
          const we = err as WalError
          expect(we.code, where).toBe(WalErrorCode.Corrupt)
          expect(we.file, where).toBe(segment)
          expect(we.offset, where).toBe(start)
          expect(we.message, where).toContain(`${segment} at offset ${start}`)
        }
      }
    }
    await writeFile(segment, pristine)
  })

  it('in the last record of a non-final segment is refused, not truncated', async () => {
    const dir = fresh()
    const wal = await Wal.create(dir, meta, { segmentSizeBytes: 200 })
    for (let i = 1; i <= 6; i++) await wal.save({ term: 1, vote: 1, commit: i }, [ent(i, 60)], true)
    await wal.close()
    const names = (await readdir(walDir(dir))).sort()
    expect(names.length).toBeGreaterThan(2)
    const first = join(walDir(dir), names[0]!)
    const buf = await readFile(first)
    const [start, end] = frames(buf).at(-1)!
    buf[end - 1]! ^= 0x80
    await writeFile(first, buf)
    await expect(replayOf(dir)).rejects.toMatchObject({
      code: WalErrorCode.Corrupt,
      file: first,
      offset: start,
    })
  })

  it('in the middle of a long tail segment is refused even though the damaged record is followed by many', async () => {
    const dir = fresh()
    const wal = await Wal.create(dir, meta)
    for (let i = 1; i <= 50; i++) await wal.save(undefined, [ent(i, 30)], false)
    await wal.close()
    const [name] = await readdir(walDir(dir))
    const seg = join(walDir(dir), name!)
    const buf = await readFile(seg)
    const [start] = frames(buf)[10]!
    buf.writeUInt32LE(0xffffff, start) // garbage length
    await writeFile(seg, buf)
    await expect(replayOf(dir)).rejects.toMatchObject({ code: WalErrorCode.Corrupt, offset: start })
  })
})
