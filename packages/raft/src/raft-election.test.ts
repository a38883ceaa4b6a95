/**
 * Elections beyond the paper's §5: PreVote and CheckQuorum (Raft thesis §9.6 and §6.2), leader leases on
 * votes, and terms learned from stale leaders. PreVote and CheckQuorum are on (the defaults) unless stated.
 */
import { describe, expect, it } from 'vitest'
import { CAMPAIGN_TRANSFER } from './raft-election.js'
import { raftOf } from './raw-node.js'
import { TestNetwork } from './testing/network.js'
import type { Message } from './types.js'
import { newMessage } from './types.js'

/** Ticks `id` (and stabilizes the network) until it is no longer leader; returns the number of ticks. */
function ticksUntilStepDown(net: TestNetwork, id: number, max = 100): number {
  for (let i = 1; i <= max; i++) {
    net.tick(id)
    net.stabilize()
    if (raftOf(net.node(id)).state !== 'leader') return i
  }
  throw new Error(`${id} never stepped down`)
}

describe('PreVote', () => {
  it('a member partitioned away does not increase its term, and after rejoining does not depose the leader', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const term = net.node(1).status().term
    net.isolate(3)
    net.tickAndStabilize(100)
    const n3 = net.node(3).status()
    // It kept campaigning (pre-vote rounds that go nowhere) but its term stayed put.
    expect(n3.raftState).toBe('preCandidate')
    expect(n3.term).toBe(term)
    expect(net.dropped.filter((m) => m.from === 3 && m.type === 'MsgPreVote').length).toBeGreaterThan(5)
    expect(net.dropped.some((m) => m.from === 3 && m.type === 'MsgVote')).toBe(false)
    expect(net.leaders()).toEqual([1])

    net.heal()
    net.tickAndStabilize(50)
    expect(net.leaders()).toEqual([1])
    for (const id of [1, 2, 3]) {
      expect(net.node(id).status().term).toBe(term)
      expect(net.node(id).status().lead).toBe(1)
    }
  })

  it("without PreVote, the same partition inflates the partitioned member's term (the disruption PreVote prevents)", () => {
    const net = new TestNetwork([1, 2, 3], { preVote: false })
    net.elect(1)
    const term = net.node(1).status().term
    net.isolate(3)
    net.tickAndStabilize(100)
    expect(net.node(3).status().term).toBeGreaterThan(term + 3)
  })

  it('a pre-candidate keeps its term and vote; winning the pre-vote starts the real election at term+1', () => {
    const net = new TestNetwork([1, 2, 3])
    net.stabilize()
    const n1 = net.node(1)
    const hs = raftOf(n1).hardState()
    n1.campaign()
    expect(raftOf(n1).state).toBe('preCandidate')
    expect(raftOf(n1).hardState()).toEqual(hs)
    net.flush([1])
    const preVotes = net.inflight.filter((m) => m.type === 'MsgPreVote')
    expect(preVotes.map((m) => [m.to, m.term])).toEqual([
      [2, hs.term + 1],
      [3, hs.term + 1],
    ])
    net.deliver()
    // Granting a pre-vote changes nothing on the voter.
    expect(raftOf(net.node(2)).hardState()).toEqual(hs)
    net.flush()
    net.deliver() // the pre-vote grants
    expect(raftOf(n1).state).toBe('candidate')
    expect(raftOf(n1).term).toBe(hs.term + 1)
    net.stabilize()
    expect(net.leaders()).toEqual([1])
  })

  it('a pre-candidate with a stale term learns the newer term from a rejection', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(2)
    net.isolate(1)
    // 2 and 3 move on two terms without 1 (two leadership transfers).
    net.node(2).transferLeadership(3)
    net.stabilize()
    net.node(3).transferLeadership(2)
    net.stabilize()
    expect(net.leaders()).toEqual([2])
    const high = net.node(2).status().term
    expect(high).toBe(net.node(1).status().term + 2)
    net.heal()
    // 1's pre-vote at its (stale) term+1 is rejected with the voters' term; 1 adopts it.
    net.node(1).campaign()
    net.flush()
    net.deliver((m) => m.type === 'MsgPreVote')
    net.flush()
    const rejections = net.inflight.filter((m) => m.type === 'MsgPreVoteResp' && m.to === 1)
    expect(rejections.length).toBeGreaterThan(0)
    expect(rejections.every((m) => m.reject && m.term === high)).toBe(true)
    net.deliver()
    expect(net.node(1).status().term).toBe(high)
    expect(raftOf(net.node(1)).state).toBe('follower')
  })
})

