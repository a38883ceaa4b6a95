/** Leadership transfer (Raft thesis §3.10). */
import { describe, expect, it } from 'vitest'
import { RaftErrorCode } from './errors.js'
import { CAMPAIGN_TRANSFER } from './raft-election.js'
import { raftOf } from './raw-node.js'
import { appliedData, TestNetwork } from './testing/network.js'
import { newMessage } from './types.js'

describe('leadership transfer', () => {
  it('to a caught-up follower: MsgTimeoutNow at once, and it wins a vote without a pre-vote round', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const term = net.node(1).status().term
    net.node(1).transferLeadership(2)
    expect(net.node(1).status().leadTransferee).toBe(2)
    net.flush([1])
    expect(net.inflight.map((m) => [m.type, m.to])).toEqual([['MsgTimeoutNow', 2]])
    const from = net.delivered.length
    net.stabilize()
    expect(net.leaders()).toEqual([2])
    expect(net.node(2).status().term).toBe(term + 1)
    for (const id of [1, 2, 3]) expect(net.node(id).status().lead).toBe(2)
    const votes = net.delivered.slice(from).map((d) => d.msg)
    expect(votes.some((m) => m.type === 'MsgPreVote')).toBe(false)
    const requests = votes.filter((m) => m.type === 'MsgVote')
    expect(requests.map((m) => m.to)).toEqual([1, 3])
    expect(
      requests.every((m) => m.context !== undefined && Buffer.from(m.context).equals(CAMPAIGN_TRANSFER)),
    ).toBe(true)
    // The new leader works.
    net.propose(3, 'x')
    net.stabilize()
    expect(appliedData(net.member(1).applied)).toEqual(['x'])
  })

  it('requested at a follower: forwarded to the leader', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.node(3).transferLeadership(3)
    net.flush([3])
    expect(net.inflight.map((m) => [m.type, m.from, m.to])).toEqual([['MsgTransferLeader', 3, 1]])
    net.stabilize()
    expect(net.leaders()).toEqual([3])
  })

  it('to a lagging follower: the leader first catches it up, then sends MsgTimeoutNow', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(3)
    for (let i = 0; i < 5; i++) net.propose(1, `p${i}`)
    net.stabilize()
    net.heal()
    const last = raftOf(net.node(1)).raftLog.lastIndex()
    expect(net.node(1).status().progress.get(3)?.match).toBeLessThan(last)
    net.node(1).transferLeadership(3)
    net.flush([1])
    expect(net.inflight.some((m) => m.type === 'MsgTimeoutNow')).toBe(false)
    expect(net.inflight.some((m) => m.type === 'MsgApp' && m.to === 3)).toBe(true)
    const from = net.delivered.length
    net.stabilize()
    expect(net.leaders()).toEqual([3])
    const seq = net.delivered.slice(from).map((d) => d.msg)
    const caughtUp = seq.findIndex(
      (m) => m.type === 'MsgAppResp' && m.from === 3 && !m.reject && m.index === last,
    )
    const timeoutNow = seq.findIndex((m) => m.type === 'MsgTimeoutNow')
    expect(caughtUp).toBeGreaterThanOrEqual(0)
    expect(timeoutNow).toBeGreaterThan(caughtUp)
    expect(appliedData(net.member(3).applied)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4'])
  })

  it('to a learner: ignored', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.add(4)
    net.node(1).proposeConfChange({ type: 'addLearnerNode', nodeId: 4 })
    net.stabilize()
    net.tickAndStabilize(2)
    net.node(1).transferLeadership(4)
    expect(net.node(1).status().leadTransferee).toBe(0)
    net.stabilize()
    net.tickAndStabilize(3)
    expect(net.leaders()).toEqual([1])
    expect(net.deliveredOf('MsgTimeoutNow')).toEqual([])
    // A MsgTimeoutNow reaching a learner anyway does not make it campaign.
    net.node(4).step(newMessage({ type: 'MsgTimeoutNow', from: 1, to: 4, term: net.node(4).status().term }))
    expect(raftOf(net.node(4)).state).toBe('follower')
  })

  it('to itself or to an unknown member: ignored', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.node(1).transferLeadership(1)
    net.node(1).transferLeadership(9)
    expect(net.node(1).status().leadTransferee).toBe(0)
    net.flush([1])
    expect(net.inflight).toEqual([])
  })

  it('proposals are dropped while a transfer is in progress', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(2)
    net.node(1).transferLeadership(2)
    expect(net.propose(1, 'x')?.code).toBe(RaftErrorCode.ProposalDropped)
    expect(net.node(1).proposeConfChange({ type: 'removeNode', nodeId: 3 })?.code).toBe(
      RaftErrorCode.ProposalDropped,
    )
  })

  it('is abandoned after an election timeout without success; the leader then accepts proposals again', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(2)
    net.node(1).transferLeadership(2)
    let ticks = 0
    while (net.node(1).status().leadTransferee !== 0 && ticks < 100) {
      net.tickAndStabilize(1, [1, 3])
      ticks++
    }
    expect(ticks).toBe(10)
    expect(net.leaders()).toEqual([1])
    expect(net.propose(1, 'x')).toBeUndefined()
    net.stabilize()
    expect(appliedData(net.member(3).applied)).toEqual(['x'])
  })

  it('a transfer to another member replaces the one in progress; repeating it changes nothing', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(2)
    net.isolate(3)
    net.node(1).transferLeadership(2)
    net.tick(1, 5)
    net.node(1).transferLeadership(2)
    expect(raftOf(net.node(1)).electionElapsed).toBe(5) // not restarted
    net.node(1).transferLeadership(3)
    expect(net.node(1).status().leadTransferee).toBe(3)
    expect(raftOf(net.node(1)).electionElapsed).toBe(0)
    net.flush([1])
    expect(net.inflight.filter((m) => m.type === 'MsgTimeoutNow').map((m) => m.to)).toEqual([2, 3])
  })

  it('is abandoned when the transferee is removed from the configuration', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(3)
    net.node(1).transferLeadership(3)
    expect(net.node(1).status().leadTransferee).toBe(3)
    net.node(1).applyConfChange({ type: 'removeNode', nodeId: 3 })
    expect(net.node(1).status().leadTransferee).toBe(0)
    expect(raftOf(net.node(1)).state).toBe('leader')
  })

  it('a transfer succeeds even while the voters hold a leader lease (the vote carries CAMPAIGN_TRANSFER)', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.tickAndStabilize(3) // everyone heard from the leader recently
    expect(raftOf(net.node(3)).electionElapsed).toBeLessThan(10)
    net.node(1).transferLeadership(2)
    net.stabilize()
    expect(net.leaders()).toEqual([2])
  })
})
