import { describe, expect, it } from 'vitest'
import { ProgressTracker } from './progress-tracker.js'

function tracker(voters: number[], learners: number[] = []): ProgressTracker {
  const t = new ProgressTracker(4, 0)
  for (const id of voters) {
    t.voters.add(id)
    t.progress.set(id, t.newProgress(0, 1, false))
  }
  for (const id of learners) {
    t.learners.add(id)
    t.progress.set(id, t.newProgress(0, 1, true))
  }
  t.configChanged()
  return t
}

describe('ProgressTracker', () => {
  it('commits what a quorum of voters matched; learners do not count', () => {
    const t = tracker([1, 2, 3], [4, 5])
    const set = (id: number, match: number) => {
      t.progress.get(id)!.match = match
    }
    set(1, 10)
    set(4, 10)
    set(5, 10)
    expect(t.committed()).toBe(0)
    set(2, 7)
    expect(t.committed()).toBe(7)
    set(3, 9)
    expect(t.committed()).toBe(9)
  })

  it('quorumActiveSince counts voters heard from at or after the tick, the leader always, learners never', () => {
    const t = tracker([1, 2, 3], [4])
    for (const pr of t.progress.values()) pr.lastActiveTick = 0
    t.progress.get(4)!.lastActiveTick = 20 // a learner's activity does not count
    expect(t.quorumActiveSince(10, 1)).toBe(false)
    t.progress.get(3)!.lastActiveTick = 10
    expect(t.quorumActiveSince(10, 1)).toBe(true)
    expect(t.quorumActiveSince(11, 1)).toBe(false)
    // Without the leader's own vote, two active voters are still needed.
    expect(t.quorumActiveSince(10, 9)).toBe(false)
  })

  it('records the first vote of each member and tallies voters only', () => {
    const t = tracker([1, 2, 3, 4, 5], [6])
    t.recordVote(1, true)
    t.recordVote(2, false)
    t.recordVote(2, true) // a second answer does not change the first
    t.recordVote(6, true)
    expect(t.tallyVotes()).toEqual({ granted: 1, rejected: 1, result: 'pending' })
    t.recordVote(3, true)
    t.recordVote(4, true)
    expect(t.tallyVotes()).toEqual({ granted: 3, rejected: 1, result: 'won' })
    t.resetVotes()
    expect(t.tallyVotes()).toEqual({ granted: 0, rejected: 0, result: 'pending' })
  })

  it('lists members in ascending order', () => {
    const t = tracker([5, 1, 3], [4, 2])
    expect(t.voterNodes()).toEqual([1, 3, 5])
    expect(t.memberNodes()).toEqual([1, 2, 3, 4, 5])
    expect(t.confState()).toEqual({ voters: [1, 3, 5], learners: [2, 4] })
    expect(t.isSingleton()).toBe(false)
    expect(tracker([7]).isSingleton()).toBe(true)
  })
})