describe('CheckQuorum', () => {
  it('a leader whose followers never answered steps down after exactly one election timeout', () => {
    const net = new TestNetwork([1, 2, 3])
    net.stabilize()
    net.isolate(2)
    net.isolate(3)
    net.node(1).campaign() // pre-vote
    net.node(1).step(newMessage({ type: 'MsgPreVoteResp', from: 2, to: 1, term: 2 }))
    net.node(1).step(newMessage({ type: 'MsgVoteResp', from: 2, to: 1, term: 2 }))
    expect(raftOf(net.node(1)).state).toBe('leader')
    expect(ticksUntilStepDown(net, 1)).toBe(10)
    expect(net.node(1).status().term).toBe(2) // steps down without a term change
    expect(net.node(1).status().lead).toBe(0)
  })

  // CheckQuorum is evaluated every tick over a sliding window (unlike etcd's fixed windows, which take up
  // to two election timeouts): a leader steps down exactly one election timeout after the last tick at
  // which it heard from a quorum, wherever in the heartbeat cycle it was cut off.
  it('a leader cut off at any point steps down exactly one election timeout after its last contact', () => {
    for (let offset = 0; offset < 25; offset++) {
      const net = new TestNetwork([1, 2, 3])
      net.elect(1)
      net.tickAndStabilize(offset)
      net.isolate(1)
      // The answers to the heartbeat of the last tick arrived at that tick: 10 more ticks without any.
      expect(ticksUntilStepDown(net, 1), `offset ${offset}`).toBe(10)
    }
  })

  it('one answering follower out of two keeps a 3-member leader leading indefinitely', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(3)
    net.tickAndStabilize(200, [1, 2])
    expect(raftOf(net.node(1)).state).toBe('leader')
  })

  it('a leader keeps leading while a quorum is active, even with a minority cut off', () => {
    const net = new TestNetwork([1, 2, 3, 4, 5])
    net.elect(1)
    net.isolate(4)
    net.isolate(5)
    net.tickAndStabilize(100, [1, 2, 3])
    expect(net.leaders()).toEqual([1])
    expect(net.node(1).status().term).toBe(2)
  })

  it('the majority side elects a new leader; the old one steps down on its own', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.isolate(1)
    net.tickAndStabilize(60)
    expect(raftOf(net.node(1)).state).not.toBe('leader')
    const leaders = net.leaders()
    expect(leaders.length).toBe(1)
    expect([2, 3]).toContain(leaders[0])
    net.heal()
    net.tickAndStabilize(20)
    expect(net.leaders()).toEqual(leaders)
    expect(net.node(1).status().lead).toBe(leaders[0])
  })
})

describe('leader lease on votes', () => {
  function setup(): { net: TestNetwork; term: number } {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    return { net, term: net.node(1).status().term }
  }
  const vote = (type: 'MsgVote' | 'MsgPreVote', term: number, ctx?: Uint8Array): Message => {
    const m = newMessage({ type, from: 3, to: 2, term, logTerm: 10, index: 100 })
    if (ctx !== undefined) m.context = ctx
    return m
  }

  for (const type of ['MsgVote', 'MsgPreVote'] as const) {
    it(`a ${type} within the leader lease is ignored: no answer, no term change`, () => {
      const { net, term } = setup()
      const n2 = net.node(2)
      n2.step(vote(type, term + 1))
      expect(raftOf(n2).msgs).toEqual([])
      expect(n2.status().term).toBe(term)
      expect(n2.status().vote).toBe(1)
      expect(n2.status().lead).toBe(1)
    })
  }

  it('a leadership-transfer campaign (CAMPAIGN_TRANSFER) is not held back by the lease', () => {
    const { net, term } = setup()
    const n2 = net.node(2)
    n2.step(vote('MsgVote', term + 1, CAMPAIGN_TRANSFER))
    expect(n2.status().term).toBe(term + 1)
    expect(n2.status().vote).toBe(3)
    expect(raftOf(n2).msgs.map((m) => [m.type, m.to, m.term, m.reject])).toEqual([
      ['MsgVoteResp', 3, term + 1, false],
    ])
  })

  it('once the lease expired (no leader contact for an election timeout), the vote is considered', () => {
    const { net, term } = setup()
    const n2 = net.node(2)
    for (let i = 0; i < 10; i++) n2.tick() // no leader contact; below the randomized timeout it stays follower
    n2.step(vote('MsgVote', term + 1))
    expect(n2.status().term).toBe(term + 1)
    expect(n2.status().vote).toBe(3)
  })

  it('without CheckQuorum there is no lease: a higher-term vote request deposes the leader (what the lease prevents)', () => {
    const net = new TestNetwork([1, 2, 3], { checkQuorum: false })
    net.elect(1)
    const term = net.node(1).status().term
    net.node(2).step(vote('MsgVote', term + 1))
    expect(net.node(2).status().term).toBe(term + 1)
    expect(net.node(2).status().lead).toBe(0)
  })
})

