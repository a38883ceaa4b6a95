/**
 * The replicated state machine of one member: the MVCC key space and its watch hub, the lessor, and the
 * membership. Applying is synchronous and deterministic given the same entries (only lease deadlines on
 * the primary read the clock, and those are not replicated state).
 */
import type { ConfChange, ConfState, NodeId } from '@hakube/raft'
import type { AlarmMember, LeaseTimeToLiveResult, Member } from '../backend.js'
import { StoreError } from '../errors.js'
import { Lessor } from '../lease/lessor.js'
import { deserialize, MvccStore, type Result, serialize, type TxnRequest, WatchHub } from '../mvcc/index.js'
import { deriveClusterId } from './member-id.js'
import type { RequestBody, RequestEnvelope } from './request.js'
import type { SnapshotData } from './snapshot-data.js'

export interface MembershipChange {
  added?: Member
  updated?: Member
  removed?: NodeId
}

const fail = <T>(code: ConstructorParameters<typeof StoreError>[0]): Result<T> => ({
  ok: false,
  error: new StoreError(code),
})

export class StateMachine {
  mvcc: MvccStore
  hub: WatchHub
  readonly lessor: Lessor
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

  applyRequest(env: RequestEnvelope, nowMs: number): Result<unknown> {
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

  snapshotData(confState: ConfState): SnapshotData {
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
   * Replaces the whole state from a snapshot. The MVCC store is rebuilt, so the watch hub is too; the
   * caller re-registers its watches on the new hub.
   */
  restore(d: SnapshotData, nowMs: number): void {
    this.founders = [...d.founders]
    this.members = d.members.map((m) => ({ ...m })).sort((a, b) => a.id - b.id)
    this.removed = [...d.removed]
    this.alarms = (d.alarms ?? []).map((a) => ({ ...a }))
    this.lessor.restore(d.leases, nowMs)
    this.hub.close()
    this.mvcc = deserialize(d.mvcc, { leaseExists: (id) => this.lessor.has(id), maxTxnOps: this.maxTxnOps })
    this.hub = new WatchHub(this.mvcc)
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
