import type { RaftConfig } from './config.js'
import { RaftError, RaftErrorCode } from './errors.js'
import { type BasicStatus, Raft, type RaftStatus } from './raft.js'
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ReadState,
  Snapshot,
  SnapshotStatus,
  SoftState,
} from './types.js'
import {
  encodeConfChange,
  hardStateEqual,
  isLocalMessage,
  isResponseMessage,
  NONE,
  newMessage,
} from './types.js'

/**
 * One batch of work for the application. Handle it in this order (etcd-io/raft's contract):
 *
 *  1. Persist `snapshot` (if any), then `entries` (truncating any conflicting suffix), then `hardState`,
 *     durably (fsync) when `mustSync`.
 *  2. Send `messages`. Only now: a vote or an append acknowledgement must never leave before what it
 *     vouches for is on disk. Exception (etcd's raftNode, Raft thesis §10.2.1): while the node is leader
 *     (per this Ready's softState, or the last one seen), it may send before step 1, writing its log in
 *     parallel with replication: its own entries count towards a quorum only through advance().
 *  3. Apply `snapshot` and then `committedEntries` to the state machine; call `applyConfChange` for conf
 *     change entries. Serve the `readStates` whose index has been applied.
 *  4. Call `advance()`.
 */
export interface Ready {
  /** Set when the leader or role changed since the previous Ready. */
  readonly softState: SoftState | undefined
  /** Set when term, vote or commit changed since the previous Ready. */
  readonly hardState: HardState | undefined
  readonly readStates: readonly ReadState[]
  /** Entries to append to stable storage. */
  readonly entries: readonly Entry[]
  /** A snapshot received from the leader, to persist and apply. */
  readonly snapshot: Snapshot | undefined
  /** Entries committed by a quorum and persisted locally, to apply in order. */
  readonly committedEntries: readonly Entry[]
  readonly messages: readonly Message[]
  /** Whether the writes of this Ready must reach the disk before messages are sent. */
  readonly mustSync: boolean
}

let raftOfNode: (node: RawNode) => Raft

/**
 * The Raft state machine behind a RawNode, for the package's own tests and harnesses (`src/testing/`).
 * Deliberately not exported from index.ts: the `Raft` class is private to this package, and other
 * packages read a node only through `RawNode` (`status()` for term, commit, leader and progress).
 */
export function raftOf(node: RawNode): Raft {
  return raftOfNode(node)
}

/**
 * The single-threaded front of the Raft state machine. Feed it `tick()`, `step()`, `propose()`;
 * collect work with `ready()` and acknowledge it with `advance()`. Between `ready()` and `advance()`,
 * inputs may still be fed (their output waits for the next Ready), but `ready()` may not be called again.
 */
export class RawNode {
  /** Package-private (see `raftOf`): everything outside the package goes through RawNode's methods. */
  private readonly raft: Raft
  private prevSoftState: SoftState
  private prevHardState: HardState
  private outstanding: Ready | undefined

  static {
    raftOfNode = (node) => node.raft
  }

  constructor(config: RaftConfig) {
    this.raft = new Raft(config)
    this.prevSoftState = this.raft.softState()
    this.prevHardState = this.raft.hardState()
  }

  /**
   * Initialises a brand-new cluster member with the founding voters: appends one `addNode` conf change
   * per peer at indexes 1..n of term 1, committed. Every founding member must bootstrap with the same
   * list (in the same order) so their logs agree. Members that join later do not bootstrap: they learn
   * the configuration from the leader.
   */
  bootstrap(peers: readonly NodeId[]): void {
    if (peers.length === 0) throw new Error('must provide at least one peer to bootstrap')
    const r = this.raft
    if (r.raftLog.lastIndex() !== 0) throw new Error("can't bootstrap a nonempty storage")
    if (new Set(peers).size !== peers.length) throw new Error('duplicate peer ids')
    // Make the HardState differ from the initial one so that it is persisted with the entries.
    this.prevHardState = { term: 0, vote: NONE, commit: 0 }
    r.becomeFollower(1, NONE)
    const ents: Entry[] = peers.map((id, i) => ({
      term: 1,
      index: i + 1,
      type: 'confChange',
      data: encodeConfChange({ type: 'addNode', nodeId: id }),
    }))
    r.raftLog.append(ents)
    // Committed without a quorum round: every founding member has the same entries by construction.
    r.raftLog.committed = ents.length
    for (const id of peers) r.applyConfChange({ type: 'addNode', nodeId: id })
  }

  /** Advances logical time by one tick (election and heartbeat timers). */
  tick(): void {
    this.raft.tick()
  }

  /** Campaigns to become leader now (without waiting for the election timeout). */
  campaign(): RaftError | undefined {
    return this.raft.step(newMessage({ type: 'MsgHup', from: this.raft.id }))
  }

