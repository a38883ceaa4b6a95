/**
 * LocalBackend: a single-member, in-process {@link EtcdBackend} over the server's own
 * {@link StateMachine}, with no Raft, no WAL and no durability: every write is applied to the state
 * machine at once, through the same apply step the replicated server uses (so there is one apply). It
 * exists so the client-facing edges (gRPC services, JSON gateway) can be tested against the real
 * etcdctl without a cluster. The member always leads, term 1. Test code: reachable only through
 * `@hakube/store/testing`.
 */
import { randomBytes } from 'node:crypto'
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
} from '../../backend.js'
import { StoreError } from '../../errors.js'
import {
  type CompactResponse,
  checkRequestBytes,
  DEFAULT_MAX_TXN_OPS,
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
} from '../../mvcc/index.js'
import { approxRequestBytes } from '../../server/codec.js'
import type { RequestBody } from '../../server/request.js'
import { StateMachine } from '../../server/state-machine.js'

export interface LocalBackendOptions {
  clusterId?: number
  memberId?: number
  name?: string
  clientUrls?: string[]
  peerUrls?: string[]
  version?: string
  minLeaseTtlSeconds?: number
  /** Wall clock in ms (lease deadlines). Default Date.now. */
  now?: () => number
}

const ok = <T>(response: T): Result<T> => ({ ok: true, response })
const fail = <T>(code: ConstructorParameters<typeof StoreError>[0]): Result<T> => ({
  ok: false,
  error: new StoreError(code),
})

export class LocalBackend implements EtcdBackend {
  private readonly sm: StateMachine
  private readonly memberId: number
  private readonly clusterId: number
  private readonly version: string
  private readonly now: () => number
  private readonly timer: NodeJS.Timeout

  constructor(opts: LocalBackendOptions = {}) {
    this.now = opts.now ?? Date.now
    this.memberId = opts.memberId ?? 0x8e9e05c52164
    const member: Member = {
      id: this.memberId,
      name: opts.name ?? 'default',
      peerUrls: opts.peerUrls ?? ['http://localhost:2380'],
      clientUrls: opts.clientUrls ?? [],
      isLearner: false,
    }
    this.sm = new StateMachine(
      DEFAULT_MAX_TXN_OPS,
      opts.minLeaseTtlSeconds ?? 2,
      new Map([[member.id, member]]),
    )
    // The bootstrap entry a new one-member cluster applies first.
    this.sm.applyConfChange({ type: 'addNode', nodeId: member.id }, undefined)
    this.sm.promoteLessor(this.now(), 0)
    this.clusterId = opts.clusterId ?? 0x1c2d3e4f5a6b
    this.version = opts.version ?? '3.4.23'
    // Expire leases and retry slow watchers, as the server's loops do.
    this.timer = setInterval(() => this.tick(), 100)
    this.timer.unref()
  }

  /** Applies a request at once, after the server's admission size check (etcd's --max-request-bytes). */
  private apply<T>(body: RequestBody): Result<T> {
    const tooBig = checkRequestBytes(approxRequestBytes(body))
    if (tooBig !== undefined) return { ok: false, error: tooBig }
    return this.sm.applyRequest(body, this.now()) as Result<T>
  }

  /** Sets the advertised client URLs (known only once the listener has its port). */
  setClientUrls(urls: string[]): void {
    const me = this.sm.member(this.memberId)
    this.apply({ kind: 'publish', memberId: this.memberId, name: me?.name ?? '', clientUrls: urls })
  }

  /** The key space's current revision. */
  get revision(): number {
    return this.sm.revision
  }

  /** Watchers registered now (tests wait for a client's watch to be in place). */
  watcherCount(): number {
    return this.sm.watcherCount()
  }

  close(): void {
    clearInterval(this.timer)
    this.sm.close()
  }

  private tick(): void {
    for (const id of this.sm.expiredLeases(this.now(), 1000)) this.apply({ kind: 'leaseRevoke', leaseId: id })
    this.sm.retryWatchVictims()
  }

  /** The single member always leads. */
  hasLeader(): boolean {
    return true
  }

