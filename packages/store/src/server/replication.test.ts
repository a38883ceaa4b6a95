import { afterEach, describe, expect, it } from 'vitest'
import type { WatchResponse } from '../mvcc/index.js'
import { dec, ELECTION_MS, enc, TestCluster, until } from './testing/test-cluster.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.destroy()
  cluster = undefined
})

describe('StoreServer replication (3 members over MemoryTransport)', () => {
  it('elects one leader that every member agrees on', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    const leaders = cluster.running().filter((s) => s.leader() === s.memberId)
    expect(leaders).toEqual([leader])
    const h = leader.header()
    expect(h.clusterId).toBeGreaterThan(0)
    for (const s of cluster.running()) {
      expect(s.header().clusterId).toBe(h.clusterId)
      expect(s.header().raftTerm).toBeGreaterThan(0)
    }
  })

  it('serves puts made on any member to linearizable reads on every member', async () => {
    cluster = await TestCluster.start(3)
    await cluster.leader()
    const members = cluster.running()
    for (const [i, s] of members.entries()) {
      const r = await s.put({ key: enc(`k${i}`), value: enc(`v${i}`) })
      expect(r.ok, r.ok ? '' : r.error.message).toBe(true)
    }
    for (const s of members) {
      const r = await s.range({ key: enc('k'), rangeEnd: enc('l') })
      if (!r.ok) throw r.error
      expect(r.response.kvs.map((kv) => `${dec(kv.key)}=${dec(kv.value)}`)).toEqual([
        'k0=v0',
        'k1=v1',
        'k2=v2',
      ])
      expect(r.response.header.revision).toBe(4)
      expect(s.header().revision).toBe(4)
    }
  })

  it('runs a txn sent to a follower through the leader, atomically at one revision', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    const follower = cluster.running().find((s) => s !== leader)!
    await follower.put({ key: enc('a'), value: enc('1') })
    const t = await follower.txn({
      compare: [{ key: enc('a'), target: 'VALUE', result: 'EQUAL', value: enc('1') }],
      success: [
        { op: 'put', request: { key: enc('a'), value: enc('2') } },
        { op: 'put', request: { key: enc('b'), value: enc('2') } },
      ],
      failure: [],
    })
    if (!t.ok) throw t.error
    expect(t.response.succeeded).toBe(true)
    expect(t.response.header.revision).toBe(3)
    const again = await leader.txn({
      compare: [{ key: enc('a'), target: 'VALUE', result: 'EQUAL', value: enc('1') }],
      success: [],
      failure: [{ op: 'range', request: { key: enc('a') } }],
    })
    if (!again.ok) throw again.error
    expect(again.response.succeeded).toBe(false)
    const rangeOp = again.response.responses[0]
    expect(rangeOp?.op === 'range' ? dec(rangeOp.response.kvs[0]?.value) : '').toBe('2')
  })

  it('delivers watch events on one member for writes made on another', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    const [a, b] = cluster.running().filter((s) => s !== leader)
    const got: WatchResponse[] = []
    const w = a!.watch({ key: enc('w/'), rangeEnd: enc('w0'), prevKv: true }, (resp) => {
      got.push(resp)
      return true
    })
    if (!w.ok) throw w.error
    await b!.put({ key: enc('w/1'), value: enc('x') })
    await b!.put({ key: enc('w/1'), value: enc('y') })
    await b!.deleteRange({ key: enc('w/1') })
    const events = await until('3 watch events', () => {
      const ev = got.flatMap((r) => r.events)
      return ev.length >= 3 ? ev : undefined
    })
    expect(events.map((e) => `${e.type}:${dec(e.kv.value)}:${dec(e.prevKv?.value)}`)).toEqual([
      'PUT:x:',
      'PUT:y:x',
      'DELETE::y',
    ])
    expect(got[0]?.created).toBe(true)
    w.response.cancel()
  })

  it('serves serializable reads locally and status from every member', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    await leader.put({ key: enc('s'), value: enc('1') })
    for (const s of cluster.running()) {
      await until('applied', async () => {
        const r = await s.range({ key: enc('s'), serializable: true })
        return r.ok && r.response.kvs.length === 1
      })
      const st = await s.status()
      if (!st.ok) throw st.error
      expect(st.response.leader).toBe(leader.memberId)
      expect(st.response.raftAppliedIndex).toBeGreaterThan(0)
      expect(st.response.dbSize).toBeGreaterThan(0)
      expect(st.response.version).toBe('3.4.0-hakube')
    }
    expect(ELECTION_MS).toBe(100)
  })
})