  /** Proposes one entry. A follower forwards it to the leader; with no leader it is dropped with an error. */
  propose(data: Uint8Array): RaftError | undefined {
    return this.raft.step(
      newMessage({
        type: 'MsgProp',
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: 'normal', data }],
      }),
    )
  }

  /** Proposes many entries as one batch: one append per follower carries all of them. */
  proposeBatch(datas: readonly Uint8Array[]): RaftError | undefined {
    if (datas.length === 0) return undefined
    const entries: Entry[] = datas.map((data) => ({ term: 0, index: 0, type: 'normal', data }))
    return this.raft.step(newMessage({ type: 'MsgProp', from: this.raft.id, entries }))
  }

  /** Proposes a membership change. It takes effect when the application applies it (`applyConfChange`). */
  proposeConfChange(cc: ConfChange): RaftError | undefined {
    return this.raft.step(
      newMessage({
        type: 'MsgProp',
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: 'confChange', data: encodeConfChange(cc) }],
      }),
    )
  }

  /**
   * Applies a committed conf change; the application calls this when it applies the entry. Returns the
   * configuration now in force: unchanged if the change is refused (see `changeConfig` in confchange.ts:
   * one that would leave no voter). The leader already neutralises such a change when it is proposed.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc)
  }

  /** Feeds a message received from a peer. Local message types are refused. */
  step(m: Message): RaftError | undefined {
    if (isLocalMessage(m.type)) {
      return new RaftError(RaftErrorCode.StepLocalMsg, `raft: cannot step raft local message ${m.type}`)
    }
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from)) {
      return new RaftError(RaftErrorCode.StepPeerNotFound, `raft: cannot step as peer ${m.from} not found`)
    }
    return this.raft.step(m)
  }

  /**
   * Requests a linearizable read point. When confirmed, a ReadState with the same `ctx` appears in a
   * Ready; the read may be served once the state machine has applied its index. `ctx` must be unique
   * among outstanding requests.
   */
  readIndex(ctx: Uint8Array): RaftError | undefined {
    return this.raft.step(newMessage({ type: 'MsgReadIndex', from: this.raft.id, context: ctx }))
  }

  /** Asks the leader to hand leadership to `transferee` (which must be a caught-up voter). */
  transferLeadership(transferee: NodeId): void {
    this.raft.step(newMessage({ type: 'MsgTransferLeader', from: transferee }))
  }

  /** The transport could not reach `id`: stop pipelining to it. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage({ type: 'MsgUnreachable', from: id }))
  }

  /** The transport's outcome for a snapshot sent to `id`. */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.step(newMessage({ type: 'MsgSnapStatus', from: id, reject: status === 'failure' }))
  }

  /** Whether `ready()` has anything to hand out (always false while a Ready is outstanding). */
  hasReady(): boolean {
    if (this.outstanding !== undefined) return false
    const r = this.raft
    if (r.msgs.length > 0) return true
    if (r.raftLog.unstableEntries().length > 0) return true
    if (r.raftLog.hasPendingSnapshot()) return true
    if (r.readStates.length > 0) return true
    if (r.raftLog.hasNextCommittedEnts()) return true
    const ss = r.softState()
    if (ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState) return true
    const hs = r.hardState()
    return !hardStateEqual(hs, this.prevHardState)
  }

  /** Hands out the pending work. Must be followed by `advance()` before the next call. */
  ready(): Ready {
    if (this.outstanding !== undefined) throw new Error('ready() called again before advance()')
    const r = this.raft
    const ss = r.softState()
    const softChanged = ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState
    const hs = r.hardState()
    const hardChanged = !hardStateEqual(hs, this.prevHardState)
    const entries = r.raftLog.unstableEntries().slice()
    const committedEntries = r.raftLog.nextCommittedEnts()
    const rd: Ready = {
      softState: softChanged ? ss : undefined,
      hardState: hardChanged ? hs : undefined,
      readStates: r.readStates,
      entries,
      snapshot: r.raftLog.unstable.snapshot,
      committedEntries,
      messages: r.msgs,
      // Votes, terms, log entries and snapshots must survive a crash; a commit index change alone need not.
      mustSync:
        entries.length > 0 ||
        r.raftLog.unstable.snapshot !== undefined ||
        hs.term !== this.prevHardState.term ||
        hs.vote !== this.prevHardState.vote,
    }
    r.msgs = []
    r.readStates = []
    if (softChanged) this.prevSoftState = ss
    if (hardChanged) this.prevHardState = hs
    if (committedEntries.length > 0)
      r.raftLog.acceptApplying(committedEntries[committedEntries.length - 1]!.index)
    this.outstanding = rd
    return rd
  }

  /** Acknowledges the outstanding Ready: its writes are durable, its messages sent, its entries applied. */
  advance(): void {
    const rd = this.outstanding
    if (rd === undefined) throw new Error('advance() called without an outstanding Ready')
    this.outstanding = undefined
    const r = this.raft
    if (rd.snapshot !== undefined) {
      // The application persisted and applied the snapshot: its state machine is now at its index.
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index)
      r.raftLog.appliedTo(rd.snapshot.metadata.index)
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!
      r.raftLog.stableTo(last.index, last.term)
      // The leader acknowledges its own persisted entries (it sends itself no MsgApp); only now does its
      // copy count towards the commit quorum.
      if (r.state === 'leader' && r.raftLog.matchTerm(last.index, last.term)) {
        r.handleAppendResponse(
          r.id,
          newMessage({ type: 'MsgAppResp', from: r.id, to: r.id, index: last.index }),
        )
      }
    }
    if (rd.committedEntries.length > 0) {
      const lastApplied = rd.committedEntries[rd.committedEntries.length - 1]!.index
      r.raftLog.appliedTo(lastApplied)
      if (r.state === 'leader') {
        let size = 0
        for (const e of rd.committedEntries) size += e.data.length
        r.reduceUncommittedSize(size)
      }
    }
  }

  /** True while a Ready is handed out and not yet advanced. */
  hasOutstandingReady(): boolean {
    return this.outstanding !== undefined
  }

  /** The node's state, with each member's replication progress when it leads. */
  status(): RaftStatus {
    return this.raft.status()
  }

  /** The node's state without the progress map: cheap enough to read on every Ready (term, commit, lead). */
  basicStatus(): BasicStatus {
    return this.raft.basicStatus()
  }
}
