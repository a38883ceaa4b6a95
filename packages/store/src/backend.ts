/**
 * The seams between hakube-store's layers.
 *
 * - {@link EtcdBackend}: what the client-facing edges (etcd v3 gRPC services, JSON gateway) call. The
 *   Raft-replicated server implements it; the edges never see Raft. Every method resolves to a
 *   `Result` (expected failures carry etcd's error via `StoreError`), never rejects for an expected
 *   failure, and honours its own request timeout (`STORE_ERR_TIMEOUT` and friends).
 * - {@link RaftTransport}: how the server exchanges Raft messages with its peers. The HTTP transport
 *   implements it over the peer URLs; tests use an in-memory network.
 */
import type { ConfState, Message, NodeId, SnapshotStatus } from '@hakube/raft'
import type {
  CompactResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  Result,
  TxnRequest,
  TxnResponse,
  WatchCreateRequest,
  WatchResponse,
} from './mvcc/index.js'

/** Added by the edges to every response header (etcd's ResponseHeader). */
export interface ClusterHeader {
  /** uint64 in etcd; member and cluster ids are kept below 2^53 so they fit a number and a Raft NodeId. */
  clusterId: number
  memberId: number
  /** The store revision at the time the header is built (responses with their own revision keep it). */
  revision: number
  raftTerm: number
}

export interface Member {
  /** The member's Raft id (etcd's member ID). */
  id: NodeId
  /** Empty until the member has started and published its name (as etcd). */
  name: string
  peerUrls: string[]
  clientUrls: string[]
  isLearner: boolean
}

export interface LeaseGrantResult {
  id: bigint
  /** Granted TTL in seconds (at least the minimum TTL). */
  ttl: number
}

export interface LeaseTimeToLiveResult {
  id: bigint
  /** Remaining seconds; -1 once expired. An unknown lease is STORE_ERR_LEASE_NOT_FOUND here; the gRPC
   * edge answers it with TTL -1, as etcd 3.4's LeaseTimeToLive does on the wire. */
  ttl: number
  grantedTtl: number
  keys: Uint8Array[]
}

export interface StatusResult {
  version: string
  dbSize: number
  dbSizeInUse: number
  leader: NodeId
  raftIndex: number
  raftTerm: number
  raftAppliedIndex: number
  isLearner: boolean
  errors: string[]
}

export interface HashKvResult {
  hash: number
  compactRevision: number
  /** The revision the hash was computed at. */
  revision: number
}

export type AlarmType = 'NONE' | 'NOSPACE' | 'CORRUPT'
export interface AlarmMember {
  memberId: NodeId
  alarm: AlarmType
}

/** A watch registered through {@link EtcdBackend.watch}; responses arrive at the sink given there. */
export interface WatchHandle {
  readonly watchId: number
  cancel(): void
  /** Ask for a progress notification (a response with only a header revision). */
  requestProgress(): void
}

export interface EtcdBackend {
  /** The header for responses built now (cluster and member ids, current revision, Raft term). */
  header(): ClusterHeader
  /** Whether this member knows a leader now (for etcd's `hasleader` request metadata). */
  hasLeader(): boolean

  // KV (linearizable reads unless `serializable`; writes go through Raft and resolve once applied here).
  // A write's optional `signal` is the client's cancellation or deadline: a write aborted before it was
  // proposed (while no leader is known) is never proposed and fails with STORE_ERR_CANCELED.
  /** `serializable` (etcd's RangeRequest field) serves from this member's state without a ReadIndex round. */
  range(req: RangeRequest & { serializable?: boolean }): Promise<Result<RangeResponse>>
  put(req: PutRequest, signal?: AbortSignal): Promise<Result<PutResponse>>
  deleteRange(req: DeleteRangeRequest, signal?: AbortSignal): Promise<Result<DeleteRangeResponse>>
  txn(req: TxnRequest, signal?: AbortSignal): Promise<Result<TxnResponse>>
  compact(revision: number, physical: boolean, signal?: AbortSignal): Promise<Result<CompactResponse>>

