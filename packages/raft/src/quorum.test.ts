import { describe, expect, it } from 'vitest'
import { committedIndex, quorumSize, voteResult } from './quorum.js'
import { SeededRandom } from './rand.js'
import type { NodeId } from './types.js'

const set = (...ids: NodeId[]): Set<NodeId> => new Set(ids)

describe('quorumSize', () => {
  it('is floor(N/2)+1', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4])
  })
})

describe('committedIndex', () => {
  const matches =
    (m: Record<number, number>) =>
    (id: NodeId): number | undefined =>
      m[id]

  it('an empty configuration commits everything', () => {
    expect(committedIndex(set(), () => 0)).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('a single voter commits what it matched', () => {
    expect(committedIndex(set(1), matches({ 1: 7 }))).toBe(7)
    expect(committedIndex(set(1), matches({}))).toBe(0)
  })

  it('is the highest index a majority matched', () => {
    expect(committedIndex(set(1, 2, 3), matches({ 1: 5, 2: 3, 3: 1 }))).toBe(3)
    expect(committedIndex(set(1, 2, 3), matches({ 1: 5, 2: 5, 3: 1 }))).toBe(5)
    // Four voters need three: the third highest match.
    expect(committedIndex(set(1, 2, 3, 4), matches({ 1: 9, 2: 8, 3: 2, 4: 1 }))).toBe(2)
    expect(committedIndex(set(1, 2, 3, 4), matches({ 1: 9, 2: 8, 3: 7, 4: 1 }))).toBe(7)
    expect(committedIndex(set(1, 2, 3, 4, 5), matches({ 1: 9, 2: 8, 3: 7, 4: 1, 5: 0 }))).toBe(7)
  })

  it('counts a voter without progress as having matched nothing', () => {
    expect(committedIndex(set(1, 2, 3), matches({ 1: 5, 2: 5 }))).toBe(5)
    expect(committedIndex(set(1, 2, 3), matches({ 1: 5 }))).toBe(0)
  })

  it('ignores progress of non-voters', () => {
    expect(committedIndex(set(1, 2, 3), matches({ 1: 5, 4: 5, 5: 5 }))).toBe(0)
  })
})

describe('voteResult', () => {
  const votes = (v: Record<number, boolean>): Map<NodeId, boolean> =>
    new Map(Object.entries(v).map(([k, b]) => [Number(k), b]))

  it('an empty configuration always wins', () => {
    expect(voteResult(set(), votes({}))).toBe('won')
  })

  it('wins with a majority of grants, loses once a majority is out of reach', () => {
    const v3 = set(1, 2, 3)
    expect(voteResult(v3, votes({}))).toBe('pending')
    expect(voteResult(v3, votes({ 1: true }))).toBe('pending')
    expect(voteResult(v3, votes({ 1: true, 2: true }))).toBe('won')
    expect(voteResult(v3, votes({ 1: true, 2: false }))).toBe('pending')
    expect(voteResult(v3, votes({ 1: true, 2: false, 3: false }))).toBe('lost')
    expect(voteResult(v3, votes({ 2: false, 3: false }))).toBe('lost')
  })

  it('needs 3 of 4 voters', () => {
    const v4 = set(1, 2, 3, 4)
    expect(voteResult(v4, votes({ 1: true, 2: true }))).toBe('pending')
    expect(voteResult(v4, votes({ 1: true, 2: true, 3: false }))).toBe('pending')
    expect(voteResult(v4, votes({ 1: true, 2: true, 3: false, 4: false }))).toBe('lost')
    expect(voteResult(v4, votes({ 1: true, 2: true, 4: true }))).toBe('won')
  })

  it('ignores votes of non-voters', () => {
    expect(voteResult(set(1, 2, 3), votes({ 1: true, 7: true, 8: true }))).toBe('pending')
  })
})

// Property tests against deliberately naive reference implementations (etcd's quorum/quick_test.go).
describe('quorum math against a naive reference', () => {
  /** The largest index i such that at least a majority of voters matched >= i. */
  function naiveCommitted(voters: NodeId[], match: Map<NodeId, number>): number {
    if (voters.length === 0) return Number.MAX_SAFE_INTEGER
    let best = 0
    const candidates = new Set([0, ...voters.map((v) => match.get(v) ?? 0)])
    for (const i of candidates) {
      const n = voters.filter((v) => (match.get(v) ?? 0) >= i).length
      if (n * 2 > voters.length && i > best) best = i
    }
    return best
  }

  function naiveVote(voters: NodeId[], votes: Map<NodeId, boolean>): 'won' | 'lost' | 'pending' {
    if (voters.length === 0) return 'won'
    const yes = voters.filter((v) => votes.get(v) === true).length
    const no = voters.filter((v) => votes.get(v) === false).length
    if (yes * 2 > voters.length) return 'won'
    if (no * 2 >= voters.length) return 'lost'
    return 'pending'
  }

  it('committedIndex and voteResult agree with the reference on random inputs', () => {
    const rnd = new SeededRandom(20240601)
    for (let iter = 0; iter < 2000; iter++) {
      const n = rnd.intn(8)
      const voters = Array.from({ length: n }, (_, i) => i + 1)
      const match = new Map<NodeId, number>()
      const votes = new Map<NodeId, boolean>()
      // Include a few non-voters, whose state must not matter.
      for (let id = 1; id <= n + 2; id++) {
        if (rnd.chance(0.8)) match.set(id, rnd.intn(20))
        const r = rnd.intn(3)
        if (r === 1) votes.set(id, true)
        else if (r === 2) votes.set(id, false)
      }
      const vs = new Set(voters)
      expect(
        committedIndex(vs, (id) => match.get(id)),
        `iter ${iter}`,
      ).toBe(naiveCommitted(voters, match))
      expect(voteResult(vs, votes), `iter ${iter}`).toBe(naiveVote(voters, votes))
    }
  })
})
