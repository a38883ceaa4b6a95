import { describe, expect, it } from 'vitest'
import { RaftError, RaftErrorCode } from './errors.js'
import { SeededRandom } from './rand.js'
import type { Ready } from './raw-node.js'
import { raftOf } from './raw-node.js'
import { MemoryStorage } from './storage.js'
import { appliedData, newTestRawNode, TestNetwork } from './testing/network.js'
import type { Message, MessageType } from './types.js'
import { newMessage } from './types.js'

const enc = new TextEncoder()

/** A bootstrapped single-voter node that has handled its bootstrap Readies. */
function singleVoter(): { node: ReturnType<typeof newTestRawNode>; storage: MemoryStorage } {
  const storage = new MemoryStorage()
  const node = newTestRawNode(1, storage)
  node.bootstrap([1])
  handle(node, storage)
  return { node, storage }
}

/** Handles every pending Ready of `node` against `storage`; returns them. */
function handle(node: ReturnType<typeof newTestRawNode>, storage: MemoryStorage): Ready[] {
  const out: Ready[] = []
  while (node.hasReady()) {
    const rd = node.ready()
    if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot)
    storage.append(rd.entries)
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState)
    node.advance()
    out.push(rd)
  }
  return out
}

describe('RawNode: the Ready/advance cycle', () => {
  it('a fresh, empty node has nothing to do', () => {
    const node = newTestRawNode(1, new MemoryStorage())
    expect(node.hasReady()).toBe(false)
  })

  it('ready() twice without advance() is an error, as is advance() without ready()', () => {
    const node = newTestRawNode(1, new MemoryStorage())
    expect(() => node.advance()).toThrow(/without an outstanding Ready/)
    node.bootstrap([1])
    node.ready()
    expect(node.hasOutstandingReady()).toBe(true)
    expect(node.hasReady()).toBe(false)
    expect(() => node.ready()).toThrow(/called again before advance/)
    node.advance()
    expect(node.hasOutstandingReady()).toBe(false)
    expect(() => node.advance()).toThrow(/without an outstanding Ready/)
  })

  it('inputs fed between ready() and advance() come out in the next Ready', () => {
    const { node, storage } = singleVoter()
    node.campaign()
    handle(node, storage)
    const rd = node.ready()
    expect(rd.entries).toEqual([])
    expect(node.propose(enc.encode('x'))).toBeUndefined()
    expect(node.hasReady()).toBe(false) // outstanding
    storage.append(rd.entries)
    node.advance()
    expect(node.hasReady()).toBe(true)
    const next = node.ready()
    expect(next.entries.map((e) => new TextDecoder().decode(e.data))).toEqual(['x'])
  })

  it('bootstrap: entries and hard state first, committed entries only once they are stable', () => {
    const storage = new MemoryStorage()
    const node = newTestRawNode(1, storage)
    node.bootstrap([1, 2, 3])
    const rd1 = node.ready()
    expect(rd1.entries.map((e) => [e.index, e.term, e.type])).toEqual([
      [1, 1, 'confChange'],
      [2, 1, 'confChange'],
      [3, 1, 'confChange'],
    ])
    expect(rd1.hardState).toEqual({ term: 1, vote: 0, commit: 3 })
    expect(rd1.mustSync).toBe(true)
    expect(rd1.committedEntries).toEqual([])
    storage.append(rd1.entries)
    storage.setHardState(rd1.hardState!)
    node.advance()
    const rd2 = node.ready()
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([1, 2, 3])
    expect(rd2.hardState).toBeUndefined()
    expect(rd2.mustSync).toBe(false)
    node.advance()
    expect(node.status().applied).toBe(3)
  })

  it('bootstrap is refused twice, on a non-empty storage, without peers, and with duplicates', () => {
    const storage = new MemoryStorage()
    const node = newTestRawNode(1, storage)
    expect(() => node.bootstrap([])).toThrow(/at least one peer/)
    expect(() => node.bootstrap([1, 2, 2])).toThrow(/duplicate/)
    node.bootstrap([1, 2])
    expect(() => node.bootstrap([1, 2])).toThrow(/nonempty storage/)
    handle(node, storage)
    const again = newTestRawNode(1, storage)
    expect(() => again.bootstrap([1, 2])).toThrow(/nonempty storage/)
  })

  it('refuses to step local messages', () => {
    const { node } = singleVoter()
    const local: MessageType[] = ['MsgHup', 'MsgBeat', 'MsgUnreachable', 'MsgSnapStatus', 'MsgCheckQuorum']
    for (const type of local) {
      const err = node.step(newMessage({ type, from: 1, to: 1 }))
      expect(err, type).toBeInstanceOf(RaftError)
      expect(err?.code, type).toBe(RaftErrorCode.StepLocalMsg)
    }
    expect(node.status().raftState).toBe('follower') // the MsgHup was not acted upon
  })

  it('refuses responses from peers outside the configuration, accepts requests', () => {
    const { node } = singleVoter()
    const responses: MessageType[] = ['MsgAppResp', 'MsgVoteResp', 'MsgHeartbeatResp', 'MsgPreVoteResp']
    for (const type of responses) {
      const err = node.step(newMessage({ type, from: 9, to: 1, term: 1 }))
      expect(err?.code, type).toBe(RaftErrorCode.StepPeerNotFound)
    }
    // A request from an unknown node is processed (a new leader may not be in our config yet).
    expect(node.step(newMessage({ type: 'MsgHeartbeat', from: 9, to: 1, term: 5 }))).toBeUndefined()
    expect(node.status().term).toBe(5)
    expect(node.status().lead).toBe(9)
  })

  it('mustSync is set by a term or vote change and by entries, not by a commit change alone', () => {
    const net = new TestNetwork([1, 2])
    const readies: Ready[] = []
    net.member(2).onReady = (rd) => readies.push(rd)
    net.elect(1)
    // Member 2's vote: a term and vote change.
    const vote = readies.find((rd) => rd.hardState?.vote === 1)
    expect(vote?.mustSync).toBe(true)
    readies.length = 0
    net.propose(1, 'a')
    net.stabilize()
    const withEntries = readies.filter((rd) => rd.entries.length > 0)
    expect(withEntries.length).toBeGreaterThan(0)
    expect(withEntries.every((rd) => rd.mustSync)).toBe(true)
    const commitOnly = readies.filter((rd) => rd.entries.length === 0 && rd.hardState !== undefined)
    expect(commitOnly.length).toBeGreaterThan(0)
    expect(commitOnly.every((rd) => !rd.mustSync)).toBe(true)
  })

  it('reports soft state changes once', () => {
    const net = new TestNetwork([1, 2, 3])
    const soft: unknown[] = []
    net.member(1).onReady = (rd) => {
      if (rd.softState !== undefined) soft.push(rd.softState)
    }
    net.elect(1)
    net.tickAndStabilize(3)
    expect(soft).toEqual([
      { lead: 0, raftState: 'preCandidate' },
      { lead: 0, raftState: 'candidate' },
      { lead: 1, raftState: 'leader' },
    ])
  })

  it('status() and basicStatus() show term, commit, leader; only status() carries the progress', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    net.propose(1, 'x')
    net.stabilize()
    const { progress, ...basic } = net.node(1).status()
    expect(net.node(1).basicStatus()).toEqual(basic)
    expect(basic).toMatchObject({ id: 1, lead: 1, raftState: 'leader', isLearner: false })
    expect(basic.term).toBe(raftOf(net.node(1)).term)
    expect(basic.commit).toBe(raftOf(net.node(1)).raftLog.committed)
    expect([...progress.keys()]).toEqual([1, 2, 3])
    expect(progress.get(2)?.match).toBe(basic.commit)
    // A follower knows its leader but tracks nobody's progress.
    expect(net.node(2).status().progress.size).toBe(0)
    expect(net.node(2).basicStatus()).toMatchObject({
      id: 2,
      lead: 1,
      raftState: 'follower',
      commit: basic.commit,
    })
  })
})

