/** Proposals, replication, flow control and log repair (fast back-off). */
import { describe, expect, it } from 'vitest'
import { RaftError, RaftErrorCode } from './errors.js'
import { raftOf } from './raw-node.js'
import { appliedData, storageWithLog, TestNetwork } from './testing/network.js'
import type { Message } from './types.js'
import { newMessage } from './types.js'

const enc = new TextEncoder()

function expectDropped(err: RaftError | undefined): void {
  expect(err).toBeInstanceOf(RaftError)
  expect(err?.code).toBe(RaftErrorCode.ProposalDropped)
}

describe('proposals', () => {
  it('a follower forwards a proposal to the leader, which commits it everywhere', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    expect(net.propose(3, 'from-3')).toBeUndefined()
    net.flush([3])
    const fwd = net.inflight.filter((m) => m.type === 'MsgProp')
    expect(fwd.map((m) => [m.from, m.to, m.term, m.entries.length])).toEqual([[3, 1, 0, 1]])
    net.stabilize()
    for (const m of net.members.values()) expect(appliedData(m.applied)).toEqual(['from-3'])
  })

  it('with no leader, propose returns RAFT_ERR_PROPOSAL_DROPPED (follower, pre-candidate, candidate)', () => {
    const net = new TestNetwork([1, 2, 3], { preVote: false })
    net.stabilize()
    expectDropped(net.propose(1, 'x'))
    net.node(1).campaign()
    expect(raftOf(net.node(1)).state).toBe('candidate')
    expectDropped(net.propose(1, 'x'))
    const pv = new TestNetwork([1, 2, 3])
    pv.stabilize()
    pv.node(1).campaign()
    expect(raftOf(pv.node(1)).state).toBe('preCandidate')
    expectDropped(pv.propose(1, 'x'))
    expectDropped(pv.node(1).proposeBatch([enc.encode('a')]))
    expectDropped(pv.node(1).proposeConfChange({ type: 'addNode', nodeId: 4 }))
  })

  it('a follower with forwarding disabled drops proposals', () => {
    const net = new TestNetwork([1, 2, 3], { disableProposalForwarding: true })
    net.elect(1)
    expectDropped(net.propose(2, 'x'))
    expect(net.propose(1, 'y')).toBeUndefined()
  })

  it('proposeBatch sends one MsgApp per follower carrying every entry', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const last = raftOf(net.node(1)).raftLog.lastIndex()
    const datas = ['a', 'b', 'c', 'd', 'e'].map((s) => enc.encode(s))
    expect(net.node(1).proposeBatch(datas)).toBeUndefined()
    expect(net.node(1).proposeBatch([])).toBeUndefined()
    net.flush([1])
    const apps = net.inflight.filter((m) => m.type === 'MsgApp')
    expect(apps.map((m) => [m.to, m.index, m.entries.map((e) => e.index)])).toEqual([
      [2, last, [last + 1, last + 2, last + 3, last + 4, last + 5]],
      [3, last, [last + 1, last + 2, last + 3, last + 4, last + 5]],
    ])
    net.stabilize()
    expect(appliedData(net.member(2).applied)).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('maxSizePerMsg splits appends (always at least one entry per message)', () => {
    const net = new TestNetwork([1, 2], { maxSizePerMsg: 100 })
    net.elect(1)
    // 60 + 16 bytes per entry: one entry per message.
    const datas = Array.from({ length: 4 }, () => new Uint8Array(60))
    net.node(1).proposeBatch(datas)
    net.stabilize()
    const apps = net
      .deliveredOf('MsgApp')
      .filter((m) => m.entries.length > 0 && m.entries[0]!.data.length > 0)
    expect(apps.map((m) => m.entries.length)).toEqual([1, 1, 1, 1])
    expect(net.member(2).applied.filter((e) => e.data.length === 60).length).toBe(4)
  })

  describe('maxUncommittedEntriesSize', () => {
    it('drops proposals that would take the uncommitted payload beyond the limit', () => {
      const net = new TestNetwork([1, 2, 3], { maxUncommittedEntriesSize: 100 })
      net.elect(1)
      net.isolate(2)
      net.isolate(3) // nothing commits
      expect(net.node(1).propose(new Uint8Array(60))).toBeUndefined()
      expect(net.node(1).propose(new Uint8Array(40))).toBeUndefined() // exactly 100
      expectDropped(net.node(1).propose(new Uint8Array(1)))
      expectDropped(net.node(1).proposeBatch([new Uint8Array(1)]))
      expect(raftOf(net.node(1)).uncommittedSize).toBe(100)
      // Once committed and applied, the budget is released.
      net.heal()
      net.tickAndStabilize(2)
      expect(raftOf(net.node(1)).uncommittedSize).toBe(0)
      expect(net.node(1).propose(new Uint8Array(100))).toBeUndefined()
    })

    it('accepts one proposal of any size when nothing is uncommitted, and empty entries always', () => {
      const net = new TestNetwork([1, 2, 3], { maxUncommittedEntriesSize: 10 })
      net.elect(1)
      net.isolate(2)
      net.isolate(3)
      expect(net.node(1).propose(new Uint8Array(1000))).toBeUndefined()
      expectDropped(net.node(1).propose(new Uint8Array(1)))
      expect(net.node(1).propose(new Uint8Array(0))).toBeUndefined()
    })

    it('the budget belongs to one leadership: it is reset when the leader steps down', () => {
      const net = new TestNetwork([1, 2, 3], { maxUncommittedEntriesSize: 10 })
      net.elect(1)
      net.isolate(1)
      net.node(1).propose(new Uint8Array(10))
      expectDropped(net.node(1).propose(new Uint8Array(10)))
      net.tickAndStabilize(40)
      expect(raftOf(net.node(1)).state).not.toBe('leader')
      expect(raftOf(net.node(1)).uncommittedSize).toBe(0)
      const [leader] = net.leaders()
      expect(leader).toBeDefined()
      expect(raftOf(net.node(leader!)).uncommittedSize).toBe(0)
      net.isolate(leader!)
      expect(net.node(leader!).propose(new Uint8Array(10))).toBeUndefined()
      expectDropped(net.node(leader!).propose(new Uint8Array(1)))
    })
  })
})

