/**
 * The Raft paper's §5 rules, one test per rule, named (where natural) after the paper's sentences, in
 * the manner of etcd-io/raft's raft_paper_test.go. These tests exercise classic Raft: PreVote and
 * CheckQuorum are off unless stated.
 */
import { describe, expect, it } from 'vitest'
import { SeededRandom } from './rand.js'
import { RawNode, raftOf } from './raw-node.js'
import { MemoryStorage } from './storage.js'
import { storageWithLog, TestMember, TestNetwork, type TestRaftOptions } from './testing/network.js'
import type { Entry, HardState, Message, NodeId, RaftStateType } from './types.js'
import { newMessage } from './types.js'

const classic: TestRaftOptions = { preVote: false, checkQuorum: false }

function member(
  id: NodeId,
  opts: {
    peers?: NodeId[]
    terms?: number[]
    hardState?: Partial<HardState>
    seed?: number
  } & TestRaftOptions = {},
): TestMember {
  const { peers = [1, 2, 3], terms, hardState, ...raft } = opts
  const storage = storageWithLog({ voters: peers, terms, hardState })
  return new TestMember(id, storage, { ...classic, ...raft })
}

/** Handles every pending Ready; returns the messages they carried. */
function take(m: TestMember): Message[] {
  const out: Message[] = []
  while (m.processReady((msg) => out.push(msg))) {
    /* drain */
  }
  return out
}

/** Makes `m` leader of its current term + 1 by feeding it the votes of all its peers. */
function becomeLeader(m: TestMember): void {
  m.node.campaign()
  const r = raftOf(m.node)
  for (const id of r.trk.voterNodes()) {
    if (id !== m.id) m.node.step(newMessage({ type: 'MsgVoteResp', from: id, to: m.id, term: r.term }))
  }
  expect(r.state).toBe('leader')
  take(m)
}

function becomeCandidate(m: TestMember): void {
  m.node.campaign()
  expect(raftOf(m.node).state).toBe('candidate')
  take(m)
}

/** Ticks until `m` changes state; returns the number of ticks. */
function ticksUntilCampaign(m: TestMember, max = 100): number {
  for (let i = 1; i <= max; i++) {
    m.node.tick()
    if (raftOf(m.node).state !== 'follower') return i
  }
  throw new Error('never campaigned')
}

const terms = (es: readonly Entry[]): number[] => es.map((e) => e.term)

function logTerms(m: TestMember): number[] {
  return terms(raftOf(m.node).raftLog.allEntries())
}

describe('§5.1 terms', () => {
  const roles: RaftStateType[] = ['follower', 'candidate', 'leader']
  for (const role of roles) {
    it(`"If one server's current term is smaller than the other's, then it updates its current term to the larger value": ${role}`, () => {
      const m = member(1, { hardState: { term: 2 } })
      if (role === 'candidate') becomeCandidate(m)
      if (role === 'leader') becomeLeader(m)
      const term = raftOf(m.node).term
      m.node.step(newMessage({ type: 'MsgApp', from: 2, to: 1, term: term + 3 }))
      // "If a candidate or leader discovers that its term is out of date, it immediately reverts to
      // follower state."
      expect(raftOf(m.node).term).toBe(term + 3)
      expect(raftOf(m.node).state).toBe('follower')
      expect(raftOf(m.node).lead).toBe(2)
    })
  }

  it('"If a server receives a request with a stale term number, it rejects the request"', () => {
    const m = member(1, { hardState: { term: 5 } })
    take(m)
    for (const type of ['MsgApp', 'MsgHeartbeat', 'MsgVote'] as const) {
      m.node.step(newMessage({ type, from: 2, to: 1, term: 4 }))
    }
    // Classic Raft (no PreVote/CheckQuorum): ignored without any state change.
    expect(take(m)).toEqual([])
    expect(raftOf(m.node).term).toBe(5)
    expect(raftOf(m.node).lead).toBe(0)
    expect(raftOf(m.node).vote).toBe(0)
  })

  it('"When servers start up, they begin as followers"', () => {
    const m = member(1)
    expect(raftOf(m.node).state).toBe('follower')
    expect(raftOf(m.node).term).toBe(0)
  })
})

