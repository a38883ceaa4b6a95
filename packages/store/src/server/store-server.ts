/**
 * hakube-store's server: an {@link EtcdBackend} replicated by Raft, split as etcd's etcdserver is:
 *
 * - `raft-loop.ts` (etcd's raftNode): drives the RawNode, handles each Ready in the core's order
 *   (persist, send, apply, advance), tracks leadership and takes Raft snapshots;
 * - `proposals.ts` (request ids, the wait registry, admission): proposes writes and waits for them to
 *   be applied here;
 * - `state-machine.ts` (etcd's applier): decodes and applies committed entries; MVCC, leases, alarms and
 *   membership live only there;
 * - `member-runtime.ts`: the lifecycle: opening the data dir, wiring the transport, timers, reactions
 *   to applied entries, graceful (SIGTERM leadership handover) and hard stop;
 * - this file: the etcd API facade the gRPC services and the JSON gateway call.
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
import { NONE, type NodeId } from '@hakube/raft'
import type {
  AlarmMember,
  AlarmType,
  ClusterHeader,
  EtcdBackend,
  HashKvResult,
  LeaseGrantResult,
  LeaseTimeToLiveResult,
  Member,
  StatusResult,
  WatchHandle,
} from '../backend.js'
import { StoreError } from '../errors.js'
import {
  type CompactResponse,
  checkDeleteRangeRequest,
  checkPutRequest,
  checkRangeRequest,
  checkTxnRequest,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type Result,
  type TxnRequest,
  type TxnResponse,
  type WatchCreateRequest,
  type WatchResponse,
} from '../mvcc/index.js'
import { isLearnerReady, isValidPeerUrl, newMember, randomLeaseId } from './cluster-rules.js'
import { decodeJson, encodeJson } from './codec.js'
import { MemberRuntime, type PeerCallHandlers } from './member-runtime.js'
import type { ResolvedStoreOptions, StoreServerOptions } from './options.js'
import { decodeRemoteResult, encodeRemoteResult } from './pending-requests.js'
import type { Proposals } from './proposals.js'
import type { RaftLoop } from './raft-loop.js'
import type { StateMachine } from './state-machine.js'

export const SERVER_VERSION = '3.4.0-hakube'

const fail = <T>(code: ConstructorParameters<typeof StoreError>[0], detail?: string): Result<T> => ({
  ok: false,
  error: new StoreError(code, detail),
})

export class StoreServer implements EtcdBackend {
  readonly memberId: NodeId
  readonly opts: ResolvedStoreOptions
  private readonly sm: StateMachine
  private readonly proposals: Proposals

  private constructor(private readonly m: MemberRuntime) {
    this.memberId = m.memberId
    this.opts = m.opts
    this.sm = m.sm
    this.proposals = m.proposals
  }

  /** Opens (or creates) the member's data dir, restores its state and starts the Raft loop. */
  static async start(options: StoreServerOptions): Promise<StoreServer> {
    const m = new MemberRuntime(options)
    const s = new StoreServer(m)
    await m.open(s.peerCalls())
    return s
  }

  private get loop(): RaftLoop {
    return this.m.loop
  }

  /** What followers ask the leader outside Raft (etcd forwards lease keep-alives and TTL queries). */
  private peerCalls(): PeerCallHandlers {
    return {
      'lease.keepalive': async (body) => {
        const { leaseId } = decodeJson<{ leaseId: bigint }>(body)
        return encodeRemoteResult(this.sm.renewLease(leaseId, this.m.now()))
      },
      'lease.ttl': async (body) => {
        const { leaseId, keys } = decodeJson<{ leaseId: bigint; keys: boolean }>(body)
        if (!this.loop.isLeader) return encodeRemoteResult(fail('STORE_ERR_NOT_LEADER'))
        return encodeRemoteResult(this.sm.timeToLive(leaseId, keys, this.m.now()))
      },
      'member.promote': async (body) => {
        const { id } = decodeJson<{ id: NodeId }>(body)
        return encodeRemoteResult(await this.memberPromote(id))
      },
    }
  }

  private async linearizableBarrier(): Promise<StoreError | undefined> {
    if (this.m.state !== 'running') return new StoreError('STORE_ERR_STOPPED')
    return this.proposals.learnerRefusal() ?? this.m.reads.wait()
  }

  // -- EtcdBackend: KV -------------------------------------------------------------------------------

  header(): ClusterHeader {
    return {
      clusterId: this.sm.clusterId,
      memberId: this.memberId,
      revision: this.sm.revision,
      raftTerm: this.loop.term,
    }
  }

  hasLeader(): boolean {
    return this.m.state === 'running' && this.loop.leader !== NONE
  }

  /** `serializable` (etcd's RangeRequest field) skips the ReadIndex round. */
  async range(req: RangeRequest & { serializable?: boolean }): Promise<Result<RangeResponse>> {
    const bad = checkRangeRequest(req)
    if (bad !== undefined) return { ok: false, error: bad }
    if (req.serializable !== true) {
      const err = await this.linearizableBarrier()
      if (err !== undefined) return { ok: false, error: err }
    }
    return this.sm.range(req)
  }

  put(req: PutRequest, signal?: AbortSignal): Promise<Result<PutResponse>> {
    const bad = checkPutRequest(req)
    if (bad !== undefined) return Promise.resolve({ ok: false, error: bad })
    return this.proposals.propose({ kind: 'put', req }, signal)
  }

  deleteRange(req: DeleteRangeRequest, signal?: AbortSignal): Promise<Result<DeleteRangeResponse>> {
    const bad = checkDeleteRangeRequest(req)
    if (bad !== undefined) return Promise.resolve({ ok: false, error: bad })
    return this.proposals.propose({ kind: 'deleteRange', req }, signal)
  }

  txn(req: TxnRequest, signal?: AbortSignal): Promise<Result<TxnResponse>> {
    const bad = checkTxnRequest(req, this.opts.maxTxnOps)
    if (bad !== undefined) return Promise.resolve({ ok: false, error: bad })
    return this.proposals.propose({ kind: 'txn', req }, signal)
  }

  compact(revision: number, _physical: boolean, signal?: AbortSignal): Promise<Result<CompactResponse>> {
    return this.proposals.propose({ kind: 'compact', revision }, signal)
  }

  watch(req: WatchCreateRequest, sink: (resp: WatchResponse) => boolean): Result<WatchHandle> {
    if (this.m.state !== 'running') return fail('STORE_ERR_STOPPED')
    return this.sm.watch(req, sink)
  }

  // -- EtcdBackend: leases ---------------------------------------------------------------------------

  leaseGrant(ttlSeconds: number, id: bigint, signal?: AbortSignal): Promise<Result<LeaseGrantResult>> {
    const leaseId = id === 0n ? randomLeaseId(this.m.random) : id
    return this.proposals.propose({ kind: 'leaseGrant', leaseId, ttl: ttlSeconds }, signal)
  }

  leaseRevoke(id: bigint, signal?: AbortSignal): Promise<Result<{ revision: number }>> {
    return this.proposals.propose({ kind: 'leaseRevoke', leaseId: id }, signal)
  }

  async leaseKeepAlive(id: bigint): Promise<Result<{ ttl: number }>> {
    if (this.loop.isLeader) return this.sm.renewLease(id, this.m.now())
    return this.forwardToLeader('lease.keepalive', { leaseId: id })
  }

  async leaseTimeToLive(id: bigint, keys: boolean): Promise<Result<LeaseTimeToLiveResult>> {
    if (this.loop.isLeader) return this.sm.timeToLive(id, keys, this.m.now())
    return this.forwardToLeader('lease.ttl', { leaseId: id, keys })
  }

  private async forwardToLeader<T>(method: string, body: unknown): Promise<Result<T>> {
    if (this.m.state !== 'running') return fail('STORE_ERR_STOPPED')
    const leader = this.loop.leader
    if (leader === NONE) return fail('STORE_ERR_NO_LEADER')
    try {
      return decodeRemoteResult<T>(
        await this.m.transport.call(leader, method, encodeJson(body), this.opts.requestTimeoutMs),
      )
    } catch (err) {
      this.m.log.debug({ err: String(err), method, leader }, 'call to leader failed')
      return { ok: false, error: this.proposals.timeoutError() }
    }
  }

  async leaseLeases(): Promise<Result<bigint[]>> {
    const err = await this.linearizableBarrier()
    if (err !== undefined) return { ok: false, error: err }
    return { ok: true, response: this.sm.leaseIds() }
  }

  // -- EtcdBackend: cluster --------------------------------------------------------------------------

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
      this.m.options.initialClusterToken,
      isLearner,
    )
    if (!m.ok) return m
    const member = m.response
    const r = await this.proposals.proposeConfChange(
      { type: isLearner ? 'addLearnerNode' : 'addNode', nodeId: member.id },
      member,
    )
    if (!r.ok) return r
    return { ok: true, response: { member, members: r.response } }
  }

  async memberRemove(id: NodeId): Promise<Result<Member[]>> {
    const m = this.sm.member(id)
    if (m === undefined) return fail('STORE_ERR_MEMBER_NOT_FOUND')
    return this.proposals.proposeConfChange({ type: 'removeNode', nodeId: id }, m)
  }

  async memberPromote(id: NodeId): Promise<Result<Member[]>> {
    const m = this.sm.member(id)
    if (m === undefined) return fail('STORE_ERR_MEMBER_NOT_FOUND')
    if (!m.isLearner) return fail('STORE_ERR_MEMBER_NOT_LEARNER')
    if (!this.loop.isLeader) return this.forwardToLeader('member.promote', { id })
    if (!isLearnerReady(this.loop.status().progress, this.memberId, id))
      return fail('STORE_ERR_LEARNER_NOT_READY')
    return this.proposals.proposeConfChange({ type: 'addNode', nodeId: id }, { ...m, isLearner: false })
  }

  async memberUpdate(id: NodeId, peerUrls: string[]): Promise<Result<Member[]>> {
    if (this.sm.member(id) === undefined) return fail('STORE_ERR_MEMBER_NOT_FOUND')
    const trimmed = peerUrls.map((u) => u.trim())
    if (trimmed.length === 0 || !trimmed.every(isValidPeerUrl)) return fail('STORE_ERR_MEMBER_BAD_URLS')
    return this.proposals.propose({ kind: 'memberUpdate', memberId: id, peerUrls: trimmed })
  }

  // -- EtcdBackend: maintenance ----------------------------------------------------------------------

  async status(): Promise<Result<StatusResult>> {
    const dbSize = this.sm.sizeBytes
    return {
      ok: true,
      response: {
        version: SERVER_VERSION,
        dbSize,
        dbSizeInUse: dbSize,
        leader: this.loop.leader,
        // etcd 3.4's Maintenance.Status: the committed index, and "no leader" among the errors.
        raftIndex: this.loop.committed,
        raftTerm: this.loop.term,
        raftAppliedIndex: this.loop.appliedIndex,
        isLearner: this.sm.member(this.memberId)?.isLearner ?? false,
        // etcd 3.4: "no leader" first, then each raised alarm as its protobuf text form.
        errors: [
          ...(this.loop.leader === NONE ? [new StoreError('STORE_ERR_NO_LEADER').message] : []),
          ...this.sm.alarms.map((a) => `memberID:${a.memberId} alarm:${a.alarm} `),
        ],
      },
    }
  }

  async hashKV(revision: number): Promise<Result<HashKvResult>> {
    return this.sm.hashKV(revision)
  }

  async moveLeader(target: NodeId): Promise<Result<void>> {
    if (!this.loop.isLeader) return fail('STORE_ERR_NOT_LEADER')
    if (target === this.memberId) return { ok: true, response: undefined }
    if (!this.loop.confState.voters.includes(target)) return fail('STORE_ERR_BAD_LEADER_TRANSFEREE')
    this.loop.transferLeadership(target)
    const moved = await this.loop.waitForLeader((l) => l === target, this.opts.requestTimeoutMs)
    return moved ? { ok: true, response: undefined } : fail('STORE_ERR_TIMEOUT')
  }

  async alarmList(): Promise<Result<AlarmMember[]>> {
    return { ok: true, response: this.sm.alarms.map((a) => ({ ...a })) }
  }

  /** Clears an alarm for every member (etcd's AlarmRequest DEACTIVATE, through Raft). */
  async alarmDisarm(memberId: NodeId, alarm: AlarmType): Promise<Result<AlarmMember[]>> {
    return this.proposals.propose({ kind: 'alarm', action: 'deactivate', memberId, alarm })
  }

  async defragment(): Promise<Result<void>> {
    return { ok: true, response: undefined }
  }

  async snapshot(): Promise<Result<Uint8Array>> {
    return { ok: true, response: this.sm.backupImage() }
  }

  /**
   * Called once when this member learns it was removed from the cluster: it applied its own removal, or
   * a peer refused it as removed (the commit of the removal may never reach it). It can never rejoin with the
   * same identity (Raft ids are not reused), so the process should stop, as etcd's does.
   */
  onRemoved(listener: () => void): void {
    this.m.onRemoved(listener)
  }

  // -- Introspection for tests and metrics --------------------------------------------------------

  /** The members as this member has applied them. */
  membersNow(): readonly Member[] {
    return this.sm.members
  }

  leader(): NodeId {
    return this.loop.leader
  }

  appliedIndexNow(): number {
    return this.loop.appliedIndex
  }

  /** The index of the newest Raft snapshot this member holds. */
  snapshotIndexNow(): number {
    return this.loop.snapshotIndex
  }

  /** The first log index still held in memory (entries before it were compacted into a snapshot). */
  firstLogIndex(): number {
    return this.loop.firstLogIndex()
  }

  // -- Stopping ------------------------------------------------------------------------------------

  /**
   * Graceful stop (SIGTERM): a leader with other voters first hands leadership to the most caught-up
   * voter and waits up to one election timeout; then the loop stops, the WAL is flushed and closed and
   * the transport closed. Pending requests fail with "server stopped".
   */
  stop(): Promise<void> {
    return this.m.stop()
  }

  /** Hard stop emulating `kill -9` in-process: no transfer, the in-flight Ready is abandoned. */
  crash(): Promise<void> {
    return this.m.crash()
  }
}
