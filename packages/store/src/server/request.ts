/**
 * The internal request envelope carried in normal Raft entries. `id` is unique per proposer
 * (member id, a per-start nonce and a counter), so the member that proposed a request recognises its
 * own entry when it applies it and resolves the waiting caller with the result.
 */
import type { AlarmType, Member } from '../backend.js'
import type { DeleteRangeRequest, PutRequest, TxnRequest } from '../mvcc/index.js'

export type RequestBody =
  | { kind: 'put'; req: PutRequest }
  | { kind: 'deleteRange'; req: DeleteRangeRequest }
  | { kind: 'txn'; req: TxnRequest }
  | { kind: 'compact'; revision: number }
  | { kind: 'leaseGrant'; leaseId: bigint; ttl: number }
  | { kind: 'leaseRevoke'; leaseId: bigint }
  /** Raise or clear an alarm for a member (etcd's AlarmRequest ACTIVATE / DEACTIVATE). */
  | { kind: 'alarm'; action: 'activate' | 'deactivate'; memberId: number; alarm: AlarmType }
  /** New peer URLs for a member (etcd's MemberUpdate; etcd carries it as a ConfChangeUpdateNode). */
  | { kind: 'memberUpdate'; memberId: number; peerUrls: string[] }
  /** A member announces its name and client URLs once it runs (etcd's publish). */
  | { kind: 'publish'; memberId: number; name: string; clientUrls: string[] }

export type RequestEnvelope = RequestBody & { id: string }

/** What a ConfChange's `context` carries. */
export interface ConfChangeContext {
  reqId: string
  member: Member
}
