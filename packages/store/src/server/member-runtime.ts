/**
 * The lifecycle of one member (the parts of etcd's EtcdServer that are neither the Raft loop nor the
 * API): it opens the data dir (WAL replay, snapshot restore, bootstrap), wires the transport to the
 * Raft loop, runs the member's timers (Raft ticks, lease expiry, slow watchers, publishing its client
 * URLs), reacts to what each applied entry changed (answers the waiting request, updates peers, notices
 * its own removal), and stops: gracefully (SIGTERM: a leader first hands leadership to the most
 * caught-up voter) or hard (`crash()`, `kill -9` in-process).
 *
 * Clock: every time read goes through the injected `now` (lease deadlines, request timing); timers are
 * Node's.
 */
import {
  type ConfState,
  type Entry,
  MemoryStorage,
  NONE,
  type NodeId,
  type RandomSource,
  type ReadState,
  SeededRandom,
  type Snapshot,
} from '@hakube/raft'
import type { Member, RaftTransport } from '../backend.js'
import { StoreError } from '../errors.js'
import { pickTransferee } from './cluster-rules.js'
import { deriveMemberId } from './member-id.js'
import { openMemberLog } from './member-log.js'
import type { StoreMetrics } from './metrics.js'
import {
  LEASE_EXPIRY_CHECK_MS,
  MAX_REVOKES_PER_ROUND,
  READ_INDEX_RETRY_MS,
  type ResolvedStoreOptions,
  resolveOptions,
  type StoreLogger,
  type StoreServerOptions,
  silentStoreLogger,
  WATCH_VICTIM_RETRY_MS,
} from './options.js'
import { Proposals } from './proposals.js'
import { RaftLoop, type RaftLoopHooks } from './raft-loop.js'
import { ReadIndexBatcher } from './read-index.js'
import { type AppliedEntry, StateMachine } from './state-machine.js'

export type MemberState = 'starting' | 'running' | 'stopping' | 'stopped'

/** Handlers of peer calls (`transport.call`), by method name. */
export type PeerCallHandlers = Record<string, (body: Uint8Array) => Promise<Uint8Array>>

export class MemberRuntime implements RaftLoopHooks {
  readonly memberId: NodeId
  readonly opts: ResolvedStoreOptions
  readonly log: StoreLogger
  readonly now: () => number
  readonly random: RandomSource
  readonly transport: RaftTransport
  readonly metrics: StoreMetrics | undefined
  readonly sm: StateMachine
  readonly proposals: Proposals
  readonly reads: ReadIndexBatcher
  private raftLoop: RaftLoop | undefined
  private stateNow: MemberState = 'starting'
  private readonly initialMembers = new Map<NodeId, Member>()
  private readonly timers: NodeJS.Timeout[] = []
  private readonly removedListeners: Array<() => void> = []
  private removedLearned = false
  private published = false

  constructor(readonly options: StoreServerOptions) {
    this.opts = resolveOptions(options)
    this.log = options.logger ?? silentStoreLogger
    this.metrics = options.metrics
    this.metrics?.hasLeader.set(0)
    this.metrics?.isLeader.set(0)
    this.now = options.now ?? Date.now
    this.transport = options.transport
    const self = options.initialCluster[options.name]
    if (self === undefined) throw new Error(`--name ${options.name} is not in --initial-cluster`)
    this.memberId = deriveMemberId(self, options.initialClusterToken)
    for (const [name, peerUrls] of Object.entries(options.initialCluster)) {
      const id = deriveMemberId(peerUrls, options.initialClusterToken)
      this.initialMembers.set(id, { id, name, peerUrls: [...peerUrls], clientUrls: [], isLearner: false })
    }
    this.random = options.random ?? new SeededRandom((this.memberId ^ this.now()) >>> 0)
    const minTtl = Math.ceil((1.5 * this.opts.electionTimeoutMs) / 1000)
    this.sm = new StateMachine(this.opts.maxTxnOps, minTtl, this.initialMembers)
    this.proposals = new Proposals({
      memberId: this.memberId,
      opts: this.opts,
      log: this.log,
      metrics: this.metrics,
      now: this.now,
      random: this.random,
      sm: this.sm,
      loop: () => this.loop,
      running: () => this.stateNow === 'running',
    })
    this.reads = new ReadIndexBatcher({
      memberId: this.memberId,
      readIndex: (ctx) => {
        if (this.loop.leader === NONE || this.stateNow !== 'running') return false
        return this.loop.readIndex(ctx) === undefined
      },
      appliedIndex: () => this.loop.appliedIndex,
      timeoutError: () => this.proposals.timeoutError(),
      timeoutMs: this.opts.requestTimeoutMs,
      retryMs: Math.min(READ_INDEX_RETRY_MS, this.opts.electionTimeoutMs),
    })
  }