describe('§5.2 leader election', () => {
  it('"Leaders send periodic heartbeats to all followers in order to maintain their authority"', () => {
    const m = member(1, { heartbeatTick: 2 })
    becomeLeader(m)
    m.node.tick()
    expect(take(m).filter((x) => x.type === 'MsgHeartbeat')).toEqual([])
    m.node.tick()
    const hbs = take(m).filter((x) => x.type === 'MsgHeartbeat')
    expect(hbs.map((x) => [x.to, x.term, x.commit])).toEqual([
      [2, 1, 0],
      [3, 1, 0],
    ])
  })

  for (const role of ['follower', 'candidate'] as const) {
    it(`"If a ${role} receives no communication over a period of time called the election timeout, then it begins an election": increments its term, votes for itself, and requests votes`, () => {
      const m = member(1, { terms: [1, 1, 2], hardState: { term: 2 } })
      if (role === 'candidate') becomeCandidate(m)
      const term = raftOf(m.node).term
      const timeout = raftOf(m.node).randomizedElectionTimeout
      const ticks = ticksUntilCampaign(m) // a candidate stays candidate: check the term instead
      if (role === 'follower') expect(ticks).toBe(timeout)
      else {
        for (let i = ticks; i < 100 && raftOf(m.node).term === term; i++) m.node.tick()
      }
      const r = raftOf(m.node)
      expect(r.state).toBe('candidate')
      expect(r.term).toBe(term + 1)
      expect(r.vote).toBe(1)
      const msgs = take(m)
      expect(msgs.map((x) => [x.type, x.to, x.term, x.index, x.logTerm])).toEqual([
        ['MsgVote', 2, term + 1, 3, 2],
        ['MsgVote', 3, term + 1, 3, 2],
      ])
      // The vote for itself is persisted with the Ready that sends the requests.
      expect(m.storage.hardStateNow()).toMatchObject({ term: term + 1, vote: 1 })
    })
  }

  describe('"A candidate wins an election if it receives votes from a majority of the servers in the full cluster for the same term"', () => {
    const cases: Array<[number, Record<number, boolean>, RaftStateType]> = [
      [1, {}, 'leader'],
      [3, { 2: true, 3: true }, 'leader'],
      [3, { 2: true }, 'leader'],
      [5, { 2: true, 3: true, 4: true, 5: true }, 'leader'],
      [5, { 2: true, 3: true, 4: true }, 'leader'],
      [5, { 2: true, 3: true }, 'leader'],
      // A majority of rejections: back to follower.
      [3, { 2: false, 3: false }, 'follower'],
      [5, { 2: false, 3: false, 4: false, 5: false }, 'follower'],
      [5, { 2: true, 3: false, 4: false, 5: false }, 'follower'],
      // No majority either way yet: stays candidate.
      [3, {}, 'candidate'],
      [5, { 2: true }, 'candidate'],
      [5, { 2: false, 3: false }, 'candidate'],
      [5, {}, 'candidate'],
      [4, { 2: true }, 'candidate'], // 2 of 4 is not a quorum
      [4, { 2: true, 3: false }, 'candidate'],
      [4, { 2: true, 3: false, 4: false }, 'follower'],
      [4, { 2: true, 3: true }, 'leader'],
    ]
    for (const [n, votes, want] of cases) {
      it(`${n} voters, votes ${JSON.stringify(votes)} -> ${want}`, () => {
        const peers = Array.from({ length: n }, (_, i) => i + 1)
        const m = member(1, { peers })
        m.node.campaign()
        for (const [id, granted] of Object.entries(votes)) {
          m.node.step(newMessage({ type: 'MsgVoteResp', from: Number(id), to: 1, term: 1, reject: !granted }))
        }
        expect(raftOf(m.node).state).toBe(want)
        expect(raftOf(m.node).term).toBe(1)
      })
    }
  })

  describe('"Each server will vote for at most one candidate in a given term, on a first-come-first-served basis"', () => {
    const cases: Array<[NodeId, NodeId, boolean]> = [
      // [already voted for, vote request from, rejected]
      [0, 2, false],
      [0, 3, false],
      [2, 2, false],
      [3, 3, false],
      [2, 3, true],
      [3, 2, true],
    ]
    for (const [vote, from, reject] of cases) {
      it(`voted for ${vote || 'nobody'}, request from ${from} -> ${reject ? 'reject' : 'grant'}`, () => {
        const m = member(1, { hardState: { term: 1, vote } })
        m.node.step(newMessage({ type: 'MsgVote', from, to: 1, term: 1, index: 0, logTerm: 0 }))
        const msgs = take(m)
        expect(msgs.map((x) => [x.type, x.to, x.term, x.reject])).toEqual([['MsgVoteResp', from, 1, reject]])
        expect(m.storage.hardStateNow().vote).toBe(vote || from)
      })
    }

    it('a vote granted is kept across a restart', () => {
      const m = member(1, { hardState: { term: 1 } })
      m.node.step(newMessage({ type: 'MsgVote', from: 2, to: 1, term: 1 }))
      take(m)
      m.restart()
      m.node.step(newMessage({ type: 'MsgVote', from: 3, to: 1, term: 1 }))
      expect(take(m).map((x) => [x.to, x.reject])).toEqual([[3, true]])
    })
  })

  for (const term of [1, 2]) {
    it(`"If the leader's term is at least as large as the candidate's current term, then the candidate recognizes the leader as legitimate and returns to follower state" (leader term +${term - 1})`, () => {
      const m = member(1)
      becomeCandidate(m)
      m.node.step(newMessage({ type: 'MsgApp', from: 2, to: 1, term }))
      expect(raftOf(m.node).state).toBe('follower')
      expect(raftOf(m.node).term).toBe(term)
      expect(raftOf(m.node).lead).toBe(2)
    })
  }

  it('"Raft uses randomized election timeouts": drawn in [T, 2T), different across seeds and terms', () => {
    const seen = new Set<number>()
    for (let seed = 1; seed <= 200; seed++) {
      const node = new RawNode({
        id: 1,
        electionTick: 10,
        heartbeatTick: 1,
        storage: new MemoryStorage(),
        random: new SeededRandom(seed),
      })
      const t = raftOf(node).randomizedElectionTimeout
      expect(t).toBeGreaterThanOrEqual(10)
      expect(t).toBeLessThan(20)
      seen.add(t)
    }
    expect(seen.size).toBe(10) // every value of [10, 20) occurs
    // Redrawn at each term change.
    const m = member(1)
    const drawn = new Set<number>()
    for (let term = 1; term <= 30; term++) {
      m.node.step(newMessage({ type: 'MsgHeartbeat', from: 2, to: 1, term }))
      drawn.add(raftOf(m.node).randomizedElectionTimeout)
    }
    expect(drawn.size).toBeGreaterThan(3)
  })

  it('"the election timeouts are chosen randomly": followers of different seeds time out at different ticks', () => {
    const ticks = new Set<number>()
    for (let seed = 1; seed <= 20; seed++) {
      ticks.add(ticksUntilCampaign(member(1, { seed })))
    }
    expect(ticks.size).toBeGreaterThan(3)
    for (const t of ticks) expect(t >= 10 && t < 20).toBe(true)
  })
})

