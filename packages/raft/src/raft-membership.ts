import { type ConfChangeEnv, changeConfig, configFromConfState, type NextConfig } from './confchange.js'
import { RaftReadIndex } from './raft-read-index.js'
import type { ConfChange, ConfState, Entry } from './types.js'
import { decodeConfChange, NONE } from './types.js'

/**
 * Membership (Raft thesis §4.1, single-server changes): the next configuration is computed by the pure
 * step in confchange.ts, then this node switches to it and reacts (a removed leader steps down, a smaller
 * quorum may commit more, new members are probed at once).
 */
export abstract class RaftMembership extends RaftReadIndex {
  /** The tracker's Progress factory, as the conf change step wants it. */
  protected readonly newProgress: ConfChangeEnv['newProgress'] = (match, next, isLearner, active, tick) =>
    this.trk.newProgress(match, next, isLearner, active, tick)

  /** Replaces the configuration with `cs` (at start-up and on snapshot restore). */
  protected restoreConfState(cs: ConfState): void {
    const lastIndex = this.raftLog.lastIndex()
    this.trk.switchTo(configFromConfState(cs, lastIndex + 1, this.ticks, this.newProgress))
    const self = this.trk.progress.get(this.id)
    this.isLearner = self?.isLearner ?? false
    if (self !== undefined) self.match = lastIndex
  }

  /** Why a proposed conf change entry would be refused when applied (stepLeader neutralises it then). */
  protected proposedConfChangeRefusal(e: Entry): string | undefined {
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

  protected confChangeEnv(): ConfChangeEnv {
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
  protected switchToConfig(cc: ConfChange, next: NextConfig): ConfState {
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
}
