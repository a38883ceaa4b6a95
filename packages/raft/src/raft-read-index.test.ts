/** Linearizable reads with ReadIndex (Raft thesis §6.4). */
import { describe, expect, it } from 'vitest'
import { RaftError, RaftErrorCode } from './errors.js'
import { raftOf } from './raw-node.js'
import { TestNetwork } from './testing/network.js'
import type { ReadState } from './types.js'

const enc = new TextEncoder()
const dec = new TextDecoder()
const rs = (states: readonly ReadState[]): Array<[number, string]> =>
  states.map((s) => [s.index, dec.decode(s.requestCtx)])

describe('ReadIndex', () => {
  it('a leader answers after one heartbeat round with a quorum, at its commit index', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.propose(1, 'x')
    net.stabilize()
    const commit = net.node(1).status().commit
    expect(net.node(1).readIndex(enc.encode('r1'))).toBeUndefined()
    net.flush([1])
    // Not answered yet: first the heartbeat round, carrying the request context.
    expect(net.member(1).readStates).toEqual([])
    const hbs = net.inflight.filter((m) => m.type === 'MsgHeartbeat')
    expect(hbs.map((m) => [m.to, dec.decode(m.context ?? new Uint8Array())])).toEqual([
      [2, 'r1'],
      [3, 'r1'],
    ])
    net.deliver()
    net.flush()
    net.deliver((m) => m.from === 2) // one acknowledgement (with the leader's own) is a quorum
    net.flush([1])
    expect(rs(net.member(1).readStates)).toEqual([[commit, 'r1']])
    net.stabilize()
    expect(rs(net.member(1).readStates)).toEqual([[commit, 'r1']]) // answered once
  })

  it('the read index is the commit index when the request arrived, not when it was confirmed', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const commit = net.node(1).status().commit
    net.node(1).readIndex(enc.encode('r'))
    net.propose(1, 'later')
    net.stabilize()
    expect(net.node(1).status().commit).toBe(commit + 1)
    expect(rs(net.member(1).readStates)).toEqual([[commit, 'r']])
  })

  it('a follower read is forwarded to the leader and answered to the follower', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.propose(1, 'x')
    net.stabilize()
    const commit = net.node(1).status().commit
    expect(net.node(3).readIndex(enc.encode('f1'))).toBeUndefined()
    net.flush([3])
    expect(net.inflight.map((m) => [m.type, m.from, m.to])).toEqual([['MsgReadIndex', 3, 1]])
    net.stabilize()
    expect(rs(net.member(3).readStates)).toEqual([[commit, 'f1']])
    expect(net.member(1).readStates).toEqual([])
  })

  it('later acknowledgements confirm every earlier pending request', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const commit = net.node(1).status().commit
    net.node(1).readIndex(enc.encode('a'))
    net.node(1).readIndex(enc.encode('b'))
    net.node(2).readIndex(enc.encode('c'))
    net.flush()
    net.dropTypes('MsgHeartbeatResp')
    // Deliver every heartbeat, but let only the responses for 'c' through.
    net.stabilize()
    net.heal()
    const ackC = net.addFilter(
      (m) => m.type === 'MsgHeartbeatResp' && dec.decode(m.context ?? new Uint8Array()) !== 'c',
    )
    net.tick(1)
    net.stabilize()
    ackC()
    expect(rs(net.member(1).readStates)).toEqual([
      [commit, 'a'],
      [commit, 'b'],
    ])
    expect(rs(net.member(2).readStates)).toEqual([[commit, 'c']])
  })

  it('a new leader defers reads until it has committed an entry of its own term', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.propose(1, 'x')
    net.stabilize()
    // Member 2 becomes leader, but its no-op is not acknowledged yet.
    const hold = net.dropTypes('MsgAppResp')
    net.node(1).transferLeadership(2)
    net.stabilize()
    expect(net.leaders()).toEqual([2])
    const lead = net.node(2)
    const noop = raftOf(lead).raftLog.lastIndex()
    expect(lead.status().commit).toBeLessThan(noop)
    lead.readIndex(enc.encode('early'))
    net.stabilize()
    expect(net.member(2).readStates).toEqual([])
    expect(
      net
        .deliveredOf('MsgHeartbeat')
        .some((m) => m.context !== undefined && dec.decode(m.context) === 'early'),
    ).toBe(false)
    // Once the no-op commits, the deferred read goes through a heartbeat round, at the no-op's index.
    hold()
    net.tickAndStabilize(1)
    expect(lead.status().commit).toBe(noop)
    expect(rs(net.member(2).readStates)).toEqual([[noop, 'early']])
  })

  it('a leader cut off from its quorum never answers a read, not even after it regains leadership', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(1)
    net.node(1).readIndex(enc.encode('cut'))
    net.tickAndStabilize(50)
    expect(raftOf(net.node(1)).state).not.toBe('leader')
    expect(net.member(1).readStates).toEqual([])
    // Meanwhile the others elected a leader and committed a write.
    const [other] = net.leaders()
    expect(other).toBeDefined()
    net.propose(other!, 'w')
    net.stabilize()
    // 1 rejoins and becomes leader again: the old request is gone with the old leadership.
    net.heal()
    net.tickAndStabilize(5)
    net.node(other!).transferLeadership(1)
    net.tickAndStabilize(5)
    expect(net.leaders()).toEqual([1])
    net.tickAndStabilize(5)
    expect(net.member(1).readStates).toEqual([])
  })

  it('with no known leader, a read is refused with RAFT_ERR_PROPOSAL_DROPPED', () => {
    const net = new TestNetwork([1, 2, 3])
    net.stabilize()
    const err = net.node(2).readIndex(enc.encode('x'))
    expect(err).toBeInstanceOf(RaftError)
    expect(err?.code).toBe(RaftErrorCode.ProposalDropped)
    net.node(2).campaign()
    expect(net.node(2).readIndex(enc.encode('y'))?.code).toBe(RaftErrorCode.ProposalDropped)
  })

  it('a single voter answers without a heartbeat round', () => {
    const net = new TestNetwork([1])
    net.elect(1)
    const commit = net.node(1).status().commit
    net.node(1).readIndex(enc.encode('solo'))
    net.flush()
    expect(rs(net.member(1).readStates)).toEqual([[commit, 'solo']])
    expect(net.inflight).toEqual([])
  })

  it("learners' acknowledgements do not count towards the read quorum", () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.add(4)
    net.node(1).proposeConfChange({ type: 'addLearnerNode', nodeId: 4 })
    net.stabilize()
    net.tickAndStabilize(2)
    expect(raftOf(net.node(1)).trk.learners.has(4)).toBe(true)
    net.isolate(2)
    net.isolate(3)
    net.node(1).readIndex(enc.encode('l'))
    net.stabilize()
    expect(net.deliveredOf('MsgHeartbeatResp').some((m) => m.from === 4)).toBe(true)
    expect(net.member(1).readStates).toEqual([])
  })

  it('a read forwarded to a member that lost leadership is passed on to the leader and answered to its origin', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(3)
    net.node(1).transferLeadership(2)
    net.stabilize()
    expect(net.leaders()).toEqual([2])
    expect(net.node(3).status().lead).toBe(1) // 3 still believes 1 leads
    net.heal()
    net.node(3).readIndex(enc.encode('origin-3'))
    net.flush([3])
    net.deliver() // 3 -> 1
    net.flush([1])
    expect(net.inflight.map((m) => [m.type, m.from, m.to])).toEqual([['MsgReadIndex', 3, 2]])
    net.stabilize()
    const commit = net.node(2).status().commit
    expect(rs(net.member(3).readStates)).toEqual([[commit, 'origin-3']])
    expect(net.member(1).readStates).toEqual([])
  })
})