describe('stale leaders', () => {
  it("a stale-term leader's MsgApp gets a response carrying the higher term", () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const n2 = net.node(2)
    n2.step(newMessage({ type: 'MsgHeartbeat', from: 3, to: 2, term: 7 }))
    net.flush()
    net.inflight = []
    n2.step(newMessage({ type: 'MsgApp', from: 1, to: 2, term: 2, index: 5, logTerm: 2 }))
    n2.step(newMessage({ type: 'MsgHeartbeat', from: 1, to: 2, term: 2 }))
    net.flush([2])
    expect(net.inflight.map((m) => [m.type, m.to, m.term])).toEqual([
      ['MsgAppResp', 1, 7],
      ['MsgAppResp', 1, 7],
    ])
    expect(n2.status().term).toBe(7)
    expect(n2.status().lead).toBe(3)
  })

  it('a leader that missed an election steps down when its heartbeat is answered with the higher term', () => {
    // Without CheckQuorum the old leader would otherwise lead its stale term forever.
    const net = new TestNetwork([1, 2, 3], { checkQuorum: false })
    net.elect(1)
    net.isolate(1)
    net.elect(2)
    const term = net.node(2).status().term
    expect(raftOf(net.node(1)).state).toBe('leader')
    net.heal()
    net.tickAndStabilize(1, [1])
    expect(raftOf(net.node(1)).state).toBe('follower')
    expect(net.node(1).status().term).toBe(term)
    net.tickAndStabilize(3)
    expect(net.leaders()).toEqual([2])
    expect(net.node(1).status().lead).toBe(2)
  })

  it('without PreVote and CheckQuorum, a stale message is silently ignored', () => {
    const net = new TestNetwork([1, 2, 3], { checkQuorum: false, preVote: false })
    net.elect(1)
    const n2 = net.node(2)
    n2.step(newMessage({ type: 'MsgHeartbeat', from: 1, to: 2, term: 1 }))
    expect(raftOf(n2).msgs).toEqual([])
  })
})

describe('elections', () => {
  it('members elect exactly one leader by timeout, for many seeds', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new TestNetwork([1, 2, 3, 4, 5], { seed })
      let ticks = 0
      while (net.leaders().length === 0 && ticks < 100) {
        net.tickAndStabilize(1)
        ticks++
      }
      expect(net.leaders().length, `seed ${seed}`).toBe(1)
      // The first election happens between one and two election timeouts.
      expect(ticks).toBeGreaterThanOrEqual(10)
      expect(ticks).toBeLessThan(40)
      const leader = net.leaders()[0]!
      for (const m of net.members.values()) expect(m.node.status().lead).toBe(leader)
    }
  })

  it('a leader ignores MsgHup', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const term = net.node(1).status().term
    net.node(1).campaign()
    expect(raftOf(net.node(1)).state).toBe('leader')
    expect(net.node(1).status().term).toBe(term)
  })

  it('a member with committed but unapplied conf changes does not campaign', () => {
    const net = new TestNetwork([1, 2, 3])
    // The bootstrap conf changes are committed but not yet applied (no Ready handled).
    net.node(1).campaign()
    expect(raftOf(net.node(1)).state).toBe('follower')
    net.flush([1])
    net.node(1).campaign()
    expect(raftOf(net.node(1)).state).toBe('preCandidate')
  })

  it('a candidate whose log is behind loses to a majority of rejections and returns to follower (§5.4.1)', () => {
    const net = new TestNetwork([1, 2, 3], { preVote: false, checkQuorum: false })
    net.elect(1)
    // Member 3 misses the last entry: its log is behind, so 1 and 2 must reject it.
    net.isolate(3)
    net.propose(1, 'y')
    net.stabilize()
    net.heal()
    const n3 = net.node(3)
    n3.campaign()
    const term = n3.status().term
    net.flush([3])
    net.deliver() // the vote requests
    net.flush([1, 2])
    const answers = net.inflight.filter((m) => m.type === 'MsgVoteResp')
    expect(answers.map((m) => [m.from, m.reject, m.term])).toEqual([
      [1, true, term],
      [2, true, term],
    ])
    net.deliver()
    expect(raftOf(n3).state).toBe('follower')
    // Its higher term deposed the old leader; 1 or 2 wins the next election and 3 catches up.
    net.tickAndStabilize(50)
    const leaders = net.leaders()
    expect(leaders.length).toBe(1)
    expect([1, 2]).toContain(leaders[0])
    expect(raftOf(net.node(3)).raftLog.lastIndex()).toBe(raftOf(net.node(leaders[0]!)).raftLog.lastIndex())
  })
})