describe('§5.3 log replication', () => {
  it('"The leader appends the command to its log as a new entry, then issues AppendEntries RPCs in parallel to each of the other servers"', () => {
    const m = member(1)
    becomeLeader(m) // no-op at index 1
    // Followers in probe state answered nothing yet; mark them replicating as if they acked the no-op.
    for (const id of [2, 3])
      m.node.step(newMessage({ type: 'MsgAppResp', from: id, to: 1, term: 1, index: 1 }))
    take(m)
    m.node.propose(new TextEncoder().encode('some data'))
    const msgs = take(m)
    expect(logTerms(m)).toEqual([1, 1])
    expect(
      msgs.map((x) => [x.type, x.to, x.index, x.logTerm, x.commit, x.entries.map((e) => e.index)]),
    ).toEqual([
      ['MsgApp', 2, 1, 1, 1, [2]],
      ['MsgApp', 3, 1, 1, 1, [2]],
    ])
  })

  it('"A log entry is committed once the leader that created the entry has replicated it on a majority of the servers"; followers learn the commit index from later appends', () => {
    const m = member(1, { peers: [1, 2, 3, 4, 5] })
    becomeLeader(m)
    m.node.propose(new TextEncoder().encode('x')) // index 2
    take(m)
    expect(raftOf(m.node).raftLog.committed).toBe(0)
    m.node.step(newMessage({ type: 'MsgAppResp', from: 2, to: 1, term: 1, index: 2 }))
    expect(raftOf(m.node).raftLog.committed).toBe(0) // 2 of 5
    take(m)
    m.node.step(newMessage({ type: 'MsgAppResp', from: 3, to: 1, term: 1, index: 2 }))
    expect(raftOf(m.node).raftLog.committed).toBe(2) // 3 of 5 (with the leader)
    const msgs = take(m)
    expect(m.applied.map((e) => e.index)).toEqual([1, 2])
    // The new commit index goes out to the replicating followers at once; 4 and 5 still have a probe
    // outstanding and learn it when they answer.
    const apps = msgs.filter((x) => x.type === 'MsgApp')
    expect(apps.map((x) => [x.to, x.commit])).toEqual([
      [2, 2],
      [3, 2],
    ])
    m.node.step(newMessage({ type: 'MsgAppResp', from: 4, to: 1, term: 1, index: 2 }))
    expect(take(m).map((x) => [x.type, x.to, x.commit])).toEqual([['MsgApp', 4, 2]])
  })

  it('"When the leader commits an entry, it also commits all preceding entries in its log, including entries created by previous leaders"', () => {
    const m = member(1, { terms: [1, 2, 2], hardState: { term: 2 } })
    becomeLeader(m) // term 3, no-op at 4
    for (const id of [2, 3])
      m.node.step(newMessage({ type: 'MsgAppResp', from: id, to: 1, term: 3, index: 4 }))
    expect(raftOf(m.node).raftLog.committed).toBe(4)
    take(m)
    expect(m.applied.map((e) => `${e.term}/${e.index}`)).toEqual(['1/1', '2/2', '2/3', '3/4'])
  })

  it('"Once a follower learns that a log entry is committed, it applies the entry to its local state machine"', () => {
    const m = member(2)
    m.node.step(
      newMessage({
        type: 'MsgApp',
        from: 1,
        to: 2,
        term: 1,
        index: 0,
        logTerm: 0,
        commit: 1,
        entries: [
          { term: 1, index: 1, type: 'normal', data: new Uint8Array([1]) },
          { term: 1, index: 2, type: 'normal', data: new Uint8Array([2]) },
        ],
      }),
    )
    take(m)
    expect(raftOf(m.node).raftLog.committed).toBe(1)
    expect(m.applied.map((e) => e.index)).toEqual([1])
    m.node.step(newMessage({ type: 'MsgHeartbeat', from: 1, to: 2, term: 1, commit: 2 }))
    take(m)
    expect(m.applied.map((e) => e.index)).toEqual([1, 2])
  })

  describe('"If the follower does not find an entry in its log with the same index and term, then it refuses the new entries"', () => {
    // Follower log: 1/1, 2/2, committed 1. [prev term, prev index, response index, reject, hint]
    const cases: Array<[number, number, number, boolean, number]> = [
      [0, 0, 1, false, 0], // below the commit index: answer with it
      [1, 1, 1, false, 0],
      [2, 2, 2, false, 0],
      [1, 2, 2, true, 1], // mismatching term at 2
      [3, 3, 3, true, 2], // past the end
    ]
    for (const [logTerm, index, wIndex, wReject, wHint] of cases) {
      it(`MsgApp prev ${logTerm}/${index} -> ${wReject ? `reject (hint ${wHint})` : `ack ${wIndex}`}`, () => {
        const m = member(2, { terms: [1, 2], hardState: { term: 2, commit: 1 } })
        m.node.step(newMessage({ type: 'MsgApp', from: 1, to: 2, term: 2, logTerm, index, commit: 1 }))
        const resp = take(m)
        expect(resp.map((x) => [x.type, x.index, x.reject, x.rejectHint])).toEqual([
          ['MsgAppResp', wIndex, wReject, wHint],
        ])
      })
    }
  })

  describe('"If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it; append any new entries not already in the log"', () => {
    const cases: Array<[number, number, Array<[number, number]>, number[]]> = [
      // [prev index, prev term, new entries (index, term), resulting terms]
      [2, 2, [[3, 3]], [1, 2, 3]],
      [
        1,
        1,
        [
          [2, 3],
          [3, 4],
        ],
        [1, 3, 4],
      ],
      [0, 0, [[1, 1]], [1, 2]],
      [0, 0, [[1, 3]], [3]],
    ]
    for (const [index, logTerm, ents, want] of cases) {
      it(`prev ${logTerm}/${index} + ${JSON.stringify(ents)} -> terms ${want.join(',')}`, () => {
        const m = member(2, { terms: [1, 2], hardState: { term: 2 } })
        m.node.step(
          newMessage({
            type: 'MsgApp',
            from: 1,
            to: 2,
            term: 2,
            logTerm,
            index,
            entries: ents.map(([i, t]) => ({
              index: i,
              term: t,
              type: 'normal' as const,
              data: new Uint8Array(),
            })),
          }),
        )
        expect(logTerms(m)).toEqual(want)
        take(m)
        // And the storage agrees once the Ready is handled.
        const s = m.storage
        expect(terms(s.entries(1, s.lastIndex() + 1, Number.POSITIVE_INFINITY) as Entry[])).toEqual(want)
      })
    }
  })

  describe('"the leader forces the followers\' logs to duplicate its own" (Figure 7)', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    }
    for (const [name, flog] of Object.entries(followers)) {
      it(`follower (${name})`, () => {
        const net = new TestNetwork([], classic)
        net.add(
          1,
          storageWithLog({ voters: [1, 2, 3], terms: leaderLog, hardState: { term: 8, commit: 10 } }),
        )
        net.add(2, storageWithLog({ voters: [1, 2, 3], terms: flog, hardState: { term: 7 } }))
        // Member 3 is not on the network; its vote is handed to the leader directly.
        net.node(1).campaign()
        net.node(1).step(newMessage({ type: 'MsgVoteResp', from: 3, to: 1, term: 9 }))
        expect(raftOf(net.node(1)).state).toBe('leader')
        net.stabilize()
        net.propose(1, 'x')
        net.stabilize()
        const want = [...leaderLog, 9, 9]
        expect(logTerms(net.member(1))).toEqual(want)
        expect(logTerms(net.member(2))).toEqual(want)
        expect(raftOf(net.node(2)).raftLog.committed).toBe(12)
      })
    }
  })
})

