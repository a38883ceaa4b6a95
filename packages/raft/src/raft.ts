import { type ConfChangeEnv, changeConfig, configFromConfState, type NextConfig } from './confchange.js'
import { type RaftConfig, type ResolvedRaftConfig, resolveConfig } from './config.js'
import { errProposalDropped, RaftError } from './errors.js'
import type { RaftLogger } from './logger.js'
import type { Progress } from './progress.js'
import { ProgressTracker } from './progress-tracker.js'
import { RaftLog } from './raft-log.js'
import type { RandomSource } from './rand.js'
import { ReadOnly } from './read-only.js'
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  NodeId,
  RaftStateType,
  ReadState,
  Snapshot,
  SoftState,
} from './types.js'
import { decodeConfChange, isEmptySnapshot, NONE, newMessage } from './types.js'

/** Context of a MsgVote sent by a leadership-transfer campaign: voters must not ignore it (lease check). */
export const CAMPAIGN_TRANSFER = new Uint8Array([0x43, 0x61, 0x6d, 0x70, 0x61, 0x69, 0x67, 0x6e, 0x54]) // "CampaignT"

type CampaignType = 'preElection' | 'election' | 'transfer'

type StepFn = (m: Message) => RaftError | undefined

function isCampaignTransfer(ctx: Uint8Array | undefined): boolean {
  if (ctx === undefined || ctx.length !== CAMPAIGN_TRANSFER.length) return false
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false
  return true
}

function voteRespType(t: MessageType): MessageType {
  if (t === 'MsgVote') return 'MsgVoteResp'
  if (t === 'MsgPreVote') return 'MsgPreVoteResp'
  throw new Error(`not a vote message: ${t}`)
}

function payloadSize(ents: readonly Entry[]): number {
  let s = 0
  for (const e of ents) s += e.data.length
  return s
}

/** Observability snapshot of one node (`RawNode.status()`). */
export interface RaftStatus {
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

/**
 * The Raft protocol state machine (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", and the thesis for PreVote, CheckQuorum, ReadIndex, leadership transfer and single-server
 * membership changes), shaped after etcd-io/raft.
 *
 * Synchronous and deterministic: no timers, clock or I/O. Inputs are `tick()` and `step(message)`;
 * outputs accumulate in `msgs`, `readStates` and the log's unstable part, collected by `RawNode.ready()`.
 */
export class Raft {
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
  private pendingReadIndexMessages: Message[] = []

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
  private readonly rand: RandomSource
  readonly logger: RaftLogger

  private tickFn: () => void = () => {}
  private stepFn: StepFn = () => undefined

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

