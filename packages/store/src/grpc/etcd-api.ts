/**
 * The unary etcd v3 RPCs over an {@link EtcdBackend}, on wire-shaped messages: shared by the gRPC
 * services and the JSON gateway. A failed request throws {@link StoreError} (mapped to the wire through
 * STORE_ERRORS by the caller) or {@link UnsupportedError}.
 */
import type { AlarmMember, AlarmType, EtcdBackend } from '../backend.js'
import { StoreError } from '../errors.js'

import type { Result } from '../mvcc/index.js'
import {
  big,
  deleteRangeRequest,
  num,
  putRequest,
  rangeRequest,
  txnRequest,
  wireHeader,
  wireKv,
  wireMember,
  wireResponseOp,
} from './convert.js'
import type {
  WireDeleteRangeRequest,
  WireHeader,
  WirePutRequest,
  WireRangeRequest,
  WireResponse,
  WireTxnRequest,
} from './wire-types.js'

/** A request hakube-store does not implement (gRPC Unimplemented; not an etcd error). */
export class UnsupportedError extends Error {
  override readonly name = 'UnsupportedError'
}

/** Unwraps a backend result, throwing its StoreError. */
export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error
  return r.response
}

/** `signal`: the client's cancellation or deadline, where the transport knows it (gRPC). */
type Unary = (req: Record<string, unknown>, signal?: AbortSignal) => Promise<WireResponse>

/** Unary RPC handlers by gRPC service and method name. */
export type UnaryHandlers = Record<string, Record<string, Unary>>

export class EtcdApi {
  constructor(readonly backend: EtcdBackend) {}

  header(revision?: number): WireHeader {
    return wireHeader(this.backend.header(), revision)
  }

  async range(r: WireRangeRequest): Promise<WireResponse> {
    const req = { ...rangeRequest(r), serializable: r.serializable === true }
    const res = unwrap(await this.backend.range(req))
    return {
      header: this.header(res.header.revision),
      kvs: res.kvs.map(wireKv),
      more: res.more,
      count: String(res.count),
    }
  }

  async put(r: WirePutRequest, signal?: AbortSignal): Promise<WireResponse> {
    const res = unwrap(await this.backend.put(putRequest(r), signal))
    return {
      header: this.header(res.header.revision),
      prev_kv: res.prevKv === undefined ? null : wireKv(res.prevKv),
    }
  }

  async deleteRange(r: WireDeleteRangeRequest, signal?: AbortSignal): Promise<WireResponse> {
    const res = unwrap(await this.backend.deleteRange(deleteRangeRequest(r), signal))
    return {
      header: this.header(res.header.revision),
      deleted: String(res.deleted),
      prev_kvs: res.prevKvs.map(wireKv),
    }
  }

  async txn(r: WireTxnRequest, signal?: AbortSignal): Promise<WireResponse> {
    const res = unwrap(await this.backend.txn(txnRequest(r), signal))
    // As etcd, the responses inside a txn carry only a revision in their headers.
    const h = (rev: number): WireHeader => ({
      cluster_id: '0',
      member_id: '0',
      revision: String(rev),
      raft_term: '0',
    })
    return {
      header: this.header(res.header.revision),
      succeeded: res.succeeded,
      responses: res.responses.map((op) => wireResponseOp(op, h)),
    }
  }

  async compact(r: { revision?: string; physical?: boolean }, signal?: AbortSignal): Promise<WireResponse> {
    const res = unwrap(await this.backend.compact(num(r.revision), r.physical === true, signal))
    return { header: this.header(res.header.revision) }
  }

  async leaseGrant(r: { TTL?: string; ID?: string }, signal?: AbortSignal): Promise<WireResponse> {
    const res = unwrap(await this.backend.leaseGrant(num(r.TTL), big(r.ID), signal))
    return { header: this.header(), ID: res.id.toString(), TTL: String(res.ttl), error: '' }
  }

  async leaseRevoke(r: { ID?: string }, signal?: AbortSignal): Promise<WireResponse> {
    const res = unwrap(await this.backend.leaseRevoke(big(r.ID), signal))
    return { header: this.header(res.revision) }
  }

