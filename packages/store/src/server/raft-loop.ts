/**
 * The Raft loop of one member (etcd's raftNode): it drives a {@link RawNode} and handles one Ready at a
 * time in the core's contract order: persist (WAL: snapshot, entries, hard state; fsync when required),
 * then the in-memory storage image, then send messages, then apply the snapshot and committed entries
 * (through the hooks: apply itself lives in the state machine), then `advance()`. Messages from peers are
 * stepped as they arrive, also while a Ready is being persisted.
 *
 * It also keeps what the Ready stream tells about leadership (the leader, whether this member leads) and
 * lets callers wait for a leader change, and it takes a Raft snapshot every `snapshotCount` applied
 * entries. Raft's own state is read only through `RawNode.status()`.
 */
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type MemoryStorage,
  type Message,
  NONE,
  type NodeId,
  RaftError,
  type RaftStatus,
  type RandomSource,
  RawNode,
  type ReadState,
  type Ready,
  type Snapshot,
  type SnapshotStatus,
  type SoftState,
} from '@hakube/raft'
import type { RaftTransport } from '../backend.js'
import type { Wal } from '../wal/index.js'
import type { StoreMetrics } from './metrics.js'
import type { StoreLogger } from './options.js'

/** What the loop asks of the member around it. */
export interface RaftLoopHooks {
  /** This member became leader (`true`) or stopped leading (`false`). */
  onRoleChange(leading: boolean, term: number, raftState: string): void
  /** The leader this member knows changed (NONE: none known). */
  onLeaderChange?(leader: NodeId): void
  /** Applies one committed entry (the loop records its index as applied afterwards). */
  applyEntry(e: Entry): void
  /** After a Ready's entries were applied: the read states it carried. */
  afterApply(readStates: readonly ReadState[], appliedEntries: number): void
  /** Replaces the applied state with a snapshot's (the loop has already taken its index). */
  installSnapshot(snap: Snapshot): void
  /** The snapshot data of the applied state, for a new Raft snapshot. */
  snapshotData(confState: ConfState): Uint8Array
  /** The loop failed (a WAL write threw): the member must stop. */
  onFailure(err: unknown): void
}

export interface RaftLoopConfig {
  id: NodeId
  electionTick: number
  storage: MemoryStorage
  wal: Wal
  transport: RaftTransport
  random: RandomSource
  /** The snapshot the state machine was restored from, if any. */
  snapshot: Snapshot | undefined
  /** Bootstrap a new cluster with these voters (only on a fresh data dir). */
  bootstrapVoters: NodeId[] | undefined
  snapshotCount: number
  snapshotCatchUpEntries: number
  log: StoreLogger
  metrics: StoreMetrics | undefined
}

export class RaftLoop {
  private readonly node: RawNode
  private readonly storage: MemoryStorage
  private readonly wal: Wal
  private readonly transport: RaftTransport
  private readonly log: StoreLogger
  private readonly metrics: StoreMetrics | undefined
  private confStateNow: ConfState = { voters: [], learners: [] }
  private applied = 0
  private snapshotAt = 0
  private leaderId: NodeId = NONE
  private leading = false
  private stopped = false
  /** Set by `halt()`: the in-flight Ready is abandoned at its next await. */
  private halted = false
  private readyScheduled = false
  private readyInFlight: Promise<void> | undefined
  /** Waiters for a leader change; called with `true` on a change, `false` when the loop stops. */
  private readonly leaderListeners = new Set<(changed: boolean) => void>()

  constructor(
    private readonly cfg: RaftLoopConfig,
    private readonly hooks: RaftLoopHooks,
  ) {
    this.storage = cfg.storage
    this.wal = cfg.wal
    this.transport = cfg.transport
    this.log = cfg.log
    this.metrics = cfg.metrics
    if (cfg.snapshot !== undefined) this.takeSnapshotIndexes(cfg.snapshot)
    this.node = new RawNode({
      id: cfg.id,
      electionTick: cfg.electionTick,
      heartbeatTick: 1,
      storage: this.storage,
      random: cfg.random,
      applied: this.applied,
      checkQuorum: true,
      preVote: true,
    })
    if (cfg.bootstrapVoters !== undefined) this.node.bootstrap(cfg.bootstrapVoters)
  }

