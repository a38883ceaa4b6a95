import type { SeededRandom } from '../rand.js'
import { raftOf } from '../raw-node.js'
import type { ConfChange, ConfState, NodeId } from '../types.js'
import { encodeConfEpoch, type SimMember } from './sim-member.js'

/**
 * Membership changes in the simulation, one at a time: remove a voter, add a new member (a fresh id:
 * ids are never reused) as a learner, promote it to voter; repeat. Each change is proposed at the
 * leader (or at any member, which forwards it) and proposed again until some member applies it. Its
 * context carries its epoch, so a stale duplicate applies as a no-op (see `confEpochOf`). A removed
 * member is shut down for good a little later, as an operator would.
 */

/** What the membership driver needs from the simulation. */
export interface MembershipHost {
  readonly rng: SeededRandom
  readonly tick: number
  readonly tracing: boolean
  runningMembers(): SimMember[]
  /** The configuration of the member that applied the most. */
  currentConfig(): ConfState
  /** Creates and starts a member with a fresh id. */
  addMember(): SimMember
  /** Shuts a removed member down for good. */
  retire(id: NodeId): void
  afterInput(m: SimMember): void
  log(line: string): void
}

interface MembershipOp {
  readonly epoch: number
  readonly change: ConfChange
  retryTick: number
}

export class SimMembership {
  /** Changes that took effect (the epoch of the next one). */
  epochsDone = 0
  private op: MembershipOp | undefined
  private nextTick = 0
  /** The newest member, added by the last `addLearnerNode` (promoted by the next change). */
  private joiner: NodeId = 0
  /** Removed members waiting to be shut down, with the tick at which they will be. */
  private readonly retiring = new Map<NodeId, number>()

  constructor(
    private readonly host: MembershipHost,
    /** How many changes to make in the whole run. */
    private readonly changes: number,
    private readonly timeoutTicks: number,
    private readonly refusedRetryTicks: number,
  ) {}

  /** True while a change is proposed and not yet applied anywhere. */
  pending(): boolean {
    return this.op !== undefined
  }

  /** Once per tick: proposes the pending change again when due, or (if `startNew`) the next one. */
  step(startNew: boolean): void {
    const h = this.host
    if (this.op !== undefined) {
      if (h.tick >= this.op.retryTick) this.propose(this.op)
      return
    }
    if (!startNew || this.epochsDone >= this.changes || h.tick < this.nextTick) return
    const epoch = this.epochsDone
    const context = encodeConfEpoch(epoch)
    let change: ConfChange
    switch (epoch % 3) {
      case 0: {
        const voters = h.currentConfig().voters
        if (voters.length < 2) return
        change = { type: 'removeNode', nodeId: h.rng.pick(voters), context }
        break
      }
      case 1:
        // Started before it is added, as an operator starts the new process first: it stays idle until
        // the leader contacts it.
        this.joiner = h.addMember().id
        change = { type: 'addLearnerNode', nodeId: this.joiner, context }
        break
      default:
        change = { type: 'addNode', nodeId: this.joiner, context }
    }
    this.op = { epoch, change, retryTick: h.tick }
    this.propose(this.op)
  }

  private propose(op: MembershipOp): void {
    const h = this.host
    op.retryTick = h.tick + this.refusedRetryTicks
    const up = h.runningMembers()
    if (up.length === 0) return
    const m = up.find((x) => raftOf(x.node!).state === 'leader') ?? h.rng.pick(up)
    const err = m.node!.proposeConfChange(op.change)
    h.afterInput(m)
    if (err === undefined) op.retryTick = h.tick + this.timeoutTicks
    if (h.tracing) {
      h.log(
        `propose ${op.change.type} ${op.change.nodeId} (epoch ${op.epoch}) at ${m.id}${err ? ' (refused)' : ''}`,
      )
    }
  }

  /** A member applied the change of `epoch` and it took effect (the first one completes it). */
  onApplied(epoch: number, cc: ConfChange): void {
    const h = this.host
    if (epoch < this.epochsDone) return
    if (epoch !== this.epochsDone) throw new Error(`membership epoch ${epoch} applied out of order`)
    this.epochsDone++
    this.op = undefined
    this.nextTick = h.tick + h.rng.between(5, 50)
    if (cc.type === 'removeNode') this.retiring.set(cc.nodeId, h.tick + h.rng.between(0, 30))
    if (h.tracing) h.log(`membership change ${epoch} done: ${cc.type} ${cc.nodeId}`)
  }

  /** Shuts down the removed members whose time has come (all of them with `now`). */
  retireDue(now = false): void {
    for (const [id, at] of this.retiring) {
      if (!now && this.host.tick < at) continue
      this.retiring.delete(id)
      this.host.retire(id)
    }
  }

  describePending(): string | undefined {
    return this.op === undefined
      ? undefined
      : `membership change ${this.op.change.type} ${this.op.change.nodeId} (epoch ${this.op.epoch}) pending`
  }
}