describe('§5.4 safety', () => {
  describe('"the voter denies its vote if its own log is more up-to-date than that of the candidate" (§5.4.1)', () => {
    // [voter log terms, candidate last log term, candidate last index, rejected]
    const cases: Array<[number[], number, number, boolean]> = [
      [[1], 1, 1, false], // same
      [[1], 1, 2, false], // candidate longer
      [[1, 1], 1, 1, true], // voter longer
      [[1], 2, 1, false], // candidate newer term
      [[1], 2, 2, false],
      [[1, 1], 2, 1, false],
      [[2], 1, 1, true], // voter newer term
      [[2], 1, 2, true],
      [[2, 1], 1, 1, true],
    ]
    for (const [log, logTerm, index, reject] of cases) {
      it(`voter ${JSON.stringify(log)} vs candidate ${logTerm}/${index} -> ${reject ? 'reject' : 'grant'}`, () => {
        const m = member(1, { terms: log, hardState: { term: 2 } })
        m.node.step(newMessage({ type: 'MsgVote', from: 2, to: 1, term: 3, logTerm, index }))
        expect(take(m).map((x) => [x.type, x.reject, x.term])).toEqual([['MsgVoteResp', reject, 3]])
        expect(raftOf(m.node).vote).toBe(reject ? 0 : 2)
        expect(raftOf(m.node).term).toBe(3)
      })
    }
  })

  describe('"Raft never commits log entries from previous terms by counting replicas" (§5.4.2)', () => {
    // Leader log 1/1, 2/2 at term 2; it becomes leader of term 3 and appends 3/3 (its no-op).
    for (const [acked, want] of [
      [1, 0],
      [2, 0],
      [3, 3],
    ] as const) {
      it(`follower acks index ${acked} -> commit ${want}`, () => {
        const m = member(1, { peers: [1, 2], terms: [1, 2], hardState: { term: 2 } })
        becomeLeader(m)
        m.node.step(newMessage({ type: 'MsgAppResp', from: 2, to: 1, term: 3, index: acked }))
        expect(raftOf(m.node).raftLog.committed).toBe(want)
      })
    }

    /** Campaigns `id` (several rounds if needed), delivering vote traffic only: its first appends wait. */
    function winElection(net: TestNetwork, id: NodeId): void {
      const votes = (m: Message): boolean => m.type === 'MsgVote' || m.type === 'MsgVoteResp'
      for (let attempt = 0; attempt < 5 && raftOf(net.node(id)).state !== 'leader'; attempt++) {
        net.node(id).campaign()
        for (let hop = 0; hop < 3; hop++) {
          net.flush()
          net.deliver(votes)
        }
      }
      expect(raftOf(net.node(id)).state).toBe('leader')
    }

    /** Steps (a) and (b) of Figure 8, on five servers whose logs hold the bootstrap entries and 2/6. */
    function figure8ab(): TestNetwork {
      // One entry per MsgApp, so that a leader's no-op can be held back on its own.
      const net = new TestNetwork([1, 2, 3, 4, 5], { ...classic, maxSizePerMsg: 1 })
      net.elect(1) // term 2, no-op 2/6, committed everywhere
      expect(net.node(1).status().commit).toBe(6)
      // (a) S1 replicates 2/7 to S2 only.
      for (const id of [3, 4, 5]) net.cut(1, id)
      net.propose(1, 'x')
      net.stabilize()
      expect(raftOf(net.node(2)).raftLog.term(7)).toBe(2)
      expect(net.node(1).status().commit).toBe(6)
      // (b) S1 crashes. S5 is elected in term 3 by S3, S4 and itself (S2's log is more up to date),
      // appends its no-op 3/7, and crashes before replicating it.
      net.heal()
      net.isolate(1)
      winElection(net, 5)
      expect(net.node(5).status().term).toBe(3)
      expect(raftOf(net.node(5)).raftLog.term(7)).toBe(3)
      net.isolate(5)
      net.stabilize()
      net.member(5).restart()
      // S1 restarts.
      net.heal()
      net.isolate(5)
      net.member(1).restart()
      net.flush()
      return net
    }

    it('the Figure 8 scenario: an old-term entry on a majority is not committed, and is rightly overwritten', () => {
      const net = figure8ab()
      // (c) S1 is elected in term 4 (by S2, S3, S4). It replicates 2/7 to S3 (and S4) — now on a majority
      // — while its own term-4 no-op reaches S2 only: it is lost on the way to anyone else who could
      // append it.
      const holdBack = net.addFilter(
        (m) =>
          m.type === 'MsgApp' &&
          m.to !== 2 &&
          m.entries.some((e) => e.index === 8) &&
          raftOf(net.node(m.to)).raftLog.matchTerm(m.index, m.logTerm),
      )
      winElection(net, 1)
      expect(net.node(1).status().term).toBe(4)
      net.stabilize()
      const lead = net.node(1)
      expect(lead.status().progress.get(3)?.match).toBe(7)
      expect(lead.status().progress.get(2)?.match).toBe(8)
      expect(raftOf(lead).raftLog.term(7)).toBe(2)
      // Index 7 is on S1, S2 and S3, but it is of term 2: not committed.
      for (const id of [1, 2, 3, 4]) expect(net.node(id).status().commit, `S${id}`).toBe(6)

      // (d) S1 crashes. S5 restarts and is elected in term 5 (by S3 and S4, whose logs its 3/7 beats),
      // and overwrites index 7 everywhere: it was right not to commit it.
      holdBack()
      net.heal()
      net.isolate(1)
      winElection(net, 5)
      expect(net.node(5).status().term).toBe(5)
      net.stabilize()
      for (const id of [2, 3, 4, 5]) {
        expect(raftOf(net.node(id)).raftLog.term(7), `S${id}`).toBe(3)
        expect(net.member(id).applied.find((e) => e.index === 7)?.term, `S${id}`).toBe(3)
      }
      // No member ever applied the term-2 entry at index 7.
      for (const m of net.members.values()) {
        expect(m.applied.some((e) => e.index === 7 && e.term === 2)).toBe(false)
      }
    })

    it('the Figure 8 alternative (e): once an entry of the current term is on a majority, the old one commits with it', () => {
      const net = figure8ab()
      // (e) S1 is elected in term 4 and its no-op 4/8 reaches S2 and S3: 8 — and 7 with it — commit.
      net.cut(1, 4)
      winElection(net, 1)
      expect(net.node(1).status().term).toBe(4)
      net.stabilize()
      expect(net.node(1).status().commit).toBe(8)
      expect(net.member(1).applied.find((e) => e.index === 7)?.term).toBe(2)
      // S5 can no longer win: S1, S2 and S3 have a more up-to-date log.
      net.heal()
      net.node(5).campaign()
      net.stabilize()
      expect(raftOf(net.node(5)).state).not.toBe('leader')
      net.tickAndStabilize(50)
      expect(net.leaders().length).toBe(1)
      for (const m of net.members.values()) {
        expect(raftOf(m.node).raftLog.term(7), `S${m.id}`).toBe(2)
        expect(m.applied.find((e) => e.index === 7)?.term, `S${m.id}`).toBe(2)
      }
    })
  })
})
