/**
 * The replicated state machine of one member (etcd's applier and its backends): the MVCC key space and
 * its watch hub, the lessor, the alarms and the membership. Apply lives here: a committed Raft entry is
 * decoded and applied by {@link StateMachine.applyEntry}, synchronously and deterministically given the
 * same entries (only lease deadlines on the primary read the clock, and those are not replicated state).
 * The server around it reacts to what an entry changed (answers its waiter, updates peers) and never
 * touches the MVCC store or the lessor itself: it reads and asks through the methods below.
 *
 * The watches served from this member live here too ({@link WatchRegistry}), so a snapshot install,
 * which replaces the MVCC store and its hub, re-registers them on the new hub in the same step.
 */
import { type ConfChange, type ConfState, decodeConfChange, type Entry, type NodeId } from '@hakube/raft'
import type { AlarmMember, HashKvResult, LeaseTimeToLiveResult, Member, WatchHandle } from '../backend.js'
import { StoreError } from '../errors.js'
import { Lessor } from '../lease/lessor.js'
import {
  deserialize,
  hashKV,
  MvccStore,
  type RangeRequest,
  type RangeResponse,
  type Result,
  serialize,
  type TxnRequest,
  type WatchCreateRequest,
  WatchHub,
  type WatchResponse,
} from '../mvcc/index.js'
import { encodeBackupImage } from './backup-image.js'
import { decodeJson } from './codec.js'
import { deriveClusterId } from './member-id.js'
import type { ConfChangeContext, RequestBody, RequestEnvelope } from './request.js'
import { decodeSnapshotData, encodeSnapshotData, type SnapshotData } from './snapshot-data.js'
import { WatchRegistry } from './watch-registry.js'

export interface MembershipChange {
  added?: Member
  updated?: Member
  removed?: NodeId
}

const fail = <T>(code: ConstructorParameters<typeof StoreError>[0]): Result<T> => ({
  ok: false,
  error: new StoreError(code),
})

/** What applying one committed entry did, for the server to react to. */
export type AppliedEntry =
  /** An empty entry (a new leader's first entry of its term). */
  | { readonly kind: 'empty' }
  /** A request; `env.id` names the member's waiter, if this member proposed it. */
  | { readonly kind: 'request'; readonly env: RequestEnvelope; readonly result: Result<unknown> }
  /** A membership change; `reqId` is set unless it is a bootstrap entry. */
  | {
      readonly kind: 'confChange'
      readonly cc: ConfChange
      readonly reqId: string | undefined
      readonly result: Result<MembershipChange>
    }

export class StateMachine {
  private mvcc: MvccStore
  private hub: WatchHub
  private readonly lessor: Lessor
  private readonly watches: WatchRegistry
  /** Invariant: sorted by id. */
  members: Member[] = []
  /** Ids removed from the cluster; never reused (Raft ids are forever). */
  removed: NodeId[] = []
  /** Voters of the bootstrap entries; the cluster id is derived from them. */
  founders: NodeId[] = []
  /** Raised alarms, replicated (etcd's alarm store): while NOSPACE is raised, writes that add data fail. */
  alarms: AlarmMember[] = []

  constructor(
    private readonly maxTxnOps: number,
    minLeaseTtlSeconds: number,
    /** Initial-cluster members, used for bootstrap conf changes that carry no member context. */
    private readonly initialMembers: ReadonlyMap<NodeId, Member>,
  ) {
    this.lessor = new Lessor({ minTtlSeconds: minLeaseTtlSeconds })
    this.mvcc = this.newStore()
    this.hub = new WatchHub(this.mvcc)
    this.watches = new WatchRegistry(
      () => this.hub,
      () => this.mvcc.revision,
    )
  }

  // -- Reads -----------------------------------------------------------------------------------------

  /** The MVCC store's current revision. */
  get revision(): number {
    return this.mvcc.revision
  }

  /** Approximate bytes of the key space (the quota's and Status' dbSize). */
  get sizeBytes(): number {
    return this.mvcc.sizeBytes
  }

  range(req: RangeRequest): Result<RangeResponse> {
    return this.mvcc.range(req)
  }

  hashKV(revision: number): Result<HashKvResult> {
    return hashKV(this.mvcc, revision)
  }

  /** The backup image (server/backup-image.ts): the MVCC image and the leases. */
  backupImage(): Uint8Array {
    return encodeBackupImage(serialize(this.mvcc), this.lessor.toSnapshot())
  }

  // -- Watches ---------------------------------------------------------------------------------------

  watch(req: WatchCreateRequest, sink: (resp: WatchResponse) => boolean): Result<WatchHandle> {
    return this.watches.watch(req, sink)
  }

  /** Retries watchers that fell behind (their sink refused events). */
  retryWatchVictims(): void {
    this.hub.retryVictims()
  }