  /** As etcd 3.4 (v3rpc/lease.go): an unknown lease answers TTL -1 rather than an error. */
  async leaseTimeToLive(r: { ID?: string; keys?: boolean }): Promise<WireResponse> {
    const id = big(r.ID)
    const res = await this.backend.leaseTimeToLive(id, r.keys === true)
    if (!res.ok && res.error.code === 'STORE_ERR_LEASE_NOT_FOUND') {
      return { header: this.header(), ID: id.toString(), TTL: '-1', grantedTTL: '0', keys: [] }
    }
    const v = unwrap(res)
    return {
      header: this.header(),
      ID: v.id.toString(),
      TTL: String(v.ttl),
      grantedTTL: String(v.grantedTtl),
      keys: v.keys.map((k) => Buffer.from(k)),
    }
  }

  async leaseLeases(): Promise<WireResponse> {
    const ids = unwrap(await this.backend.leaseLeases())
    return { header: this.header(), leases: ids.map((id) => ({ ID: id.toString() })) }
  }

  /** etcd 3.4's Cluster responses carry no revision in their header (v3rpc/member.go). */
  private clusterHeader(): WireHeader {
    return { ...this.header(), revision: '0' }
  }

  async memberList(): Promise<WireResponse> {
    const members = unwrap(await this.backend.memberList())
    return { header: this.clusterHeader(), members: members.map(wireMember) }
  }

  async memberAdd(r: { peerURLs?: string[]; isLearner?: boolean }): Promise<WireResponse> {
    const res = unwrap(await this.backend.memberAdd(r.peerURLs ?? [], r.isLearner === true))
    return {
      header: this.clusterHeader(),
      member: wireMember(res.member),
      members: res.members.map(wireMember),
    }
  }

  async memberRemove(r: { ID?: string }): Promise<WireResponse> {
    const members = unwrap(await this.backend.memberRemove(num(r.ID)))
    return { header: this.clusterHeader(), members: members.map(wireMember) }
  }

  async memberPromote(r: { ID?: string }): Promise<WireResponse> {
    const members = unwrap(await this.backend.memberPromote(num(r.ID)))
    return { header: this.clusterHeader(), members: members.map(wireMember) }
  }

  async memberUpdate(r: { ID?: string; peerURLs?: string[] }): Promise<WireResponse> {
    const members = unwrap(await this.backend.memberUpdate(num(r.ID), r.peerURLs ?? []))
    return { header: this.clusterHeader(), members: members.map(wireMember) }
  }

  async status(): Promise<WireResponse> {
    const s = unwrap(await this.backend.status())
    return {
      header: this.header(),
      version: s.version,
      dbSize: String(s.dbSize),
      leader: String(s.leader),
      raftIndex: String(s.raftIndex),
      raftTerm: String(s.raftTerm),
      raftAppliedIndex: String(s.raftAppliedIndex),
      errors: [...s.errors],
      dbSizeInUse: String(s.dbSizeInUse),
      isLearner: s.isLearner,
    }
  }

  /** etcd 3.4 answers Alarm with no header (v3rpc/maintenance.go passes the server's answer through). */
  async alarm(r: { action?: string; memberID?: string; alarm?: string }): Promise<WireResponse> {
    const wire = (alarms: AlarmMember[]) => ({
      header: null,
      alarms: alarms.map((a) => ({ memberID: String(a.memberId), alarm: a.alarm })),
    })
    if (r.action === 'DEACTIVATE') {
      const alarm = (r.alarm ?? 'NONE') as AlarmType
      return wire(unwrap(await this.backend.alarmDisarm(num(r.memberID), alarm)))
    }
    if (r.action === 'ACTIVATE') throw new UnsupportedError('etcdserver: alarm activate is not supported')
    return wire(unwrap(await this.backend.alarmList()))
  }

  /** etcd 3.4 answers Defragment with an empty message, no header. */
  async defragment(): Promise<WireResponse> {
    unwrap(await this.backend.defragment())
    return { header: null }
  }

  async hash(): Promise<WireResponse> {
    const res = unwrap(await this.backend.hashKV(0))
    return { header: this.header(res.revision), hash: res.hash >>> 0 }
  }

  async hashKV(r: { revision?: string }): Promise<WireResponse> {
    const res = unwrap(await this.backend.hashKV(num(r.revision)))
    return {
      header: this.header(res.revision),
      hash: res.hash >>> 0,
      compact_revision: String(res.compactRevision),
    }
  }

