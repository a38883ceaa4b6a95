import type { NextConfig } from './confchange.js'
import { Progress } from './progress.js'
import { committedIndex, type VoteResult, voteResult } from './quorum.js'
import type { ConfState, NodeId } from './types.js'

/**
 * The current configuration (voters and learners) with the leader's per-member progress and the votes
 * of the current election.
 *
 * Invariant: `progress` has exactly one entry per member of `voters ∪ learners`; voters and learners
 * are disjoint.
 */
export class ProgressTracker {
  voters = new Set<NodeId>()
  learners = new Set<NodeId>()
  progress = new Map<NodeId, Progress>()
  votes = new Map<NodeId, boolean>()

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  newProgress(
    match: number,
    next: number,
    isLearner: boolean,
    recentActive = false,
    lastActiveTick = 0,
  ): Progress {
    return new Progress({
      match,
      next,
      maxInflight: this.maxInflight,
      maxInflightBytes: this.maxInflightBytes,
      isLearner,
      recentActive,
      lastActiveTick,
    })
  }

  /** Switches to a configuration computed by `changeConfig` or `configFromConfState` (taking it over). */
  switchTo(cfg: NextConfig): void {
    this.voters = cfg.voters
    this.learners = cfg.learners
    this.progress = cfg.progress
    this.configChanged()
  }

  confState(): ConfState {
    return {
      voters: [...this.voters].sort((a, b) => a - b),
      learners: [...this.learners].sort((a, b) => a - b),
    }
  }

  isSingleton(): boolean {
    return this.voters.size === 1
  }

  /** The highest index matched by a quorum of voters. */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match)
  }

  /**
   * Whether a quorum of voters was heard from at or after `sinceTick` (CheckQuorum). `self` (the leader)
   * always counts as active.
   */
  quorumActiveSince(sinceTick: number, self: NodeId): boolean {
    const votes = new Map<NodeId, boolean>()
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) votes.set(id, id === self || pr.lastActiveTick >= sinceTick)
    }
    return voteResult(this.voters, votes) === 'won'
  }

  private voterOrder: NodeId[] = []
  private memberOrder: NodeId[] = []

  /** Must be called after `voters`, `learners` or `progress` change: refreshes the cached orders. */
  configChanged(): void {
    this.voterOrder = [...this.voters].sort((a, b) => a - b)
    this.memberOrder = [...this.progress.keys()].sort((a, b) => a - b)
  }

  /** Voter ids in ascending order (deterministic iteration, hence deterministic message order). */
  voterNodes(): readonly NodeId[] {
    return this.voterOrder
  }

  /** All member ids (voters and learners) in ascending order. */
  memberNodes(): readonly NodeId[] {
    return this.memberOrder
  }

  resetVotes(): void {
    this.votes = new Map()
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted)
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0
    let rejected = 0
    for (const id of this.voters) {
      const v = this.votes.get(id)
      if (v === true) granted++
      else if (v === false) rejected++
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) }
  }
}