  // -- State, as the Ready stream and RawNode.status() tell it -----------------------------------------

  status(): RaftStatus {
    return this.node.status()
  }

  get term(): number {
    return this.node.status().term
  }

  /** The newest index known committed. */
  get committed(): number {
    return this.node.status().commit
  }

  get appliedIndex(): number {
    return this.applied
  }

  get snapshotIndex(): number {
    return this.snapshotAt
  }

  get confState(): ConfState {
    return this.confStateNow
  }

  get leader(): NodeId {
    return this.leaderId
  }

  get isLeader(): boolean {
    return this.leading
  }

  /** The first log index still held in memory (entries before it were compacted into a snapshot). */
  firstLogIndex(): number {
    return this.storage.firstIndex()
  }

  // -- Inputs ------------------------------------------------------------------------------------------

  tick(): void {
    this.node.tick()
    this.scheduleReady()
  }

  step(m: Message): void {
    if (this.stopped) return
    const err = this.node.step(m)
    if (err !== undefined) this.log.debug({ err: err.message, type: m.type, from: m.from }, 'step failed')
    this.scheduleReady()
  }

  reportUnreachable(id: NodeId): void {
    if (this.stopped) return
    this.node.reportUnreachable(id)
    this.scheduleReady()
  }

  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    if (this.stopped) return
    this.node.reportSnapshot(id, status)
    this.scheduleReady()
  }

  propose(data: Uint8Array): RaftError | undefined {
    const err = this.node.propose(data)
    this.scheduleReady()
    return err
  }

  proposeConfChange(cc: ConfChange): RaftError | undefined {
    const err = this.node.proposeConfChange(cc)
    this.scheduleReady()
    return err
  }

  readIndex(ctx: Uint8Array): RaftError | undefined {
    const err = this.node.readIndex(ctx)
    this.scheduleReady()
    return err
  }

  transferLeadership(to: NodeId): void {
    this.node.transferLeadership(to)
    this.scheduleReady()
  }

  /** Applies a committed membership change to Raft's configuration (from the apply hook). */
  applyConfChange(cc: ConfChange): void {
    this.confStateNow = this.node.applyConfChange(cc)
  }

  /** Resolves true once `pred(leader)` holds, false after `timeoutMs`, when `signal` aborts or the loop stops. */
  waitForLeader(
    pred: (leader: NodeId) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    if (pred(this.leaderId)) return Promise.resolve(true)
    if (signal?.aborted === true) return Promise.resolve(false)
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer)
        this.leaderListeners.delete(listener)
        signal?.removeEventListener('abort', onAbort)
        resolve(ok)
      }
      const listener = (changed: boolean): void => {
        if (!changed) done(false)
        else if (pred(this.leaderId)) done(true)
      }
      const onAbort = (): void => done(false)
      const timer = setTimeout(() => done(false), timeoutMs)
      this.leaderListeners.add(listener)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  // -- Stopping ----------------------------------------------------------------------------------------

  /** No new Ready is started and leader waiters resolve false; one in flight finishes (see `drain`). */
  stop(): void {
    this.stopped = true
    for (const l of [...this.leaderListeners]) l(false)
  }

  /** Waits for the Ready in flight, if any. */
  async drain(): Promise<void> {
    while (this.readyInFlight !== undefined) await this.readyInFlight
  }

  /** Abandons the Ready in flight at its next await (`kill -9` in-process). */
  halt(): void {
    this.halted = true
  }

  closeWal(): Promise<void> {
    return this.wal.close()
  }

  // -- The loop ----------------------------------------------------------------------------------------

  scheduleReady(): void {
    if (this.readyScheduled || this.stopped) return
    this.readyScheduled = true
    setImmediate(() => {
      this.readyScheduled = false
      this.runReady()
    })
  }

  private runReady(): void {
    if (this.stopped || this.readyInFlight !== undefined || !this.node.hasReady()) return
    const rd = this.node.ready()
    this.readyInFlight = this.handleReady(rd).then(
      () => {
        this.readyInFlight = undefined
        this.scheduleReady()
      },
      (err: unknown) => {
        this.readyInFlight = undefined
        this.hooks.onFailure(err)
      },
    )
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.onSoftState(rd.softState)
    // A leader replicates while it writes its own log (Raft thesis §10.2.1; etcd's raftNode does the
    // same): its entries count towards a quorum only once it has persisted them itself (the core
    // acknowledges its own entries after advance), so nothing is committed by an unsaved leader entry.
    // A follower or candidate must persist its term, vote and entries before answering anyone.
    const sendFirst = this.leading
    if (sendFirst) this.transport.send(rd.messages)
    // Committed entries are handed out only once they are durable here (the core's contract), so
    // without a snapshot in this Ready they are applied, and their clients answered, while this Ready's
    // new entries are still being written (etcd applies concurrently with its WAL write as well).
    const applyFirst = rd.snapshot === undefined
    if (applyFirst) this.applyCommitted(rd)
    if (rd.snapshot !== undefined) {
      await this.wal.saveSnapshot(rd.snapshot)
      if (this.halted) return
      const err = this.storage.applySnapshot(rd.snapshot)
      if (err !== undefined) this.log.warn({ err: err.message }, 'received snapshot is out of date')
    }
    if (rd.entries.length > 0 || rd.hardState !== undefined) {
      const t0 = performance.now()
      await this.wal.save(rd.hardState, rd.entries, rd.mustSync)
      if (rd.mustSync) this.metrics?.walFsync.observe((performance.now() - t0) / 1000)
      if (this.halted) return
    }
    this.storage.append(rd.entries)
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState)
    if (!sendFirst) this.transport.send(rd.messages)
    if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot)
    if (!applyFirst) this.applyCommitted(rd)
    if (this.applied - this.snapshotAt >= this.cfg.snapshotCount) await this.takeSnapshot()
    if (this.halted) return
    this.node.advance()
  }

  private onSoftState(ss: SoftState): void {
    if (ss.lead !== this.leaderId) {
      this.log.info({ leader: ss.lead, term: this.term }, 'leader changed')
      if (ss.lead !== NONE) this.metrics?.leaderChanges.inc()
    }
    const leaderChanged = ss.lead !== this.leaderId
    this.leaderId = ss.lead
    if (leaderChanged) this.hooks.onLeaderChange?.(ss.lead)
    const leading = ss.raftState === 'leader'
    this.metrics?.hasLeader.set(ss.lead === NONE ? 0 : 1)
    this.metrics?.isLeader.set(leading ? 1 : 0)
    if (leading !== this.leading) {
      this.leading = leading
      this.hooks.onRoleChange(leading, this.term, ss.raftState)
    }
    for (const l of [...this.leaderListeners]) l(true)
  }

  /** Applies the Ready's committed entries, then hands over its read states. */
  private applyCommitted(rd: Ready): void {
    const m = this.metrics
    for (const e of rd.committedEntries) {
      if (m === undefined) this.hooks.applyEntry(e)
      else {
        const t0 = performance.now()
        this.hooks.applyEntry(e)
        m.applyDuration.observe((performance.now() - t0) / 1000)
      }
      this.applied = e.index
    }
    this.hooks.afterApply(rd.readStates, rd.committedEntries.length)
  }

  private takeSnapshotIndexes(snap: Snapshot): void {
    this.confStateNow = snap.metadata.confState
    this.applied = snap.metadata.index
    this.snapshotAt = snap.metadata.index
  }

  /** Restores the state machine from a snapshot the leader sent. */
  private installSnapshot(snap: Snapshot): void {
    this.takeSnapshotIndexes(snap)
    this.hooks.installSnapshot(snap)
    this.log.info({ index: snap.metadata.index }, 'installed snapshot')
  }

  private async takeSnapshot(): Promise<void> {
    const index = this.applied
    const data = this.hooks.snapshotData(this.confStateNow)
    const snap = this.storage.createSnapshot(index, this.confStateNow, data)
    if (snap instanceof RaftError) return
    await this.wal.saveSnapshot(snap)
    if (this.halted) return
    this.snapshotAt = index
    const compactIndex = index - this.cfg.snapshotCatchUpEntries
    if (compactIndex >= this.storage.firstIndex()) {
      this.storage.compact(compactIndex)
      await this.wal.releaseTo(compactIndex)
    }
    this.log.info({ index, compactIndex }, 'saved snapshot')
  }
}
