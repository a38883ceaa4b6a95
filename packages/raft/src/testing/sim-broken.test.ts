import { describe, expect, it } from 'vitest'
import type { RawNode } from '../raw-node.js'
import { raftOf } from '../raw-node.js'
import type { MemoryStorage } from '../storage.js'
import type { HardState, Message } from '../types.js'
import type { ViolationKind } from './sim-checker.js'
import { findViolation, formatRun } from './sim-sweep.js'
import type { SimRunOptions } from './simulation.js'

/**
 * Goal: prove that the simulation's checkers can fail. Method: run the simulation against deliberately
 * broken variants of the core, made purely in the harness by monkeypatching each RawNode the simulation
 * creates (the core has no flags for this), and expect a violation of the right kind within a bounded
 * number of seeds. Seeds are searched from a fixed start, so each test is deterministic.
 */

function broken(patch: (node: RawNode) => void, extra: Omit<SimRunOptions, 'hooks'> = {}): SimRunOptions {
  return { ...extra, hooks: { onNodeCreated: (_id, node) => patch(node) } }
}

/** Grants every vote request: forgets its vote (and its leader, which also skips the lease check). */
function voteTwicePerTerm(node: RawNode): void {
  const raft = raftOf(node)
  const step = raft.step.bind(raft)
  raft.step = (m: Message) => {
    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
      raft.vote = 0
      raft.lead = 0
    }
    return step(m)
  }
}

/** Counts everything in the leader's log as replicated on a quorum. */
function commitWithoutQuorum(node: RawNode): void {
  const raft = raftOf(node)
  raft.trk.committed = () => raft.raftLog.lastIndex()
}

/** Answers ReadIndex requests at once, without confirming leadership with a heartbeat quorum. */
function readWithoutQuorum(node: RawNode): void {
  raftOf(node).trk.isSingleton = () => true
}

/** A disk that loses the vote of every hard state it persists (a member forgets its vote on restart). */
function forgetVoteOnRestart(node: RawNode): void {
  const storage = raftOf(node).raftLog.storage as MemoryStorage
  const setHardState = storage.setHardState.bind(storage)
  storage.setHardState = (hs: HardState) => setHardState({ ...hs, vote: 0 })
}

function expectViolation(
  kinds: readonly ViolationKind[],
  seedsMax: number,
  run: SimRunOptions,
): ViolationKind | undefined {
  const { found, seedsRun, otherKinds } = findViolation(kinds, 1, seedsMax, run)
  const others = [...otherKinds].map(([k, n]) => `${k}: ${n}`).join(', ')
  expect(found, `no ${kinds.join('/')} violation in ${seedsRun} seeds (outcomes: ${others})`).toBeDefined()
  console.log(`found after ${seedsRun} seeds (other outcomes: ${others || 'none'}):\n${formatRun(found!)}`)
  return found?.violation?.kind
}

describe('simulation checkers catch broken variants of the core', () => {
  it('two votes per term: election safety', () => {
    expect(expectViolation(['electionSafety'], 50, broken(voteTwicePerTerm))).toBe('electionSafety')
  })

  it('commit without a quorum: a new leader lacks a committed entry (leader completeness)', () => {
    // Usually the first checker to notice: the entry is gone from the next leader's log before anyone
    // applies a conflicting one.
    const kinds: ViolationKind[] = ['leaderCompleteness', 'stateMachineSafety', 'durability']
    expect(kinds).toContain(expectViolation(kinds, 20, broken(commitWithoutQuorum)))
  })

  it('commit without a quorum: members apply different entries (state machine safety or durability)', () => {
    // The same bug with the leader completeness checker muted, to show the next line of defence holds.
    const run = broken(commitWithoutQuorum, { disabledChecks: ['leaderCompleteness'] })
    const kinds: ViolationKind[] = ['stateMachineSafety', 'durability']
    expect(kinds).toContain(expectViolation(kinds, 20, run))
  })

  it('reads without a heartbeat quorum: a deposed leader serves a stale read (linearizability)', () => {
    // Needs a stale leader while the other side commits: no CheckQuorum (it never steps down by itself),
    // frequent and long-lived partitions, many reads.
    const run = broken(readWithoutQuorum, {
      overrides: { checkQuorum: false, partitionRate: 0.05, healRate: 0.03, readRate: 0.5 },
    })
    expect(expectViolation(['linearizability'], 60, run)).toBe('linearizability')
  })

  it('a disk that loses the vote: a restarted member votes twice in a term (election safety)', () => {
    // Needs a crash right after voting and a second candidate in the same term: crash-heavy, lossy
    // (elections keep failing), no PreVote (so candidates do bump terms), three members.
    const run = broken(forgetVoteOnRestart, {
      overrides: {
        clusterSize: 3,
        preVote: false,
        crashRate: 0.2,
        crashInReadyRate: 0.02,
        restartRate: 0.5,
        maxDown: 1,
        dropRate: 0.2,
      },
    })
    expect(expectViolation(['electionSafety'], 100, run)).toBe('electionSafety')
  })
})