    const { hardState, confState } = c.storage.initialState()
    this.restoreConfState(confState)
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState)
    if (c.applied > 0) {
      this.raftLog.appliedTo(c.applied)
    } else {
      // Default (RaftConfig.applied): the snapshot's index, where the application restores its state
      // machine from. The log's own default (first retained index - 1) is lower whenever the storage keeps
      // entries before its snapshot, and those entries would be handed out to be applied a second time.
      const snap = c.storage.snapshot()
      if (!(snap instanceof RaftError) && snap.metadata.index > this.raftLog.applied) {
        this.raftLog.appliedTo(snap.metadata.index)
      }
    }
    this.becomeFollower(this.term, NONE)
    this.logger.info(
      {
        id: this.id,
        term: this.term,
        commit: this.raftLog.committed,
        applied: this.raftLog.applied,
        lastIndex: this.raftLog.lastIndex(),
        lastTerm: this.raftLog.lastTerm(),
        voters: confState.voters,
        learners: confState.learners,
      },
      'newRaft',
    )
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state }
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed }
  }

  private loadState(hs: HardState): void {
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
  private send(m: Message): void {
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

  /** Sends an append (or snapshot) to `to`, even if it carries no entries (to convey the commit index). */
  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true)
  }

  /**
   * Sends new entries to `to` if its progress allows. With `sendIfEmpty` false, sends nothing when there
   * are no new entries. Falls back to a snapshot when the entries were compacted. Returns whether a
   * message was sent.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to)
    if (pr === undefined || pr.isPaused()) return false
    const prevIndex = pr.next - 1
    const prevTerm = this.raftLog.term(prevIndex)
    // In replicate state with a full inflights window (a heartbeat response unpaused us), send only an
    // empty MsgApp: it conveys the commit index and its answer frees the window even if every in-flight
    // append was lost, without overflowing the window (etcd does the same).
    const ents =
      pr.state === 'replicate' && pr.inflights.full() ? [] : this.raftLog.entries(pr.next, this.maxMsgSize)
    if (!(ents instanceof RaftError) && ents.length === 0 && !sendIfEmpty) return false

    if (prevTerm instanceof RaftError || ents instanceof RaftError) {
      // The entries the follower needs were compacted: send the snapshot instead.
      if (!pr.recentActive) {
        this.logger.debug({ to }, 'ignore sending snapshot since the follower is not recently active')
        return false
      }
      const snapshot = this.raftLog.snapshot()
      if (snapshot instanceof RaftError) {
        this.logger.debug({ to }, 'failed to send snapshot because it is temporarily unavailable')
        return false
      }
      if (isEmptySnapshot(snapshot)) throw new Error('need non-empty snapshot')
      pr.becomeSnapshot(snapshot.metadata.index)
      this.logger.debug(
        { to, snapshotIndex: snapshot.metadata.index, snapshotTerm: snapshot.metadata.term },
        'paused sending replication messages; sent snapshot',
      )
      this.send(newMessage({ type: 'MsgSnap', to, snapshot }))
      return true
    }

    if (ents.length !== 0) pr.sentEntries(ents[ents.length - 1]!.index, payloadSize(ents))
    this.send(
      newMessage({
        type: 'MsgApp',
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.raftLog.committed,
      }),
    )
    return true
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    // A follower may not yet have every committed entry: never tell it to commit past what it matched.
    const pr = this.trk.progress.get(to)!
    const commit = Math.min(pr.match, this.raftLog.committed)
    const m = newMessage({ type: 'MsgHeartbeat', to, commit })
    if (ctx !== undefined) m.context = ctx
    this.send(m)
  }

  /** Sends appends to every member except this node. */
  bcastAppend(): void {
    for (const id of this.trk.memberNodes()) {
      if (id !== this.id) this.sendAppend(id)
    }
  }

  private bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx())
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    for (const id of this.trk.memberNodes()) {
      if (id !== this.id) this.sendHeartbeat(id, ctx)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Commit and log

  /** Advances the commit index to what a quorum matched, if that entry is of this term (Raft §5.4.2). */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term)
  }

  private reset(term: number): void {
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
  private appendEntry(ents: Entry[]): boolean {
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

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
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
  // Ticks

  tick(): void {
    this.ticks++
    this.tickFn()
  }

  /** Followers and candidates: campaign after a randomized election timeout without a leader. */
  private tickElection = (): void => {
    this.electionElapsed++
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0
      this.step(newMessage({ type: 'MsgHup', from: this.id }))
    }
  }

  /**
   * Leaders: CheckQuorum every tick, heartbeats every heartbeatTimeout, and every electionTimeout a new
   * activity window and the timeout of a pending leadership transfer.
   */
  private tickHeartbeat = (): void => {
    this.heartbeatElapsed++
    this.electionElapsed++
    // Checked every tick over a sliding window, so a leader steps down within one election timeout of
    // its last contact with a quorum: by the time a follower's (randomized, >= electionTimeout) timer
    // fires, the old leader has stopped serving. etcd checks fixed windows, which takes up to two.
    if (this.checkQuorum) this.step(newMessage({ type: 'MsgCheckQuorum', from: this.id }))
    if (this.state !== 'leader') return
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0
      for (const [id, pr] of this.trk.progress) pr.recentActive = id === this.id
      // A leadership transfer that did not finish within an election timeout is abandoned.
      if (this.leadTransferee !== NONE) this.abortLeaderTransfer()
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0
      this.step(newMessage({ type: 'MsgBeat', from: this.id }))
    }
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rand.intn(this.electionTimeout)
  }

  /** Can this node campaign: a voter in its own configuration, with no snapshot pending? */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id)
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot()
  }

  // ---------------------------------------------------------------------------------------------
  // Role transitions

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFn = this.stepFollower
    this.reset(term)
    this.tickFn = this.tickElection
    this.lead = lead
    this.state = 'follower'
    this.logger.info({ id: this.id, term: this.term, lead }, 'became follower')
  }

  private becomeCandidate(): void {
    if (this.state === 'leader') throw new Error('invalid transition [leader -> candidate]')
    this.stepFn = this.stepCandidate
    this.reset(this.term + 1)
    this.tickFn = this.tickElection
    this.vote = this.id
    this.state = 'candidate'
    this.logger.info({ id: this.id, term: this.term }, 'became candidate')
  }

  private becomePreCandidate(): void {
    if (this.state === 'leader') throw new Error('invalid transition [leader -> pre-candidate]')
    // A pre-candidate changes neither term nor vote: a failed pre-election leaves no trace (thesis §9.6).
    this.stepFn = this.stepCandidate
    this.trk.resetVotes()
    this.tickFn = this.tickElection
    this.lead = NONE
    this.state = 'preCandidate'
    this.logger.info({ id: this.id, term: this.term }, 'became pre-candidate')
  }

  becomeLeader(): void {
    if (this.state === 'follower') throw new Error('invalid transition [follower -> leader]')
    this.stepFn = this.stepLeader
    this.reset(this.term)
    this.tickFn = this.tickHeartbeat
    this.lead = this.id
    this.state = 'leader'
    const self = this.trk.progress.get(this.id)!
    self.becomeReplicate()
    self.recentActive = true
    // Conservatively assume there may be an uncommitted conf change in the log: no new one until
    // everything up to here is applied (this also makes the leader commit an entry of its term first).
    this.pendingConfIndex = this.raftLog.lastIndex()
    // The empty entry commits every earlier entry (Raft §5.4.2) and lets ReadIndex answer (§6.4).
    if (!this.appendEntry([{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }])) {
      throw new Error('empty entry was dropped')
    }
    this.logger.info({ id: this.id, term: this.term }, 'became leader')
  }

  // ---------------------------------------------------------------------------------------------
  // Elections

  private hup(t: CampaignType): void {
    if (this.state === 'leader') {
      this.logger.debug({ id: this.id }, 'ignoring MsgHup because already leader')
      return
    }
    if (!this.promotable()) {
      this.logger.warn({ id: this.id }, 'is unpromotable and can not campaign')
      return
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn({ id: this.id }, 'cannot campaign: there are unapplied conf changes')
      return
    }
    this.logger.info({ id: this.id, term: this.term }, 'is starting a new election')
    this.campaign(t)
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false
    const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex())
    const ents = this.raftLog.slice(lo, this.raftLog.committed + 1, Number.POSITIVE_INFINITY)
    if (ents instanceof RaftError) throw new Error(`error getting unapplied entries: ${ents.message}`)
    return ents.some((e) => e.type === 'confChange')
  }

  private campaign(t: CampaignType): void {
    if (!this.promotable()) {
      this.logger.warn({ id: this.id }, 'is unpromotable; campaign() should have been called')
      return
    }
    let term: number
    let voteMsg: MessageType
    if (t === 'preElection') {
      this.becomePreCandidate()
      voteMsg = 'MsgPreVote'
      // Pre-vote RPCs are sent for the next term before we have incremented our own.
      term = this.term + 1
    } else {
      this.becomeCandidate()
      voteMsg = 'MsgVote'
      term = this.term
    }
    // Our own vote counts at once; the vote is persisted (HardState) before any vote request is sent.
    if (this.poll(this.id, voteRespType(voteMsg), true) === 'won') {
      // Single-voter cluster: we won right away.
      if (t === 'preElection') this.campaign('election')
      else this.becomeLeader()
      return
    }
    const lastIndex = this.raftLog.lastIndex()
    const lastTerm = this.raftLog.lastTerm()
    for (const id of this.trk.voterNodes()) {
      if (id === this.id) continue
      this.logger.debug({ id: this.id, to: id, type: voteMsg, term: this.term }, 'sent vote request')
      const m = newMessage({ type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm })
      if (t === 'transfer') m.context = CAMPAIGN_TRANSFER
      this.send(m)
    }
  }

  private poll(id: NodeId, t: MessageType, granted: boolean): 'won' | 'lost' | 'pending' {
    this.logger.debug({ id: this.id, from: id, type: t, granted, term: this.term }, 'received vote')
    this.trk.recordVote(id, granted)
    return this.trk.tallyVotes().result
  }

  // ---------------------------------------------------------------------------------------------
  // Step

  /** Processes one message (network or local). Returns an error for dropped proposals and reads. */
  step(m: Message): RaftError | undefined {
    // Term handling common to every role (Raft §5.1, thesis §9.6 for pre-votes and CheckQuorum leases).
    if (m.term === 0) {
      // Local message (or a forwarded proposal / read request).
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = isCampaignTransfer(m.context)
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout
        if (!force && inLease) {
          // We heard from a leader within the minimum election timeout: do not let a disruptive node
          // depose it (thesis §4.2.3).
          this.logger.info(
            { id: this.id, term: this.term, from: m.from, type: m.type, msgTerm: m.term },
            'ignored vote request: lease is not expired',
          )
          return undefined
        }
      }
      if (m.type === 'MsgPreVote') {
        // Never change our term in response to a PreVote.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // A granted pre-vote carries the future term we asked for; we move to it only on winning.
      } else {
        this.logger.info(
          { id: this.id, term: this.term, from: m.from, type: m.type, msgTerm: m.term },
          'received a message with higher term',
        )
        if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
          this.becomeFollower(m.term, m.from)
        } else {
          this.becomeFollower(m.term, NONE)
        }
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader (e.g. just rejoined after a partition) whose messages we would otherwise ignore
        // forever: tell it our term so it steps down. Without this, with CheckQuorum/PreVote, a node with
        // a higher term could never be reached by it, and never win an election either.
        this.send(newMessage({ type: 'MsgAppResp', to: m.from }))
      } else if (m.type === 'MsgPreVote') {
        // Reject with our term so that a pre-candidate with a stale term learns of the newer one.
        this.send(newMessage({ type: 'MsgPreVoteResp', to: m.from, term: this.term, reject: true }))
      } else {
        this.logger.debug(
          { id: this.id, term: this.term, from: m.from, type: m.type, msgTerm: m.term },
          'ignored a message with lower term',
        )
      }
      return undefined
    }

    switch (m.type) {
      case 'MsgHup':
        this.hup(this.preVote ? 'preElection' : 'election')
        return undefined
      case 'MsgVote':
      case 'MsgPreVote': {
        // We can vote if this is a repeat of a vote we cast, we have not voted and know no leader in this
        // term, or this is a pre-vote for a future term.
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === 'MsgPreVote' && m.term > this.term)
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.logger.debug({ id: this.id, term: this.term, from: m.from, type: m.type }, 'cast vote')
          // Respond with the message's term: for pre-votes it is in our future and must not be dropped
          // as stale by the pre-candidate.
          this.send(newMessage({ type: voteRespType(m.type), to: m.from, term: m.term }))
          if (m.type === 'MsgVote') {
            // Only record real votes; granting one resets our election timer (thesis §3.4).
            this.electionElapsed = 0
            this.vote = m.from
          }
        } else {
          this.logger.debug({ id: this.id, term: this.term, from: m.from, type: m.type }, 'rejected vote')
          this.send(newMessage({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }))
        }
        return undefined
      }
      default:
        return this.stepFn(m)
    }
  }

  private stepLeader = (m: Message): RaftError | undefined => {
    switch (m.type) {
      case 'MsgBeat':
        this.bcastHeartbeat()
        return undefined
      case 'MsgCheckQuorum':
        // Active = heard from within the last electionTimeout ticks (thesis §6.2).
        if (!this.trk.quorumActiveSince(this.ticks - this.electionTimeout + 1, this.id)) {
          this.logger.warn(
            { id: this.id, term: this.term },
            'stepped down to follower since quorum is not active',
          )
          this.becomeFollower(this.term, NONE)
        }
        return undefined
      case 'MsgProp': {
        if (m.entries.length === 0) throw new Error(`${this.id} stepped empty MsgProp`)
        if (!this.trk.progress.has(this.id)) {
          // This leader was removed from the configuration: it must not accept new proposals.
          return errProposalDropped('leader is no longer a member')
        }
        if (this.leadTransferee !== NONE) {
          this.logger.debug(
            { id: this.id, transferee: this.leadTransferee },
            'dropping proposal: leadership transfer in progress',
          )
          return errProposalDropped('leadership transfer in progress')
        }
        // Copy before neutralising anything: the message may be shared (a duplicate on the network).
        const ents = m.entries.slice()
        for (let i = 0; i < ents.length; i++) {
          const e = ents[i]!
          if (e.type !== 'confChange') continue
          if (this.pendingConfIndex > this.raftLog.applied) {
            // One membership change at a time: neutralise this one (the proposer sees it applied as an
            // empty entry and must retry).
            this.logger.info(
              { id: this.id, pendingConfIndex: this.pendingConfIndex, applied: this.raftLog.applied },
              'ignoring conf change: a previous one is not yet applied',
            )
            ents[i] = { term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }
            continue
          }
          // Nothing is pending, so the current configuration is the one this change will be applied to:
          // a change it would refuse is neutralised now rather than committed to no effect.
          const refusal = this.proposedConfChangeRefusal(e)
          if (refusal !== undefined) {
            this.logger.info({ id: this.id, reason: refusal }, 'ignoring conf change: it would be refused')
            ents[i] = { term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }
          } else {
            this.pendingConfIndex = this.raftLog.lastIndex() + i + 1
          }
        }
        if (!this.appendEntry(ents)) return errProposalDropped('uncommitted entries size limit reached')
        this.bcastAppend()
        return undefined
      }
      case 'MsgReadIndex':
        if (!this.committedEntryInCurrentTerm()) {
          // Thesis §6.4: a new leader does not know the commit index until it commits an entry of its
          // own term; answer once it has (etcd #7331).
          this.pendingReadIndexMessages.push(m)
          return undefined
        }
        this.sendMsgReadIndexResponse(m)
        return undefined
      default:
        break
    }

    // Everything below is a response from, or a request about, one member.
    const pr = this.trk.progress.get(m.from)
    if (pr === undefined) {
      this.logger.debug({ id: this.id, from: m.from, type: m.type }, 'no progress available')
      return undefined
    }
    switch (m.type) {
      case 'MsgAppResp':
        this.handleAppendResponse(m.from, m)
        return undefined
      case 'MsgHeartbeatResp': {
        this.markActive(pr)
        pr.msgAppFlowPaused = false
        if (pr.match < this.raftLog.lastIndex() || pr.state === 'probe') this.sendAppend(m.from)
        if (m.context === undefined || m.context.length === 0) return undefined
        if (this.trk.voters.size === 0) return undefined
        const acks = this.readOnly.recvAck(m.from, m.context)
        let granted = 0
        for (const id of this.trk.voters) if (acks.get(id) === true) granted++
        if (granted < Math.floor(this.trk.voters.size / 2) + 1) return undefined
        for (const rs of this.readOnly.advance(m.context)) {
          this.responseToReadIndexReq(rs.req, rs.index)
        }
        return undefined
      }
      case 'MsgSnapStatus':
        if (pr.state !== 'snapshot') return undefined
        if (m.reject) {
          // The snapshot did not arrive: forget it and probe again.
          pr.pendingSnapshot = 0
        }
        pr.becomeProbe()
        // Wait for a heartbeat response (or the next MsgAppResp) before probing again.
        pr.msgAppFlowPaused = true
        this.logger.debug({ id: this.id, to: m.from, failed: m.reject }, 'snapshot status reported')
        return undefined
      case 'MsgUnreachable':
        // The transport failed to deliver: stop pipelining and probe.
        if (pr.state === 'replicate') pr.becomeProbe()
        return undefined
      case 'MsgTransferLeader': {
        if (pr.isLearner) {
          this.logger.debug({ id: this.id, to: m.from }, 'ignored transferring leadership to a learner')
          return undefined
        }
        const transferee = m.from
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) return undefined
          this.abortLeaderTransfer()
        }
        if (transferee === this.id) return undefined
        this.logger.info({ id: this.id, term: this.term, transferee }, 'starts to transfer leadership')
        // The transfer must finish within one election timeout (checked in tickHeartbeat).
        this.electionElapsed = 0
        this.leadTransferee = transferee
        if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee)
        else this.sendAppend(transferee)
        return undefined
      }
      default:
        return undefined
    }
  }

  /** A member answered: it counts as active for CheckQuorum and for snapshot sends. */
  private markActive(pr: Progress): void {
    pr.recentActive = true
    pr.lastActiveTick = this.ticks
  }

  /** MsgAppResp from a follower, or this leader's own acknowledgement after persisting (from advance). */
  handleAppendResponse(from: NodeId, m: Message): void {
    const pr = this.trk.progress.get(from)
    if (pr === undefined) return
    this.markActive(pr)
    if (m.reject) {
      // Fast back-off: the follower's hint (the last index it has with a term <= the probe's term) lets us
      // skip a whole term of mismatching entries per round trip.
      let nextProbeIdx = m.rejectHint
      if (m.logTerm > 0) nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index
      if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
        this.logger.debug({ id: this.id, from, index: m.index }, 'received MsgAppResp rejection')
        if (pr.state === 'replicate') pr.becomeProbe()
        this.sendAppend(from)
      }
      return
    }
    const oldPaused = pr.isPaused()
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return
    if (pr.state === 'probe') {
      pr.becomeReplicate()
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.raftLog.firstIndex()) {
      // The follower caught up through the snapshot (or otherwise) to where our log begins.
      pr.becomeProbe()
      pr.becomeReplicate()
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index)
    }
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages()
      this.bcastAppend()
    } else if (from !== this.id && oldPaused) {
      // The follower was paused; it may have missed a commit index update.
      this.sendAppend(from)
    }
    if (from !== this.id) {
      // Send as many pending entries as the flow control allows.
      while (this.maybeSendAppend(from, false)) {
        /* keep sending */
      }
      if (from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
        this.logger.info({ id: this.id, to: from }, 'sent MsgTimeoutNow after the transferee caught up')
        this.sendTimeoutNow(from)
      }
    }
  }

  private stepCandidate = (m: Message): RaftError | undefined => {
    // A pre-candidate only counts pre-votes, a candidate only votes: responses of the other kind are
    // stale leftovers of an earlier round.
    const myVoteRespType: MessageType = this.state === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp'
    switch (m.type) {
      case 'MsgProp':
        this.logger.info({ id: this.id, term: this.term }, 'no leader; dropping proposal')
        return errProposalDropped('no leader')
      case 'MsgReadIndex':
        return errProposalDropped('no leader for read index')
      case 'MsgApp':
        // A leader was elected in our term (or a later one).
        this.becomeFollower(m.term, m.from)
        this.handleAppendEntries(m)
        return undefined
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from)
        this.handleHeartbeat(m)
        return undefined
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from)
        this.handleSnapshot(m)
        return undefined
      case 'MsgTransferLeader':
        return undefined
      case 'MsgTimeoutNow':
        this.logger.debug({ id: this.id, from: m.from }, 'ignored MsgTimeoutNow as candidate')
        return undefined
      default:
        if (m.type !== myVoteRespType) return undefined
        {
          const res = this.poll(m.from, m.type, !m.reject)
          if (res === 'won') {
            if (this.state === 'preCandidate') {
              this.campaign('election')
            } else {
              this.becomeLeader()
              this.bcastAppend()
            }
          } else if (res === 'lost') {
            // A rejected MsgPreVoteResp/MsgVoteResp with a higher term was handled in step().
            this.becomeFollower(this.term, NONE)
          }
        }
        return undefined
    }
  }

  private stepFollower = (m: Message): RaftError | undefined => {
    switch (m.type) {
      case 'MsgProp':
        if (this.lead === NONE) {
          this.logger.info({ id: this.id, term: this.term }, 'no leader; dropping proposal')
          return errProposalDropped('no leader')
        }
        if (this.disableProposalForwarding) {
          return errProposalDropped('proposal forwarding is disabled')
        }
        this.send(newMessage({ type: 'MsgProp', to: this.lead, entries: m.entries }))
        return undefined
      case 'MsgApp':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleAppendEntries(m)
        return undefined
      case 'MsgHeartbeat':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleHeartbeat(m)
        return undefined
      case 'MsgSnap':
        this.electionElapsed = 0
        this.lead = m.from
        this.handleSnapshot(m)
        return undefined
      case 'MsgTransferLeader':
        if (this.lead === NONE) {
          this.logger.info({ id: this.id }, 'no leader; dropping leader transfer msg')
          return undefined
        }
        this.send(newMessage({ type: 'MsgTransferLeader', to: this.lead, from: m.from }))
        return undefined
      case 'MsgTimeoutNow':
        // The leader is handing leadership to us: campaign at once, without a pre-vote, overriding the
        // voters' leader lease.
        this.logger.info(
          { id: this.id, term: this.term, from: m.from },
          'received MsgTimeoutNow; starting election',
        )
        this.hup('transfer')
        return undefined
      case 'MsgReadIndex': {
        if (this.lead === NONE) return errProposalDropped('no leader for read index')
        // Keep the origin (as etcd does): a request that reached us because its sender still believed we
        // lead must be answered to that sender, not to us.
        const fwd = newMessage({ type: 'MsgReadIndex', to: this.lead, from: m.from })
        if (m.context !== undefined) fwd.context = m.context
        this.send(fwd)
        return undefined
      }
      case 'MsgReadIndexResp':
        this.readStates.push({ index: m.index, requestCtx: m.context ?? new Uint8Array(0) })
        return undefined
      default:
        return undefined
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      // Everything up to our commit index is known to match; tell the leader where we are.
      this.send(newMessage({ type: 'MsgAppResp', to: m.from, index: this.raftLog.committed }))
      return
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries)
    if (lastNew !== undefined) {
      this.send(newMessage({ type: 'MsgAppResp', to: m.from, index: lastNew }))
      return
    }
    // Reject, with a hint: the largest index <= the probe whose term is <= the probe's term. The leader
    // can then skip every entry in between (fast back-off).
    const hint = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm)
    this.logger.debug(
      { id: this.id, index: m.index, logTerm: m.logTerm, hintIndex: hint.index, hintTerm: hint.term },
      'rejected MsgApp',
    )
    this.send(
      newMessage({
        type: 'MsgAppResp',
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
      }),
    )
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit)
    const resp = newMessage({ type: 'MsgHeartbeatResp', to: m.from })
    if (m.context !== undefined) resp.context = m.context
    this.send(resp)
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot
    if (s === undefined) throw new Error('MsgSnap without a snapshot')
    if (this.restore(s)) {
      this.logger.info(
        { id: this.id, commit: this.raftLog.committed, index: s.metadata.index, term: s.metadata.term },
        'restored snapshot',
      )
      this.send(newMessage({ type: 'MsgAppResp', to: m.from, index: this.raftLog.lastIndex() }))
    } else {
      this.logger.info({ id: this.id, index: s.metadata.index }, 'ignored snapshot')
      this.send(newMessage({ type: 'MsgAppResp', to: m.from, index: this.raftLog.committed }))
    }
  }

  /** Installs a snapshot received from the leader; false if it is not newer than what we have. */
  private restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false
    if (this.state !== 'follower') {
      // Defence in depth: only a leader sends snapshots, and receiving one made us a follower.
      this.logger.warn({ id: this.id }, 'non-follower attempted to restore snapshot')
      this.becomeFollower(this.term + 1, NONE)
      return false
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the snapshot's last entry: just fast-forward the commit index.
      this.logger.info({ id: this.id, index: s.metadata.index }, 'fast-forwarded commit to snapshot')
      this.raftLog.commitTo(s.metadata.index)
      return false
    }
    this.raftLog.restore(s)
    this.restoreConfState(s.metadata.confState)
    const pr = this.trk.progress.get(this.id)
    if (pr !== undefined) pr.maybeUpdate(pr.next - 1)
    return true
  }

  /** Replaces the configuration with `cs` (at start-up and on snapshot restore). */
  private restoreConfState(cs: ConfState): void {
    const lastIndex = this.raftLog.lastIndex()
    this.trk.switchTo(configFromConfState(cs, lastIndex + 1, this.ticks, this.newProgress))
    const self = this.trk.progress.get(this.id)
    this.isLearner = self?.isLearner ?? false
    if (self !== undefined) self.match = lastIndex
  }

  // ---------------------------------------------------------------------------------------------
  // Membership

  /** The tracker's Progress factory, as the conf change step wants it. */
  private readonly newProgress: ConfChangeEnv['newProgress'] = (match, next, isLearner, active, tick) =>
    this.trk.newProgress(match, next, isLearner, active, tick)

  private proposedConfChangeRefusal(e: Entry): string | undefined {
    let cc: ConfChange
    try {
      cc = decodeConfChange(e.data)
    } catch (err) {
      return `undecodable conf change: ${(err as Error).message}`
    }
    return this.confChangeRefusal(cc)
  }

  /** Why `cc` would be refused against the current configuration, or undefined if it is valid. */
  confChangeRefusal(cc: ConfChange): string | undefined {
    const res = changeConfig(this.trk, cc, this.confChangeEnv())
    return res.ok ? undefined : res.reason
  }

  private confChangeEnv(): ConfChangeEnv {
    return { lastIndex: this.raftLog.lastIndex(), tick: this.ticks, newProgress: this.newProgress }
  }

  /**
   * Applies a committed conf change (called by the application when it applies the entry) and returns
   * the new configuration: the next configuration is computed by the pure step (`changeConfig`), then
   * this node switches to it. A refused change (see `changeConfig`) leaves the configuration as it is;
   * every member refuses it alike, since each applies the same entries to the same configuration.
   */
  applyConfChange(cc: ConfChange): ConfState {
    const res = changeConfig(this.trk, cc, this.confChangeEnv())
    if (!res.ok) {
      this.logger.warn(
        { id: this.id, change: cc.type, node: cc.nodeId, reason: res.reason },
        'refused conf change',
      )
      return this.trk.confState()
    }
    return this.switchToConfig(cc, res.config)
  }

  /**
   * Switches to a configuration computed by `changeConfig` and reacts to it (etcd-io/raft's
   * `switchToConfig`): a removed or demoted leader steps down; otherwise the quorum may have changed.
   */
  private switchToConfig(cc: ConfChange, next: NextConfig): ConfState {
    this.trk.switchTo(next)
    const { voters, progress } = this.trk
    const cs = this.trk.confState()
    this.logger.info(
      { id: this.id, change: cc.type, node: cc.nodeId, voters: cs.voters, learners: cs.learners },
      'applied conf change',
    )

    const self = progress.get(this.id)
    this.isLearner = self?.isLearner ?? false
    if ((self === undefined || this.isLearner) && this.state === 'leader') {
      // A leader removed from (or demoted in) the configuration no longer leads.
      if (this.stepDownOnRemoval) this.becomeFollower(this.term, NONE)
      return cs
    }
    if (this.state !== 'leader' || cs.voters.length === 0) return cs
    // The quorum changed: something may now be committed.
    if (this.maybeCommit()) {
      this.bcastAppend()
    } else {
      // Probe newly added members at once instead of waiting for the next heartbeat.
      for (const peer of this.trk.memberNodes()) {
        if (peer !== this.id) this.maybeSendAppend(peer, false)
      }
    }
    if (this.leadTransferee !== NONE && !voters.has(this.leadTransferee)) this.abortLeaderTransfer()
    return cs
  }

  /** Decodes and applies a conf change entry. */
  applyConfChangeEntry(e: Entry): ConfState {
    return this.applyConfChange(decodeConfChange(e.data))
  }

  // ---------------------------------------------------------------------------------------------
  // Reads and transfers

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.zeroTermOnOutOfBounds(this.raftLog.committed) === this.term
  }

  private sendMsgReadIndexResponse(m: Message): void {
    if (this.trk.isSingleton()) {
      this.responseToReadIndexReq(m, this.raftLog.committed)
      return
    }
    // Thesis §6.4: record the commit index, then confirm leadership with a heartbeat round.
    this.readOnly.addRequest(this.raftLog.committed, m)
    this.readOnly.recvAck(this.id, m.context)
    this.bcastHeartbeatWithCtx(m.context)
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return
    if (!this.committedEntryInCurrentTerm()) return
    const msgs = this.pendingReadIndexMessages
    this.pendingReadIndexMessages = []
    for (const m of msgs) this.sendMsgReadIndexResponse(m)
  }

  private responseToReadIndexReq(req: Message, readIndex: number): void {
    const ctx = req.context ?? new Uint8Array(0)
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: ctx })
      return
    }
    this.send(newMessage({ type: 'MsgReadIndexResp', to: req.from, index: readIndex, context: ctx }))
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(newMessage({ type: 'MsgTimeoutNow', to }))
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE
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
      progress,
    }
  }
}