  cancelAllWatches(): void {
    this.watches.cancelAll()
  }

  /** Watchers registered on the hub now. */
  watcherCount(): number {
    return this.hub.stats.watchers
  }

  /** Cancels every watch and closes the hub (the single-member test backend's close). */
  close(): void {
    this.watches.cancelAll()
    this.hub.close()
  }

  // -- The primary lessor (leader only; not replicated state) ----------------------------------------

  /** This member became leader: its lessor keeps lease deadlines, extended by `extendMs`. */
  promoteLessor(nowMs: number, extendMs: number): void {
    this.lessor.promote(nowMs, extendMs)
  }

  demoteLessor(): void {
    this.lessor.demote()
  }

  renewLease(id: bigint, nowMs: number): Result<{ ttl: number }> {
    return this.lessor.renew(id, nowMs)
  }

  /** Up to `max` leases whose deadline passed (the leader revokes them through Raft). */
  expiredLeases(nowMs: number, max: number): bigint[] {
    return this.lessor.expired(nowMs, max)
  }

  leaseIds(): bigint[] {
    return this.lessor.ids()
  }

  get clusterId(): number {
    return this.founders.length === 0 ? 0 : deriveClusterId(this.founders)
  }

  member(id: NodeId): Member | undefined {
    return this.members.find((m) => m.id === id)
  }

  private newStore(): MvccStore {
    return new MvccStore({ leaseExists: (id) => this.lessor.has(id), maxTxnOps: this.maxTxnOps })
  }

  // -- Apply -----------------------------------------------------------------------------------------

