/**
 * Goal: the WAL gives back exactly what was saved (hard state, entries with overwrites, snapshots),
 * across reopen, rollover and release, and batches concurrent saves into few syncs.
 * Method: drive a `Wal` and a `MemoryStorage` with the same operations and compare after replay.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Entry, type HardState, MemoryStorage, type Snapshot } from '@hakube/raft'
import { afterEach, describe, expect, it } from 'vitest'
import { isWalError, WalErrorCode } from './errors.js'
import { defaultWalIo, snapDir, type WalIo, walDir } from './files.js'
import { loadIntoStorage } from './load-storage.js'
import type { WalReplay } from './replay.js'
import { Wal } from './wal.js'

const dirs: string[] = []
async function tempDataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hakube-wal-'))
  dirs.push(d)
  return d
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const meta = new TextEncoder().encode('member=1,cluster=7')

function ent(index: number, term: number, size = 8, type: Entry['type'] = 'normal'): Entry {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff
  return { index, term, type, data }
}

function ents(lo: number, hi: number, term: number, size = 8): Entry[] {
  const out: Entry[] = []
  for (let i = lo; i <= hi; i++) out.push(ent(i, term, size))
  return out
}

function snap(index: number, term: number): Snapshot {
  return {
    data: new Uint8Array([index & 0xff, 1, 2, 3]),
    metadata: { index, term, confState: { voters: [1, 2, 3], learners: [4] } },
  }
}

async function reopen(dataDir: string, options = {}): Promise<{ wal: Wal; replay: WalReplay }> {
  const wal = await Wal.open(dataDir, options)
  return { wal, replay: await wal.replay() }
}

describe('Wal round trip', () => {
  it('replays metadata, hard state and entries, including conf change entries and empty data', async () => {
    const dir = await tempDataDir()
    const wal = await Wal.create(dir, meta)
    const batch = [ent(1, 1, 0), ent(2, 1, 100, 'confChange'), ent(3, 2, 3)]
    await wal.save({ term: 2, vote: 1, commit: 2 }, batch, true)
    await wal.close()
    const { wal: w2, replay } = await reopen(dir)
    expect(replay.metadata).toEqual(meta)
    expect(replay.hardState).toEqual({ term: 2, vote: 1, commit: 2 })
    expect(replay.entries).toEqual(batch)
    expect(replay.snapshot.metadata.index).toBe(0)
    await w2.close()
  })

  it('applies overwrites exactly as MemoryStorage.append does, across reopens', async () => {
    const dir = await tempDataDir()
    const model = new MemoryStorage()
    const ops: Array<[HardState | undefined, Entry[]]> = [
      [{ term: 1, vote: 1, commit: 0 }, ents(1, 10, 1)],
      [{ term: 2, vote: 2, commit: 3 }, ents(5, 7, 2)], // truncates 5..10
      [undefined, ents(8, 12, 2)],
      [{ term: 3, vote: 0, commit: 6 }, ents(7, 7, 3)], // truncates 7..12
      [{ term: 3, vote: 0, commit: 7 }, []],
    ]
    let wal = await Wal.create(dir, meta)
    for (const [hs, es] of ops) {
      await wal.save(hs, es, true)
      model.append(es)
      if (hs !== undefined) model.setHardState(hs)
      await wal.close()
      wal = (await reopen(dir)).wal
    }
    const replay = await wal.replay()
    const restored = new MemoryStorage()
    loadIntoStorage(restored, replay)
    expect(restored.lastIndex()).toBe(model.lastIndex())
    expect(restored.entries(1, model.lastIndex() + 1, Number.MAX_SAFE_INTEGER)).toEqual(
      model.entries(1, model.lastIndex() + 1, Number.MAX_SAFE_INTEGER),
    )
    expect(restored.initialState()).toEqual(model.initialState())
    await wal.close()
  })

  it('restarts from the newest snapshot with only the entries after it', async () => {
    const dir = await tempDataDir()
    const wal = await Wal.create(dir, meta)
    await wal.save({ term: 1, vote: 1, commit: 20 }, ents(1, 20, 1), true)
    await wal.saveSnapshot(snap(10, 1))
    await wal.saveSnapshot(snap(15, 1))
    await wal.save({ term: 2, vote: 1, commit: 22 }, ents(21, 25, 2), true)
    await wal.close()
    const { wal: w2, replay } = await reopen(dir)
    expect(replay.snapshot).toEqual(snap(15, 1))
    expect(replay.entries.map((e) => e.index)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
    const st = new MemoryStorage()
    loadIntoStorage(st, replay)
    expect(st.firstIndex()).toBe(16)
    expect(st.snapshot().metadata.confState).toEqual({ voters: [1, 2, 3], learners: [4] })
    await w2.close()
  })

  it('ignores a snapshot whose marker is beyond the durable commit (never acknowledged)', async () => {
    const dir = await tempDataDir()
    const wal = await Wal.create(dir, meta)
    await wal.save({ term: 1, vote: 1, commit: 5 }, ents(1, 10, 1), true)
    await wal.saveSnapshot(snap(8, 1)) // crash before the hard state committing 8 was saved
    await wal.close()
    const { wal: w2, replay } = await reopen(dir)
    expect(replay.snapshot.metadata.index).toBe(0)
    expect(replay.entries).toHaveLength(10)
    await w2.close()
  })

  it('a follower snapshot beyond its log: entries restart after it', async () => {
    const dir = await tempDataDir()
    const wal = await Wal.create(dir, meta)
    await wal.save({ term: 1, vote: 1, commit: 3 }, ents(1, 5, 1), true)
    await wal.saveSnapshot(snap(100, 4))
    await wal.save({ term: 4, vote: 0, commit: 100 }, [], true)
    await wal.save({ term: 4, vote: 0, commit: 101 }, ents(101, 102, 4), true)
    await wal.close()
    const { wal: w2, replay } = await reopen(dir)
    expect(replay.snapshot.metadata.index).toBe(100)
    expect(replay.entries.map((e) => e.index)).toEqual([101, 102])
    await w2.close()
  })
})

describe('Wal segments', () => {
  it('rolls over at the configured size, continues the chain across reopen, and releases old segments', async () => {
    const dir = await tempDataDir()
    const options = { segmentSizeBytes: 1024, snapshotsToKeep: 2 }
    let wal = await Wal.create(dir, meta, options)
    for (let i = 1; i <= 60; i++)
      await wal.save({ term: 1, vote: 1, commit: i - 1 }, [ent(i, 1, 100)], i % 7 === 0)
    await wal.close()
    const names = (await readdir(walDir(dir))).sort()
    expect(names.length).toBeGreaterThan(4)
    expect(names.every((n) => /^[0-9a-f]{16}-[0-9a-f]{16}\.wal$/.test(n))).toBe(true)
    expect(names[0]).toBe('0000000000000000-0000000000000000.wal')

    let replay: WalReplay
    ;({ wal, replay } = await reopen(dir, options))
    expect(replay.entries.map((e) => e.index)).toEqual(ents(1, 60, 1).map((e) => e.index))
    expect(replay.hardState.commit).toBe(59)
    for (const s of [20, 30, 40, 50]) await wal.saveSnapshot(snap(s, 1))
    await wal.saveSnapshot(snap(60, 1)) // beyond the durable commit (59): release must not use it
    await wal.releaseTo(100) // capped to the newest usable snapshot (50), keeps the segment containing it
    const left = wal.segmentNames()
    expect(left.length).toBeLessThan(names.length)
    const firstKept = Number.parseInt(left[0]!.slice(17, 33), 16)
    expect(firstKept).toBeLessThanOrEqual(50)
    expect((await readdir(snapDir(dir))).sort()).toEqual([
      '0000000000000001-0000000000000032.snap',
      '0000000000000001-000000000000003c.snap',
    ])
    await wal.save({ term: 1, vote: 1, commit: 61 }, [ent(61, 1)], true)
    await wal.close()
    ;({ wal, replay } = await reopen(dir, options))
    // The hard state now commits 61, so the snapshot at 60 is usable.
    expect(replay.snapshot.metadata.index).toBe(60)
    expect(replay.entries.map((e) => e.index)).toEqual([61])
    expect(replay.hardState).toEqual({ term: 1, vote: 1, commit: 61 })
    await wal.close()
  })

  it('keeps the hard state alive in new segments after old ones are released', async () => {
    const dir = await tempDataDir()
    const options = { segmentSizeBytes: 512 }
    let wal = await Wal.create(dir, meta, options)
    await wal.save({ term: 3, vote: 2, commit: 30 }, ents(1, 30, 3, 64), true)
    await wal.saveSnapshot(snap(30, 3))
    await wal.save(undefined, ents(31, 40, 3, 64), true) // rolls over without a new hard state record
    await wal.releaseTo(30)
    await wal.close()
    const { wal: w2, replay } = await reopen(dir, options)
    wal = w2
    expect(replay.hardState).toEqual({ term: 3, vote: 2, commit: 30 })
    expect(replay.entries.map((e) => e.index)).toEqual(ents(31, 40, 3).map((e) => e.index))
    await wal.close()
  })

  it('refuses a WAL with a segment missing from the sequence', async () => {
    const dir = await tempDataDir()
    const wal = await Wal.create(dir, meta, { segmentSizeBytes: 256 })
    for (let i = 1; i <= 20; i++) await wal.save({ term: 1, vote: 1, commit: i }, [ent(i, 1, 64)], true)
    await wal.close()
    const names = (await readdir(walDir(dir))).sort()
    expect(names.length).toBeGreaterThan(3)
    await rm(join(walDir(dir), names[2]!))
    const w2 = await Wal.open(dir)
    await expect(w2.replay()).rejects.toMatchObject({ code: WalErrorCode.MissingSegment })
    await expect(w2.replay()).rejects.toThrow(names[3]!)
  })

  it('removes leftover temp files and refuses create over an existing WAL', async () => {
    const dir = await tempDataDir()
    const wal = await Wal.create(dir, meta)
    await wal.close()
    await writeFile(join(walDir(dir), '0000000000000001-0000000000000001.wal.tmp'), 'junk')
    await expect(Wal.create(dir, meta)).rejects.toMatchObject({ code: WalErrorCode.Exists })
    const { wal: w2 } = await reopen(dir)
    expect(await readdir(walDir(dir))).toEqual(['0000000000000000-0000000000000000.wal'])
    await w2.close()
    await expect(w2.save(undefined, [ent(1, 1)], true)).rejects.toMatchObject({ code: WalErrorCode.Closed })
    await expect(Wal.open(join(dir, 'nope'))).rejects.toMatchObject({ code: WalErrorCode.NotFound })
  })

  it('requires replay before writing', async () => {
    const dir = await tempDataDir()
    await (await Wal.create(dir, meta)).close()
    const wal = await Wal.open(dir)
    await expect(wal.save(undefined, [ent(1, 1)], true)).rejects.toMatchObject({
      code: WalErrorCode.NotReplayed,
    })
    await wal.close()
  })
})

describe('Wal group commit', () => {
  function countingIo(delayMs: number): WalIo & { syncs: number } {
    const io = {
      syncs: 0,
      fdatasync: async (fh: Parameters<WalIo['fdatasync']>[0]) => {
        io.syncs++
        await new Promise((r) => setTimeout(r, delayMs))
        await defaultWalIo.fdatasync(fh)
      },
      fsyncDir: defaultWalIo.fsyncDir,
    }
    return io
  }

  it('batches N concurrent saves into one or two fdatasyncs', async () => {
    const dir = await tempDataDir()
    const io = countingIo(5)
    const wal = await Wal.create(dir, meta, { io })
    const before = io.syncs
    const n = 100
    await Promise.all(
      Array.from({ length: n }, (_, i) => wal.save({ term: 1, vote: 1, commit: i }, [ent(i + 1, 1)], true)),
    )
    const syncs = io.syncs - before
    expect(syncs).toBeGreaterThanOrEqual(1)
    expect(syncs).toBeLessThanOrEqual(2)
    expect(wal.stats().savesCompleted).toBe(n)
    await wal.close()
    const { wal: w2, replay } = await reopen(dir)
    expect(replay.entries).toHaveLength(n)
    await w2.close()
  })

  it('saves arriving while a sync is in flight join the next batch', async () => {
    const dir = await tempDataDir()
    const io = countingIo(20)
    const wal = await Wal.create(dir, meta, { io })
    const before = io.syncs
    const first = wal.save(undefined, [ent(1, 1)], true)
    await new Promise((r) => setTimeout(r, 5)) // first batch is now syncing
    const rest = Array.from({ length: 50 }, (_, i) => wal.save(undefined, [ent(i + 2, 1)], true))
    await Promise.all([first, ...rest])
    expect(io.syncs - before).toBe(2)
    expect(wal.stats().batches).toBe(2)
    await wal.close()
  })

  it('blocking appends (the default io) still group-commit, sync only when asked, and poison on failure', async () => {
    const dir = await tempDataDir()
    const calls: Array<{ bytes: number; sync: boolean }> = []
    let fail = false
    const io: WalIo = {
      ...defaultWalIo,
      appendSync: (fd, buf, position, sync) => {
        calls.push({ bytes: buf.length, sync })
        if (fail) throw new Error('EIO')
        defaultWalIo.appendSync?.(fd, buf, position, sync)
      },
    }
    const wal = await Wal.create(dir, meta, { io })
    const n = 100
    await Promise.all(Array.from({ length: n }, (_, i) => wal.save(undefined, [ent(i + 1, 1)], true)))
    expect(calls).toHaveLength(1)
    expect(calls[0]?.sync).toBe(true)
    await wal.save({ term: 1, vote: 1, commit: 5 }, [], false)
    expect(calls.at(-1)?.sync).toBe(false)
    fail = true
    const err = await wal.save(undefined, [ent(n + 1, 1)], true).catch((e: unknown) => e)
    expect(isWalError(err, WalErrorCode.Failed)).toBe(true)
    await wal.close()
    const { wal: w2, replay } = await reopen(dir)
    expect(replay.entries).toHaveLength(n)
    expect(replay.hardState.commit).toBe(5)
    await w2.close()
  })

  it('does not sync when no save asks for it, and poisons the WAL after a failed sync', async () => {
    const dir = await tempDataDir()
    let fail = false
    const io: WalIo = {
      fdatasync: async (fh) => {
        if (fail) throw new Error('EIO')
        await defaultWalIo.fdatasync(fh)
      },
      fsyncDir: defaultWalIo.fsyncDir,
    }
    const wal = await Wal.create(dir, meta, { io })
    const syncs = wal.stats().fdatasyncs
    await wal.save(undefined, [ent(1, 1)], false)
    expect(wal.stats().fdatasyncs).toBe(syncs)
    fail = true
    const err = await wal.save(undefined, [ent(2, 1)], true).catch((e: unknown) => e)
    expect(isWalError(err, WalErrorCode.Failed)).toBe(true)
    await expect(wal.save(undefined, [ent(3, 1)], true)).rejects.toMatchObject({ code: WalErrorCode.Failed })
    await wal.close()
  })

  it('rejects non-contiguous entries and unsafe integers', async () => {
    const dir = await tempDataDir()
    const wal = await Wal.create(dir, meta)
    await expect(wal.save(undefined, [ent(1, 1), ent(3, 1)], true)).rejects.toMatchObject({
      code: WalErrorCode.InvalidArgument,
    })
    await expect(wal.save(undefined, [ent(5, 1)], true)).rejects.toMatchObject({
      code: WalErrorCode.InvalidArgument,
    })
    await expect(wal.save({ term: -1, vote: 0, commit: 0 }, [], true)).rejects.toMatchObject({
      code: WalErrorCode.InvalidArgument,
    })
    await wal.close()
  })
})