describe('RawNode: restart from storage', () => {
  it('recovers term, vote and commit, and re-applies committed entries after the snapshot', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    for (let i = 0; i < 6; i++) net.propose(1, `v${i}`)
    net.stabilize()
    const m2 = net.member(2)
    const before = m2.node.status()
    expect(appliedData(m2.applied)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5'])
    // Snapshot at v2 (bootstrap 1..3, leader no-op 4, v0 = 5, v1 = 6, v2 = 7).
    m2.compact(7)
    m2.restart()
    const after = m2.node.status()
    expect([after.term, after.vote, after.commit]).toEqual([before.term, before.vote, before.commit])
    expect(after.applied).toBe(7)
    expect(after.raftState).toBe('follower')
    expect(after.lead).toBe(0)
    // The configuration comes from the snapshot; the entries after it are applied again.
    expect(raftOf(m2.node).trk.confState()).toEqual({ voters: [1, 2, 3], learners: [] })
    net.flush([2])
    expect(m2.applied.map((e) => e.index)).toEqual([8, 9, 10])
    expect(appliedData(m2.applied)).toEqual(['v3', 'v4', 'v5'])
    // It rejoins the cluster.
    net.propose(1, 'after')
    net.stabilize()
    expect(appliedData(m2.applied)).toEqual(['v3', 'v4', 'v5', 'after'])
  })

  it('re-applies nothing up to Config.applied', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    for (let i = 0; i < 4; i++) net.propose(1, `v${i}`)
    net.stabilize()
    const storage = net.member(3).storage
    const node = newTestRawNode(3, storage, { applied: 6 })
    expect(node.status().applied).toBe(6)
    const rd = node.ready()
    expect(rd.committedEntries.map((e) => e.index)).toEqual([7, 8])
  })

  it('restarts without a snapshot: the bootstrap conf changes are applied again', () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const m3 = net.member(3)
    m3.restart()
    // Before re-applying, the member knows no configuration and cannot campaign.
    expect(raftOf(m3.node).promotable()).toBe(false)
    net.flush([3])
    expect(m3.confState).toEqual({ voters: [1, 2, 3], learners: [] })
    expect(raftOf(m3.node).promotable()).toBe(true)
  })
})

