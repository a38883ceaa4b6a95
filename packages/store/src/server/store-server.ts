/**
 * hakube-store's server core: an {@link EtcdBackend} replicated by Raft.
 *
 * One member owns a RawNode, its WAL (durable log and snapshots), a MemoryStorage image of that WAL,
 * and a {@link StateMachine} (MVCC, lessor, membership). The Raft loop handles one Ready at a time in
 * the core's contract order: WAL (snapshot, entries, hard state; fsync when required), then storage,
 * then send messages, then apply snapshot and committed entries, then `advance()`. Messages from peers
 * are stepped as they arrive, also while a Ready is being persisted.
 *
 * Guarantees:
 * - A write resolves only after its entry was committed (fsynced on a quorum) and applied here.
 * - Linearizable reads go through a ReadIndex round (batched); serializable reads are local.
 * - Every method resolves to a `Result`; without a leader or a quorum they fail with etcd's errors
 *   ("no leader", "request timed out") within `requestTimeoutMs`.
 *
 * Non-guarantees:
 * - Proposals are not retried: a proposal lost with a leader change times out (the client retries, as
 *   etcd's clients do for idempotent requests).
 * - Watches survive a snapshot install by being re-registered from their next revision; a watch whose
 *   next revision was compacted away gets `compactRevision` and is canceled.
 */
import {
  type ConfChange,
  type ConfState,
  decodeConfChange,
  type Entry,
  MemoryStorage,
  type Message,
  NONE,
  type NodeId,
  RaftError,
  type RandomSource,
  RawNode,
  type Ready,
  SeededRandom,
  type Snapshot,
  type SoftState,
} from '@hakube/raft'
import type {
  AlarmMember,
  AlarmType,
  ClusterHeader,
  EtcdBackend,
  HashKvResult,
  LeaseGrantResult,
  LeaseTimeToLiveResult,
  Member,
  RaftTransport,
  StatusResult,
  WatchHandle,
} from '../backend.js'
import { StoreError } from '../errors.js'
import {
  type CompactResponse,
  checkDeleteRangeRequest,
  checkPutRequest,
  checkRangeRequest,
  checkRequestBytes,
  checkTxnRequest,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  hashKV,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type Result,
  serialize,
  type TxnRequest,
  type TxnResponse,
  type WatchCreateRequest,
  type WatchResponse,
} from '../mvcc/index.js'
import { encodeBackupImage } from '../restore/snapshot-file.js'
import type { Wal } from '../wal/index.js'
import { isLearnerReady, isValidPeerUrl, newMember, pickTransferee, randomLeaseId } from './cluster-rules.js'
import { approxRequestBytes, decodeJson, encodeJson } from './codec.js'
import { deriveMemberId } from './member-id.js'
import { openMemberLog } from './member-log.js'
import type { StoreMetrics } from './metrics.js'
import {
  LEASE_EXPIRY_CHECK_MS,
  MAX_APPLY_BACKLOG_ENTRIES,
  MAX_REVOKES_PER_ROUND,
  READ_INDEX_RETRY_MS,
  type ResolvedStoreOptions,
  resolveOptions,
  type StoreLogger,
  type StoreServerOptions,
  silentStoreLogger,
  WATCH_VICTIM_RETRY_MS,
} from './options.js'
import { decodeRemoteResult, encodeRemoteResult, PendingRequests } from './pending-requests.js'
import { ReadIndexBatcher } from './read-index.js'
import type { ConfChangeContext, RequestBody, RequestEnvelope } from './request.js'
import { decodeSnapshotData, encodeSnapshotData } from './snapshot-data.js'
import { addsData, StateMachine } from './state-machine.js'
import { WatchRegistry } from './watch-registry.js'

export const SERVER_VERSION = '3.4.0-hakube'

const fail = <T>(code: ConstructorParameters<typeof StoreError>[0], detail?: string): Result<T> => ({
  ok: false,
  error: new StoreError(code, detail),
})

