/**
 * kube-apiserver's periodic compaction on the memory backend (the etcd3 backend runs the same suite of
 * checks against real clusters in etcd3-suite.ts).
 * Goal: history is compacted every interval to the revision of one interval before, so reads and
 * watches from older revisions are TooOld (the api-server's 410) and history stops growing; among
 * several compactors sharing one store only one compacts per round (kube's compact_rev_key Txn).
 * Method: the round function driven by hand for the protocol, then real timers with short intervals.
 */
import { describe, expect, it } from 'vitest'
import { COMPACT_REV_KEY, compactRound, INITIAL_COMPACTOR_STATE } from '../src/compactor.js'
import { createStorage } from '../src/etcd3-entry.js'
import { createMemoryStorage, MemoryStorage, type Storage } from '../src/index.js'
import type { KvEngine } from '../src/kv-backend.js'
import { EventLog, expectError } from './contract.js'

/** The engine behind a memory storage, to drive compactRound by hand. */
function engineOf(s: MemoryStorage): KvEngine {
  return (s as unknown as { engine: KvEngine }).engine
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('compactor (kube compact.go) on the memory backend', () => {
  it('one Txn per round: the winner compacts to the revision of its previous round, the loser adopts', async () => {
    const s = createMemoryStorage({ startRevision: 100 })
    const engine = engineOf(s)
    const deadline = () => Date.now() + 1_000
    const v1 = await s.create('/registry/pods/ns/a', { v: 1 })
    // Round 1 of compactor A: it wins (the key does not exist: version 0) but has nothing to compact yet.
    const a1 = await compactRound(engine, INITIAL_COMPACTOR_STATE, deadline())
    expect(a1).toEqual({ won: true, state: { compactTime: 1, revision: v1.modRevision + 1 } })
    // Compactor B, also at version 0, loses that round and adopts the key's version.
    const b1 = await compactRound(engine, INITIAL_COMPACTOR_STATE, deadline())
    expect(b1).toEqual({ won: false, state: { compactTime: 1, revision: v1.modRevision + 1 } })
    const v2 = await s.update('/registry/pods/ns/a', { v: 2 }, v1.modRevision)
    await s.update('/registry/pods/ns/a', { v: 3 }, v2.modRevision)
    // Round 2: A wins again and compacts to the revision it saw in round 1; B loses again.
    const a2 = await compactRound(engine, a1.state, deadline())
    expect(a2.won).toBe(true)
    expect(a2.compacted).toBe(a1.state.revision)
    expect(a2.error).toBeUndefined()
    const b2 = await compactRound(engine, b1.state, deadline())
    expect(b2.won).toBe(false)
    expect(b2.compacted).toBeUndefined()
    expect(b2.state.compactTime).toBe(2)
    // The compact key records the revision of the previous round; it is invisible to object lists.
    expect((await s.get<number>(COMPACT_REV_KEY)).value).toBe(a1.state.revision)
    expect((await s.list({ prefix: '/registry/' })).items.map((i) => i.key)).toEqual(['/registry/pods/ns/a'])
    // History before the compaction is gone; from it on, it is kept.
    await expectError(s.get('/registry/pods/ns/a', { revision: v1.modRevision }), 'TooOld')
    expect((await s.get('/registry/pods/ns/a', { revision: a1.state.revision })).value).toEqual({ v: 1 })
    // Round 3 by B (now in step) wins and compacts to what it adopted in round 2.
    const b3 = await compactRound(engine, b2.state, deadline())
    expect(b3.won).toBe(true)
    expect(b3.compacted).toBe(b2.state.revision)
    await expectError(s.get('/registry/pods/ns/a', { revision: v2.modRevision }), 'TooOld')
    await s.close()
    // A failed Txn keeps the state and reports the error (the next round retries).
    const failed = await compactRound(engine, b3.state, deadline())
    expect(failed.state).toEqual(b3.state)
    expect(failed.error?.code).toBe('Unavailable')
  })

  it('every interval: reads and watches from compacted revisions become TooOld and history stays bounded', async () => {
    const compacted: number[] = []
    const errors: unknown[] = []
    const s = createMemoryStorage({
      compactionIntervalMs: 50,
      onCompacted: (rev) => compacted.push(rev),
      onCompactionError: (err) => errors.push(err),
    })
    const first = await s.create('/registry/configmaps/ns/c', { i: 0 })
    let cur = first
    // Keep writing across several intervals, as a busy cluster does.
    for (let i = 1; compacted.length < 3; i++) {
      cur = await s.update('/registry/configmaps/ns/c', { i }, cur.modRevision)
      await sleep(5)
      if (i > 2_000) throw new Error('no compaction happened')
    }
    expect(errors).toEqual([])
    // Each compaction goes further, and none reaches the latest revision (one interval is kept).
    expect([...compacted].sort((x, y) => x - y)).toEqual(compacted)
    const last = compacted[compacted.length - 1] as number
    expect(last).toBeLessThan(cur.modRevision)
    await expectError(s.list({ prefix: '/registry/configmaps/', revision: first.modRevision }), 'TooOld')
    const log = new EventLog()
    await s.watch({ prefix: '/registry/configmaps/', afterRevision: first.modRevision }, log.handler)
    const [ev] = await log.until(1, 2_000)
    expect(ev?.type === 'ERROR' && ev.error.code).toBe('TooOld')
    // The retained history is what came after the last compaction, not every write ever made.
    const replay = new EventLog()
    await s.watch({ prefix: '/registry/configmaps/', afterRevision: last - 1 }, replay.handler)
    await sleep(50)
    expect(replay.events.length).toBeLessThan(cur.modRevision - first.modRevision)
    await s.close()
  })

  it('compactionIntervalMs 0 (or absent) never compacts', async () => {
    const s = createMemoryStorage({ compactionIntervalMs: 0 })
    const first = await s.create('/registry/configmaps/ns/c', { i: 0 })
    await sleep(100)
    expect((await s.get('/registry/configmaps/ns/c', { revision: first.modRevision })).value).toEqual({
      i: 0,
    })
    await expectError(s.get(COMPACT_REV_KEY), 'NotFound')
    await s.close()
  })

  it('createStorage (what hakube-apiserver calls with its flags) passes the compaction options on', async () => {
    const compacted: number[] = []
    const s = createStorage({ compactionIntervalMs: 30, onCompacted: (rev) => compacted.push(rev) })
    let rev = (await s.create('/registry/configmaps/ns/c', {})).modRevision
    for (let i = 0; compacted.length === 0; i++) {
      rev = (await s.update('/registry/configmaps/ns/c', { i }, rev)).modRevision
      await sleep(5)
      if (i > 1_000) throw new Error('no compaction happened')
    }
    await s.close()
  })

  it('api-servers sharing one store: about one compaction per interval in total, not one each', async () => {
    const intervalMs = 40
    const s = new MemoryStorage()
    const counts = [0, 0, 0]
    const clients: Storage[] = counts.map((_, i) =>
      s.client({ compactionIntervalMs: intervalMs, onCompacted: () => counts[i]!++ }),
    )
    const t0 = Date.now()
    let rev = (await s.create('/registry/configmaps/ns/c', { i: 0 })).modRevision
    while (Date.now() - t0 < 20 * intervalMs) {
      rev = (await s.update('/registry/configmaps/ns/c', {}, rev)).modRevision
      await sleep(5)
    }
    for (const c of clients) await c.close()
    const rounds = (Date.now() - t0) / intervalMs
    const total = counts.reduce((x, y) => x + y, 0)
    console.log(`compactions by each of 3 compactors over ${rounds.toFixed(1)} intervals: ${counts}`)
    expect(total).toBeGreaterThanOrEqual(5)
    expect(total).toBeLessThanOrEqual(Math.ceil(rounds) + 1)
    await s.close()
  })
})
