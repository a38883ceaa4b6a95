/**
 * The MVCC key space: synchronous, deterministic apply of already-ordered etcd v3 KV requests
 * (Range, Put, DeleteRange, Txn, Compact) with etcd 3.4 semantics (etcdserver/apply.go,
 * mvcc/kvstore_txn.go, mvcc/key_index.go). Driven by the store's Raft apply loop, or directly by the
 * api-server's memory backend.
 */
import { StoreError } from '../errors.js'
import { bytesToKey, compareBytes, rangeEndOf } from './bytes.js'
import { type KeyHistory, KeyIndex, type KeyRecord, recordAt, recordToKv } from './key-index.js'
import { shapeRange } from './range.js'
import type {
  CompactResponse,
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  MvccEvent,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  Result,
  TxnRequest,
  TxnResponse,
} from './types.js'
import {
  checkDeleteRangeRequest,
  checkPutRequest,
  checkRangeRequest,
  checkTxnRequest,
  DEFAULT_MAX_TXN_OPS,
} from './validate.js'

export interface MvccStoreOptions {
  /**
   * Whether a lease id is currently granted (the lessor's answer). A put with a lease for which this
   * returns false fails with "etcdserver: requested lease not found". Default: no lease exists.
   */
  leaseExists?: (lease: bigint) => boolean
  /** etcd's `--max-txn-ops` (default 128), enforced when a txn is applied. */
  maxTxnOps?: number
}

/** Called once per committed revision with all its events, in (main, sub) order. */
export type CommitListener = (revision: number, events: readonly MvccEvent[]) => void

/** A write in progress: every change gets revision (main, sub) with main = current + 1. */
interface Writer {
  main: number
  sub: number
  events: MvccEvent[]
}

const EMPTY = new Uint8Array(0)

function ok<T>(response: T): Result<T> {
  return { ok: true, response }
}

function fail<T>(error: StoreError): Result<T> {
  return { ok: false, error }
}

function hasWrites(r: TxnRequest): boolean {
  for (const op of [...(r.success ?? []), ...(r.failure ?? [])]) {
    if (op.op === 'put' || op.op === 'deleteRange') return true
    if (op.op === 'txn' && hasWrites(op.request)) return true
  }
  return false
}

function compareKv(c: Compare, kv: KeyValue | undefined): boolean {
  let result: number
  switch (c.target) {
    case 'VALUE':
      result = compareBytes(kv?.value ?? EMPTY, c.value ?? EMPTY)
      break
    case 'CREATE':
      result = Math.sign((kv?.createRevision ?? 0) - (c.createRevision ?? 0))
      break
    case 'MOD':
      result = Math.sign((kv?.modRevision ?? 0) - (c.modRevision ?? 0))
      break
    case 'VERSION':
      result = Math.sign((kv?.version ?? 0) - (c.version ?? 0))
      break
    case 'LEASE': {
      const a = kv?.lease ?? 0n
      const b = c.lease ?? 0n
      result = a < b ? -1 : a > b ? 1 : 0
      break
    }
  }
  switch (c.result) {
    case 'EQUAL':
      return result === 0
    case 'NOT_EQUAL':
      return result !== 0
    case 'GREATER':
      return result > 0
    case 'LESS':
      return result < 0
  }
}

/** What one retained revision of a key costs in {@link MvccStore.sizeBytes}: its bytes plus bookkeeping. */
const RECORD_OVERHEAD_BYTES = 32
function recordBytes(key: Uint8Array, r: KeyRecord): number {
  return key.length + r.value.length + RECORD_OVERHEAD_BYTES
}

export class MvccStore {
  private readonly index = new KeyIndex()
  private currentRev = 1
  /** -1 until the first compaction, as etcd's compactMainRev. */
  private compactRev = -1
  /** Lease id → keys (binary strings) currently attached. */
  private readonly leases = new Map<bigint, Set<string>>()
  private readonly listeners = new Set<CommitListener>()
  private readonly leaseExists: (lease: bigint) => boolean
  private readonly maxTxnOps: number
  /** Approximate bytes of every retained record (see {@link sizeBytes}). */
  private bytes = 0

  constructor(options: MvccStoreOptions = {}) {
    this.leaseExists = options.leaseExists ?? (() => false)
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS
  }

  /** The current (last committed) revision; 1 for an empty store. */
  get revision(): number {
    return this.currentRev
  }

  /** The revision of the last compaction, or -1 if never compacted. */
  get compactRevision(): number {
    return this.compactRev
  }

  /**
   * The approximate size of the key space with its retained history, kept up to date on every write
   * and compaction (etcd's db size, which backs --quota-backend-bytes and Status.dbSize; here the
   * key and value bytes of every retained revision plus a fixed cost per revision). Deterministic: every
   * member applying the same log has the same size.
   */
  get sizeBytes(): number {
    return this.bytes
  }

