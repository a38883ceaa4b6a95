/**
 * Request checks that etcd makes before proposing a request to Raft (etcdserver/api/v3rpc/key.go
 * `checkRangeRequest`, `checkPutRequest`, `checkTxnRequest`, `checkIntervals`; etcdserver/v3_server.go
 * for the size limit). They depend only on the request and configured limits, never on store state.
 */
import { StoreError } from '../errors.js'
import { bytesToKey } from './bytes.js'
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './types.js'

/** etcd's `--max-txn-ops` default. */
export const DEFAULT_MAX_TXN_OPS = 128
/** etcd's `--max-request-bytes` default: 1.5 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024

export function checkRangeRequest(r: RangeRequest): StoreError | undefined {
  if (r.key.length === 0) return new StoreError('STORE_ERR_EMPTY_KEY')
  return undefined
}

export function checkDeleteRangeRequest(r: DeleteRangeRequest): StoreError | undefined {
  if (r.key.length === 0) return new StoreError('STORE_ERR_EMPTY_KEY')
  return undefined
}

export function checkPutRequest(r: PutRequest): StoreError | undefined {
  if (r.key.length === 0) return new StoreError('STORE_ERR_EMPTY_KEY')
  if (r.ignoreValue === true && r.value !== undefined && r.value.length !== 0) {
    return new StoreError('STORE_ERR_VALUE_PROVIDED')
  }
  if (r.ignoreLease === true && r.lease !== undefined && r.lease !== 0n) {
    return new StoreError('STORE_ERR_LEASE_PROVIDED')
  }
  return undefined
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): StoreError | undefined {
  switch (op.op) {
    case 'range':
      return checkRangeRequest(op.request)
    case 'put':
      return checkPutRequest(op.request)
    case 'deleteRange':
      return checkDeleteRangeRequest(op.request)
    case 'txn':
      return checkTxnShape(op.request, maxTxnOps)
  }
}

function checkTxnShape(r: TxnRequest, maxTxnOps: number): StoreError | undefined {
  const compare = r.compare ?? []
  const success = r.success ?? []
  const failure = r.failure ?? []
  const opc = Math.max(compare.length, success.length, failure.length)
  if (opc > maxTxnOps) return new StoreError('STORE_ERR_TOO_MANY_OPS')
  for (const c of compare) if (c.key.length === 0) return new StoreError('STORE_ERR_EMPTY_KEY')
  // As etcd: a nested txn is held to the budget left after this level (`maxTxnOps - opc`).
  for (const op of success) {
    const err = checkRequestOp(op, maxTxnOps - opc)
    if (err !== undefined) return err
  }
  for (const op of failure) {
    const err = checkRequestOp(op, maxTxnOps - opc)
    if (err !== undefined) return err
  }
  return undefined
}

/** Half-open interval with etcd's "string affine" order; `end === ''` means +infinity. */
interface Interval {
  begin: string
  end: string
}

function intersectsPoint(ivs: readonly Interval[], k: string): boolean {
  // [begin, end) overlaps the point interval [k, k+"\0") iff begin <= k && k < end.
  for (const iv of ivs) if (iv.begin <= k && (iv.end === '' || k < iv.end)) return true
  return false
}

const DUPLICATE = new StoreError('STORE_ERR_DUPLICATE_KEY')

/**
 * etcd's `checkIntervals`: no key is put twice, nor put and deleted, within one txn path. Note the
 * quirk kept from etcd 3.4: a from-key delete (range_end "\0") is taken literally as [key, "\0"),
 * an empty interval, so it never conflicts with a put.
 */
function checkIntervals(reqs: readonly RequestOp[]): { puts: Set<string>; dels: Interval[] } | StoreError {
  const dels: Interval[] = []
  for (const op of reqs) {
    if (op.op !== 'deleteRange') continue
    const k = bytesToKey(op.request.key)
    const end = op.request.rangeEnd
    dels.push(
      end !== undefined && end.length !== 0
        ? { begin: k, end: bytesToKey(end) }
        : { begin: k, end: `${k}\0` },
    )
  }
  const puts = new Set<string>()
  for (const op of reqs) {
    if (op.op !== 'txn') continue
    const then = checkIntervals(op.request.success ?? [])
    if (then instanceof StoreError) return then
    const otherwise = checkIntervals(op.request.failure ?? [])
    if (otherwise instanceof StoreError) return otherwise
    for (const k of then.puts) {
      if (puts.has(k) || intersectsPoint(dels, k)) return DUPLICATE
      puts.add(k)
    }
    for (const k of otherwise.puts) {
      if (puts.has(k) && !then.puts.has(k)) return DUPLICATE
      if (intersectsPoint(dels, k)) return DUPLICATE
      puts.add(k)
    }
    dels.push(...then.dels, ...otherwise.dels)
  }
  for (const op of reqs) {
    if (op.op !== 'put') continue
    const k = bytesToKey(op.request.key)
    if (puts.has(k) || intersectsPoint(dels, k)) return DUPLICATE
    puts.add(k)
  }
  return { puts, dels }
}

/** etcd's checkTxnRequest + checkIntervals on success and failure. */
export function checkTxnRequest(r: TxnRequest, maxTxnOps = DEFAULT_MAX_TXN_OPS): StoreError | undefined {
  const err = checkTxnShape(r, maxTxnOps)
  if (err !== undefined) return err
  const s = checkIntervals(r.success ?? [])
  if (s instanceof StoreError) return s
  const f = checkIntervals(r.failure ?? [])
  if (f instanceof StoreError) return f
  return undefined
}

/** etcd rejects a proposal whose encoded size exceeds `--max-request-bytes`. */
export function checkRequestBytes(
  encodedBytes: number,
  maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES,
): StoreError | undefined {
  return encodedBytes > maxRequestBytes ? new StoreError('STORE_ERR_REQUEST_TOO_LARGE') : undefined
}