export class StoreServer implements EtcdBackend {
  readonly memberId: NodeId
  readonly opts: ResolvedStoreOptions
  private readonly log: StoreLogger
  private readonly now: () => number
  private readonly random: RandomSource
  private readonly transport: RaftTransport
  private readonly storage = new MemoryStorage()
  private readonly sm: StateMachine
  private readonly reads: ReadIndexBatcher
  private wal!: Wal
  private node!: RawNode
  private confState: ConfState = { voters: [], learners: [] }
  private appliedIndex = 0
  private snapshotIndex = 0
  private leaderId: NodeId = NONE
  private isLeader = false
  private state: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting'
  /** Set by `crash()`: the in-flight Ready is abandoned at its next await. */
  private halted = false
  private readyScheduled = false
  private readyInFlight: Promise<void> | undefined
  private readonly pending = new PendingRequests()
  private readonly reqPrefix: string
  private reqSeq = 0
  private readonly timers: NodeJS.Timeout[] = []
  /** Waiters for a leader change; called with `true` on a change, `false` when the member stops. */
  private readonly leaderListeners = new Set<(changed: boolean) => void>()
  private readonly removedListeners: Array<() => void> = []
  private readonly metrics: StoreMetrics | undefined
  private removedLearned = false
  private readonly watches: WatchRegistry
  private published = false

  private constructor(
    private readonly options: StoreServerOptions,
    initialMembers: Map<NodeId, Member>,
  ) {
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
    this.random = options.random ?? new SeededRandom((this.memberId ^ this.now()) >>> 0)
    this.reqPrefix = `${this.memberId.toString(36)}.${this.now().toString(36)}.${this.random.intn(1 << 30)}`
    const minTtl = Math.ceil((1.5 * this.opts.electionTimeoutMs) / 1000)
    this.sm = new StateMachine(this.opts.maxTxnOps, minTtl, initialMembers)
    this.watches = new WatchRegistry(
      () => this.sm.hub,
      () => this.sm.mvcc.revision,
    )
    this.reads = new ReadIndexBatcher({
      memberId: this.memberId,
      readIndex: (ctx) => {
        if (this.leaderId === NONE || this.state !== 'running') return false
        const err = this.node.readIndex(ctx)
        this.scheduleReady()
        return err === undefined
      },
      appliedIndex: () => this.appliedIndex,
      timeoutError: () => this.timeoutError(),
      timeoutMs: this.opts.requestTimeoutMs,
      retryMs: Math.min(READ_INDEX_RETRY_MS, this.opts.electionTimeoutMs),
    })
  }

  /** Opens (or creates) the member's data dir, restores its state and starts the Raft loop. */
  static async start(options: StoreServerOptions): Promise<StoreServer> {
    const initialMembers = new Map<NodeId, Member>()
    for (const [name, peerUrls] of Object.entries(options.initialCluster)) {
      const id = deriveMemberId(peerUrls, options.initialClusterToken)
      initialMembers.set(id, { id, name, peerUrls: [...peerUrls], clientUrls: [], isLearner: false })
    }
    const s = new StoreServer(options, initialMembers)
    await s.open(initialMembers)
    return s
  }

