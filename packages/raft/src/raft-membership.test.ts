/** Single-step membership changes: add/remove voters, learners, promotion, one change at a time. */
import { describe, expect, it } from 'vitest'
import { RaftErrorCode } from './errors.js'
import { raftOf } from './raw-node.js'
import { appliedData, storageWithLog, TestNetwork } from './testing/network.js'
import type { ConfChange, NodeId } from './types.js'
import { newMessage } from './types.js'

/** Proposes `cc` at the leader `lead` and stabilizes; returns the index of the entry. */
function change(net: TestNetwork, lead: NodeId, cc: ConfChange): number {
  const index = raftOf(net.node(lead)).raftLog.lastIndex() + 1
  expect(net.node(lead).proposeConfChange(cc)).toBeUndefined()
  net.stabilize()
  return index
}

const voters = (net: TestNetwork, id: NodeId): NodeId[] => raftOf(net.node(id)).trk.confState().voters.slice()
const learners = (net: TestNetwork, id: NodeId): NodeId[] =>
  raftOf(net.node(id)).trk.confState().learners.slice()

describe('membership changes', () => {
  it('adds a voter: the new member catches up from the leader and counts in the quorum', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.propose(1, 'before')
    net.stabilize()
    net.add(4)
    change(net, 1, { type: 'addNode', nodeId: 4 })
    net.tickAndStabilize(2)
    for (const id of [1, 2, 3, 4]) expect(voters(net, id), `member ${id}`).toEqual([1, 2, 3, 4])
    expect(appliedData(net.member(4).applied)).toEqual(['before'])
    expect(net.node(4).status().lead).toBe(1)
    // Four voters: a quorum is three. Leader + 4 is not enough.
    net.isolate(2)
    net.isolate(3)
    const commit = net.node(1).status().commit
    net.propose(1, 'needs-3')
    net.stabilize()
    expect(net.node(1).status().commit).toBe(commit)
    expect(net.node(1).status().progress.get(4)?.match).toBe(commit + 1)
    net.heal()
    net.isolate(3)
    net.tickAndStabilize(1, [1, 2, 4])
    expect(net.node(1).status().commit).toBe(commit + 1)
  })

  it('a change takes effect when applied, not when appended or committed', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.add(4)
    const m1 = net.member(1)
    m1.applyConfChanges = false
    const index = raftOf(net.node(1)).raftLog.lastIndex() + 1
    net.node(1).proposeConfChange({ type: 'addNode', nodeId: 4 })
    expect(raftOf(net.node(1)).raftLog.lastIndex()).toBe(index)
    expect(net.node(1).status().progress.has(4)).toBe(false) // appended
    net.stabilize()
    expect(net.node(1).status().commit).toBeGreaterThanOrEqual(index)
    expect(m1.applied.some((e) => e.type === 'confChange' && e.index === index)).toBe(true) // committed and handed out...
    expect(net.node(1).status().progress.has(4)).toBe(false) // ...but not applied
    expect(voters(net, 1)).toEqual([1, 2, 3])
    net.node(1).applyConfChange({ type: 'addNode', nodeId: 4 })
    expect(voters(net, 1)).toEqual([1, 2, 3, 4])
    expect(net.node(1).status().progress.get(4)?.state).toBe('probe')
  })

  it('only one change may be pending: a second one before the first is applied becomes an empty entry', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const r = raftOf(net.node(1))
    const first = r.raftLog.lastIndex() + 1
    net.node(1).proposeConfChange({ type: 'addLearnerNode', nodeId: 4 })
    net.node(1).proposeConfChange({ type: 'addLearnerNode', nodeId: 5 })
    const ents = r.raftLog.slice(first, first + 2, Number.POSITIVE_INFINITY)
    if (!Array.isArray(ents)) throw ents
    expect(ents.map((e) => [e.type, e.data.length])).toEqual([
      ['confChange', ents[0]!.data.length],
      ['normal', 0],
    ])
    expect(ents[0]!.data.length).toBeGreaterThan(0)
    net.stabilize()
    expect(learners(net, 1)).toEqual([4])
    // Once the first is applied, the next one is accepted.
    change(net, 1, { type: 'addLearnerNode', nodeId: 5 })
    expect(learners(net, 1)).toEqual([4, 5])
  })

  it('also within one batch, only the first of several changes is kept', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const r = raftOf(net.node(1))
    const first = r.raftLog.lastIndex() + 1
    // A forwarded proposal can carry several entries; step it as the leader receives it.
    net.node(2).proposeConfChange({ type: 'addLearnerNode', nodeId: 4 })
    net.node(2).proposeConfChange({ type: 'addLearnerNode', nodeId: 5 })
    net.stabilize()
    const ents = r.raftLog.slice(first, first + 2, Number.POSITIVE_INFINITY)
    if (!Array.isArray(ents)) throw ents
    expect(ents.map((e) => e.type)).toEqual(['confChange', 'normal'])
    expect(learners(net, 2)).toEqual([4])
  })

  it('a change the configuration would refuse (removing the last voter) is neutralised when proposed', () => {
    const net = new TestNetwork([1])
    net.elect(1)
    const r = raftOf(net.node(1))
    const at = r.raftLog.lastIndex() + 1
    expect(net.node(1).proposeConfChange({ type: 'removeNode', nodeId: 1 })).toBeUndefined()
    expect(r.pendingConfIndex).toBeLessThan(at) // not pending: nothing waits for it
    net.stabilize()
    expect(r.raftLog.slice(at, at + 1, Number.POSITIVE_INFINITY)).toMatchObject([{ type: 'normal' }])
    expect(voters(net, 1)).toEqual([1])
    expect(r.state).toBe('leader')
    // Still able to change membership afterwards.
    net.add(2)
    change(net, 1, { type: 'addLearnerNode', nodeId: 2 })
    expect(learners(net, 1)).toEqual([2])
  })

  it('a refused change that reaches apply leaves the configuration as it is', () => {
    // Demoting the last voter: every member that applies it refuses it alike.
    const net = new TestNetwork([1])
    net.elect(1)
    net.add(2)
    change(net, 1, { type: 'addLearnerNode', nodeId: 2 })
    const cs = net.node(1).applyConfChange({ type: 'addLearnerNode', nodeId: 1 })
    expect(cs).toEqual({ voters: [1], learners: [2] })
    expect(net.node(2).applyConfChange({ type: 'removeNode', nodeId: 1 })).toEqual({
      voters: [1],
      learners: [2],
    })
    expect(raftOf(net.node(1)).state).toBe('leader')
    expect(net.node(1).status().isLearner).toBe(false)
  })

  it('a new leader accepts a change only once it has applied everything up to its election', () => {
    // Member 1 has entries 1..3, only 1 committed, and wins an election (member 2's vote).
    const net = new TestNetwork([], { preVote: false })
    net.add(1, storageWithLog({ voters: [1, 2, 3], terms: [1, 1, 2], hardState: { term: 2, commit: 1 } }))
    net.add(2, storageWithLog({ voters: [1, 2, 3], terms: [1, 1, 2], hardState: { term: 2, commit: 1 } }))
    const n1 = net.node(1)
    n1.campaign()
    n1.step(newMessage({ type: 'MsgVoteResp', from: 2, to: 1, term: 3 }))
    expect(raftOf(n1).state).toBe('leader')
    expect(raftOf(n1).pendingConfIndex).toBe(3)
    expect(raftOf(n1).raftLog.applied).toBe(0)
    // Entries up to 3 may hold a conf change not yet applied: a new change is neutralised.
    n1.proposeConfChange({ type: 'removeNode', nodeId: 3 })
    const at = raftOf(n1).raftLog.lastIndex()
    expect(raftOf(n1).raftLog.slice(at, at + 1, Number.POSITIVE_INFINITY)).toMatchObject([{ type: 'normal' }])
    net.stabilize()
    expect(voters(net, 1)).toEqual([1, 2, 3])
    // Now that everything is applied, the change is accepted.
    expect(raftOf(n1).raftLog.applied).toBeGreaterThanOrEqual(3)
    change(net, 1, { type: 'removeNode', nodeId: 3 })
    expect(voters(net, 1)).toEqual([1, 2])
  })

  it('adds a learner, which replicates but never campaigns and whose acks do not commit', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.add(4)
    change(net, 1, { type: 'addLearnerNode', nodeId: 4 })
    net.tickAndStabilize(2)
    expect(voters(net, 1)).toEqual([1, 2, 3])
    expect(learners(net, 1)).toEqual([4])
    expect(net.node(4).status().isLearner).toBe(true)
    expect(learners(net, 4)).toEqual([4])
    net.propose(1, 'x')
    net.stabilize()
    expect(appliedData(net.member(4).applied)).toEqual(['x'])
    // Its acknowledgements do not count: leader + learner is not a quorum of {1, 2, 3}.
    net.isolate(2)
    net.isolate(3)
    const commit = net.node(1).status().commit
    net.propose(1, 'y')
    net.stabilize()
    expect(net.node(1).status().progress.get(4)?.match).toBe(commit + 1)
    expect(net.node(1).status().commit).toBe(commit)
    // It never campaigns, however long it hears nothing.
    net.heal()
    net.isolate(4)
    net.tickAndStabilize(100, [4])
    expect(raftOf(net.node(4)).state).toBe('follower')
    expect(net.dropped.some((m) => m.from === 4 && (m.type === 'MsgPreVote' || m.type === 'MsgVote'))).toBe(
      false,
    )
    net.node(4).campaign()
    expect(raftOf(net.node(4)).state).toBe('follower')
  })

  it('promotes a learner to voter', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.add(4)
    change(net, 1, { type: 'addLearnerNode', nodeId: 4 })
    net.tickAndStabilize(2)
    change(net, 1, { type: 'addNode', nodeId: 4 })
    net.tickAndStabilize(1)
    for (const id of [1, 2, 3, 4]) {
      expect(voters(net, id)).toEqual([1, 2, 3, 4])
      expect(learners(net, id)).toEqual([])
    }
    expect(net.node(4).status().isLearner).toBe(false)
    expect(raftOf(net.node(4)).promotable()).toBe(true)
    expect(net.node(1).status().progress.get(4)?.isLearner).toBe(false)
    // Now it counts: 1 and 4 with 2 is a quorum of three, without 3.
    net.isolate(3)
    const commit = net.node(1).status().commit
    net.propose(1, 'z')
    net.stabilize()
    expect(net.node(1).status().commit).toBe(commit + 1)
  })

  it('removes a voter: the quorum shrinks', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    change(net, 1, { type: 'removeNode', nodeId: 3 })
    net.tickAndStabilize(1)
    for (const id of [1, 2]) expect(voters(net, id)).toEqual([1, 2])
    expect(net.node(1).status().progress.has(3)).toBe(false)
    // Two voters: both are needed. Member 3's absence no longer matters.
    net.isolate(3)
    const commit = net.node(1).status().commit
    net.propose(1, 'two')
    net.stabilize()
    expect(net.node(1).status().commit).toBe(commit + 1)
    net.isolate(2)
    net.propose(1, 'alone')
    net.stabilize()
    expect(net.node(1).status().commit).toBe(commit + 1)
  })

  it('a removed leader steps down and the remaining voters carry on', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    change(net, 1, { type: 'removeNode', nodeId: 1 })
    expect(raftOf(net.node(1)).state).toBe('follower')
    expect(raftOf(net.node(1)).promotable()).toBe(false)
    // The removal reached the others with its commit index.
    for (const id of [2, 3]) expect(voters(net, id)).toEqual([2, 3])
    net.isolate(1)
    net.tickAndStabilize(40)
    const leaders = net.leaders()
    expect(leaders.length).toBe(1)
    expect([2, 3]).toContain(leaders[0])
    net.propose(leaders[0]!, 'after')
    net.stabilize()
    expect(appliedData(net.member(2).applied)).toEqual(['after'])
    // Member 1 never campaigns again.
    net.tickAndStabilize(40, [1])
    expect(raftOf(net.node(1)).state).toBe('follower')
  })

  it('a leader demoted to learner steps down', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    change(net, 1, { type: 'addLearnerNode', nodeId: 1 })
    expect(raftOf(net.node(1)).state).toBe('follower')
    expect(net.node(1).status().isLearner).toBe(true)
    net.tickAndStabilize(40)
    expect(net.leaders().length).toBe(1)
    expect(net.leaders()).not.toContain(1)
  })

  it('with stepDownOnRemoval off, a removed leader keeps leading but accepts no proposals', () => {
    const net = new TestNetwork([1, 2, 3], { stepDownOnRemoval: false })
    net.elect(1)
    change(net, 1, { type: 'removeNode', nodeId: 1 })
    expect(raftOf(net.node(1)).state).toBe('leader')
    expect(net.propose(1, 'x')?.code).toBe(RaftErrorCode.ProposalDropped)
    // It still replicates to the remaining voters, whose quorum is {2, 3}.
    expect(voters(net, 1)).toEqual([2, 3])
  })

  it('the configuration survives a restart through the log (and the snapshot)', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.add(4)
    change(net, 1, { type: 'addLearnerNode', nodeId: 4 })
    change(net, 1, { type: 'removeNode', nodeId: 3 })
    net.tickAndStabilize(2)
    const m2 = net.member(2)
    m2.restart()
    net.flush([2])
    expect(m2.confState).toEqual({ voters: [1, 2], learners: [4] })
    m2.compact()
    m2.restart()
    expect(voters(net, 2)).toEqual([1, 2])
    expect(learners(net, 2)).toEqual([4])
  })
})
