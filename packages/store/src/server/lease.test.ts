import { afterEach, describe, expect, it } from 'vitest'
import { dec, enc, sleep, TestCluster, until } from './testing/test-cluster.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.destroy()
  cluster = undefined
})

describe('StoreServer leases', () => {
  it('grants on a follower, forwards keep-alive and time-to-live to the leader, expires and deletes keys', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    const follower = cluster.running().find((s) => s !== leader)!
    // Minimum TTL is ceil(1.5 × election timeout) = 1 s here.
    const g = await follower.leaseGrant(1, 0n)
    if (!g.ok) throw g.error
    expect(g.response.id).toBeGreaterThan(0n)
    expect(g.response.ttl).toBe(1)
    const id = g.response.id
    const put = await follower.put({ key: enc('l/a'), value: enc('x'), lease: id })
    expect(put.ok).toBe(true)

    const dup = await leader.leaseGrant(5, id)
    expect(!dup.ok && dup.error.code).toBe('STORE_ERR_LEASE_EXISTS')

    const ttl = await follower.leaseTimeToLive(id, true)
    if (!ttl.ok) throw ttl.error
    expect(ttl.response.grantedTtl).toBe(1)
    expect(ttl.response.keys.map(dec)).toEqual(['l/a'])

    // Keep it alive past its TTL through the follower.
    for (let i = 0; i < 6; i++) {
      const ka = await follower.leaseKeepAlive(id)
      if (!ka.ok) throw ka.error
      expect(ka.response.ttl).toBe(1)
      await sleep(300)
    }
    const still = await follower.range({ key: enc('l/a') })
    expect(still.ok && still.response.kvs.length).toBe(1)
    const leases = await follower.leaseLeases()
    expect(leases.ok && leases.response).toEqual([id])

    // Stop renewing: the leader revokes it within TTL + one 500 ms check.
    const t0 = Date.now()
    await until(
      'expired lease keys deleted',
      async () => {
        const r = await follower.range({ key: enc('l/a') })
        return r.ok && r.response.kvs.length === 0
      },
      3000,
    )
    expect(Date.now() - t0).toBeLessThan(2000)
    const gone = await follower.leaseTimeToLive(id, false)
    expect(!gone.ok && gone.error.code).toBe('STORE_ERR_LEASE_NOT_FOUND')
    const ka = await follower.leaseKeepAlive(id)
    expect(!ka.ok && ka.error.code).toBe('STORE_ERR_LEASE_NOT_FOUND')
  })

  it('revoke deletes the attached keys at one revision on every member', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    const g = await leader.leaseGrant(60, 42n)
    if (!g.ok) throw g.error
    expect(g.response.id).toBe(42n)
    await leader.put({ key: enc('r/1'), value: enc('1'), lease: 42n })
    await leader.put({ key: enc('r/2'), value: enc('2'), lease: 42n })
    const rev = await leader.leaseRevoke(42n)
    if (!rev.ok) throw rev.error
    expect(rev.response.revision).toBe(4)
    for (const s of cluster.running()) {
      const r = await s.range({ key: enc('r/'), rangeEnd: enc('r0') })
      expect(r.ok && r.response.kvs.length).toBe(0)
    }
    const again = await leader.leaseRevoke(42n)
    expect(!again.ok && again.error.code).toBe('STORE_ERR_LEASE_NOT_FOUND')
    const badPut = await leader.put({ key: enc('r/3'), value: enc('3'), lease: 42n })
    expect(!badPut.ok && badPut.error.code).toBe('STORE_ERR_LEASE_NOT_FOUND')
  })
})
