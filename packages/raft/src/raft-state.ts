import { type RaftConfig, type ResolvedRaftConfig, resolveConfig } from './config.js'
import type { RaftError } from './errors.js'
import type { RaftLogger } from './logger.js'
import { ProgressTracker } from './progress-tracker.js'
import { RaftLog } from './raft-log.js'
import type { RandomSource } from './rand.js'
import { ReadOnly } from './read-only.js'
import type { Entry, HardState, Message, NodeId, RaftStateType, ReadState, SoftState } from './types.js'
import { NONE } from './types.js'

/**
 * The state of a Raft node and the bookkeeping every role shares: sending, the commit index, the
 * uncommitted-size budget, resetting on a new term. The protocol is layered on top, one concern per file
 * (each class extends the previous one):
 *
 *   RaftState (raft-state.ts) → RaftReplication (raft-replication.ts) → RaftReadIndex (raft-read-index.ts)
 *   → RaftMembership (raft-membership.ts) → RaftElection (raft-election.ts) → Raft (raft.ts: step and the
 *   per-role step functions)
 *
 * A layer reaches a later one only through abstract methods (`step` and `becomeFollower` here, two more in
 * RaftReplication), so the files import each other in one direction. None of it is exported from
 * index.ts: members are public or protected only for the other layers, RawNode and the package's tests.
 */

export function payloadSize(ents: readonly Entry[]): number {
  let s = 0
  for (const e of ents) s += e.data.length
  return s
}

/** A node's state without the leader's per-member progress (`RawNode.basicStatus()`, etcd's BasicStatus). */
export interface BasicStatus {
  id: NodeId
  term: number
  vote: NodeId
  commit: number
  lead: NodeId
  raftState: RaftStateType
  applied: number
  leadTransferee: NodeId
  isLearner: boolean
}

/** Observability snapshot of one node (`RawNode.status()`). */
export interface RaftStatus extends BasicStatus {
  id: NodeId
  term: number
  vote: NodeId
  commit: number
  lead: NodeId
  raftState: RaftStateType
  applied: number
  leadTransferee: NodeId
  isLearner: boolean
  /** Leader only: each member's replication progress. */
  progress: Map<
    NodeId,
    { match: number; next: number; state: string; recentActive: boolean; isLearner: boolean }
  >
}

/** See the layering above; `Raft` (raft.ts) is the class to instantiate. */
export abstract class RaftState {
  readonly id: NodeId
  term = 0
  vote: NodeId = NONE
  readStates: ReadState[] = []
  readonly raftLog: RaftLog
  readonly trk: ProgressTracker
  state: RaftStateType = 'follower'
  /** This node is a learner in the current configuration (never campaigns, never votes counted). */
  isLearner = false
  /** Messages to send once the current Ready's entries and hard state are persisted. */
  msgs: Message[] = []
  lead: NodeId = NONE
  /** Non-zero while a leadership transfer to that node is in progress. */
  leadTransferee: NodeId = NONE
  /**
   * Index of the latest conf change entry in the log; a new one may be proposed only once this is
   * applied (one membership change at a time). Set to the last index on becoming leader, which also
   * keeps a new leader from changing membership before committing an entry of its term.
   */
  pendingConfIndex = 0
  /** Payload bytes appended by this leader and not yet committed (bounded by maxUncommittedEntriesSize). */
  uncommittedSize = 0
  /** ReadIndex requests awaiting a heartbeat quorum; reset with every term or role change. */
  readOnly = new ReadOnly()
  /** ReadIndex requests received before this leader committed an entry of its own term. */
  protected pendingReadIndexMessages: Message[] = []

  /** Followers and candidates: ticks since the last valid leader message or election start.
   * Leaders: ticks since the last CheckQuorum round. */
  electionElapsed = 0
  heartbeatElapsed = 0
  /** Ticks counted since this node started: the leader's local clock for CheckQuorum. */
  ticks = 0
  randomizedElectionTimeout = 0

  readonly checkQuorum: boolean
  readonly preVote: boolean
  readonly heartbeatTimeout: number
  readonly electionTimeout: number
  readonly maxMsgSize: number
  readonly maxUncommittedSize: number
  readonly disableProposalForwarding: boolean
  readonly stepDownOnRemoval: boolean
  protected readonly rand: RandomSource
  readonly logger: RaftLogger