  async moveLeader(r: { targetID?: string }): Promise<WireResponse> {
    unwrap(await this.backend.moveLeader(num(r.targetID)))
    return { header: this.header() }
  }

  // -- Auth ------------------------------------------------------------------------------------------
  //
  // hakube-store has no authentication: it answers as etcd 3.4 does with auth disabled and an empty
  // auth store (auth/store.go): lists are empty, every named user or role is not found, enabling needs
  // a root user that cannot exist, and Authenticate says authentication is not enabled. Only adding a
  // user or a role (which etcd stores, to no effect while auth is disabled) is refused as unimplemented.

  private authOk(): WireResponse {
    return { header: this.header() }
  }

  async authEnable(): Promise<WireResponse> {
    throw new StoreError('STORE_ERR_ROOT_USER_NOT_EXIST')
  }

  async authDisable(): Promise<WireResponse> {
    return this.authOk()
  }

  async authenticate(): Promise<WireResponse> {
    throw new StoreError('STORE_ERR_AUTH_NOT_ENABLED')
  }

  async userAdd(r: { name?: string }): Promise<WireResponse> {
    if ((r.name ?? '') === '') throw new StoreError('STORE_ERR_USER_EMPTY')
    throw new UnsupportedError(
      'hakube-store: users and roles are not supported (authentication is not implemented)',
    )
  }

  async userNotFound(): Promise<WireResponse> {
    throw new StoreError('STORE_ERR_USER_NOT_FOUND')
  }

  async userList(): Promise<WireResponse> {
    return { ...this.authOk(), users: [] }
  }

  async roleAdd(r: { name?: string }): Promise<WireResponse> {
    if ((r.name ?? '') === '') throw new StoreError('STORE_ERR_ROLE_EMPTY')
    throw new UnsupportedError(
      'hakube-store: users and roles are not supported (authentication is not implemented)',
    )
  }

  async roleNotFound(): Promise<WireResponse> {
    throw new StoreError('STORE_ERR_ROLE_NOT_FOUND')
  }

  async roleList(): Promise<WireResponse> {
    return { ...this.authOk(), roles: [] }
  }

  /** Unary handlers by service and method, as the gRPC server and the gateway dispatch them. */
  handlers(): UnaryHandlers {
    const h = <T>(f: (r: T) => Promise<WireResponse>): Unary => f.bind(this) as unknown as Unary
    return {
      KV: {
        Range: h(this.range),
        Put: h(this.put),
        DeleteRange: h(this.deleteRange),
        Txn: h(this.txn),
        Compact: h(this.compact),
      },
      Lease: {
        LeaseGrant: h(this.leaseGrant),
        LeaseRevoke: h(this.leaseRevoke),
        LeaseTimeToLive: h(this.leaseTimeToLive),
        LeaseLeases: h(this.leaseLeases),
      },
      Cluster: {
        MemberAdd: h(this.memberAdd),
        MemberRemove: h(this.memberRemove),
        MemberUpdate: h(this.memberUpdate),
        MemberList: h(this.memberList),
        MemberPromote: h(this.memberPromote),
      },
      Maintenance: {
        Alarm: h(this.alarm),
        Status: h(this.status),
        Defragment: h(this.defragment),
        Hash: h(this.hash),
        HashKV: h(this.hashKV),
        MoveLeader: h(this.moveLeader),
      },
      Auth: {
        AuthEnable: h(this.authEnable),
        AuthDisable: h(this.authDisable),
        Authenticate: h(this.authenticate),
        UserAdd: h(this.userAdd),
        UserGet: h(this.userNotFound),
        UserList: h(this.userList),
        UserDelete: h(this.userNotFound),
        UserChangePassword: h(this.userNotFound),
        UserGrantRole: h(this.userNotFound),
        UserRevokeRole: h(this.userNotFound),
        RoleAdd: h(this.roleAdd),
        RoleGet: h(this.roleNotFound),
        RoleList: h(this.roleList),
        RoleDelete: h(this.roleNotFound),
        RoleGrantPermission: h(this.roleNotFound),
        RoleRevokePermission: h(this.roleNotFound),
      },
    }
  }
}
