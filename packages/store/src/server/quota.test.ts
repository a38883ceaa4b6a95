/**
 * Goal: --quota-backend-bytes behaves as etcd's: a write that would take the key space past the quota
 * fails with "etcdserver: mvcc: database space exceeded" and raises the NOSPACE alarm on every member;
 * while it is raised, writes that add data fail everywhere but deletes and compaction still work;
 * after freeing space and disarming, writes succeed again. Status lists the alarm among its errors.
 * Method: a 3-member in-process cluster with a 64 KiB quota.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { enc, TestCluster, until } from './testing/test-cluster.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.destroy()
  cluster = undefined
})

describe('backend quota and the NOSPACE alarm', () => {
  it('refuses growth past the quota on every member, allows deletes, and recovers after disarm', async () => {
    cluster = await TestCluster.start(3, { quotaBackendBytes: 64 * 1024 })
    const leader = await cluster.leader()
    const followers = cluster.running().filter((s) => s !== leader)
    const big = new Uint8Array(4096)
    let refusedAt = -1
    for (let i = 0; i < 40 && refusedAt < 0; i++) {
      const r = await leader.put({ key: enc(`big/${i}`), value: big })
      if (!r.ok) {
        expect(r.error.code).toBe('STORE_ERR_NO_SPACE')
        expect(r.error.message).toBe('etcdserver: mvcc: database space exceeded')
        refusedAt = i
      }
    }
    expect(refusedAt).toBeGreaterThan(5)
    for (const s of cluster.running())
      await until('the alarm reaches every member', async () => {
        const a = await s.alarmList()
        return a.ok && a.response.some((x) => x.alarm === 'NOSPACE' && x.memberId === leader.memberId)
      })
    // Any write that adds data now fails everywhere, even a tiny one; a lease grant too.
    for (const s of followers) {
      const r = await s.put({ key: enc('tiny'), value: enc('x') })
      expect(!r.ok && r.error.code).toBe('STORE_ERR_NO_SPACE')
    }
    const g = await leader.leaseGrant(60, 0n)
    expect(!g.ok && g.error.code).toBe('STORE_ERR_NO_SPACE')
    const st = await leader.status()
    expect(st.ok && st.response.errors).toContain(`memberID:${leader.memberId} alarm:NOSPACE `)
    // Deleting and compacting still work, then disarm: writes succeed again.
    const del = await followers[0]!.deleteRange({ key: enc('big/'), rangeEnd: enc('big0') })
    expect(del.ok && del.response.deleted).toBe(refusedAt)
    const rev = leader.header().revision
    expect((await leader.compact(rev, false)).ok).toBe(true)
    const disarmed = await followers[1]!.alarmDisarm(leader.memberId, 'NOSPACE')
    expect(disarmed.ok && disarmed.response).toEqual([{ memberId: leader.memberId, alarm: 'NOSPACE' }])
    await until('the alarm is gone everywhere', async () => {
      for (const s of cluster?.running() ?? []) {
        const a = await s.alarmList()
        if (!a.ok || a.response.length > 0) return false
      }
      return true
    })
    const again = await followers[0]!.put({ key: enc('after'), value: big })
    expect(again.ok).toBe(true)
  })
})
