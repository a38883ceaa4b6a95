/**
 * etcd v3 request and response shapes (etcdserverpb/rpc.proto, mvccpb/kv.proto of etcd 3.4), in
 * camelCase. Keys and values are bytes; revisions and versions are JS numbers (exact below 2^53);
 * lease ids are int64 and therefore `bigint` (etcd draws them at random over the full range).
 */
import type { StoreError } from '../errors.js'

export interface ResponseHeader {
  /** The store revision the response reflects (etcd's `header.revision`). */
  revision: number
}

export interface KeyValue {
  key: Uint8Array
  /** Revision of the put that created this generation of the key. */
  createRevision: number
  /** Revision of the last change; for a DELETE event's kv, the deletion revision. */
  modRevision: number
  /** Number of puts in this generation (1 after creation); 0 for a DELETE event's kv. */
  version: number
  value: Uint8Array
  /** 0n when the key has no lease. */
  lease: bigint
}

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND'
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE'

export interface RangeRequest {
  key: Uint8Array
  /** Empty/absent: the single key. `[0]`: every key >= key. Otherwise the half-open [key, rangeEnd). */
  rangeEnd?: Uint8Array
  limit?: number
  /** 0/absent: the current revision. */
  revision?: number
  sortOrder?: SortOrder
  sortTarget?: SortTarget
  keysOnly?: boolean
  countOnly?: boolean
  minModRevision?: number
  maxModRevision?: number
  minCreateRevision?: number
  maxCreateRevision?: number
}

export interface RangeResponse {
  header: ResponseHeader
  kvs: KeyValue[]
  /** More keys matched than `limit` returned (after the min/max filters). */
  more: boolean
  /** Keys in range at the revision, before the min/max filters and the limit (as etcd 3.4). */
  count: number
}

export interface PutRequest {
  key: Uint8Array
  value?: Uint8Array
  lease?: bigint
  prevKv?: boolean
  ignoreValue?: boolean
  ignoreLease?: boolean
}

export interface PutResponse {
  header: ResponseHeader
  prevKv?: KeyValue
}

export interface DeleteRangeRequest {
  key: Uint8Array
  rangeEnd?: Uint8Array
  prevKv?: boolean
}

export interface DeleteRangeResponse {
  header: ResponseHeader
  deleted: number
  prevKvs: KeyValue[]
}

export type CompareTarget = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE'
export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL'

/** etcd's Compare; only the field named by `target` is read (a missing one counts as 0 / empty). */
export interface Compare {
  key: Uint8Array
  rangeEnd?: Uint8Array
  target: CompareTarget
  result: CompareResult
  version?: number
  createRevision?: number
  modRevision?: number
  value?: Uint8Array
  lease?: bigint
}

export type RequestOp =
  | { op: 'range'; request: RangeRequest }
  | { op: 'put'; request: PutRequest }
  | { op: 'deleteRange'; request: DeleteRangeRequest }
  | { op: 'txn'; request: TxnRequest }

export type ResponseOp =
  | { op: 'range'; response: RangeResponse }
  | { op: 'put'; response: PutResponse }
  | { op: 'deleteRange'; response: DeleteRangeResponse }
  | { op: 'txn'; response: TxnResponse }

export interface TxnRequest {
  compare?: Compare[]
  success?: RequestOp[]
  failure?: RequestOp[]
}

export interface TxnResponse {
  header: ResponseHeader
  succeeded: boolean
  responses: ResponseOp[]
}

export interface CompactResponse {
  header: ResponseHeader
}

export type EventType = 'PUT' | 'DELETE'

export interface MvccEvent {
  type: EventType
  kv: KeyValue
  prevKv?: KeyValue
}

/** Typed outcome of a request: expected failures are values, broken invariants throw. */
export type Result<T> = { ok: true; response: T } | { ok: false; error: StoreError }
