import { Inflights } from './inflights.js'
import type { ProgressStateType } from './types.js'

/**
 * The leader's view of one follower (etcd-io/raft design.md):
 *
 *   probe ──(append accepted)──► replicate ──(rejection / unreachable)──► probe
 *     │                                                                    ▲
 *     └──(needed entries compacted)──► snapshot ──(snapshot applied/failed)┘
 *
 * In probe, at most one MsgApp is in flight per heartbeat interval; in replicate, appends are pipelined
 * optimistically within the `inflights` window; in snapshot, nothing is sent until the snapshot's outcome.
 *
 * Invariant: match < next.
 */
export class Progress {
  match: number
  next: number
  state: ProgressStateType = 'probe'
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0
  /** True if the member was heard from in the current election-timeout window (gates snapshot sends). */
  recentActive: boolean
  /** The leader's tick count when this member was last heard from (CheckQuorum's sliding window). */
  lastActiveTick: number
  /** Probe: a MsgApp was sent and not yet answered. Replicate: the inflights window is full. */
  msgAppFlowPaused = false
  inflights: Inflights
  isLearner: boolean

  constructor(opts: {
    match: number
    next: number
    maxInflight: number
    maxInflightBytes: number
    isLearner: boolean
    recentActive?: boolean
    lastActiveTick?: number
  }) {
    this.match = opts.match
    this.next = opts.next
    this.inflights = new Inflights(opts.maxInflight, opts.maxInflightBytes)
    this.isLearner = opts.isLearner
    this.recentActive = opts.recentActive ?? false
    this.lastActiveTick = opts.lastActiveTick ?? 0
  }

  /** A copy with its own inflights window (the conf change step copies a member whose role changes). */
  clone(): Progress {
    const c = new Progress({
      match: this.match,
      next: this.next,
      maxInflight: this.inflights.size,
      maxInflightBytes: this.inflights.maxBytes,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
      lastActiveTick: this.lastActiveTick,
    })
    c.state = this.state
    c.pendingSnapshot = this.pendingSnapshot
    c.msgAppFlowPaused = this.msgAppFlowPaused
    c.inflights = this.inflights.clone()
    return c
  }

  private resetState(state: ProgressStateType): void {
    this.msgAppFlowPaused = false
    this.pendingSnapshot = 0
    this.state = state
    this.inflights.reset()
  }

  becomeProbe(): void {
    // After a snapshot, resume after it: the follower has (or will soon have) everything it covers.
    if (this.state === 'snapshot') {
      const pendingSnapshot = this.pendingSnapshot
      this.resetState('probe')
      this.next = Math.max(this.match + 1, pendingSnapshot + 1)
    } else {
      this.resetState('probe')
      this.next = this.match + 1
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate')
    this.next = this.match + 1
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot')
    this.pendingSnapshot = snapshotIndex
  }

  /** Records that a MsgApp carrying entries up to `last` (`bytes` of payload) was sent. */
  sentEntries(last: number, bytes: number): void {
    if (this.state === 'replicate') {
      this.next = last + 1
      this.inflights.add(last, bytes)
      this.msgAppFlowPaused = this.inflights.full()
    } else if (this.state === 'probe') {
      this.msgAppFlowPaused = true
    } else {
      throw new Error(`sending append in unhandled state ${this.state}`)
    }
  }

  /** The follower acknowledged entries up to `n`; false if that was already known (a stale response). */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false
    this.match = n
    this.next = Math.max(this.next, n + 1)
    this.msgAppFlowPaused = false
    return true
  }

  /**
   * The follower rejected an append at `rejected`; `matchHint` is its suggestion for where the logs may
   * agree. Returns false for a stale rejection (one that no longer matches what was sent).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1)
    this.msgAppFlowPaused = false
    return true
  }

  isPaused(): boolean {
    return this.state === 'snapshot' || this.msgAppFlowPaused
  }
}