  private async open(initialMembers: Map<NodeId, Member>): Promise<void> {
    // Membership is never taken from the flags directly: it comes from applying the bootstrap entries
    // (which name the initial-cluster members) and later conf changes, or from a snapshot.
    const opened = await openMemberLog(
      this.options.dataDir,
      this.memberId,
      this.options.initialClusterToken,
      this.storage,
      { ...this.options.wal, logger: this.log },
      this.log,
    )
    this.wal = opened.wal
    if (opened.snapshot !== undefined) this.installSnapshotState(opened.snapshot)
    const bootstrap = opened.created && this.options.initialClusterState === 'new'
    if (bootstrap) this.sm.founders = [...initialMembers.keys()].sort((a, b) => a - b)
    this.node = new RawNode({
      id: this.memberId,
      electionTick: Math.max(2, Math.round(this.opts.electionTimeoutMs / this.opts.heartbeatIntervalMs)),
      heartbeatTick: 1,
      storage: this.storage,
      random: this.random,
      applied: this.appliedIndex,
      checkQuorum: true,
      preVote: true,
    })
    if (bootstrap) this.node.bootstrap([...initialMembers.keys()].sort((a, b) => a - b))
    // Every member we may need to answer before the log told us about it (a joiner hears from the leader).
    const peers = new Map<NodeId, readonly string[]>()
    for (const m of initialMembers.values()) peers.set(m.id, m.peerUrls)
    for (const m of this.sm.members) peers.set(m.id, m.peerUrls)
    for (const [id, urls] of peers) if (id !== this.memberId) this.transport.addPeer(id, urls)
    this.transport.onMessage((m) => this.onPeerMessage(m))
    this.transport.onUnreachable((id) => {
      if (this.state === 'stopped') return
      this.node.reportUnreachable(id)
      this.scheduleReady()
    })
    this.transport.onRemoved?.(() => {
      if (this.state === 'running') this.learnedRemoved('a peer refused it as a removed member')
    })
    this.transport.onSnapshotStatus((id, status) => {
      if (this.state === 'stopped') return
      this.node.reportSnapshot(id, status)
      this.scheduleReady()
    })
    this.transport.handle('lease.keepalive', async (body) => {
      const { leaseId } = decodeJson<{ leaseId: bigint }>(body)
      return encodeRemoteResult(this.sm.lessor.renew(leaseId, this.now()))
    })
    this.transport.handle('lease.ttl', async (body) => {
      const { leaseId, keys } = decodeJson<{ leaseId: bigint; keys: boolean }>(body)
      if (!this.isLeader) return encodeRemoteResult(fail('STORE_ERR_NOT_LEADER'))
      return encodeRemoteResult(this.sm.timeToLive(leaseId, keys, this.now()))
    })
    this.transport.handle('member.promote', async (body) => {
      const { id } = decodeJson<{ id: NodeId }>(body)
      return encodeRemoteResult(await this.memberPromote(id))
    })
    this.state = 'running'
    this.every(this.opts.heartbeatIntervalMs, () => {
      this.node.tick()
      this.scheduleReady()
    })
    this.every(LEASE_EXPIRY_CHECK_MS, () => this.revokeExpiredLeases())
    this.every(WATCH_VICTIM_RETRY_MS, () => this.sm.hub.retryVictims())
    this.every(this.opts.electionTimeoutMs, () => this.maybePublish())
    this.log.info({ memberId: this.memberId, bootstrap }, 'store member started')
    this.scheduleReady()
  }