  get state(): MemberState {
    return this.stateNow
  }

  get loop(): RaftLoop {
    if (this.raftLoop === undefined) throw new Error('the member is not open yet')
    return this.raftLoop
  }

  /** Opens (or creates) the data dir, restores its state and starts the Raft loop and the timers. */
  async open(peerCalls: PeerCallHandlers): Promise<void> {
    // Membership is never taken from the flags directly: it comes from applying the bootstrap entries
    // (which name the initial-cluster members) and later conf changes, or from a snapshot.
    const storage = new MemoryStorage()
    const opened = await openMemberLog(
      this.options.dataDir,
      this.memberId,
      this.options.initialClusterToken,
      storage,
      { ...this.options.wal, logger: this.log },
      this.log,
    )
    if (opened.snapshot !== undefined) this.sm.restore(opened.snapshot.data, this.now())
    const bootstrap = opened.created && this.options.initialClusterState === 'new'
    const founders = [...this.initialMembers.keys()].sort((a, b) => a - b)
    if (bootstrap) this.sm.founders = [...founders]
    this.raftLoop = new RaftLoop(
      {
        id: this.memberId,
        electionTick: Math.max(2, Math.round(this.opts.electionTimeoutMs / this.opts.heartbeatIntervalMs)),
        storage,
        wal: opened.wal,
        transport: this.transport,
        random: this.random,
        snapshot: opened.snapshot,
        bootstrapVoters: bootstrap ? founders : undefined,
        snapshotCount: this.opts.snapshotCount,
        snapshotCatchUpEntries: this.opts.snapshotCatchUpEntries,
        log: this.log,
        metrics: this.metrics,
      },
      this,
    )
    const loop = this.raftLoop
    // Every member we may need to answer before the log told us about it (a joiner hears from the leader).
    const peers = new Map<NodeId, readonly string[]>()
    for (const m of this.initialMembers.values()) peers.set(m.id, m.peerUrls)
    for (const m of this.sm.members) peers.set(m.id, m.peerUrls)
    for (const [id, urls] of peers) if (id !== this.memberId) this.transport.addPeer(id, urls)
    this.transport.onMessage((m) => loop.step(m))
    this.transport.onUnreachable((id) => loop.reportUnreachable(id))
    this.transport.onRemoved?.(() => {
      if (this.stateNow === 'running') this.learnedRemoved('a peer refused it as a removed member')
    })
    this.transport.onSnapshotStatus((id, status) => loop.reportSnapshot(id, status))
    for (const [method, handler] of Object.entries(peerCalls)) this.transport.handle(method, handler)
    this.stateNow = 'running'
    let lone = isLoneMember(bootstrap ? founders : this.sm.members.map((m) => m.id), this.memberId)
    this.every(this.opts.heartbeatIntervalMs, () => {
      if (lone) lone = !this.fastForwardLoneElection()
      loop.tick()
    })
    this.every(LEASE_EXPIRY_CHECK_MS, () => this.revokeExpiredLeases())
    this.every(WATCH_VICTIM_RETRY_MS, () => this.sm.retryWatchVictims())
    this.every(this.opts.electionTimeoutMs, () => this.maybePublish())
    this.log.info({ memberId: this.memberId, bootstrap }, 'store member started')
    loop.scheduleReady()
  }

