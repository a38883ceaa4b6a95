/**
 * etcd v3 messages as @grpc/proto-loader hands them over (see proto.ts): proto field names, int64 and
 * uint64 as decimal strings, enums as names, bytes as Buffers. Requests arrive with defaults filled in
 * (still typed optional: the JSON gateway's requests do not). Responses may give int64s as strings.
 */

export type Int64 = string

export interface WireHeader {
  cluster_id: Int64
  member_id: Int64
  revision: Int64
  raft_term: Int64
}

export interface WireKeyValue {
  key: Buffer
  create_revision: Int64
  mod_revision: Int64
  version: Int64
  value: Buffer
  lease: Int64
}

export interface WireEvent {
  type: 'PUT' | 'DELETE'
  kv: WireKeyValue
  prev_kv?: WireKeyValue | null
}

export interface WireRangeRequest {
  key?: Buffer
  range_end?: Buffer
  limit?: Int64
  revision?: Int64
  sort_order?: 'NONE' | 'ASCEND' | 'DESCEND'
  sort_target?: 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE'
  serializable?: boolean
  keys_only?: boolean
  count_only?: boolean
  min_mod_revision?: Int64
  max_mod_revision?: Int64
  min_create_revision?: Int64
  max_create_revision?: Int64
}

export interface WirePutRequest {
  key?: Buffer
  value?: Buffer
  lease?: Int64
  prev_kv?: boolean
  ignore_value?: boolean
  ignore_lease?: boolean
}

export interface WireDeleteRangeRequest {
  key?: Buffer
  range_end?: Buffer
  prev_kv?: boolean
}

export interface WireRequestOp {
  request_range?: WireRangeRequest | null
  request_put?: WirePutRequest | null
  request_delete_range?: WireDeleteRangeRequest | null
  request_txn?: WireTxnRequest | null
}

export interface WireCompare {
  result?: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL'
  target?: 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE'
  key?: Buffer
  range_end?: Buffer
  version?: Int64
  create_revision?: Int64
  mod_revision?: Int64
  value?: Buffer
  lease?: Int64
}

export interface WireTxnRequest {
  compare?: WireCompare[]
  success?: WireRequestOp[]
  failure?: WireRequestOp[]
}

export interface WireWatchCreateRequest {
  key?: Buffer
  range_end?: Buffer
  start_revision?: Int64
  progress_notify?: boolean
  filters?: Array<'NOPUT' | 'NODELETE'>
  prev_kv?: boolean
  watch_id?: Int64
  fragment?: boolean
}

export interface WireWatchRequest {
  request_union?: 'create_request' | 'cancel_request' | 'progress_request'
  create_request?: WireWatchCreateRequest | null
  cancel_request?: { watch_id?: Int64 } | null
  progress_request?: Record<string, never> | null
}

export interface WireMember {
  ID: Int64
  name: string
  peerURLs: string[]
  clientURLs: string[]
  isLearner: boolean
}

/**
 * Any response message: an object with a header (null where etcd 3.4 sends none: Alarm, Defragment);
 * the rest is message-specific.
 */
export type WireResponse = { header: WireHeader | null } & Record<string, unknown>
