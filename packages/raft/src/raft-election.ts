import { RaftError } from './errors.js'
import { RaftMembership } from './raft-membership.js'
import type { MessageType, NodeId } from './types.js'
import { NONE, newMessage } from './types.js'

/** Context of a MsgVote sent by a leadership-transfer campaign: voters must not ignore it (lease check). */
export const CAMPAIGN_TRANSFER = new Uint8Array([0x43, 0x61, 0x6d, 0x70, 0x61, 0x69, 0x67, 0x6e, 0x54]) // "CampaignT"

type CampaignType = 'preElection' | 'election' | 'transfer'

export function isCampaignTransfer(ctx: Uint8Array | undefined): boolean {
  if (ctx === undefined || ctx.length !== CAMPAIGN_TRANSFER.length) return false
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER[i]) return false
  return true
}

export function voteRespType(t: MessageType): MessageType {
  if (t === 'MsgVote') return 'MsgVoteResp'
  if (t === 'MsgPreVote') return 'MsgPreVoteResp'
  throw new Error(`not a vote message: ${t}`)
}

/**
 * Timers, role transitions and elections (Raft §5.2; PreVote and the leader lease of thesis §9.6 and
 * §4.2.3; CheckQuorum, thesis §6.2): the election timer of followers and candidates, the heartbeat and
 * CheckQuorum timer of leaders, campaigns and vote counting.
 */
export abstract class RaftElection extends RaftMembership {
  // ---------------------------------------------------------------------------------------------
  // Ticks

  tick(): void {
    this.ticks++
    // The timer of the role (etcd keeps it in a function field swapped by becomeX; the role decides it).
    if (this.state === 'leader') this.tickHeartbeat()
    else this.tickElection()
  }

  /** Followers and candidates: campaign after a randomized election timeout without a leader. */
  protected tickElection(): void {
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
  protected tickHeartbeat(): void {
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

  // ---------------------------------------------------------------------------------------------
  // Role transitions

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term)
    this.lead = lead
    this.state = 'follower'
    this.logger.info({ id: this.id, term: this.term, lead }, 'became follower')
  }

  protected becomeCandidate(): void {
    if (this.state === 'leader') throw new Error('invalid transition [leader -> candidate]')
    this.reset(this.term + 1)
    this.vote = this.id
    this.state = 'candidate'
    this.logger.info({ id: this.id, term: this.term }, 'became candidate')
  }

  protected becomePreCandidate(): void {
    if (this.state === 'leader') throw new Error('invalid transition [leader -> pre-candidate]')
    // A pre-candidate changes neither term nor vote: a failed pre-election leaves no trace (thesis §9.6).
    this.trk.resetVotes()
    this.lead = NONE
    this.state = 'preCandidate'
    this.logger.info({ id: this.id, term: this.term }, 'became pre-candidate')
  }

  becomeLeader(): void {
    if (this.state === 'follower') throw new Error('invalid transition [follower -> leader]')
    this.reset(this.term)
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

  protected hup(t: CampaignType): void {
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

  protected hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false
    const lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex())
    const ents = this.raftLog.slice(lo, this.raftLog.committed + 1, Number.POSITIVE_INFINITY)
    if (ents instanceof RaftError) throw new Error(`error getting unapplied entries: ${ents.message}`)
    return ents.some((e) => e.type === 'confChange')
  }

  protected campaign(t: CampaignType): void {
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

  protected poll(id: NodeId, t: MessageType, granted: boolean): 'won' | 'lost' | 'pending' {
    this.logger.debug({ id: this.id, from: id, type: t, granted, term: this.term }, 'received vote')
    this.trk.recordVote(id, granted)
    return this.trk.tallyVotes().result
  }
}