  /** Registers a listener for committed revisions; returns its unsubscribe function. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  range(req: RangeRequest): Result<RangeResponse> {
    const invalid = checkRangeRequest(req)
    if (invalid !== undefined) return fail(invalid)
    return this.rangeAt(req, this.currentRev)
  }

  put(req: PutRequest): Result<PutResponse> {
    const invalid = checkPutRequest(req)
    if (invalid !== undefined) return fail(invalid)
    const lease = req.lease ?? 0n
    if (lease !== 0n && !this.leaseExists(lease)) return fail(new StoreError('STORE_ERR_LEASE_NOT_FOUND'))
    if ((req.ignoreValue === true || req.ignoreLease === true) && this.liveKv(req.key) === undefined) {
      return fail(new StoreError('STORE_ERR_KEY_NOT_FOUND'))
    }
    const w = this.beginWrite()
    const response = this.applyPut(w, req)
    this.commit(w)
    return ok(response)
  }

  deleteRange(req: DeleteRangeRequest): Result<DeleteRangeResponse> {
    const invalid = checkDeleteRangeRequest(req)
    if (invalid !== undefined) return fail(invalid)
    const w = this.beginWrite()
    const response = this.applyDeleteRange(w, req)
    this.commit(w)
    return ok(response)
  }

  /**
   * Applies a txn atomically at one new revision (none if nothing changed). Compares (also of nested
   * txns) are all evaluated against the state before the txn, then the chosen ops run in order, each
   * seeing the previous ones (etcd 3.4 `applierV3backend.Txn`).
   */
  txn(req: TxnRequest): Result<TxnResponse> {
    const invalid = checkTxnRequest(req, this.maxTxnOps)
    if (invalid !== undefined) return fail(invalid)
    const path: boolean[] = []
    this.comparePath(req, path)
    const isWrite = hasWrites(req)
    if (isWrite) {
      const err = this.checkPath(req, path, { i: 0 }, 'put')
      if (err !== undefined) return fail(err)
    }
    const err = this.checkPath(req, path, { i: 0 }, 'range')
    if (err !== undefined) return fail(err)
    const w = isWrite ? this.beginWrite() : undefined
    const response = this.applyTxn(w, req, path, { i: 0 })
    response.header.revision = this.readRev(w)
    if (w !== undefined) this.commit(w)
    return ok(response)
  }

  /**
   * Compacts history: reads and watches below `revision` fail afterwards, and records no revision
   * >= `revision` needs are dropped. Does not change the current revision.
   */
  compact(revision: number): Result<CompactResponse> {
    if (revision <= this.compactRev) return fail(new StoreError('MVCC_ERR_COMPACTED'))
    if (revision > this.currentRev) return fail(new StoreError('MVCC_ERR_FUTURE_REV'))
    this.compactRev = revision
    this.index.compact(revision, (h, r) => {
      this.bytes -= recordBytes(h.key, r)
    })
    return ok({ header: { revision: this.currentRev } })
  }

  /** Keys currently attached to a lease, in key order. */
  leaseKeys(lease: bigint): Uint8Array[] {
    const keys = [...(this.leases.get(lease) ?? [])].sort()
    return keys.map((k) => (this.index.get(k) as KeyHistory).key)
  }

  /**
   * Deletes every key attached to the lease in one revision, in key order (etcd lessor.Revoke).
   * Returns the revision after the deletion (unchanged if the lease had no keys).
   */
  revokeLease(lease: bigint): { revision: number; deleted: number } {
    const keys = [...(this.leases.get(lease) ?? [])].sort()
    const w = this.beginWrite()
    let deleted = 0
    for (const k of keys) {
      const h = this.index.get(k) as KeyHistory
      deleted += this.applyDeleteRange(w, { key: h.key }).deleted
    }
    this.leases.delete(lease)
    this.commit(w)
    return { revision: this.currentRev, deleted }
  }

  /** The key's value at `revision`, or undefined if absent or compacted away (for watch prev_kv). */
  kvAt(key: Uint8Array, revision: number): KeyValue | undefined {
    if (revision < this.compactRev || revision > this.currentRev) return undefined
    const h = this.index.get(bytesToKey(key))
    const r = h === undefined ? undefined : recordAt(h, revision)
    return h === undefined || r === undefined ? undefined : recordToKv(h.key, r)
  }

