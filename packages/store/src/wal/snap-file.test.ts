/**
 * Goal: snapshot files round-trip, any damage is detected, and replay falls back to an older snapshot
 * only when the WAL still covers everything after it. Method: write, damage and reopen real files.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Entry, Snapshot } from '@hakube/raft'
import { afterEach, describe, expect, it } from 'vitest'
import { isWalError, WalErrorCode } from './errors.js'
import { snapDir, snapFileName } from './files.js'
import { decodeSnapshotFile, encodeSnapshotFile, readSnapshotFile, writeSnapshotFile } from './snap-file.js'
import { Wal } from './wal.js'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hakube-snap-'))
  dirs.push(d)
  return d
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const snap = (index: number, term: number, size = 50): Snapshot => ({
  data: new Uint8Array(size).map((_, i) => (i * 13 + index) & 0xff),
  metadata: { index, term, confState: { voters: [1, 2, 2 ** 40], learners: [] } },
})
const ents = (lo: number, hi: number): Entry[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => ({
    index: lo + i,
    term: 1,
    type: 'normal' as const,
    data: new Uint8Array([i]),
  }))

describe('snapshot files', () => {
  it('round-trip through the file format, usable without a WAL', async () => {
    const dir = await tempDir()
    const s = snap(2 ** 33, 7, 1000)
    const path = await writeSnapshotFile(dir, s)
    expect(path).toBe(join(dir, snapFileName(7, 2 ** 33)))
    expect(await readSnapshotFile(path)).toEqual(s)
    expect(await readdir(dir)).toEqual([snapFileName(7, 2 ** 33)])
  })

  it('detects a flipped bit in every byte, and truncation', () => {
    const good = encodeSnapshotFile(snap(5, 1, 20))
    for (let b = 0; b < good.length; b++) {
      const bad = Buffer.from(good)
      bad[b]! ^= 1 << (b % 8)
      let err: unknown
      try {
        decodeSnapshotFile(bad, 'x.snap')
      } catch (e) {
        err = e
      }
      expect(isWalError(err, WalErrorCode.SnapshotCorrupt), `byte ${b}`).toBe(true)
    }
    expect(() => decodeSnapshotFile(good.subarray(0, good.length - 1), 'x.snap')).toThrow(
      /x\.snap at offset 8/,
    )
  })

  it('refuses a file whose name disagrees with its contents', async () => {
    const dir = await tempDir()
    const path = await writeSnapshotFile(dir, snap(5, 1))
    const renamed = join(dir, snapFileName(1, 6))
    await writeFile(renamed, await readFile(path))
    await expect(readSnapshotFile(renamed)).rejects.toMatchObject({
      code: WalErrorCode.SnapshotCorrupt,
      file: renamed,
    })
  })
})

describe('replay with damaged snapshot files', () => {
  async function walWithTwoSnapshots(release: boolean): Promise<string> {
    const dir = await tempDir()
    const wal = await Wal.create(dir, new Uint8Array(), { segmentSizeBytes: 256 })
    await wal.save({ term: 1, vote: 1, commit: 10 }, ents(1, 10), true)
    await wal.saveSnapshot(snap(5, 1))
    await wal.save({ term: 1, vote: 1, commit: 20 }, ents(11, 20), true)
    await wal.saveSnapshot(snap(15, 1))
    await wal.save({ term: 1, vote: 1, commit: 22 }, ents(21, 22), true)
    if (release) await wal.releaseTo(15)
    await wal.close()
    return dir
  }

  async function corrupt(dir: string, index: number): Promise<string> {
    const path = join(snapDir(dir), snapFileName(1, index))
    const buf = await readFile(path)
    buf[buf.length - 3]! ^= 4
    await writeFile(path, buf)
    return path
  }

  it('falls back to the older snapshot when the WAL still holds every entry after it', async () => {
    const dir = await walWithTwoSnapshots(false)
    await corrupt(dir, 15)
    const warnings: string[] = []
    const noop = (): void => {}
    const wal = await Wal.open(dir, {
      logger: { debug: noop, info: noop, error: noop, warn: (_o, m) => warnings.push(m) },
    })
    const replay = await wal.replay()
    expect(replay.snapshot).toEqual(snap(5, 1))
    expect(replay.entries.map((e) => e.index)).toEqual(ents(6, 22).map((e) => e.index))
    expect(warnings).toContain('fell back to an older snapshot; the WAL covers the gap')
    await wal.close()
  })

  it('refuses when the WAL was released past the older snapshot', async () => {
    const dir = await walWithTwoSnapshots(true)
    const path = await corrupt(dir, 15)
    const wal = await Wal.open(dir)
    const err = await wal.replay().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: WalErrorCode.SnapshotCorrupt, file: path, offset: 8 })
    expect((err as Error).message).toContain(path)
    expect((err as Error).message).toContain('cannot fall back to snapshot 5')
    await wal.close()
  })

  it('refuses when no older valid snapshot exists', async () => {
    const dir = await walWithTwoSnapshots(false)
    await corrupt(dir, 5)
    const path = await corrupt(dir, 15)
    const wal = await Wal.open(dir)
    await expect(wal.replay()).rejects.toMatchObject({ code: WalErrorCode.SnapshotCorrupt, file: path })
    await wal.close()
  })

  it('ignores an orphan snapshot file that has no marker (crash between file and marker)', async () => {
    const dir = await walWithTwoSnapshots(false)
    await writeSnapshotFile(snapDir(dir), snap(21, 1))
    const wal = await Wal.open(dir)
    expect((await wal.replay()).snapshot.metadata.index).toBe(15)
    await wal.close()
  })

  it('refuses a WAL whose snapshot files were all deleted after release', async () => {
    const dir = await walWithTwoSnapshots(true)
    await rm(snapDir(dir), { recursive: true })
    const wal = await Wal.open(dir)
    await expect(wal.replay()).rejects.toMatchObject({ code: WalErrorCode.Inconsistent })
    await wal.close()
  })
})
