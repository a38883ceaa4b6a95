/** Snapshots: a follower behind the leader's compacted log, snapshot status reports, restores. */
import { describe, expect, it } from 'vitest'
import { errSnapshotTemporarilyUnavailable, type RaftError } from './errors.js'
import { raftOf } from './raw-node.js'
import { appliedData, storageWithLog, TestNetwork } from './testing/network.js'
import type { Snapshot } from './types.js'
import { newMessage } from './types.js'

/** Leader 1; member 3 misses `n` proposals, after which the leader compacts its log past them. */
function behindCompactedLog(n = 5): TestNetwork {
  const net = new TestNetwork([1, 2, 3])
  net.elect(1)
  net.propose(1, 'seen')
  net.stabilize()
  net.isolate(3)
  for (let i = 0; i < n; i++) net.propose(1, `missed${i}`)
  net.stabilize()
  net.member(1).compact()
  net.member(2).compact()
  return net
}

describe('snapshots', () => {
  it('a follower behind the compacted log gets the snapshot, installs it and catches up', () => {
    const net = behindCompactedLog()
    const lead = net.node(1)
    const snapIndex = net.member(1).storage.snapshot().metadata.index
    expect(net.member(1).storage.firstIndex()).toBe(snapIndex + 1)
    net.heal()
    net.propose(1, 'after')
    // The probe needs compacted entries: the leader switches to the snapshot.
    net.tickAndStabilize(1, [1])
    const snaps = net.deliveredOf('MsgSnap')
    expect(snaps.length).toBe(1)
    expect(snaps[0]?.to).toBe(3)
    expect(snaps[0]?.snapshot?.metadata.index).toBe(snapIndex)
    const m3 = net.member(3)
    expect(m3.snapshots.map((s) => s.metadata.index)).toEqual([snapIndex])
    // Installed: state machine and log restart after the snapshot, then the rest is replicated.
    expect(m3.storage.firstIndex()).toBe(snapIndex + 1)
    expect(appliedData(m3.applied)).toEqual(['seen', 'after'])
    expect(net.node(3).status().applied).toBe(lead.status().commit)
    expect(raftOf(net.node(3)).raftLog.lastIndex()).toBe(raftOf(lead).raftLog.lastIndex())
    expect(lead.status().progress.get(3)).toMatchObject({
      state: 'replicate',
      match: raftOf(lead).raftLog.lastIndex(),
    })
  })

  it('the Ready carrying a snapshot must be synced, has no committed entries, and advances applied', () => {
    const net = behindCompactedLog()
    const snapIndex = net.member(1).storage.snapshot().metadata.index
    net.heal()
    let seen = false
    net.member(3).onReady = (rd) => {
      if (rd.snapshot === undefined) return
      seen = true
      expect(rd.mustSync).toBe(true)
      expect(rd.committedEntries).toEqual([])
      expect(rd.hardState?.commit).toBe(snapIndex)
    }
    net.tickAndStabilize(1, [1])
    expect(seen).toBe(true)
    expect(net.node(3).status().applied).toBeGreaterThanOrEqual(snapIndex)
  })

  it('the leader tracks the follower in snapshot state and sends nothing else meanwhile', () => {
    const net = behindCompactedLog()
    const snapIndex = net.member(1).storage.snapshot().metadata.index
    net.heal()
    const hold = net.dropTypes('MsgSnap')
    net.tickAndStabilize(1, [1])
    const pr = raftOf(net.node(1)).trk.progress.get(3)!
    expect(pr.state).toBe('snapshot')
    expect(pr.pendingSnapshot).toBe(snapIndex)
    const before = net.dropped.length
    const deliveredBefore = net.delivered.length
    net.propose(1, 'more')
    net.tickAndStabilize(3, [1])
    expect(
      net.dropped.slice(before).filter((m) => m.to === 3 && (m.type === 'MsgApp' || m.type === 'MsgSnap')),
    ).toEqual([])
    expect(net.delivered.slice(deliveredBefore).some((d) => d.msg.to === 3 && d.msg.type === 'MsgApp')).toBe(
      false,
    )
    // Once the snapshot gets through, replication resumes.
    hold()
    net.node(1).reportSnapshot(3, 'failure')
    net.tickAndStabilize(2)
    expect(appliedData(net.member(3).applied)).toEqual(['seen', 'more'])
  })

  it('MsgSnapStatus failure returns the follower to probe, and the leader retries', () => {
    const net = behindCompactedLog()
    const snapIndex = net.member(1).storage.snapshot().metadata.index
    net.heal()
    const lose = net.dropTypes('MsgSnap')
    net.tickAndStabilize(1, [1])
    const lead = net.node(1)
    expect(raftOf(lead).trk.progress.get(3)?.state).toBe('snapshot')
    lead.reportSnapshot(3, 'failure')
    const pr = raftOf(lead).trk.progress.get(3)!
    expect(pr.state).toBe('probe')
    expect(pr.pendingSnapshot).toBe(0)
    expect(pr.next).toBe(pr.match + 1)
    expect(pr.isPaused()).toBe(true) // wait for a heartbeat before the next try
    lose()
    net.tickAndStabilize(1, [1])
    expect(net.deliveredOf('MsgSnap').map((m) => m.snapshot?.metadata.index)).toEqual([snapIndex])
    net.tickAndStabilize(1)
    expect(raftOf(lead).trk.progress.get(3)?.state).toBe('replicate')
  })

  it('MsgSnapStatus finish probes right after the snapshot', () => {
    const net = behindCompactedLog()
    const snapIndex = net.member(1).storage.snapshot().metadata.index
    net.heal()
    net.dropTypes('MsgSnap')
    net.tickAndStabilize(1, [1])
    const lead = net.node(1)
    lead.reportSnapshot(3, 'finish')
    const pr = raftOf(lead).trk.progress.get(3)!
    expect(pr.state).toBe('probe')
    expect(pr.next).toBe(snapIndex + 1)
    expect(pr.isPaused()).toBe(true)
    // A status for a follower not in snapshot state is ignored.
    lead.reportSnapshot(2, 'failure')
    expect(raftOf(lead).trk.progress.get(2)?.state).toBe('replicate')
  })

  it('the restored member takes its configuration from the snapshot', () => {
    const m = storageWithLog({ voters: [1, 2, 3], terms: [1, 1], hardState: { term: 1, commit: 1 } })
    const net = new TestNetwork([])
    net.add(3, m)
    const snap: Snapshot = {
      data: new Uint8Array([42]),
      metadata: { index: 10, term: 4, confState: { voters: [1, 2, 3, 5], learners: [4] } },
    }
    net.node(3).step(newMessage({ type: 'MsgSnap', from: 1, to: 3, term: 4, snapshot: snap }))
    expect(raftOf(net.node(3)).trk.confState()).toEqual({ voters: [1, 2, 3, 5], learners: [4] })
    // Until the snapshot is persisted, the member may not campaign.
    expect(raftOf(net.node(3)).promotable()).toBe(false)
    net.flush([3])
    expect(net.member(3).snapshots).toEqual([snap])
    expect(net.member(3).confState).toEqual({ voters: [1, 2, 3, 5], learners: [4] })
    expect(raftOf(net.node(3)).promotable()).toBe(true)
    expect(net.inflight.map((m) => [m.type, m.to, m.index])).toEqual([['MsgAppResp', 1, 10]])
    // A restart reads the configuration back from the snapshot in storage.
    net.member(3).restart()
    expect(raftOf(net.node(3)).trk.confState()).toEqual({ voters: [1, 2, 3, 5], learners: [4] })
    expect(net.node(3).status().commit).toBe(10)
    expect(net.node(3).status().applied).toBe(10)
  })

  it('a snapshot not newer than the commit index is ignored (answered with the commit index)', () => {
    const net = new TestNetwork([])
    net.add(2, storageWithLog({ voters: [1, 2], terms: [1, 1, 1], hardState: { term: 1, commit: 3 } }))
    const snap: Snapshot = {
      data: new Uint8Array(),
      metadata: { index: 2, term: 1, confState: { voters: [1, 2], learners: [] } },
    }
    net.node(2).step(newMessage({ type: 'MsgSnap', from: 1, to: 2, term: 1, snapshot: snap }))
    expect(raftOf(net.node(2)).raftLog.hasPendingSnapshot()).toBe(false)
    expect(raftOf(net.node(2)).msgs.map((m) => [m.type, m.index])).toEqual([['MsgAppResp', 3]])
  })

  it('a snapshot whose last entry the follower already has only fast-forwards the commit index', () => {
    const net = new TestNetwork([])
    net.add(2, storageWithLog({ voters: [1, 2], terms: [1, 1, 1, 1], hardState: { term: 1, commit: 1 } }))
    const snap: Snapshot = {
      data: new Uint8Array(),
      metadata: { index: 3, term: 1, confState: { voters: [1, 2], learners: [] } },
    }
    net.node(2).step(newMessage({ type: 'MsgSnap', from: 1, to: 2, term: 1, snapshot: snap }))
    expect(raftOf(net.node(2)).raftLog.hasPendingSnapshot()).toBe(false)
    expect(net.node(2).status().commit).toBe(3)
    expect(raftOf(net.node(2)).raftLog.lastIndex()).toBe(4) // entry 4 kept
    expect(raftOf(net.node(2)).msgs.map((m) => [m.type, m.index])).toEqual([['MsgAppResp', 3]])
  })

  it('the leader does not send a snapshot that is temporarily unavailable, and retries later', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(3)
    for (let i = 0; i < 3; i++) net.propose(1, `m${i}`)
    net.stabilize()
    net.member(1).compact()
    // The Storage interface allows an error here (a snapshot being produced); make the leader's say so.
    const storage = net.member(1).storage
    let busy = true
    const original = storage.snapshot.bind(storage)
    ;(storage as { snapshot: () => Snapshot | RaftError }).snapshot = () =>
      busy ? errSnapshotTemporarilyUnavailable() : original()
    net.heal()
    net.tickAndStabilize(3, [1])
    expect(net.deliveredOf('MsgSnap')).toEqual([])
    expect(raftOf(net.node(1)).trk.progress.get(3)?.state).toBe('probe')
    busy = false
    net.tickAndStabilize(2, [1])
    expect(net.deliveredOf('MsgSnap').length).toBe(1)
  })

  it('a follower that was not recently active gets no snapshot until it answers', () => {
    const net = behindCompactedLog()
    // Let a CheckQuorum window pass with 3 silent: it is no longer recently active.
    net.tickAndStabilize(10, [1, 2])
    expect(raftOf(net.node(1)).trk.progress.get(3)?.recentActive).toBe(false)
    raftOf(net.node(1)).sendAppend(3)
    expect(raftOf(net.node(1)).msgs.some((m) => m.type === 'MsgSnap')).toBe(false)
    net.heal()
    net.tickAndStabilize(2, [1])
    expect(net.deliveredOf('MsgSnap').length).toBe(1)
  })
})