  private every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(fn, ms))
  }

  // -- The Raft loop ---------------------------------------------------------------------------------

  private onPeerMessage(m: Message): void {
    if (this.state === 'stopped') return
    const err = this.node.step(m)
    if (err !== undefined) this.log.debug({ err: err.message, type: m.type, from: m.from }, 'step failed')
    this.scheduleReady()
  }

  private scheduleReady(): void {
    if (this.readyScheduled || this.state === 'stopped') return
    this.readyScheduled = true
    setImmediate(() => {
      this.readyScheduled = false
      this.runReady()
    })
  }

  private runReady(): void {
    if (this.state === 'stopped' || this.readyInFlight !== undefined || !this.node.hasReady()) return
    const rd = this.node.ready()
    this.readyInFlight = this.handleReady(rd).then(
      () => {
        this.readyInFlight = undefined
        this.scheduleReady()
      },
      (err: unknown) => {
        this.readyInFlight = undefined
        this.log.error({ err }, 'raft loop failed; stopping member')
        void this.crash()
      },
    )
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.onSoftState(rd.softState)
    // A leader replicates while it writes its own log (Raft thesis §10.2.1; etcd's raftNode does the
    // same): its entries count towards a quorum only once it has persisted them itself (the core
    // acknowledges its own entries after advance), so nothing is committed by an unsaved leader entry.
    // A follower or candidate must persist its term, vote and entries before answering anyone.
    const sendFirst = this.isLeader
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
    if (rd.snapshot !== undefined) this.installSnapshotState(rd.snapshot)
    if (!applyFirst) this.applyCommitted(rd)
    if (this.appliedIndex - this.snapshotIndex >= this.opts.snapshotCount) await this.takeSnapshot()
    if (this.halted) return
    this.node.advance()
  }

  /** Applies the Ready's committed entries and serves the reads they make possible. */
  private applyCommitted(rd: Ready): void {
    const m = this.metrics
    for (const e of rd.committedEntries) {
      if (m === undefined) this.applyEntry(e)
      else {
        const t0 = performance.now()
        this.applyEntry(e)
        m.applyDuration.observe((performance.now() - t0) / 1000)
      }
    }
    for (const rs of rd.readStates) this.reads.onReadState(rs)
    this.reads.onApplied(this.appliedIndex)
    if (m !== undefined && rd.committedEntries.length > 0) {
      m.proposalsCommitted.set(this.node.raft.raftLog.committed)
      m.proposalsApplied.set(this.appliedIndex)
      m.proposalsPending.set(this.pending.size)
      m.revision.set(this.sm.mvcc.revision)
    }
  }

  private onSoftState(ss: SoftState): void {
    if (ss.lead !== this.leaderId) {
      this.log.info({ leader: ss.lead, term: this.node.raft.term }, 'leader changed')
      if (ss.lead !== NONE) this.metrics?.leaderChanges.inc()
    }
    this.leaderId = ss.lead
    const leading = ss.raftState === 'leader'
    this.metrics?.hasLeader.set(ss.lead === NONE ? 0 : 1)
    this.metrics?.isLeader.set(leading ? 1 : 0)
    if (leading && !this.isLeader) {
      this.isLeader = true
      this.sm.lessor.promote(this.now(), this.opts.electionTimeoutMs)
      this.log.info({ term: this.node.raft.term }, 'became leader')
    } else if (!leading && this.isLeader) {
      this.isLeader = false
      this.sm.lessor.demote()
      this.log.info({ term: this.node.raft.term, state: ss.raftState }, 'stepped down')
    }
    for (const l of [...this.leaderListeners]) l(true)
  }

  private applyEntry(e: Entry): void {
    if (e.type === 'confChange') this.applyConfChangeEntry(e)
    else if (e.data.length > 0) {
      const env = decodeJson<RequestEnvelope>(e.data)
      const result = this.sm.applyRequest(env, this.now())
      if (env.kind === 'memberUpdate' && result.ok && env.memberId !== this.memberId)
        this.transport.updatePeer(env.memberId, env.peerUrls)
      this.pending.finish(env.id, result)
    }
    this.appliedIndex = e.index
  }

  private applyConfChangeEntry(e: Entry): void {
    const cc = decodeConfChange(e.data)
    const ctx = cc.context === undefined ? undefined : decodeJson<ConfChangeContext>(cc.context)
    const r = this.sm.applyConfChange(cc, ctx?.member)
    if (r.ok) {
      this.confState = this.node.applyConfChange(cc)
      const { added, updated, removed } = r.response
      if (added !== undefined && added.id !== this.memberId) this.transport.addPeer(added.id, added.peerUrls)
      if (updated !== undefined && updated.id !== this.memberId)
        this.transport.updatePeer(updated.id, updated.peerUrls)
      if (removed !== undefined && removed !== this.memberId) this.transport.removePeer(removed)
      if (removed === this.memberId) this.learnedRemoved('applied its own removal')
      this.log.info({ change: cc.type, member: cc.nodeId, index: e.index }, 'applied membership change')
    }
    if (ctx !== undefined) this.pending.finish(ctx.reqId, r.ok ? { ok: true, response: this.sm.members } : r)
  }

  /** Restores the state machine from a snapshot (on restart or when the leader sent one). */
  private installSnapshotState(snap: Snapshot): void {
    const d = decodeSnapshotData(snap.data)
    const before = new Set(this.sm.members.map((m) => m.id))
    this.sm.restore(d, this.now())
    if (this.isLeader) this.sm.lessor.promote(this.now(), this.opts.electionTimeoutMs)
    this.confState = snap.metadata.confState
    this.appliedIndex = snap.metadata.index
    this.snapshotIndex = snap.metadata.index
    if (this.state === 'running') {
      for (const m of this.sm.members)
        if (m.id !== this.memberId && !before.has(m.id)) this.transport.addPeer(m.id, m.peerUrls)
      for (const id of before) if (this.sm.member(id) === undefined) this.transport.removePeer(id)
    }
    // The MVCC store was replaced: re-register every watch from the next revision it has not seen.
    this.watches.reattach()
    this.log.info({ index: snap.metadata.index }, 'installed snapshot')
  }

  private async takeSnapshot(): Promise<void> {
    const index = this.appliedIndex
    const data = encodeSnapshotData(this.sm.snapshotData(this.confState))
    const snap = this.storage.createSnapshot(index, this.confState, data)
    if (snap instanceof RaftError) return
    await this.wal.saveSnapshot(snap)
    if (this.halted) return
    this.snapshotIndex = index
    const compactIndex = index - this.opts.snapshotCatchUpEntries
    if (compactIndex >= this.storage.firstIndex()) {
      this.storage.compact(compactIndex)
      await this.wal.releaseTo(compactIndex)
    }
    this.log.info({ index, compactIndex }, 'saved snapshot')
  }

  // -- Proposals -------------------------------------------------------------------------------------

  private timeoutError(): StoreError {
    return new StoreError(this.leaderId === NONE ? 'STORE_ERR_NO_LEADER' : 'STORE_ERR_TIMEOUT')
  }

  private admissionError(): StoreError | undefined {
    if (this.state !== 'running') return new StoreError('STORE_ERR_STOPPED')
    if (this.node.raft.raftLog.committed - this.appliedIndex > MAX_APPLY_BACKLOG_ENTRIES)
      return new StoreError('STORE_ERR_TOO_MANY_REQUESTS')
    return undefined
  }

  private nextRequestId(): string {
    return `${this.reqPrefix}.${++this.reqSeq}`
  }

  /** Proposes through Raft and resolves when this member applies the entry (or on timeout). */
  private async waitApplied<T>(
    id: string,
    propose: () => RaftError | undefined,
    signal?: AbortSignal,
  ): Promise<Result<T>> {
    const admit = this.admissionError()
    if (admit !== undefined) return { ok: false, error: admit }
    const startedMs = Date.now()
    // As etcd's raft node, hold proposals while there is no leader (an election is usually brief), but
    // not past the client's own deadline: a request its client gave up on is never proposed (etcd's
    // proposal waits on the request's context the same way).
    const led = await this.waitForLeader((l) => l !== NONE, this.opts.requestTimeoutMs, signal)
    if (signal?.aborted === true) return { ok: false, error: new StoreError('STORE_ERR_CANCELED') }
    if (!led)
      return {
        ok: false,
        error: this.state === 'running' ? this.timeoutError() : new StoreError('STORE_ERR_STOPPED'),
      }
    const remainingMs = Math.max(1, this.opts.requestTimeoutMs - (Date.now() - startedMs))
    const result = this.pending.wait<T>(id, remainingMs, () => {
      this.metrics?.proposalsFailed.inc()
      return this.timeoutError()
    })
    const err = propose()
    this.scheduleReady()
    if (err !== undefined) {
      this.log.debug({ err: err.message }, 'proposal dropped')
      this.metrics?.proposalsFailed.inc()
      this.pending.finish(id, { ok: false, error: this.timeoutError() })
    }
    return result
  }

  /** etcd serves a learner only serializable reads and maintenance (design-learner.md). */
  private learnerRefusal(): StoreError | undefined {
    return this.sm.member(this.memberId)?.isLearner === true
      ? new StoreError('STORE_ERR_NOT_SUPPORTED_FOR_LEARNER')
      : undefined
  }

  private propose<T>(body: RequestBody, signal?: AbortSignal): Promise<Result<T>> {
    const learner = body.kind === 'publish' ? undefined : this.learnerRefusal()
    if (learner !== undefined) return Promise.resolve({ ok: false, error: learner })
    const id = this.nextRequestId()
    const data = encodeJson({ ...body, id })
    // etcd limits the client's request, not our envelope (base64 would inflate it by a third).
    const cost = approxRequestBytes(body)
    const tooBig = checkRequestBytes(cost, this.opts.maxRequestBytes)
    if (tooBig !== undefined) return Promise.resolve({ ok: false, error: tooBig })
    // etcd's quotaKVServer: a write that would take the key space past the quota raises NOSPACE (through
    // Raft, for every member) and fails; while the alarm is raised the apply step refuses such writes.
    const quota = this.opts.quotaBackendBytes
    if (quota !== null && addsData(body) && this.sm.mvcc.sizeBytes + cost > quota) {
      this.raiseNoSpace()
      return Promise.resolve({ ok: false, error: new StoreError('STORE_ERR_NO_SPACE') })
    }
    return this.waitApplied<T>(id, () => this.node.propose(data), signal)
  }

  private raisingNoSpace = false

  private raiseNoSpace(): void {
    if (this.raisingNoSpace || this.sm.noSpace()) return
    this.raisingNoSpace = true
    this.log.warn(
      { quotaBytes: this.opts.quotaBackendBytes, sizeBytes: this.sm.mvcc.sizeBytes },
      'alarm NOSPACE raised',
    )
    void this.propose({
      kind: 'alarm',
      action: 'activate',
      memberId: this.memberId,
      alarm: 'NOSPACE',
    }).finally(() => {
      this.raisingNoSpace = false
    })
  }

  private proposeConfChange(cc: Omit<ConfChange, 'context'>, member: Member): Promise<Result<Member[]>> {
    const reqId = this.nextRequestId()
    const context = encodeJson({ reqId, member } satisfies ConfChangeContext)
    return this.waitApplied<Member[]>(reqId, () => this.node.proposeConfChange({ ...cc, context }))
  }

  private async linearizableBarrier(): Promise<StoreError | undefined> {
    if (this.state !== 'running') return new StoreError('STORE_ERR_STOPPED')
    return this.learnerRefusal() ?? this.reads.wait()
  }

  // -- EtcdBackend: KV -------------------------------------------------------------------------------

  header(): ClusterHeader {
    return {
      clusterId: this.sm.clusterId,
      memberId: this.memberId,
      revision: this.sm.mvcc.revision,
      raftTerm: this.node.raft.term,
    }
  }

  hasLeader(): boolean {
    return this.state === 'running' && this.leaderId !== NONE
  }

  /** `serializable` (etcd's RangeRequest field) skips the ReadIndex round. */
  async range(req: RangeRequest & { serializable?: boolean }): Promise<Result<RangeResponse>> {
    const bad = checkRangeRequest(req)
    if (bad !== undefined) return { ok: false, error: bad }
    if (req.serializable !== true) {
      const err = await this.linearizableBarrier()
      if (err !== undefined) return { ok: false, error: err }
    }
    return this.sm.mvcc.range(req)
  }

  put(req: PutRequest, signal?: AbortSignal): Promise<Result<PutResponse>> {
    const bad = checkPutRequest(req)
    if (bad !== undefined) return Promise.resolve({ ok: false, error: bad })
    return this.propose({ kind: 'put', req }, signal)
  }

  deleteRange(req: DeleteRangeRequest, signal?: AbortSignal): Promise<Result<DeleteRangeResponse>> {
    const bad = checkDeleteRangeRequest(req)
    if (bad !== undefined) return Promise.resolve({ ok: false, error: bad })
    return this.propose({ kind: 'deleteRange', req }, signal)
  }

  txn(req: TxnRequest, signal?: AbortSignal): Promise<Result<TxnResponse>> {
    const bad = checkTxnRequest(req, this.opts.maxTxnOps)
    if (bad !== undefined) return Promise.resolve({ ok: false, error: bad })
    return this.propose({ kind: 'txn', req }, signal)
  }

  compact(revision: number, _physical: boolean, signal?: AbortSignal): Promise<Result<CompactResponse>> {
    return this.propose({ kind: 'compact', revision }, signal)
  }

  watch(req: WatchCreateRequest, sink: (resp: WatchResponse) => boolean): Result<WatchHandle> {
    if (this.state !== 'running') return fail('STORE_ERR_STOPPED')
    return this.watches.watch(req, sink)
  }

  // -- EtcdBackend: leases ---------------------------------------------------------------------------

  leaseGrant(ttlSeconds: number, id: bigint, signal?: AbortSignal): Promise<Result<LeaseGrantResult>> {
    const leaseId = id === 0n ? randomLeaseId(this.random) : id
    return this.propose({ kind: 'leaseGrant', leaseId, ttl: ttlSeconds }, signal)
  }

  leaseRevoke(id: bigint, signal?: AbortSignal): Promise<Result<{ revision: number }>> {
    return this.propose({ kind: 'leaseRevoke', leaseId: id }, signal)
  }

  async leaseKeepAlive(id: bigint): Promise<Result<{ ttl: number }>> {
    if (this.isLeader) return this.sm.lessor.renew(id, this.now())
    return this.forwardToLeader('lease.keepalive', { leaseId: id })
  }

  async leaseTimeToLive(id: bigint, keys: boolean): Promise<Result<LeaseTimeToLiveResult>> {
    if (this.isLeader) return this.sm.timeToLive(id, keys, this.now())
    return this.forwardToLeader('lease.ttl', { leaseId: id, keys })
  }

  private async forwardToLeader<T>(method: string, body: unknown): Promise<Result<T>> {
    if (this.state !== 'running') return fail('STORE_ERR_STOPPED')
    const leader = this.leaderId
    if (leader === NONE) return fail('STORE_ERR_NO_LEADER')
    try {
      return decodeRemoteResult<T>(
        await this.transport.call(leader, method, encodeJson(body), this.opts.requestTimeoutMs),
      )
    } catch (err) {
      this.log.debug({ err: String(err), method, leader }, 'call to leader failed')
      return { ok: false, error: this.timeoutError() }
    }
  }

  async leaseLeases(): Promise<Result<bigint[]>> {
    const err = await this.linearizableBarrier()
    if (err !== undefined) return { ok: false, error: err }
    return { ok: true, response: this.sm.lessor.ids() }
  }

  private revokeExpiredLeases(): void {
    if (!this.isLeader || this.state !== 'running') return
    for (const id of this.sm.lessor.expired(this.now(), MAX_REVOKES_PER_ROUND)) {
      void this.leaseRevoke(id).then((r) => {
        if (!r.ok && r.error.code !== 'STORE_ERR_LEASE_NOT_FOUND')
          this.log.debug({ lease: id.toString(), err: r.error.message }, 'expired lease revoke failed')
      })
    }
  }

  // -- EtcdBackend: cluster --------------------------------------------------------------------------

  private maybePublish(): void {
    if (this.published || this.leaderId === NONE || this.state !== 'running') return
    const me = this.sm.member(this.memberId)
    if (me === undefined) return
    const clientUrls = [...(this.options.clientUrls ?? [])]
    if (me.name === this.options.name && me.clientUrls.join(',') === clientUrls.join(',')) {
      this.published = true
      return
    }
    void this.propose({ kind: 'publish', memberId: this.memberId, name: this.options.name, clientUrls }).then(
      (r) => {
        if (r.ok) this.published = true
      },
    )
  }

  async memberList(): Promise<Result<Member[]>> {
    return { ok: true, response: this.sm.members.map((m) => ({ ...m })) }
  }

  async memberAdd(
    peerUrls: string[],
    isLearner: boolean,
  ): Promise<Result<{ member: Member; members: Member[] }>> {
    const m = newMember(
      this.sm.members,
      this.sm.removed,
      peerUrls,
      this.options.initialClusterToken,
      isLearner,
    )
    if (!m.ok) return m
    const member = m.response
    const r = await this.proposeConfChange(
      { type: isLearner ? 'addLearnerNode' : 'addNode', nodeId: member.id },
      member,
    )
    if (!r.ok) return r
    return { ok: true, response: { member, members: r.response } }
  }

  async memberRemove(id: NodeId): Promise<Result<Member[]>> {
    const m = this.sm.member(id)
    if (m === undefined) return fail('STORE_ERR_MEMBER_NOT_FOUND')
    return this.proposeConfChange({ type: 'removeNode', nodeId: id }, m)
  }

  async memberPromote(id: NodeId): Promise<Result<Member[]>> {
    const m = this.sm.member(id)
    if (m === undefined) return fail('STORE_ERR_MEMBER_NOT_FOUND')
    if (!m.isLearner) return fail('STORE_ERR_MEMBER_NOT_LEARNER')
    if (!this.isLeader) return this.forwardToLeader('member.promote', { id })
    if (!isLearnerReady(this.node.status().progress, this.memberId, id))
      return fail('STORE_ERR_LEARNER_NOT_READY')
    return this.proposeConfChange({ type: 'addNode', nodeId: id }, { ...m, isLearner: false })
  }

  async memberUpdate(id: NodeId, peerUrls: string[]): Promise<Result<Member[]>> {
    if (this.sm.member(id) === undefined) return fail('STORE_ERR_MEMBER_NOT_FOUND')
    const trimmed = peerUrls.map((u) => u.trim())
    if (trimmed.length === 0 || !trimmed.every(isValidPeerUrl)) return fail('STORE_ERR_MEMBER_BAD_URLS')
    return this.propose({ kind: 'memberUpdate', memberId: id, peerUrls: trimmed })
  }

  // -- EtcdBackend: maintenance ----------------------------------------------------------------------

  async status(): Promise<Result<StatusResult>> {
    const dbSize = this.sm.mvcc.sizeBytes
    return {
      ok: true,
      response: {
        version: SERVER_VERSION,
        dbSize,
        dbSizeInUse: dbSize,
        leader: this.leaderId,
        // etcd 3.4's Maintenance.Status: the committed index, and "no leader" among the errors.
        raftIndex: this.node.raft.raftLog.committed,
        raftTerm: this.node.raft.term,
        raftAppliedIndex: this.appliedIndex,
        isLearner: this.sm.member(this.memberId)?.isLearner ?? false,
        // etcd 3.4: "no leader" first, then each raised alarm as its protobuf text form.
        errors: [
          ...(this.leaderId === NONE ? [new StoreError('STORE_ERR_NO_LEADER').message] : []),
          ...this.sm.alarms.map((a) => `memberID:${a.memberId} alarm:${a.alarm} `),
        ],
      },
    }
  }

  async hashKV(revision: number): Promise<Result<HashKvResult>> {
    return hashKV(this.sm.mvcc, revision)
  }

  async moveLeader(target: NodeId): Promise<Result<void>> {
    if (!this.isLeader) return fail('STORE_ERR_NOT_LEADER')
    if (target === this.memberId) return { ok: true, response: undefined }
    if (!this.confState.voters.includes(target)) return fail('STORE_ERR_BAD_LEADER_TRANSFEREE')
    this.node.transferLeadership(target)
    this.scheduleReady()
    const moved = await this.waitForLeader((l) => l === target, this.opts.requestTimeoutMs)
    return moved ? { ok: true, response: undefined } : fail('STORE_ERR_TIMEOUT')
  }

  /** Resolves true once `pred(leader)` holds, false after `timeoutMs` or when `signal` aborts. */
  private waitForLeader(
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

  async alarmList(): Promise<Result<AlarmMember[]>> {
    return { ok: true, response: this.sm.alarms.map((a) => ({ ...a })) }
  }

  /** Clears an alarm for every member (etcd's AlarmRequest DEACTIVATE, through Raft). */
  async alarmDisarm(memberId: NodeId, alarm: AlarmType): Promise<Result<AlarmMember[]>> {
    return this.propose({ kind: 'alarm', action: 'deactivate', memberId, alarm })
  }

  async defragment(): Promise<Result<void>> {
    return { ok: true, response: undefined }
  }

  async snapshot(): Promise<Result<Uint8Array>> {
    return { ok: true, response: encodeBackupImage(serialize(this.sm.mvcc), this.sm.lessor.toSnapshot()) }
  }

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

  /**
   * Called once when this member learns it was removed from the cluster: it applied its own removal, or
   * a peer refused it as removed (the commit of the removal may never reach it). It can never rejoin with the
   * same identity (Raft ids are not reused), so the process should stop, as etcd's does.
   */
  onRemoved(listener: () => void): void {
    this.removedListeners.push(listener)
  }

  // -- Introspection for tests and metrics --------------------------------------------------------

  /** The members as this member has applied them. */
  membersNow(): readonly Member[] {
    return this.sm.members
  }

  leader(): NodeId {
    return this.leaderId
  }

  appliedIndexNow(): number {
    return this.appliedIndex
  }

  /** The index of the newest Raft snapshot this member holds. */
  snapshotIndexNow(): number {
    return this.snapshotIndex
  }

  /** The first log index still held in memory (entries before it were compacted into a snapshot). */
  firstLogIndex(): number {
    return this.storage.firstIndex()
  }

  // -- Stopping ------------------------------------------------------------------------------------

  /**
   * Graceful stop (SIGTERM): a leader with other voters first hands leadership to the most caught-up
   * voter and waits up to one election timeout; then the loop stops, the WAL is flushed and closed and
   * the transport closed. Pending requests fail with "server stopped".
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return
    this.state = 'stopping'
    if (this.isLeader) {
      const best = pickTransferee(this.node.status().progress, this.memberId, this.confState.voters)
      if (best !== undefined) {
        this.log.info({ transferee: best }, 'transferring leadership before stopping')
        this.node.transferLeadership(best)
        this.scheduleReady()
        await this.waitForLeader((l) => l !== this.memberId && l !== NONE, this.opts.electionTimeoutMs)
      }
    }
    this.shutdownLoops()
    while (this.readyInFlight !== undefined) await this.readyInFlight
    this.halted = true
    this.failPending()
    await this.wal.close()
    await this.transport.close()
    this.log.info({}, 'store member stopped')
  }

  /** Hard stop emulating `kill -9` in-process: no transfer, the in-flight Ready is abandoned. */
  async crash(): Promise<void> {
    if (this.state === 'stopped') return
    this.halted = true
    this.shutdownLoops()
    this.failPending()
    await this.transport.close()
    await this.wal.close().catch(() => {})
  }

  private shutdownLoops(): void {
    this.state = 'stopped'
    for (const t of this.timers) clearInterval(t)
    this.timers.length = 0
    for (const l of [...this.leaderListeners]) l(false)
    this.watches.cancelAll()
  }

  private failPending(): void {
    const stopped = new StoreError('STORE_ERR_STOPPED')
    this.pending.failAll(stopped)
    this.reads.failAll(stopped)
  }
}
