import type { RaftConfig } from './config.js'
import { errProposalDropped, RaftError } from './errors.js'
import { isCampaignTransfer, RaftElection, voteRespType } from './raft-election.js'
import type { Message, MessageType } from './types.js'
import { NONE, newMessage } from './types.js'

export type { BasicStatus, RaftStatus } from './raft-state.js'

/**
 * The Raft protocol state machine (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", and the thesis for PreVote, CheckQuorum, ReadIndex, leadership transfer and single-server
 * membership changes), shaped after etcd-io/raft.
 *
 * Synchronous and deterministic: no timers, clock or I/O. Inputs are `tick()` and `step(message)`;
 * outputs accumulate in `msgs`, `readStates` and the log's unstable part, collected by `RawNode.ready()`.
 */
export class Raft extends RaftElection {
  constructor(config: RaftConfig) {
    super(config)
    // The base validated `config`; from here on the node loads its state from the storage.
    const { hardState, confState } = config.storage.initialState()
    this.restoreConfState(confState)
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState)
    const applied = config.applied ?? 0
    if (applied > 0) {
      this.raftLog.appliedTo(applied)
    } else {
      // Default (RaftConfig.applied): the snapshot's index, where the application restores its state
      // machine from. The log's own default (first retained index - 1) is lower whenever the storage keeps
      // entries before its snapshot, and those entries would be handed out to be applied a second time.
      const snap = config.storage.snapshot()
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
        // The role's step function (etcd keeps it in a function field swapped by becomeX).
        if (this.state === 'leader') return this.stepLeader(m)
        if (this.state === 'follower') return this.stepFollower(m)
        return this.stepCandidate(m)
    }
  }

  protected stepLeader(m: Message): RaftError | undefined {
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

  protected stepCandidate(m: Message): RaftError | undefined {
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

  protected stepFollower(m: Message): RaftError | undefined {
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
}