describe('flow control', () => {
  it('in replicate state, no more than maxInflightMsgs appends are outstanding', () => {
    const net = new TestNetwork([1, 2], { maxInflightMsgs: 3 })
    net.elect(1)
    expect(net.node(1).status().progress.get(2)?.state).toBe('replicate')
    // The follower's acknowledgements are held back: appends pile up in flight.
    const hold = net.dropTypes('MsgAppResp')
    for (let i = 0; i < 10; i++) {
      net.propose(1, `p${i}`)
      net.flush([1])
    }
    const apps = net.inflight.filter((m) => m.type === 'MsgApp')
    expect(apps.length).toBe(3)
    expect(raftOf(net.node(1)).trk.progress.get(2)?.isPaused()).toBe(true)
    // Acknowledgements free the window and the rest follows.
    hold()
    net.stabilize()
    expect(appliedData(net.member(2).applied)).toEqual(Array.from({ length: 10 }, (_, i) => `p${i}`))
  })

  it('maxInflightBytes bounds the bytes in flight', () => {
    const net = new TestNetwork([1, 2], { maxInflightBytes: 2000, maxSizePerMsg: 1000 })
    net.elect(1)
    net.dropTypes('MsgAppResp')
    for (let i = 0; i < 10; i++) {
      net.node(1).propose(new Uint8Array(700))
      net.flush([1])
    }
    const apps = net.inflight.filter((m) => m.type === 'MsgApp' && m.entries.length > 0)
    expect(apps.length).toBe(3) // 700, 1400, 2100 >= 2000: full
  })

  it('probe state sends one append at a time, and another only after an answer or a heartbeat', () => {
    const net = new TestNetwork([1, 2])
    net.elect(1)
    net.isolate(2)
    net.propose(1, 'a')
    net.flush()
    net.node(1).reportUnreachable(2) // back to probe
    expect(net.node(1).status().progress.get(2)?.state).toBe('probe')
    net.inflight = []
    net.heal()
    net.dropTypes('MsgAppResp')
    for (let i = 0; i < 5; i++) net.propose(1, `p${i}`)
    net.flush([1])
    // Five proposals, one probe.
    expect(net.inflight.filter((m) => m.type === 'MsgApp').length).toBe(1)
    expect(raftOf(net.node(1)).trk.progress.get(2)?.isPaused()).toBe(true)
    net.inflight = [] // the probe is lost
    // A heartbeat answer unpauses the probe: exactly one append goes out per answer.
    net.tick(1)
    net.flush([1])
    net.deliver() // heartbeat to 2
    net.flush([2])
    net.deliver() // heartbeat response to 1
    net.flush([1])
    const apps = net.inflight.filter((m) => m.type === 'MsgApp')
    expect(apps.length).toBe(1)
    expect(raftOf(net.node(1)).trk.progress.get(2)?.isPaused()).toBe(true)
  })

  it('a heartbeat answer with a full window sends an empty append, which repairs a window of lost appends', () => {
    const net = new TestNetwork([1, 2, 3], { maxInflightMsgs: 2 })
    net.elect(1)
    const lose = net.addFilter((m) => m.type === 'MsgApp' && m.to === 2)
    for (let i = 0; i < 4; i++) {
      net.propose(1, `p${i}`)
      net.stabilize()
    }
    const pr = raftOf(net.node(1)).trk.progress.get(2)!
    expect(pr.state).toBe('replicate')
    expect(pr.inflights.full()).toBe(true)
    // The heartbeat answer must not overflow the window.
    net.tick(1)
    net.flush([1])
    net.deliver()
    net.flush([2])
    net.deliver() // heartbeat response
    net.flush([1])
    const apps = net.inflight.filter((m) => m.type === 'MsgApp' && m.to === 2)
    expect(apps.map((m) => m.entries.length)).toEqual([0])
    expect(pr.inflights.len()).toBe(2)
    // Once appends get through again, the empty append's rejection makes the leader probe and repair.
    lose()
    net.stabilize()
    net.tickAndStabilize(2)
    expect(appliedData(net.member(2).applied)).toEqual(['p0', 'p1', 'p2', 'p3'])
    expect(net.node(1).status().progress.get(2)?.state).toBe('replicate')
  })

  it('MsgUnreachable moves a replicating follower back to probe', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    expect(net.node(1).status().progress.get(2)?.state).toBe('replicate')
    net.node(1).reportUnreachable(2)
    expect(net.node(1).status().progress.get(2)?.state).toBe('probe')
    net.node(1).reportUnreachable(3)
    net.node(1).reportUnreachable(3) // probe stays probe
    expect(net.node(1).status().progress.get(3)?.state).toBe('probe')
  })

  it('heartbeats carry commit = min(match, committed), so a follower never commits past what it has', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(3)
    net.propose(1, 'x')
    net.stabilize()
    const committed = net.node(1).status().commit
    net.heal()
    net.dropTypes('MsgApp')
    net.tick(1)
    net.flush([1])
    const hbs = net.inflight.filter((m) => m.type === 'MsgHeartbeat')
    expect(hbs.map((m) => [m.to, m.commit])).toEqual([
      [2, committed],
      [3, committed - 1],
    ])
    net.stabilize()
    expect(net.node(3).status().commit).toBe(committed - 1)
  })
})

