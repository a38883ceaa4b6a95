import { afterEach, describe, expect, it } from 'vitest'
import type { MvccEvent } from '../mvcc/index.js'
import { dec, enc, TestCluster, until } from './testing/test-cluster.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.destroy()
  cluster = undefined
})

describe('StoreServer snapshots and compaction', () => {
  it('catches a lagging member up by snapshot, keeps its watch, and restarts from the snapshot', async () => {
    cluster = await TestCluster.start(3, { snapshotCount: 20, snapshotCatchUpEntries: 5 })
    const c = cluster
    const leader = await c.leader()
    const lagging = c.running().find((s) => s !== leader)!
    const laggingName = [...c.servers].find(([, s]) => s === lagging)![0]
    const events: MvccEvent[] = []
    const w = lagging.watch({ key: enc('s/'), rangeEnd: enc('s0') }, (resp) => {
      events.push(...resp.events)
      return true
    })
    if (!w.ok) throw w.error
    await leader.put({ key: enc('s/000'), value: enc('0') })
    await until('first event', () => events.length === 1)

    c.network.isolate([lagging.memberId])

    for (let i = 1; i < 60; i++) {
      const r = await leader.put({ key: enc(`s/${String(i).padStart(3, '0')}`), value: enc(String(i)) })
      if (!r.ok) throw r.error
    }
    expect(leader.snapshotIndexNow()).toBeGreaterThan(0)
    // The leader no longer holds the entries the lagging member needs: only a snapshot can help.
    expect(leader.firstLogIndex()).toBeGreaterThan(lagging.appliedIndexNow() + 1)

    c.network.heal()
    await until('lagging member catches up', async () => {
      const r = await lagging.range({
        key: enc('s/'),
        rangeEnd: enc('s0'),
        countOnly: true,
        serializable: true,
      })
      return r.ok && r.response.count === 60
    })
    expect(lagging.snapshotIndexNow()).toBeGreaterThan(0)
    // The watch was carried over the snapshot install: every revision once, in order.
    await until('all watch events', () => events.length === 60)
    expect(events.map((e) => dec(e.kv.value))).toEqual(Array.from({ length: 60 }, (_, i) => String(i)))

    const hashes = await Promise.all(c.running().map((s) => s.hashKV(0)))
    expect(new Set(hashes.map((h) => (h.ok ? h.response.hash : -1))).size).toBe(1)

    // Restart isolated: the member rebuilds everything from its own snapshot file and WAL.
    await c.crash(laggingName)
    const back = await c.startMember(laggingName, 'new')
    c.network.isolate([back.memberId])
    expect(back.snapshotIndexNow()).toBeGreaterThan(0)
    await until('restarted member re-applies its WAL tail', async () => {
      const r = await back.range({ key: enc('s/'), rangeEnd: enc('s0'), countOnly: true, serializable: true })
      return r.ok && r.response.count === 60
    })
    c.network.heal()
    await c.leader()
  })

  it('replicates compaction: old revisions are refused on every member', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    for (let i = 0; i < 5; i++) await leader.put({ key: enc('c'), value: enc(String(i)) })
    const cp = await leader.compact(4, false)
    expect(cp.ok).toBe(true)
    for (const s of cluster.running()) {
      const old = await s.range({ key: enc('c'), revision: 3 })
      expect(!old.ok && old.error.code).toBe('MVCC_ERR_COMPACTED')
      const cur = await s.range({ key: enc('c'), revision: 4 })
      expect(cur.ok && dec(cur.response.kvs[0]?.value)).toBe('2')
    }
    const snap = await leader.snapshot()
    expect(snap.ok && snap.response.length).toBeGreaterThan(0)
  })
})