  /**
   * Retained events on keys selected by `key`/`rangeEnd` (range semantics as Range) with revision in
   * [fromRev, toRev], in revision order. The caller checks `fromRev` against the compaction.
   */
  eventsBetween(
    key: Uint8Array,
    rangeEnd: Uint8Array | undefined,
    fromRev: number,
    toRev: number,
  ): MvccEvent[] {
    const found: { r: KeyRecord; key: Uint8Array }[] = []
    for (const h of this.index.select(bytesToKey(key), rangeEndOf(rangeEnd))) {
      for (const r of h.records) if (r.main >= fromRev && r.main <= toRev) found.push({ r, key: h.key })
    }
    found.sort((a, b) => a.r.main - b.r.main || a.r.sub - b.r.sub)
    return found.map(({ r, key: k }) => toEvent(k, r))
  }

  /** Every retained key history, in key order (for the state image and HashKV). */
  histories(): readonly KeyHistory[] {
    return this.index.all()
  }

  /** Replaces the whole state (used by deserialization). */
  restoreState(currentRev: number, compactRev: number, histories: readonly KeyHistory[]): void {
    if (this.index.size !== 0 || this.currentRev !== 1) throw new Error('restoreState on a non-empty store')
    this.currentRev = currentRev
    this.compactRev = compactRev
    for (const h of histories) {
      this.index.restore(h)
      for (const r of h.records) this.bytes += recordBytes(h.key, r)
      const last = h.records[h.records.length - 1]
      if (last !== undefined && !last.tombstone && last.lease !== 0n)
        this.attach(last.lease, bytesToKey(h.key))
    }
  }

  private beginWrite(): Writer {
    return { main: this.currentRev + 1, sub: 0, events: [] }
  }

  /** The revision a read inside the write sees: its own changes once it has made any. */
  private readRev(w: Writer | undefined): number {
    return w !== undefined && w.events.length > 0 ? w.main : this.currentRev
  }

  private commit(w: Writer): void {
    if (w.events.length === 0) return
    this.currentRev = w.main
    for (const listener of this.listeners) listener(w.main, w.events)
  }

  private liveKv(key: Uint8Array, rev = this.currentRev): KeyRecord | undefined {
    const h = this.index.get(bytesToKey(key))
    return h === undefined ? undefined : recordAt(h, rev)
  }

  private rangeAt(req: RangeRequest, curRev: number): Result<RangeResponse> {
    let rev = req.revision ?? 0
    if (rev > curRev) return fail(new StoreError('MVCC_ERR_FUTURE_REV'))
    if (rev <= 0) rev = curRev
    if (rev < this.compactRev) return fail(new StoreError('MVCC_ERR_COMPACTED'))
    const kvs: KeyValue[] = []
    for (const h of this.index.select(bytesToKey(req.key), rangeEndOf(req.rangeEnd))) {
      const r = recordAt(h, rev)
      if (r !== undefined) kvs.push(recordToKv(h.key, r))
    }
    const header = { revision: curRev }
    if (req.countOnly === true) return ok({ header, kvs: [], more: false, count: kvs.length })
    const shaped = shapeRange(req, kvs)
    return ok({ header, kvs: shaped.kvs, more: shaped.more, count: kvs.length })
  }

  private applyPut(w: Writer, req: PutRequest): PutResponse {
    const k = bytesToKey(req.key)
    const h = this.index.getOrCreate(k, Uint8Array.from(req.key))
    const prev = recordAt(h, w.main)
    const record: KeyRecord = {
      main: w.main,
      sub: w.sub++,
      tombstone: false,
      createRevision: prev?.createRevision ?? w.main,
      version: (prev?.version ?? 0) + 1,
      value: req.ignoreValue === true ? (prev?.value ?? EMPTY) : Uint8Array.from(req.value ?? EMPTY),
      lease: req.ignoreLease === true ? (prev?.lease ?? 0n) : (req.lease ?? 0n),
    }
    h.records.push(record)
    this.bytes += recordBytes(h.key, record)
    if (prev !== undefined && prev.lease !== 0n) this.detach(prev.lease, k)
    if (record.lease !== 0n) this.attach(record.lease, k)
    w.events.push(toEvent(h.key, record))
    const response: PutResponse = { header: { revision: w.main } }
    if (req.prevKv === true && prev !== undefined) response.prevKv = recordToKv(h.key, prev)
    return response
  }

  private applyDeleteRange(w: Writer, req: DeleteRangeRequest): DeleteRangeResponse {
    const prevKvs: KeyValue[] = []
    let deleted = 0
    for (const h of this.index.select(bytesToKey(req.key), rangeEndOf(req.rangeEnd))) {
      const prev = recordAt(h, w.main)
      if (prev === undefined) continue
      if (req.prevKv === true) prevKvs.push(recordToKv(h.key, prev))
      const tomb: KeyRecord = {
        main: w.main,
        sub: w.sub++,
        tombstone: true,
        createRevision: 0,
        version: 0,
        value: EMPTY,
        lease: 0n,
      }
      h.records.push(tomb)
      this.bytes += recordBytes(h.key, tomb)
      if (prev.lease !== 0n) this.detach(prev.lease, bytesToKey(h.key))
      w.events.push(toEvent(h.key, tomb))
      deleted++
    }
    return { header: { revision: this.readRev(w) }, deleted, prevKvs }
  }