  header(): ClusterHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision: this.sm.revision, raftTerm: 1 }
  }

  async range(req: RangeRequest): Promise<Result<RangeResponse>> {
    return this.sm.range(req)
  }
  async put(req: PutRequest): Promise<Result<PutResponse>> {
    return this.apply({ kind: 'put', req })
  }
  async deleteRange(req: DeleteRangeRequest): Promise<Result<DeleteRangeResponse>> {
    return this.apply({ kind: 'deleteRange', req })
  }
  async txn(req: TxnRequest): Promise<Result<TxnResponse>> {
    return this.apply({ kind: 'txn', req })
  }
  async compact(revision: number): Promise<Result<CompactResponse>> {
    return this.apply({ kind: 'compact', revision })
  }

  watch(req: WatchCreateRequest, sink: (resp: WatchResponse) => boolean): Result<WatchHandle> {
    return this.sm.watch(req, sink)
  }

  async leaseGrant(ttlSeconds: number, id: bigint): Promise<Result<LeaseGrantResult>> {
    let leaseId = id
    while (leaseId === 0n) leaseId = randomBytes(8).readBigInt64BE() & 0x7fffffffffffffffn
    return this.apply({ kind: 'leaseGrant', leaseId, ttl: ttlSeconds })
  }
  async leaseRevoke(id: bigint): Promise<Result<{ revision: number }>> {
    return this.apply({ kind: 'leaseRevoke', leaseId: id })
  }
  async leaseKeepAlive(id: bigint): Promise<Result<{ ttl: number }>> {
    return this.sm.renewLease(id, this.now())
  }
  async leaseTimeToLive(id: bigint, keys: boolean): Promise<Result<LeaseTimeToLiveResult>> {
    return this.sm.timeToLive(id, keys, this.now())
  }
  async leaseLeases(): Promise<Result<bigint[]>> {
    return ok(this.sm.leaseIds())
  }

  async memberList(): Promise<Result<Member[]>> {
    return ok(this.sm.members.map((m) => ({ ...m })))
  }
  async memberAdd(): Promise<Result<{ member: Member; members: Member[] }>> {
    return fail('STORE_ERR_MEMBER_NOT_ENOUGH_STARTED')
  }
  async memberRemove(): Promise<Result<Member[]>> {
    return fail('STORE_ERR_MEMBER_NOT_ENOUGH_STARTED')
  }
  async memberPromote(): Promise<Result<Member[]>> {
    return fail('STORE_ERR_MEMBER_NOT_LEARNER')
  }
  async memberUpdate(id: number, peerUrls: string[]): Promise<Result<Member[]>> {
    const r = this.apply<Member[]>({ kind: 'memberUpdate', memberId: id, peerUrls })
    return r.ok ? ok(r.response.map((m) => ({ ...m }))) : r
  }

  async status(): Promise<Result<StatusResult>> {
    const size = this.sm.sizeBytes
    return ok({
      version: this.version,
      dbSize: size,
      dbSizeInUse: size,
      leader: this.memberId,
      raftIndex: this.sm.revision,
      raftTerm: 1,
      raftAppliedIndex: this.sm.revision,
      isLearner: false,
      errors: [],
    })
  }
  async hashKV(revision: number): Promise<Result<HashKvResult>> {
    return this.sm.hashKV(revision)
  }
  async moveLeader(): Promise<Result<void>> {
    return fail('STORE_ERR_BAD_LEADER_TRANSFEREE')
  }
  async alarmList(): Promise<Result<AlarmMember[]>> {
    return ok(this.sm.alarms.map((a) => ({ ...a })))
  }
  async alarmDisarm(memberId: number, alarm: AlarmType): Promise<Result<AlarmMember[]>> {
    return this.apply({ kind: 'alarm', action: 'deactivate', memberId, alarm })
  }
  async defragment(): Promise<Result<void>> {
    return ok(undefined)
  }
  async snapshot(): Promise<Result<Uint8Array>> {
    return ok(this.sm.backupImage())
  }
}