  // Watch: served from this member's applied state (as etcd). `sink` returns false when the consumer's
  // buffer is full (the watch then falls behind and catches up from history).
  watch(req: WatchCreateRequest, sink: (resp: WatchResponse) => boolean): Result<WatchHandle>

  // Lease.
  leaseGrant(ttlSeconds: number, id: bigint, signal?: AbortSignal): Promise<Result<LeaseGrantResult>>
  leaseRevoke(id: bigint, signal?: AbortSignal): Promise<Result<{ revision: number }>>
  /** One keep-alive: the remaining TTL after renewal (forwarded to the leader when this is a follower). */
  leaseKeepAlive(id: bigint): Promise<Result<{ ttl: number }>>
  leaseTimeToLive(id: bigint, keys: boolean): Promise<Result<LeaseTimeToLiveResult>>
  leaseLeases(): Promise<Result<bigint[]>>

  // Cluster.
  memberList(): Promise<Result<Member[]>>
  memberAdd(peerUrls: string[], isLearner: boolean): Promise<Result<{ member: Member; members: Member[] }>>
  memberRemove(id: NodeId): Promise<Result<Member[]>>
  memberPromote(id: NodeId): Promise<Result<Member[]>>
  /** Replaces a member's peer URLs (etcd's MemberUpdate); the members afterwards. */
  memberUpdate(id: NodeId, peerUrls: string[]): Promise<Result<Member[]>>

  // Maintenance.
  status(): Promise<Result<StatusResult>>
  hashKV(revision: number): Promise<Result<HashKvResult>>
  moveLeader(target: NodeId): Promise<Result<void>>
  alarmList(): Promise<Result<AlarmMember[]>>
  alarmDisarm(memberId: NodeId, alarm: AlarmType): Promise<Result<AlarmMember[]>>
  defragment(): Promise<Result<void>>
  /** The whole state as a snapshot image (the bytes `etcdctl snapshot save` receives before the hash). */
  snapshot(): Promise<Result<Uint8Array>>
}

/** Exchanges Raft messages with the peers. Never blocks the Raft loop. */
export interface RaftTransport {
  /**
   * Queues messages for their `to` members. Each peer has a bounded queue: when it is full the message is
   * dropped and the peer reported unreachable (Raft recovers by probing). MsgSnap outcomes are reported
   * through `onSnapshotStatus`.
   */
  send(messages: readonly Message[]): void
  addPeer(id: NodeId, peerUrls: readonly string[]): void
  updatePeer(id: NodeId, peerUrls: readonly string[]): void
  removePeer(id: NodeId): void
  /** Every message received from a peer, in arrival order per peer. */
  onMessage(handler: (m: Message) => void): void
  onUnreachable(handler: (id: NodeId) => void): void
  onSnapshotStatus(handler: (id: NodeId, status: SnapshotStatus) => void): void
  /**
   * A peer refused us as a removed member (etcd's rafthttp reports errMemberRemoved the same way): the
   * commit of our own removal may never reach us, since the leader stops sending to a removed member.
   */
  onRemoved?(handler: () => void): void
  /**
   * A request/response call to a peer outside Raft (etcd forwards lease keep-alives and time-to-live
   * queries from followers to the leader this way). Rejects on timeout or when the peer is unreachable.
   */
  call(to: NodeId, method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array>
  /** Serves `call`s for `method` from peers. */
  handle(method: string, handler: (body: Uint8Array) => Promise<Uint8Array>): void
  /** Stops accepting and sending; pending messages are dropped. */
  close(): Promise<void>
}

/** What a member keeps in its Raft snapshots besides the MVCC image (membership, leases). */
export interface ClusterState {
  clusterId: number
  members: Member[]
  confState: ConfState
}

export type { KeyValue }