  constructor(config: RaftConfig) {
    const c: ResolvedRaftConfig = resolveConfig(config)
    this.id = c.id
    this.logger = c.logger
    this.rand = c.random
    this.raftLog = new RaftLog(c.storage, c.logger, c.maxCommittedSizePerReady)
    this.trk = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes)
    this.checkQuorum = c.checkQuorum
    this.preVote = c.preVote
    this.heartbeatTimeout = c.heartbeatTick
    this.electionTimeout = c.electionTick
    this.maxMsgSize = c.maxSizePerMsg
    this.maxUncommittedSize = c.maxUncommittedEntriesSize
    this.disableProposalForwarding = c.disableProposalForwarding
    this.stepDownOnRemoval = c.stepDownOnRemoval
  }

  /** Processes one message (raft.ts). */
  abstract step(m: Message): RaftError | undefined
  /** Role transition (raft-election.ts). */
  abstract becomeFollower(term: number, lead: NodeId): void

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state }
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed }
  }

  protected loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new Error(
        `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      )
    }
    this.raftLog.committed = hs.commit
    this.term = hs.term
    this.vote = hs.vote
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  /** Queues a message. Non-vote messages are stamped with the current term, except forwarded
   * proposals and read requests, which act like local messages at the leader (term 0). */
  protected send(m: Message): void {
    if (m.from === NONE) m.from = this.id
    if (
      m.type === 'MsgVote' ||
      m.type === 'MsgVoteResp' ||
      m.type === 'MsgPreVote' ||
      m.type === 'MsgPreVoteResp'
    ) {
      // Vote messages carry the term of the election they belong to, set by the caller.
      if (m.term === 0) throw new Error(`term should be set when sending ${m.type}`)
    } else {
      if (m.term !== 0) throw new Error(`term should not be set when sending ${m.type} (was ${m.term})`)
      if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') m.term = this.term
    }
    this.msgs.push(m)
  }

  // ---------------------------------------------------------------------------------------------
  // Commit and log

  /** Advances the commit index to what a quorum matched, if that entry is of this term (Raft §5.4.2). */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term)
  }

  protected reset(term: number): void {
    if (this.term !== term) {
      this.term = term
      this.vote = NONE
    }
    this.lead = NONE
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    this.resetRandomizedElectionTimeout()
    this.abortLeaderTransfer()
    this.trk.resetVotes()
    const lastIndex = this.raftLog.lastIndex()
    for (const [id, pr] of this.trk.progress) {
      // Everyone starts with a full CheckQuorum window from now.
      const fresh = this.trk.newProgress(0, lastIndex + 1, pr.isLearner, false, this.ticks)
      if (id === this.id) fresh.match = lastIndex
      this.trk.progress.set(id, fresh)
    }
    this.pendingConfIndex = 0
    this.uncommittedSize = 0
    // Read requests of an earlier leadership must never complete later with their old index: that
    // could serve a read older than writes committed in between (a stale read).
    this.readOnly = new ReadOnly()
    this.pendingReadIndexMessages = []
  }

  /**
   * Appends entries proposed to this leader. The leader's own progress is not advanced here but in
   * `advance()`, once the application has persisted them: a leader counts towards the quorum only for
   * entries on its disk.
   */
  protected appendEntry(ents: Entry[]): boolean {
    let li = this.raftLog.lastIndex()
    const stamped: Entry[] = new Array<Entry>(ents.length)
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!
      stamped[i] = { term: this.term, index: ++li, type: e.type, data: e.data }
    }
    if (!this.increaseUncommittedSize(stamped)) {
      this.logger.warn(
        { id: this.id },
        'appending new entries to log would exceed uncommitted entry size limit; dropping proposal',
      )
      return false
    }
    this.raftLog.append(stamped)
    return true
  }

  protected increaseUncommittedSize(ents: readonly Entry[]): boolean {
    const s = payloadSize(ents)
    if (
      this.maxUncommittedSize > 0 &&
      this.uncommittedSize > 0 &&
      s > 0 &&
      this.uncommittedSize + s > this.maxUncommittedSize
    ) {
      return false
    }
    this.uncommittedSize += s
    return true
  }

  reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s
  }

  // ---------------------------------------------------------------------------------------------
  // Timers and roles

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout
  }

  protected resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rand.intn(this.electionTimeout)
  }

  /** Can this node campaign: a voter in its own configuration, with no snapshot pending? */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id)
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot()
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE
  }

  basicStatus(): BasicStatus {
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.raftLog.committed,
      lead: this.lead,
      raftState: this.state,
      applied: this.raftLog.applied,
      leadTransferee: this.leadTransferee,
      isLearner: this.isLearner,
    }
  }

  status(): RaftStatus {
    const progress: RaftStatus['progress'] = new Map()
    if (this.state === 'leader') {
      for (const [id, pr] of this.trk.progress) {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
        })
      }
    }
    return { ...this.basicStatus(), progress }
  }
}
