import { afterEach, describe, expect, it } from 'vitest'
import type { StoreServer } from './store-server.js'
import { dec, ELECTION_MS, enc, sleep, TestCluster, until } from './testing/test-cluster.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.destroy()
  cluster = undefined
})

/** Writes `w<n>` keys through the given members in a closed loop, recording the acknowledged ones. */
function writer(members: () => StoreServer[]) {
  const acked: string[] = []
  let stop = false
  let n = 0
  const done = (async () => {
    while (!stop) {
      const all = members()
      const s = all[n % all.length]
      const key = `w${String(n++).padStart(5, '0')}`
      if (s === undefined) break
      const r = await s.put({ key: enc(key), value: enc(key) })
      if (r.ok) acked.push(key)
      else await sleep(5)
    }
  })()
  return {
    acked,
    async stop() {
      stop = true
      await done
    },
  }
}

describe('StoreServer failover', () => {
  it('elects a new leader after the leader is killed, loses no acknowledged write, and the old leader catches up on restart', async () => {
    cluster = await TestCluster.start(3)
    const c = cluster
    const old = await c.leader()
    const oldName = [...c.servers].find(([, s]) => s === old)![0]
    const load = writer(() => c.running())
    await until('some acknowledged writes', () => load.acked.length >= 20)

    const killedAt = Date.now()
    await c.crash(oldName)
    const next = await c.leader(2000)
    const electedMs = Date.now() - killedAt
    expect(next.memberId).not.toBe(old.memberId)
    // Issue 3: a new leader within two election timeouts (plus timer slack on a busy test machine).
    expect(electedMs).toBeLessThan(2 * ELECTION_MS + 150)

    const before = load.acked.length
    await until('writes resume', () => load.acked.length >= before + 20)
    await load.stop()

    const keys = async (s: StoreServer, serializable: boolean) => {
      const r = await s.range({ key: enc('w'), rangeEnd: enc('x'), keysOnly: true, serializable })
      if (!r.ok) throw r.error
      return new Set(r.response.kvs.map((kv) => dec(kv.key)))
    }
    for (const s of c.running()) {
      const have = await keys(s, false)
      expect(load.acked.filter((k) => !have.has(k))).toEqual([])
    }

    const restarted = await c.startMember(oldName, 'new')
    await until('restarted member catches up', async () => {
      const have = await keys(restarted, true)
      return load.acked.every((k) => have.has(k))
    })
    expect(restarted.header().clusterId).toBe(next.header().clusterId)
    await c.leader()
  })

  it('refuses linearizable reads and writes on a partitioned minority member; the majority keeps serving; on return the leader stays', async () => {
    cluster = await TestCluster.start(3, { requestTimeoutMs: 400 })
    const leader = await cluster.leader()
    const [lonely] = cluster.running().filter((s) => s !== leader)
    await leader.put({ key: enc('p'), value: enc('before') })
    await until('the member to be isolated has applied the write', async () => {
      const res = await lonely!.range({ key: enc('p'), serializable: true })
      return res.ok && res.response.kvs.length === 1
    })
    const term = leader.header().raftTerm

    cluster.network.isolate([lonely!.memberId])
    const t0 = Date.now()
    const [w, r] = await Promise.all([
      lonely!.put({ key: enc('p'), value: enc('lonely') }),
      lonely!.range({ key: enc('p') }),
    ])
    const elapsed = Date.now() - t0
    for (const res of [w, r]) {
      expect(res.ok).toBe(false)
      if (!res.ok) expect(['STORE_ERR_TIMEOUT', 'STORE_ERR_NO_LEADER']).toContain(res.error.code)
    }
    expect(elapsed).toBeLessThan(400 + 200)

    const ok = await leader.put({ key: enc('p'), value: enc('majority') })
    expect(ok.ok).toBe(true)
    const other = cluster.running().find((s) => s !== leader && s !== lonely)!
    const read = await other.range({ key: enc('p') })
    expect(read.ok && dec(read.response.kvs[0]?.value)).toBe('majority')
    // The isolated member still answers serializable reads from its (stale) state.
    const stale = await lonely!.range({ key: enc('p'), serializable: true })
    expect(stale.ok && dec(stale.response.kvs[0]?.value)).toBe('before')

    await sleep(3 * ELECTION_MS)
    cluster.network.heal()
    await until('isolated member catches up', async () => {
      const res = await lonely!.range({ key: enc('p') })
      return res.ok && dec(res.response.kvs[0]?.value) === 'majority'
    })
    // PreVote: the returning member did not depose the leader or bump the term.
    expect(leader.leader()).toBe(leader.memberId)
    expect(leader.header().raftTerm).toBe(term)
  })

  it('never proposes a write whose client gave up while no leader was known', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    const [lonely] = cluster.running().filter((s) => s !== leader)
    cluster.network.isolate([lonely!.memberId])
    await until('the isolated member to lose its leader', () => lonely!.leader() === 0)
    const abort = new AbortController()
    const pending = lonely!.put({ key: enc('gave-up'), value: enc('x') }, abort.signal)
    await sleep(50)
    abort.abort()
    const res = await pending
    expect(res.ok).toBe(false)
    if (!res.ok) expect(res.error.code).toBe('STORE_ERR_CANCELED')
    // Healing now, well within the request timeout, must not bring the abandoned write back.
    cluster.network.heal()
    await until('the member rejoins', () => lonely!.leader() === leader.memberId)
    await leader.put({ key: enc('after'), value: enc('y') })
    await until('the member applied the later write', async () => {
      const r = await lonely!.range({ key: enc('after'), serializable: true })
      return r.ok && r.response.kvs.length === 1
    })
    for (const s of cluster.running()) {
      const r = await s.range({ key: enc('gave-up'), serializable: true })
      expect(r.ok && r.response.kvs.length).toBe(0)
    }
  })

  it('hands leadership over on a graceful stop and fails requests after it', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    const name = [...cluster.servers].find(([, s]) => s === leader)![0]
    await leader.put({ key: enc('g'), value: enc('1') })
    const t0 = Date.now()
    await cluster.stop(name)
    const next = await cluster.leader(ELECTION_MS)
    expect(Date.now() - t0).toBeLessThan(3 * ELECTION_MS)
    expect(next.memberId).not.toBe(leader.memberId)
    const r = await leader.put({ key: enc('g'), value: enc('2') })
    expect(!r.ok && r.error.code).toBe('STORE_ERR_STOPPED')
    expect((await next.put({ key: enc('g'), value: enc('3') })).ok).toBe(true)
  })

  it('moves leadership on request, only from the leader', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    const target = cluster.running().find((s) => s !== leader)!
    const notLeader = await target.moveLeader(leader.memberId)
    expect(!notLeader.ok && notLeader.error.code).toBe('STORE_ERR_NOT_LEADER')
    const moved = await leader.moveLeader(target.memberId)
    expect(moved.ok).toBe(true)
    expect((await cluster.leader()).memberId).toBe(target.memberId)
  })

  it('fails writes and linearizable reads with two of three down, and recovers when one returns', async () => {
    cluster = await TestCluster.start(3, { requestTimeoutMs: 300 })
    const leader = await cluster.leader()
    const names = [...cluster.servers].filter(([, s]) => s !== leader).map(([n]) => n)
    for (const n of names) await cluster.crash(n)
    const w = await leader.put({ key: enc('q'), value: enc('1') })
    const r = await leader.range({ key: enc('q') })
    expect(w.ok || r.ok).toBe(false)
    await cluster.startMember(names[0]!, 'new')
    await until(
      'writes succeed again',
      async () => (await cluster!.running()[0]!.put({ key: enc('q'), value: enc('2') })).ok,
      3000,
    )
  })
})