  /**
   * A member alone in its cluster elects itself at once instead of waiting out a randomized election
   * timeout (electionTick to 2 × electionTick heartbeats: up to two seconds with etcd's defaults) with
   * nobody to hear from: etcd does the same on start (adjustTicks: a one-member cluster fast-forwards its
   * election ticks). Called on each heartbeat tick until it returns true; it waits for the member to
   * have applied its committed log, since Raft refuses to campaign while committed membership changes are
   * unapplied (the bootstrap's own), and would then wait a whole timeout more. It then advances the ticks
   * one at a time until the node campaigns, never past the longest randomized timeout; with one voter
   * its (pre-)vote wins on the spot.
   * Not done for several members: etcd advances them to one tick short of an election once peers are
   * connected, which needs the transport to report connected peers.
   */
  private fastForwardLoneElection(): boolean {
    const loop = this.raftLoop
    if (loop === undefined) return true
    const before = loop.status()
    if (before.raftState !== 'follower') return true
    if (before.applied < before.commit) return false
    const electionTick = Math.max(2, Math.round(this.opts.electionTimeoutMs / this.opts.heartbeatIntervalMs))
    for (let i = 0; i < 2 * electionTick && loop.status().raftState === 'follower'; i++) loop.tick()
    this.log.info(
      { raftState: loop.status().raftState },
      'started as a one-member cluster; election fast-forwarded',
    )
    return true
  }

