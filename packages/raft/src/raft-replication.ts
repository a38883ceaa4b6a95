import { RaftError } from './errors.js'
import type { Progress } from './progress.js'
import { payloadSize, RaftState } from './raft-state.js'
import type { ConfState, Message, NodeId, Snapshot } from './types.js'
import { isEmptySnapshot, NONE, newMessage } from './types.js'

/**
 * Log replication (Raft §5.3) and snapshots (§7): the leader's appends and heartbeats, each follower's
 * progress through probe/replicate/snapshot (progress.ts), the follower's side of appends, heartbeats
 * and snapshots. Flow control: appends are bounded by `maxMsgSize` and the inflights window.
 */
export abstract class RaftReplication extends RaftState {
  /** Replaces the configuration with a snapshot's (raft-membership.ts). */
  protected abstract restoreConfState(cs: ConfState): void
  /** Answers read requests held until this leader committed an entry of its term (raft-read-index.ts). */
  protected abstract releasePendingReadIndexMessages(): void

  // ---------------------------------------------------------------------------------------------
  // Leader: sending

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

  protected sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
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

  protected bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx())
  }

  protected bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    for (const id of this.trk.memberNodes()) {
      if (id !== this.id) this.sendHeartbeat(id, ctx)
    }
  }

  protected sendTimeoutNow(to: NodeId): void {
    this.send(newMessage({ type: 'MsgTimeoutNow', to }))
  }

  // ---------------------------------------------------------------------------------------------
  // Leader: responses

  /** A member answered: it counts as active for CheckQuorum and for snapshot sends. */
  protected markActive(pr: Progress): void {
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

  // ---------------------------------------------------------------------------------------------
  // Follower

  protected handleAppendEntries(m: Message): void {
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

  protected handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit)
    const resp = newMessage({ type: 'MsgHeartbeatResp', to: m.from })
    if (m.context !== undefined) resp.context = m.context
    this.send(resp)
  }

  protected handleSnapshot(m: Message): void {
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
  protected restore(s: Snapshot): boolean {
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
}
