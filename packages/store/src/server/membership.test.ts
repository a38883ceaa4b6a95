import { afterEach, describe, expect, it } from 'vitest'
import { enc, TestCluster, until } from './testing/test-cluster.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.destroy()
  cluster = undefined
})

describe('StoreServer membership', () => {
  it('adds a learner that joins with state existing, promotes it, then removes it', async () => {
    cluster = await TestCluster.start(3)
    const c = cluster
    const leader = await c.leader()
    const follower = c.running().find((s) => s !== leader)!
    for (let i = 0; i < 10; i++) await leader.put({ key: enc(`m/${i}`), value: enc(String(i)) })

    const urls = ['http://127.0.1.4:2380']
    const add = await follower.memberAdd(urls, true)
    if (!add.ok) throw add.error
    expect(add.response.member.isLearner).toBe(true)
    expect(add.response.members).toHaveLength(4)
    const dup = await leader.memberAdd(urls, true)
    // etcd's answer: the URLs are checked first (its new member ids include the time, never colliding).
    expect(!dup.ok && dup.error.code).toBe('STORE_ERR_PEER_URL_EXISTS')

    c.initialCluster['m4'] = urls
    expect(c.idOf('m4')).toBe(add.response.member.id)
    const m4 = await c.startMember('m4', 'existing')
    await until('the learner catches up', async () => {
      const r = await m4.range({ key: enc('m/'), rangeEnd: enc('m0'), serializable: true })
      return r.ok && r.response.kvs.length === 10
    })
    expect(m4.header().clusterId).toBe(leader.header().clusterId)
    const st = await m4.status()
    expect(st.ok && st.response.isLearner).toBe(true)
    const refused = await m4.put({ key: enc('m/learner'), value: enc('x') })
    expect(!refused.ok && refused.error.code).toBe('STORE_ERR_NOT_SUPPORTED_FOR_LEARNER')
    const refusedRead = await m4.range({ key: enc('m/0') })
    expect(!refusedRead.ok && refusedRead.error.code).toBe('STORE_ERR_NOT_SUPPORTED_FOR_LEARNER')

    const promoted = await until('promotion accepted', async () => {
      const r = await follower.memberPromote(m4.memberId)
      return r.ok ? r.response : undefined
    })
    expect(promoted.find((m) => m.id === m4.memberId)?.isLearner).toBe(false)
    await until('everyone sees the promotion and the published name', async () => {
      const lists = await Promise.all(c.running().map((s) => s.memberList()))
      return lists.every((l) => {
        const me = l.ok ? l.response.find((m) => m.id === m4.memberId) : undefined
        return me?.isLearner === false && me.name === 'm4'
      })
    })
    const list = await m4.memberList()
    if (!list.ok) throw list.error
    expect(list.response.map((m) => m.name).sort()).toEqual(['m1', 'm2', 'm3', 'm4'])
    expect(list.response.find((m) => m.name === 'm4')?.clientUrls).toEqual(['http://client.m4:2379'])
    const again = await leader.memberPromote(m4.memberId)
    expect(!again.ok && again.error.code).toBe('STORE_ERR_MEMBER_NOT_LEARNER')

    // Four voters: a write still commits, also through the new member.
    expect((await m4.put({ key: enc('m/new'), value: enc('x') })).ok).toBe(true)

    const removed = await leader.memberRemove(m4.memberId)
    if (!removed.ok) throw removed.error
    expect(removed.response).toHaveLength(3)
    await c.crash('m4')
    expect((await leader.put({ key: enc('m/after'), value: enc('y') })).ok).toBe(true)
    const unknown = await leader.memberRemove(m4.memberId)
    expect(!unknown.ok && unknown.error.code).toBe('STORE_ERR_MEMBER_NOT_FOUND')
  })

  it("updates a member's peer URLs on every member, refusing bad, taken and unknown ones", async () => {
    cluster = await TestCluster.start(3)
    const c = cluster
    const leader = await c.leader()
    const follower = c.running().find((s) => s !== leader)!
    const other = c.running().find((s) => s !== leader && s !== follower)!
    const list = await leader.memberList()
    const own = list.ok ? list.response.find((m) => m.id === follower.memberId)?.peerUrls[0] : undefined
    const urls = [own ?? '', 'http://127.0.1.250:12380']
    const up = await leader.memberUpdate(follower.memberId, urls)
    if (!up.ok) throw up.error
    expect(up.response.find((m) => m.id === follower.memberId)?.peerUrls).toEqual(urls)
    for (const s of c.running())
      await until('every member applied the update', async () => {
        const l = await s.memberList()
        return l.ok && l.response.find((m) => m.id === follower.memberId)?.peerUrls.length === 2
      })
    const taken = await follower.memberUpdate(other.memberId, ['http://127.0.1.250:12380'])
    expect(!taken.ok && taken.error.code).toBe('STORE_ERR_PEER_URL_EXISTS')
    const bad = await follower.memberUpdate(other.memberId, ['not a url'])
    expect(!bad.ok && bad.error.code).toBe('STORE_ERR_MEMBER_BAD_URLS')
    const unknown = await follower.memberUpdate(12345, urls)
    expect(!unknown.ok && unknown.error.code).toBe('STORE_ERR_MEMBER_NOT_FOUND')
    // The cluster still replicates through the updated member.
    expect((await follower.put({ key: enc('after'), value: enc('x') })).ok).toBe(true)
  })
})