  /** Decodes and applies one committed Raft entry. */
  applyEntry(e: Entry, nowMs: number): AppliedEntry {
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data)
      const ctx = cc.context === undefined ? undefined : decodeJson<ConfChangeContext>(cc.context)
      return { kind: 'confChange', cc, reqId: ctx?.reqId, result: this.applyConfChange(cc, ctx?.member) }
    }
    if (e.data.length === 0) return { kind: 'empty' }
    const env = decodeJson<RequestEnvelope>(e.data)
    return { kind: 'request', env, result: this.applyRequest(env, nowMs) }
  }

  /** Applies one request (also used directly by the single-member test backend, with no log). */
  applyRequest(env: RequestBody, nowMs: number): Result<unknown> {
    // etcd's applierV3Capped: with NOSPACE raised, only requests that cannot grow the key space apply.
    if (this.noSpace() && addsData(env)) return fail('STORE_ERR_NO_SPACE')
    switch (env.kind) {
      case 'put':
        return this.mvcc.put(env.req)
      case 'deleteRange':
        return this.mvcc.deleteRange(env.req)
      case 'txn':
        return this.mvcc.txn(env.req)
      case 'compact':
        return this.mvcc.compact(env.revision)
      case 'leaseGrant':
        return this.lessor.grant(env.leaseId, env.ttl, nowMs)
      case 'leaseRevoke': {
        const r = this.lessor.revoke(env.leaseId)
        if (!r.ok) return r
        return { ok: true, response: { revision: this.mvcc.revokeLease(env.leaseId).revision } }
      }
      case 'alarm': {
        // As etcd's applyV3Alarm: the response lists the alarm activated or deactivated (none if no change).
        const target: AlarmMember = { memberId: env.memberId, alarm: env.alarm }
        const raised = this.alarms.some((a) => a.memberId === env.memberId && a.alarm === env.alarm)
        if (env.action === 'activate') {
          if (!raised) this.alarms = [...this.alarms, target]
          return { ok: true, response: [target] }
        }
        if (!raised) return { ok: true, response: [] }
        this.alarms = this.alarms.filter((a) => !(a.memberId === env.memberId && a.alarm === env.alarm))
        return { ok: true, response: [target] }
      }
      case 'memberUpdate': {
        const m = this.member(env.memberId)
        if (m === undefined) return fail('STORE_ERR_MEMBER_NOT_FOUND')
        const others = new Set(this.members.filter((x) => x.id !== m.id).flatMap((x) => x.peerUrls))
        if (env.peerUrls.some((u) => others.has(u))) return fail('STORE_ERR_PEER_URL_EXISTS')
        this.upsert({ ...m, peerUrls: [...env.peerUrls] })
        return { ok: true, response: this.members }
      }
      case 'publish': {
        const m = this.member(env.memberId)
        if (m === undefined) return fail('STORE_ERR_MEMBER_NOT_FOUND')
        this.upsert({ ...m, name: env.name, clientUrls: [...env.clientUrls] })
        return { ok: true, response: undefined }
      }
    }
  }

  noSpace(): boolean {
    return this.alarms.some((a) => a.alarm === 'NOSPACE')
  }

  /** Lease time-to-live as the primary lessor sees it (callers ask the leader). */
  timeToLive(id: bigint, keys: boolean, nowMs: number): Result<LeaseTimeToLiveResult> {
    const granted = this.lessor.grantedTtl(id)
    const ttl = this.lessor.remainingSeconds(id, nowMs)
    if (granted === undefined || ttl === undefined) return fail('STORE_ERR_LEASE_NOT_FOUND')
    return { ok: true, response: { id, ttl, grantedTtl: granted, keys: keys ? this.mvcc.leaseKeys(id) : [] } }
  }

  /**
   * Applies a committed membership change to the member list. Returns undefined (and changes nothing)
   * when the change is not valid against the current membership (as etcd's ValidateConfigurationChange,
   * decided at apply time so every member decides alike).
   */
  applyConfChange(cc: ConfChange, member: Member | undefined): Result<MembershipChange> {
    const existing = this.member(cc.nodeId)
    switch (cc.type) {
      case 'addNode':
      case 'addLearnerNode': {
        const isLearner = cc.type === 'addLearnerNode'
        if (member === undefined) {
          // Bootstrap entry: a founding voter.
          if (!isLearner && !this.founders.includes(cc.nodeId)) this.founders.push(cc.nodeId)
          const base = existing ??
            this.initialMembers.get(cc.nodeId) ?? {
              id: cc.nodeId,
              name: '',
              peerUrls: [],
              clientUrls: [],
              isLearner,
            }
          const m = { ...base, isLearner }
          this.upsert(m)
          return { ok: true, response: existing === undefined ? { added: m } : { updated: m } }
        }
        if (this.removed.includes(cc.nodeId)) return fail('STORE_ERR_MEMBER_EXISTS')
        if (existing !== undefined) {
          // Only a learner → voter promotion may name an existing member.
          if (isLearner || !existing.isLearner) return fail('STORE_ERR_MEMBER_EXISTS')
          const m = { ...existing, isLearner: false }
          this.upsert(m)
          return { ok: true, response: { updated: m } }
        }
        const urls = new Set(this.members.flatMap((x) => x.peerUrls))
        if (member.peerUrls.some((u) => urls.has(u))) return fail('STORE_ERR_PEER_URL_EXISTS')
        const m = { ...member, id: cc.nodeId, isLearner }
        this.upsert(m)
        return { ok: true, response: { added: m } }
      }
      case 'removeNode': {
        if (existing === undefined) return fail('STORE_ERR_MEMBER_NOT_FOUND')
        this.members = this.members.filter((x) => x.id !== cc.nodeId)
        this.removed.push(cc.nodeId)
        return { ok: true, response: { removed: cc.nodeId } }
      }
    }
  }

  private upsert(m: Member): void {
    this.members = [...this.members.filter((x) => x.id !== m.id), m].sort((a, b) => a.id - b.id)
  }

  /** The Raft snapshot's data of the applied state (server/snapshot-data.ts). */
  snapshotBytes(confState: ConfState): Uint8Array {
    return encodeSnapshotData(this.snapshotData(confState))
  }

  private snapshotData(confState: ConfState): SnapshotData {
    return {
      founders: [...this.founders],
      members: this.members.map((m) => ({ ...m })),
      removed: [...this.removed],
      confState,
      leases: this.lessor.toSnapshot(),
      alarms: this.alarms.map((a) => ({ ...a })),
      mvcc: serialize(this.mvcc),
    }
  }

  /**
   * Replaces the whole state from a Raft snapshot's data. The MVCC store is rebuilt, so the watch hub is
   * too, and every watch is re-registered on the new hub from the next revision it has not seen.
   */
  restore(data: Uint8Array, nowMs: number): void {
    const d = decodeSnapshotData(data)
    this.founders = [...d.founders]
    this.members = d.members.map((m) => ({ ...m })).sort((a, b) => a.id - b.id)
    this.removed = [...d.removed]
    this.alarms = (d.alarms ?? []).map((a) => ({ ...a }))
    this.lessor.restore(d.leases, nowMs)
    this.hub.close()
    this.mvcc = deserialize(d.mvcc, { leaseExists: (id) => this.lessor.has(id), maxTxnOps: this.maxTxnOps })
    this.hub = new WatchHub(this.mvcc)
    this.watches.reattach()
  }
}

/** Requests that can grow the key space (etcd's applierV3Capped refuses these under NOSPACE). */
export function addsData(env: RequestBody): boolean {
  switch (env.kind) {
    case 'put':
    case 'leaseGrant':
      return true
    case 'txn':
      return txnHasPut(env.req)
    default:
      return false
  }
}

function txnHasPut(req: TxnRequest): boolean {
  const ops = [...(req.success ?? []), ...(req.failure ?? [])]
  return ops.some((op) => op.op === 'put' || (op.op === 'txn' && txnHasPut(op.request)))
}