  private every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(fn, ms))
  }

  // -- Reactions to the Raft loop (RaftLoopHooks) -------------------------------------------------------

  onLeaderChange(leader: NodeId): void {
    // Reads that waited for a leader (a fresh member's first /health among them) go now.
    if (leader !== NONE) this.reads.retryNow()
  }

  onRoleChange(leading: boolean, term: number, raftState: string): void {
    if (leading) {
      this.sm.promoteLessor(this.now(), this.opts.electionTimeoutMs)
      this.log.info({ term }, 'became leader')
    } else {
      this.sm.demoteLessor()
      this.log.info({ term, state: raftState }, 'stepped down')
    }
  }

  applyEntry(e: Entry): void {
    this.onApplied(this.sm.applyEntry(e, this.now()), e.index)
  }

  private onApplied(a: AppliedEntry, index: number): void {
    if (a.kind === 'request') {
      const { env, result } = a
      if (env.kind === 'memberUpdate' && result.ok && env.memberId !== this.memberId)
        this.transport.updatePeer(env.memberId, env.peerUrls)
      this.proposals.finish(env.id, result)
    } else if (a.kind === 'confChange') {
      const { cc, result } = a
      if (result.ok) {
        this.loop.applyConfChange(cc)
        const { added, updated, removed } = result.response
        if (added !== undefined && added.id !== this.memberId)
          this.transport.addPeer(added.id, added.peerUrls)
        if (updated !== undefined && updated.id !== this.memberId)
          this.transport.updatePeer(updated.id, updated.peerUrls)
        if (removed !== undefined && removed !== this.memberId) this.transport.removePeer(removed)
        if (removed === this.memberId) this.learnedRemoved('applied its own removal')
        this.log.info({ change: cc.type, member: cc.nodeId, index }, 'applied membership change')
      }
      if (a.reqId !== undefined)
        this.proposals.finish(a.reqId, result.ok ? { ok: true, response: this.sm.members } : result)
    }
  }

  afterApply(readStates: readonly ReadState[], appliedEntries: number): void {
    for (const rs of readStates) this.reads.onReadState(rs)
    this.reads.onApplied(this.loop.appliedIndex)
    const m = this.metrics
    if (m !== undefined && appliedEntries > 0) {
      m.proposalsCommitted.set(this.loop.committed)
      m.proposalsApplied.set(this.loop.appliedIndex)
      m.proposalsPending.set(this.proposals.size)
      m.revision.set(this.sm.revision)
    }
  }

  /** Restores the state machine from a snapshot the leader sent (watches are re-registered by it). */
  installSnapshot(snap: Snapshot): void {
    const before = new Set(this.sm.members.map((m) => m.id))
    this.sm.restore(snap.data, this.now())
    if (this.loop.isLeader) this.sm.promoteLessor(this.now(), this.opts.electionTimeoutMs)
    if (this.stateNow === 'running') {
      for (const m of this.sm.members)
        if (m.id !== this.memberId && !before.has(m.id)) this.transport.addPeer(m.id, m.peerUrls)
      for (const id of before) if (this.sm.member(id) === undefined) this.transport.removePeer(id)
    }
  }

  snapshotData(confState: ConfState): Uint8Array {
    return this.sm.snapshotBytes(confState)
  }

  onFailure(err: unknown): void {
    this.log.error({ err }, 'raft loop failed; stopping member')
    void this.crash()
  }

  // -- Timers ------------------------------------------------------------------------------------------

  private revokeExpiredLeases(): void {
    if (!this.loop.isLeader || this.stateNow !== 'running') return
    for (const id of this.sm.expiredLeases(this.now(), MAX_REVOKES_PER_ROUND)) {
      void this.proposals.propose({ kind: 'leaseRevoke', leaseId: id }).then((r) => {
        if (!r.ok && r.error.code !== 'STORE_ERR_LEASE_NOT_FOUND')
          this.log.debug({ lease: id.toString(), err: r.error.message }, 'expired lease revoke failed')
      })
    }
  }

  /** etcd's publish: once a leader is known, the member announces its name and client URLs through Raft. */
  private maybePublish(): void {
    if (this.published || this.loop.leader === NONE || this.stateNow !== 'running') return
    const me = this.sm.member(this.memberId)
    if (me === undefined) return
    const clientUrls = [...(this.options.clientUrls ?? [])]
    if (me.name === this.options.name && me.clientUrls.join(',') === clientUrls.join(',')) {
      this.published = true
      return
    }
    void this.proposals
      .propose({ kind: 'publish', memberId: this.memberId, name: this.options.name, clientUrls })
      .then((r) => {
        if (r.ok) this.published = true
      })
  }

  // -- Removal -----------------------------------------------------------------------------------------

  private learnedRemoved(how: string): void {
    if (this.removedLearned) return
    this.removedLearned = true
    this.log.warn({ how }, 'this member was removed from the cluster')
    // Outside the Raft loop: the listeners stop the member (etcd stops a removed member too).
    const listeners = this.removedListeners.splice(0)
    setImmediate(() => {
      for (const l of listeners) l()
    })
  }

  onRemoved(listener: () => void): void {
    this.removedListeners.push(listener)
  }

  // -- Stopping ----------------------------------------------------------------------------------------

  /**
   * Graceful stop (SIGTERM): a leader with other voters first hands leadership to the most caught-up
   * voter and waits up to one election timeout; then the loop stops, the WAL is flushed and closed and
   * the transport closed. Pending requests fail with "server stopped".
   */
  async stop(): Promise<void> {
    if (this.stateNow !== 'running') return
    this.stateNow = 'stopping'
    const loop = this.loop
    if (loop.isLeader) {
      const best = pickTransferee(loop.status().progress, this.memberId, loop.confState.voters)
      if (best !== undefined) {
        this.log.info({ transferee: best }, 'transferring leadership before stopping')
        loop.transferLeadership(best)
        await loop.waitForLeader((l) => l !== this.memberId && l !== NONE, this.opts.electionTimeoutMs)
      }
    }
    this.shutdownLoops()
    await loop.drain()
    loop.halt()
    this.failPending()
    await loop.closeWal()
    await this.transport.close()
    this.log.info({}, 'store member stopped')
  }

  /** Hard stop emulating `kill -9` in-process: no transfer, the in-flight Ready is abandoned. */
  async crash(): Promise<void> {
    if (this.stateNow === 'stopped') return
    this.raftLoop?.halt()
    this.shutdownLoops()
    this.failPending()
    await this.transport.close()
    await this.raftLoop?.closeWal().catch(() => {})
  }

  private shutdownLoops(): void {
    this.stateNow = 'stopped'
    for (const t of this.timers) clearInterval(t)
    this.timers.length = 0
    this.raftLoop?.stop()
    this.sm.cancelAllWatches()
  }

  private failPending(): void {
    const stopped = new StoreError('STORE_ERR_STOPPED')
    this.proposals.failAll(stopped)
    this.reads.failAll(stopped)
  }
}

/**
 * Whether `self` is the only member of `members` (the founders on a fresh start, else the restored
 * state's; a restart that replays its membership from the log only knows it later, and is not sped up).
 */
function isLoneMember(members: readonly NodeId[], self: NodeId): boolean {
  return members.length === 1 && members[0] === self
}
