/**
 * Conversions at the edge between etcd's wire messages (wire-types.ts) and the {@link EtcdBackend}'s
 * types: revisions become numbers, lease ids bigints, bytes Uint8Arrays (and back to Buffers).
 */
import type { ClusterHeader, Member } from '../backend.js'
import type {
  Compare,
  DeleteRangeRequest,
  KeyValue,
  MvccEvent,
  PutRequest,
  RangeRequest,
  RequestOp,
  ResponseOp,
  TxnRequest,
  WatchCreateRequest,
} from '../mvcc/index.js'
import type {
  Int64,
  WireCompare,
  WireDeleteRangeRequest,
  WireEvent,
  WireHeader,
  WireKeyValue,
  WireMember,
  WirePutRequest,
  WireRangeRequest,
  WireRequestOp,
  WireTxnRequest,
  WireWatchCreateRequest,
} from './wire-types.js'

/** int64 from the wire as a JS number (revisions, limits: exact below 2^53). */
export const num = (v: Int64 | number | undefined | null): number => (v == null ? 0 : Number(v))
/** int64 from the wire as a bigint (lease ids). */
export const big = (v: Int64 | number | undefined | null): bigint => (v == null || v === '' ? 0n : BigInt(v))
const bytes = (b: Uint8Array | undefined | null): Uint8Array => b ?? new Uint8Array(0)
/** Absent or empty bytes mean "not given" for range ends. */
const optBytes = (b: Uint8Array | undefined | null): Uint8Array | undefined =>
  b == null || b.length === 0 ? undefined : b
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength)

export function wireHeader(h: ClusterHeader, revision?: number): WireHeader {
  return {
    cluster_id: String(h.clusterId),
    member_id: String(h.memberId),
    revision: String(revision ?? h.revision),
    raft_term: String(h.raftTerm),
  }
}

export function wireKv(kv: KeyValue): WireKeyValue {
  return {
    key: buf(kv.key),
    create_revision: String(kv.createRevision),
    mod_revision: String(kv.modRevision),
    version: String(kv.version),
    value: buf(kv.value),
    lease: kv.lease.toString(),
  }
}

export function wireEvent(e: MvccEvent): WireEvent {
  return { type: e.type, kv: wireKv(e.kv), prev_kv: e.prevKv === undefined ? null : wireKv(e.prevKv) }
}

export function wireMember(m: Member): WireMember {
  return {
    ID: String(m.id),
    name: m.name,
    peerURLs: [...m.peerUrls],
    clientURLs: [...m.clientUrls],
    isLearner: m.isLearner,
  }
}

export function rangeRequest(r: WireRangeRequest): RangeRequest {
  return {
    key: bytes(r.key),
    rangeEnd: optBytes(r.range_end),
    limit: num(r.limit),
    revision: num(r.revision),
    sortOrder: r.sort_order ?? 'NONE',
    sortTarget: r.sort_target ?? 'KEY',
    keysOnly: r.keys_only === true,
    countOnly: r.count_only === true,
    minModRevision: num(r.min_mod_revision),
    maxModRevision: num(r.max_mod_revision),
    minCreateRevision: num(r.min_create_revision),
    maxCreateRevision: num(r.max_create_revision),
  }
}

export function putRequest(r: WirePutRequest): PutRequest {
  return {
    key: bytes(r.key),
    value: bytes(r.value),
    lease: big(r.lease),
    prevKv: r.prev_kv === true,
    ignoreValue: r.ignore_value === true,
    ignoreLease: r.ignore_lease === true,
  }
}

export function deleteRangeRequest(r: WireDeleteRangeRequest): DeleteRangeRequest {
  return { key: bytes(r.key), rangeEnd: optBytes(r.range_end), prevKv: r.prev_kv === true }
}

function compare(c: WireCompare): Compare {
  return {
    key: bytes(c.key),
    rangeEnd: optBytes(c.range_end),
    target: c.target ?? 'VERSION',
    result: c.result ?? 'EQUAL',
    version: num(c.version),
    createRevision: num(c.create_revision),
    modRevision: num(c.mod_revision),
    value: bytes(c.value),
    lease: big(c.lease),
  }
}

function requestOp(op: WireRequestOp): RequestOp {
  if (op.request_range != null) return { op: 'range', request: rangeRequest(op.request_range) }
  if (op.request_put != null) return { op: 'put', request: putRequest(op.request_put) }
  if (op.request_delete_range != null) {
    return { op: 'deleteRange', request: deleteRangeRequest(op.request_delete_range) }
  }
  if (op.request_txn != null) return { op: 'txn', request: txnRequest(op.request_txn) }
  // etcd treats an empty RequestOp as an empty range (it fails key validation downstream).
  return { op: 'range', request: { key: new Uint8Array(0) } }
}

export function txnRequest(r: WireTxnRequest): TxnRequest {
  return {
    compare: (r.compare ?? []).map(compare),
    success: (r.success ?? []).map(requestOp),
    failure: (r.failure ?? []).map(requestOp),
  }
}

export function watchCreateRequest(r: WireWatchCreateRequest): WatchCreateRequest {
  return {
    key: bytes(r.key),
    rangeEnd: optBytes(r.range_end),
    startRevision: num(r.start_revision),
    prevKv: r.prev_kv === true,
    filters: r.filters ?? [],
    progressNotify: r.progress_notify === true,
  }
}

/** A response op (range/put/delete/txn) on the wire, each with the header given. */
export function wireResponseOp(op: ResponseOp, header: (rev: number) => WireHeader): Record<string, unknown> {
  switch (op.op) {
    case 'range': {
      const r = op.response
      return {
        response_range: {
          header: header(r.header.revision),
          kvs: r.kvs.map(wireKv),
          more: r.more,
          count: String(r.count),
        },
      }
    }
    case 'put': {
      const r = op.response
      return {
        response_put: {
          header: header(r.header.revision),
          prev_kv: r.prevKv === undefined ? null : wireKv(r.prevKv),
        },
      }
    }
    case 'deleteRange': {
      const r = op.response
      return {
        response_delete_range: {
          header: header(r.header.revision),
          deleted: String(r.deleted),
          prev_kvs: r.prevKvs.map(wireKv),
        },
      }
    }
    case 'txn': {
      const r = op.response
      return {
        response_txn: {
          header: header(r.header.revision),
          succeeded: r.succeeded,
          responses: r.responses.map((o) => wireResponseOp(o, header)),
        },
      }
    }
  }
}