describe('Ready contract: persistence precedes the messages that vouch for it', () => {
  /**
   * Checks, for every message of a Ready at the moment the member's storage holds that Ready's writes,
   * that what the message vouches for is on disk.
   */
  function attachChecker(net: TestNetwork, violations: string[]): void {
    for (const [id, m] of net.members) {
      m.onPersisted = (rd) => {
        const hs = m.storage.hardStateNow()
        for (const msg of rd.messages) check(id, m.storage, hs, msg, raftOf(m.node).raftLog.term(msg.index))
      }
    }
    function check(
      id: number,
      storage: MemoryStorage,
      hs: { term: number; vote: number },
      msg: Message,
      logTerm: number | RaftError,
    ): void {
      const where = `${id}: ${msg.type} to ${msg.to} term ${msg.term} index ${msg.index}`
      if (msg.type !== 'MsgPreVote' && msg.type !== 'MsgPreVoteResp' && msg.term > hs.term) {
        violations.push(`${where}: term not persisted (${hs.term})`)
      }
      if (msg.type === 'MsgVoteResp' && !msg.reject && (hs.term !== msg.term || hs.vote !== msg.to)) {
        violations.push(`${where}: vote not persisted (${hs.term}/${hs.vote})`)
      }
      if (msg.type === 'MsgVote' && (hs.term !== msg.term || hs.vote !== id)) {
        violations.push(`${where}: own vote not persisted`)
      }
      if (msg.type === 'MsgAppResp' && !msg.reject) {
        const stored = storage.term(msg.index)
        if (storage.lastIndex() < msg.index || (typeof stored === 'number' && stored !== logTerm)) {
          violations.push(`${where}: acknowledged entries not persisted (last ${storage.lastIndex()})`)
        }
      }
    }
  }

  it('holds through elections, replication and partitions (seeded random schedule)', () => {
    let elections = 0
    for (const seed of [1, 2, 3]) {
      const rnd = new SeededRandom(seed)
      const net = new TestNetwork([1, 2, 3, 4, 5], { seed })
      const violations: string[] = []
      attachChecker(net, violations)
      const leadersByTerm = new Map<number, number>()
      let proposals = 0
      for (let step = 0; step < 600; step++) {
        const id = rnd.between(1, 5)
        const r = rnd.intn(100)
        if (r < 40) for (const mid of net.members.keys()) net.tick(mid)
        else if (r < 60) net.propose(id, `p${proposals++}`)
        else if (r < 63) net.isolate(id)
        else if (r < 65) net.heal()
        else if (r < 67) net.cut(id, rnd.between(1, 5))
        net.flush()
        if (rnd.chance(0.7)) net.deliver()
        for (const [mid, m] of net.members) {
          const st = m.node.status()
          if (st.raftState !== 'leader') continue
          const prev = leadersByTerm.get(st.term)
          expect(prev === undefined || prev === mid, `two leaders in term ${st.term}`).toBe(true)
          leadersByTerm.set(st.term, mid)
        }
      }
      net.heal()
      net.tickAndStabilize(40)
      expect(violations).toEqual([])
      elections += leadersByTerm.size
      // State machine safety: every member applied a prefix of the same sequence.
      const logs = [...net.members.values()].map((m) => m.applied.map((e) => `${e.term}/${e.index}`))
      const longest = logs.reduce((a, b) => (a.length >= b.length ? a : b))
      for (const l of logs) expect(longest.slice(0, l.length)).toEqual(l)
      expect(longest.length).toBeGreaterThan(20)
    }
    expect(elections).toBeGreaterThan(5) // the schedules did cause leadership changes
  })

  it('a single voter hands out a proposal for applying only in a Ready after the one that persists it (etcd #14370)', () => {
    const { node, storage } = singleVoter()
    node.campaign()
    handle(node, storage)
    expect(node.status().raftState).toBe('leader')
    const index = raftOf(node).raftLog.lastIndex() + 1
    node.propose(enc.encode('x'))
    const rd1 = node.ready()
    expect(rd1.entries.map((e) => e.index)).toEqual([index])
    expect(rd1.committedEntries.map((e) => e.index)).not.toContain(index)
    expect(node.status().commit).toBe(index - 1)
    storage.append(rd1.entries)
    node.advance()
    // Only now, with the entry on disk, does the leader's own acknowledgement commit it.
    expect(node.status().commit).toBe(index)
    const rd2 = node.ready()
    expect(rd2.entries).toEqual([])
    expect(rd2.hardState?.commit).toBe(index)
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([index])
    node.advance()
  })

  it("the leader's own match advances only after advance()", () => {
    const net = new TestNetwork([1, 2, 3])
    net.elect(1)
    const leader = net.node(1)
    const last = raftOf(leader).raftLog.lastIndex()
    expect(leader.status().progress.get(1)?.match).toBe(last)
    net.propose(1, 'x')
    expect(leader.status().progress.get(1)?.match).toBe(last)
    const rd = leader.ready()
    expect(rd.entries.map((e) => e.index)).toEqual([last + 1])
    // Even if both followers acknowledge before the leader's own write completes, the leader does not
    // count itself (the entry commits on the followers' acknowledgements alone).
    expect(leader.status().progress.get(1)?.match).toBe(last)
    net.member(1).storage.append(rd.entries)
    leader.advance()
    expect(leader.status().progress.get(1)?.match).toBe(last + 1)
  })

  it('a leader with one follower commits only once its own write and the follower ack are both in', () => {
    const net = new TestNetwork([1, 2])
    net.elect(1)
    const leader = net.node(1)
    const commit0 = leader.status().commit
    net.propose(1, 'x')
    const rd = leader.ready()
    // Deliver the append and take the follower's ack back before the leader persisted.
    for (const m of rd.messages) net.inflight.push(m)
    net.deliver()
    net.flush([2])
    net.deliver()
    expect(leader.status().progress.get(2)?.match).toBe(commit0 + 1)
    expect(leader.status().commit).toBe(commit0) // 1 of 2 is not a quorum
    net.member(1).storage.append(rd.entries)
    leader.advance()
    expect(leader.status().commit).toBe(commit0 + 1)
  })
})
