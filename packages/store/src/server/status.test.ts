import { NONE } from '@hakube/raft'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, TestCluster, until } from './testing/test-cluster.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.destroy()
  cluster = undefined
})

// etcd 3.4's Maintenance.Status (v3rpc/maintenance.go) reports the committed index as raftIndex and
// lists "etcdserver: no leader" among its errors while the member knows no leader; `etcdctl endpoint
// status` prints both.
describe('StoreServer.status', () => {
  it('reports the committed index, not entries appended but never committed, and "no leader" without one', async () => {
    cluster = await TestCluster.start(3)
    const leader = await cluster.leader()
    const put = await leader.put({ key: enc('k'), value: enc('v') })
    expect(put.ok).toBe(true)
    const healthy = await leader.status()
    if (!healthy.ok) throw healthy.error
    expect(healthy.response.errors).toEqual([])
    expect(healthy.response.raftIndex).toBe(leader.appliedIndexNow())

    // The leader alone: it appends a proposal it can never commit, then steps down (check quorum).
    for (const name of Object.keys(cluster.initialCluster))
      if (cluster.idOf(name) !== leader.memberId) await cluster.crash(name)
    const committed = healthy.response.raftIndex
    const lost = await leader.put({ key: enc('k'), value: enc('lost') })
    expect(lost.ok).toBe(false)
    await until('the leader to step down', () => leader.leader() === NONE)
    const alone = await leader.status()
    if (!alone.ok) throw alone.error
    expect(alone.response.errors).toEqual(['etcdserver: no leader'])
    expect(alone.response.raftIndex).toBe(committed)
    expect(alone.response.raftAppliedIndex).toBe(committed)
  })
})