describe('log repair with fast back-off', () => {
  /**
   * Leader 1 (log `leader`, elected with member 3's vote) and follower 2 (log `follower`); returns the
   * rejections 2 sent and whether the logs converged.
   */
  function repair(leader: number[], follower: number[]): { rejections: Message[]; net: TestNetwork } {
    const net = new TestNetwork([])
    const top = Math.max(...leader, ...follower)
    net.add(1, storageWithLog({ voters: [1, 2, 3], terms: leader, hardState: { term: top, commit: 1 } }))
    net.add(2, storageWithLog({ voters: [1, 2, 3], terms: follower, hardState: { term: top, commit: 1 } }))
    net.add(3, storageWithLog({ voters: [1, 2, 3], terms: leader, hardState: { term: top, commit: 1 } }))
    net.cut(2, 3)
    net.cut(1, 2)
    net.elect(1)
    net.heal()
    net.cut(2, 3)
    net.tickAndStabilize(1, [1])
    const rejections = net.deliveredOf('MsgAppResp').filter((m) => m.from === 2 && m.reject)
    const l1 = raftOf(net.node(1))
      .raftLog.allEntries()
      .map((e) => e.term)
    const l2 = raftOf(net.node(2))
      .raftLog.allEntries()
      .map((e) => e.term)
    expect(l2).toEqual(l1)
    return { rejections, net }
  }

  it("skips a whole term of the follower's divergent suffix in one round trip", () => {
    // The follower has 17 entries of term 2 that the leader (terms 5) does not.
    const leader = [1, 1, 1, 5, 5, 5, 5, 5, 5, 5]
    const follower = [1, 1, 1, ...Array<number>(17).fill(2)]
    const { rejections } = repair(leader, follower)
    expect(rejections.length).toBe(1)
    // The follower's hint: its last entry at or below the probe with a term <= the probe's term.
    expect(rejections.map((m) => [m.index, m.rejectHint, m.logTerm])).toEqual([[10, 10, 2]])
  })

  it("skips the leader's own entries of a term the follower never saw", () => {
    const leader = [1, 2, 2, 4, 4, 4, 4, 4, 4]
    const follower = [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3]
    const { rejections } = repair(leader, follower)
    expect(rejections.length).toBe(1)
  })

  it('jumps straight to the end of a shorter follower log', () => {
    const leader = [1, 1, 2, 2, 2, 2, 2, 2, 2, 2]
    const follower = [1, 1, 2]
    const { rejections } = repair(leader, follower)
    expect(rejections.map((m) => [m.index, m.rejectHint, m.logTerm])).toEqual([[10, 3, 2]])
  })

  it('needs one round trip per term with entries on both sides', () => {
    // Leader: terms 1,3,5,7; follower: terms 1,2,4,6 at the same indexes — each probe skips one term.
    const leader = [1, 3, 3, 5, 5, 7, 7]
    const follower = [1, 2, 2, 4, 4, 6, 6]
    const { rejections } = repair(leader, follower)
    expect(rejections.map((m) => [m.index, m.rejectHint, m.logTerm])).toEqual([
      [7, 7, 6],
      [5, 5, 4],
      [3, 3, 2],
    ])
  })

  it('a follower answers a probe below its commit index with its commit index', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const commit = net.node(2).status().commit
    net.node(2).step(newMessage({ type: 'MsgApp', from: 1, to: 2, term: 2, index: 1, logTerm: 1 }))
    expect(raftOf(net.node(2)).msgs.map((m) => [m.type, m.index, m.reject])).toEqual([
      ['MsgAppResp', commit, false],
    ])
  })
})