  private attach(lease: bigint, k: string): void {
    let keys = this.leases.get(lease)
    if (keys === undefined) {
      keys = new Set()
      this.leases.set(lease, keys)
    }
    keys.add(k)
  }

  private detach(lease: bigint, k: string): void {
    const keys = this.leases.get(lease)
    if (keys === undefined) return
    keys.delete(k)
    if (keys.size === 0) this.leases.delete(lease)
  }

  private applyCompare(c: Compare): boolean {
    const kvs: KeyValue[] = []
    for (const h of this.index.select(bytesToKey(c.key), rangeEndOf(c.rangeEnd))) {
      const r = recordAt(h, this.currentRev)
      if (r !== undefined) kvs.push(recordToKv(h.key, r))
    }
    // etcd: a VALUE compare on missing keys always fails (no way to represent a missing value).
    if (kvs.length === 0) return c.target === 'VALUE' ? false : compareKv(c, undefined)
    return kvs.every((kv) => compareKv(c, kv))
  }

  /** etcd's compareToPath: one boolean per txn on the chosen path, depth first. */
  private comparePath(r: TxnRequest, path: boolean[]): void {
    const succeeded = (r.compare ?? []).every((c) => this.applyCompare(c))
    path.push(succeeded)
    for (const op of (succeeded ? r.success : r.failure) ?? []) {
      if (op.op === 'txn') this.comparePath(op.request, path)
    }
  }

  /** etcd's checkRequests with checkRequestPut / checkRequestRange, against the pre-txn state. */
  private checkPath(
    r: TxnRequest,
    path: readonly boolean[],
    at: { i: number },
    kind: 'put' | 'range',
  ): StoreError | undefined {
    const ops: RequestOp[] = (path[at.i++] === true ? r.success : r.failure) ?? []
    for (const op of ops) {
      if (op.op === 'txn') {
        const err = this.checkPath(op.request, path, at, kind)
        if (err !== undefined) return err
      } else if (kind === 'put' && op.op === 'put') {
        const p = op.request
        if ((p.ignoreValue === true || p.ignoreLease === true) && this.liveKv(p.key) === undefined) {
          return new StoreError('STORE_ERR_KEY_NOT_FOUND')
        }
        const lease = p.lease ?? 0n
        if (lease !== 0n && !this.leaseExists(lease)) return new StoreError('STORE_ERR_LEASE_NOT_FOUND')
      } else if (kind === 'range' && op.op === 'range') {
        const rev = op.request.revision ?? 0
        if (rev === 0) continue
        if (rev > this.currentRev) return new StoreError('MVCC_ERR_FUTURE_REV')
        if (rev < this.compactRev) return new StoreError('MVCC_ERR_COMPACTED')
      }
    }
    return undefined
  }

  private applyTxn(
    w: Writer | undefined,
    r: TxnRequest,
    path: readonly boolean[],
    at: { i: number },
  ): TxnResponse {
    const succeeded = path[at.i++] === true
    const responses: ResponseOp[] = []
    for (const op of (succeeded ? r.success : r.failure) ?? []) {
      switch (op.op) {
        case 'range': {
          const res = this.rangeAt(op.request, this.readRev(w))
          // Revisions were checked against the pre-txn state; a failure here is a broken invariant.
          if (!res.ok) throw new Error(`unexpected error during txn: ${res.error.message}`)
          responses.push({ op: 'range', response: res.response })
          break
        }
        case 'put':
          responses.push({ op: 'put', response: this.applyPut(w as Writer, op.request) })
          break
        case 'deleteRange':
          responses.push({ op: 'deleteRange', response: this.applyDeleteRange(w as Writer, op.request) })
          break
        case 'txn':
          // etcd leaves a nested txn's header empty (revision 0).
          responses.push({ op: 'txn', response: this.applyTxn(w, op.request, path, at) })
          break
      }
    }
    return { header: { revision: 0 }, succeeded, responses }
  }
}

function toEvent(key: Uint8Array, r: KeyRecord): MvccEvent {
  if (r.tombstone) {
    return {
      type: 'DELETE',
      kv: { key, createRevision: 0, modRevision: r.main, version: 0, value: EMPTY, lease: 0n },
    }
  }
  return { type: 'PUT', kv: recordToKv(key, r) }
}
