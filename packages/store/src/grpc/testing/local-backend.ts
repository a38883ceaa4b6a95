/**
 * LocalBackend: a single-member, in-process {@link EtcdBackend} over MvccStore + WatchHub + Lessor.
 *
 * NOT the replicated server: there is no Raft, no WAL and no durability; every request is applied
 * directly to memory. It exists so the client-facing edges (gRPC services, JSON gateway) can be tested
 * against the real etcdctl without a cluster. The member always leads, term 1.
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
import { Lessor } from '../../lease/lessor.js'
import {
  type CompactResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  hashKV,
  MvccStore,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type Result,
  serialize,
  type TxnRequest,
  type TxnResponse,
  type WatchCreateRequest,
  WatchHub,
  type WatchResponse,
} from '../../mvcc/index.js'

export interface LocalBackendOptions {
  clusterId?: number
  memberId?: number
  name?: string
  clientUrls?: string[]
  peerUrls?: string[]
  version?: string
  minLeaseTtlSeconds?: number
}

const ok = <T>(response: T): Result<T> => ({ ok: true, response })
const fail = <T>(code: ConstructorParameters<typeof StoreError>[0]): Result<T> => ({
  ok: false,
  error: new StoreError(code),
})

export class LocalBackend implements EtcdBackend {
  readonly store: MvccStore
  readonly hub: WatchHub
  readonly lessor: Lessor
  private readonly member: Member
  private readonly clusterId: number
  private readonly version: string
  private readonly timer: NodeJS.Timeout

  constructor(opts: LocalBackendOptions = {}) {
    this.lessor = new Lessor({ minTtlSeconds: opts.minLeaseTtlSeconds ?? 2 })
    this.lessor.promote(Date.now(), 0)
    this.store = new MvccStore({ leaseExists: (id) => this.lessor.has(id) })
    this.hub = new WatchHub(this.store)
    this.clusterId = opts.clusterId ?? 0x1c2d3e4f5a6b
    this.member = {
      id: opts.memberId ?? 0x8e9e05c52164,
      name: opts.name ?? 'default',
      peerUrls: opts.peerUrls ?? ['http://localhost:2380'],
      clientUrls: opts.clientUrls ?? [],
      isLearner: false,
    }
    this.version = opts.version ?? '3.4.23'
    // Expire leases and retry slow watchers, as the server's loops do.
    this.timer = setInterval(() => this.tick(), 100)
    this.timer.unref()
  }

  /** Sets the advertised client URLs (known only once the listener has its port). */
  setClientUrls(urls: string[]): void {
    this.member.clientUrls = urls
  }

  close(): void {
    clearInterval(this.timer)
    this.hub.close()
  }

  private tick(): void {
    for (const id of this.lessor.expired(Date.now(), 1000)) {
      this.lessor.revoke(id)
      this.store.revokeLease(id)
    }
    this.hub.retryVictims()
  }

  /** The single member always leads. */
  hasLeader(): boolean {
    return true
  }

  header(): ClusterHeader {
    return { clusterId: this.clusterId, memberId: this.member.id, revision: this.store.revision, raftTerm: 1 }
  }

  async range(req: RangeRequest): Promise<Result<RangeResponse>> {
    return this.store.range(req)
  }
  async put(req: PutRequest): Promise<Result<PutResponse>> {
    return this.store.put(req)
  }
  async deleteRange(req: DeleteRangeRequest): Promise<Result<DeleteRangeResponse>> {
    return this.store.deleteRange(req)
  }
  async txn(req: TxnRequest): Promise<Result<TxnResponse>> {
    return this.store.txn(req)
  }
  async compact(revision: number): Promise<Result<CompactResponse>> {
    return this.store.compact(revision)
  }

  watch(req: WatchCreateRequest, sink: (resp: WatchResponse) => boolean): Result<WatchHandle> {
    const res = this.hub.watch(req, sink)
    if (!res.ok) return res
    const id = res.response.watchId
    const hub = this.hub
    return ok({
      watchId: id,
      cancel: () => void hub.cancel(id),
      requestProgress: () => void hub.requestProgress(id),
    })
  }

  async leaseGrant(ttlSeconds: number, id: bigint): Promise<Result<LeaseGrantResult>> {
    let leaseId = id
    while (leaseId === 0n) leaseId = randomBytes(8).readBigInt64BE() & 0x7fffffffffffffffn
    return this.lessor.grant(leaseId, ttlSeconds, Date.now())
  }
  async leaseRevoke(id: bigint): Promise<Result<{ revision: number }>> {
    const res = this.lessor.revoke(id)
    if (!res.ok) return res
    return ok({ revision: this.store.revokeLease(id).revision })
  }
  async leaseKeepAlive(id: bigint): Promise<Result<{ ttl: number }>> {
    return this.lessor.renew(id, Date.now())
  }
  async leaseTimeToLive(id: bigint, keys: boolean): Promise<Result<LeaseTimeToLiveResult>> {
    const ttl = this.lessor.remainingSeconds(id, Date.now())
    const grantedTtl = this.lessor.grantedTtl(id)
    if (ttl === undefined || grantedTtl === undefined) return fail('STORE_ERR_LEASE_NOT_FOUND')
    return ok({ id, ttl, grantedTtl, keys: keys ? this.store.leaseKeys(id) : [] })
  }
  async leaseLeases(): Promise<Result<bigint[]>> {
    return ok(this.lessor.ids())
  }

  async memberList(): Promise<Result<Member[]>> {
    return ok([this.member])
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
    if (id !== this.member.id) return fail('STORE_ERR_MEMBER_NOT_FOUND')
    this.member.peerUrls = [...peerUrls]
    return ok([this.member])
  }

  async status(): Promise<Result<StatusResult>> {
    const size = serialize(this.store).length
    return ok({
      version: this.version,
      dbSize: size,
      dbSizeInUse: size,
      leader: this.member.id,
      raftIndex: this.store.revision,
      raftTerm: 1,
      raftAppliedIndex: this.store.revision,
      isLearner: false,
      errors: [],
    })
  }
  async hashKV(revision: number): Promise<Result<HashKvResult>> {
    return hashKV(this.store, revision)
  }
  async moveLeader(): Promise<Result<void>> {
    return fail('STORE_ERR_BAD_LEADER_TRANSFEREE')
  }
  async alarmList(): Promise<Result<AlarmMember[]>> {
    return ok([])
  }
  async alarmDisarm(_memberId: number, _alarm: AlarmType): Promise<Result<AlarmMember[]>> {
    return ok([])
  }
  async defragment(): Promise<Result<void>> {
    return ok(undefined)
  }
  async snapshot(): Promise<Result<Uint8Array>> {
    return ok(serialize(this.store))
  }
}
