/**
 * The {@link Storage} semantics over any {@link KvEngine}, written once for both backends, as
 * k8s.io/apiserver's etcd3 store does them (staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go):
 * - create: Txn(mod_revision(key) == 0) then Put, else AlreadyExists;
 * - update: Txn(mod_revision(key) == expected) then Put(prev_kv), else Range(key) to tell NotFound
 *   from Conflict (with the current mod revision);
 * - delete: Txn([mod_revision(key) == expected]) then DeleteRange(prev_kv), else Range(key);
 * - list: Range [start, prefixEnd) with limit at one revision; the next page starts after the last key
 *   at the same revision; remaining = count of [start, end) − page size;
 * - watch: etcd PUT with create == mod revision → ADDED, other PUT → MODIFIED, DELETE → DELETED with
 *   the prior object (prev_kv), its modRevision set to the deletion revision (as Kubernetes' watcher).
 *
 * Guarantees: every call settles by its deadline (engine-enforced) with a value or a StorageError;
 * values are validated JSON both ways (InvalidObject otherwise); a watch handler is never called after
 * `close()` nor after the ERROR event.
 */
import { type KeyValue, type MvccEvent, prefixRangeEnd, type TxnResponse } from '@hakube/store/mvcc'
import { Compactor } from './compactor.js'
import { StorageError } from './errors.js'
import type {
  CallOptions,
  DeleteOptions,
  GetOptions,
  ListOptions,
  ListResult,
  Readiness,
  Storage,
  StoredObject,
  Watch,
  WatchEvent,
  WatchHandler,
  WatchOptions,
} from './interface.js'
import type { KvEngine, KvWatch, KvWatchMessage } from './kv-backend.js'

/** Kubernetes' default --request-timeout is 60 s; storage answers first so the server can say why. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
/** /readyz should answer fast. */
export const DEFAULT_READINESS_TIMEOUT_MS = 3_000

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** kube-apiserver's periodic compaction (compactor.ts), for either backend. */
export interface CompactionOptions {
  /**
   * `--etcd-compaction-interval` in ms: every interval, kube's compactor protocol runs against the
   * store (one api-server of those sharing it compacts, to the revision of one interval before).
   * 0 or absent: no compaction (the library's default; hakube-apiserver's flag defaults to 5 min).
   */
  compactionIntervalMs?: number
  /** Told about every failed compaction round (the next round retries). */
  onCompactionError?: (err: StorageError) => void
  /** Told after each compaction this storage made, with the revision compacted to. */
  onCompacted?: (revision: number) => void
}

export function encodeKey(key: string): Uint8Array {
  return encoder.encode(key)
}

function checkKey(key: string): Uint8Array {
  if (typeof key !== 'string' || key.length === 0) {
    throw new StorageError('InvalidObject', { detail: 'empty key' })
  }
  return encodeKey(key)
}

export function encodeValue(key: string, value: unknown): Uint8Array {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (err) {
    throw new StorageError('InvalidObject', { key, detail: 'value is not JSON-serializable', cause: err })
  }
  if (json === undefined) throw new StorageError('InvalidObject', { key, detail: 'value is not JSON' })
  return encoder.encode(json)
}

export function decodeKv<T>(kv: KeyValue): StoredObject<T> {
  let key: string
  let value: T
  try {
    key = decoder.decode(kv.key)
    value = JSON.parse(decoder.decode(kv.value)) as T
  } catch (err) {
    throw new StorageError('InvalidObject', {
      key: Buffer.from(kv.key).toString(),
      revision: kv.modRevision,
      detail: 'stored value is not UTF-8 JSON',
      cause: err,
    })
  }
  return { key, value, modRevision: kv.modRevision, createRevision: kv.createRevision }
}

function checkRevision(name: string, rev: number | undefined): void {
  if (rev !== undefined && (!Number.isSafeInteger(rev) || rev < 0)) {
    throw new StorageError('InvalidObject', { detail: `${name} must be a non-negative integer` })
  }
}

export class KvStorage implements Storage {
  protected closed = false
  private readonly watches = new Set<Watch>()
  private compactor: Compactor | undefined

  constructor(
    protected readonly engine: KvEngine,
    protected readonly requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
    /** false: a second client of a shared engine; close() leaves the engine open. */
    private readonly ownsEngine = true,
  ) {}

  get backend(): string {
    return this.engine.name
  }

  /** Starts kube's periodic compaction if `compactionIntervalMs` > 0; close() stops it. */
  protected startCompactor(options: CompactionOptions): void {
    const intervalMs = options.compactionIntervalMs ?? 0
    if (intervalMs <= 0 || this.compactor !== undefined) return
    this.compactor = new Compactor(this.engine, {
      intervalMs,
      requestTimeoutMs: this.requestTimeoutMs,
      ...(options.onCompactionError && { onError: options.onCompactionError }),
      ...(options.onCompacted && { onCompacted: options.onCompacted }),
    })
  }

  protected deadline(opts: CallOptions | undefined): { deadline: number } {
    if (this.closed) throw new StorageError('Unavailable', { detail: 'storage is closed' })
    return { deadline: Date.now() + (opts?.timeoutMs ?? this.requestTimeoutMs) }
  }

  async get<T = unknown>(key: string, options: GetOptions = {}): Promise<StoredObject<T>> {
    const k = checkKey(key)
    checkRevision('revision', options.revision)
    const serializable = options.revision === undefined && options.consistent === false
    const res = await this.engine.range(
      { key: k, revision: options.revision ?? 0 },
      serializable,
      this.deadline(options),
    )
    const kv = res.kvs[0]
    if (kv === undefined) throw new StorageError('NotFound', { key, revision: res.header.revision })
    return decodeKv<T>(kv)
  }

  async list<T = unknown>(options: ListOptions): Promise<ListResult<T>> {
    const prefix = options.prefix
    if (typeof prefix !== 'string' || prefix.length === 0) {
      throw new StorageError('InvalidObject', { detail: 'list needs a non-empty prefix' })
    }
    checkRevision('revision', options.revision)
    checkRevision('limit', options.limit)
    const after = options.continueAfter
    if (after !== undefined && !after.startsWith(prefix)) {
      throw new StorageError('InvalidObject', { key: after, detail: `continue key is not under ${prefix}` })
    }
    const rangeEnd = prefixRangeEnd(encodeKey(prefix))
    // "\0" appended: the smallest key strictly after `after` (Kubernetes' continue start key).
    const start = encodeKey(after === undefined ? prefix : `${after}\u0000`)
    const limit = options.limit ?? 0
    const serializable = options.revision === undefined && options.consistency === 'any'
    const res = await this.engine.range(
      { key: start, rangeEnd, revision: options.revision ?? 0, limit },
      serializable,
      this.deadline(options),
    )
    const items = res.kvs.map((kv) => decodeKv<T>(kv))
    const result: ListResult<T> = {
      items,
      // A read at a past revision carries the current revision in its header; the list is at the former.
      revision:
        options.revision !== undefined && options.revision > 0 ? options.revision : res.header.revision,
    }
    const last = items[items.length - 1]
    if (res.more && last !== undefined) {
      result.continueAfter = last.key
      result.remainingItemCount = res.count - items.length
    }
    return result
  }

  async create<T = unknown>(key: string, value: T, options?: CallOptions): Promise<StoredObject<T>> {
    const k = checkKey(key)
    const v = encodeValue(key, value)
    const res = await this.engine.txn(
      {
        compare: [{ key: k, target: 'MOD', result: 'EQUAL', modRevision: 0 }],
        success: [{ op: 'put', request: { key: k, value: v } }],
        failure: [],
      },
      this.deadline(options),
    )
    if (!res.succeeded) throw new StorageError('AlreadyExists', { key, revision: res.header.revision })
    const rev = res.header.revision
    return { key, value: decodeValue<T>(key, v, rev), modRevision: rev, createRevision: rev }
  }

  async update<T = unknown>(
    key: string,
    value: T,
    expectedModRevision: number,
    options?: CallOptions,
  ): Promise<StoredObject<T>> {
    const k = checkKey(key)
    if (!Number.isSafeInteger(expectedModRevision) || expectedModRevision <= 0) {
      throw new StorageError('InvalidObject', {
        key,
        detail: 'expectedModRevision must be a positive integer',
      })
    }
    const v = encodeValue(key, value)
    const res = await this.engine.txn(
      {
        compare: [{ key: k, target: 'MOD', result: 'EQUAL', modRevision: expectedModRevision }],
        success: [{ op: 'put', request: { key: k, value: v, prevKv: true } }],
        failure: [{ op: 'range', request: { key: k } }],
      },
      this.deadline(options),
    )
    if (!res.succeeded) throw preconditionError(key, res)
    const put = res.responses[0]
    const prev = put?.op === 'put' ? put.response.prevKv : undefined
    const rev = res.header.revision
    return {
      key,
      value: decodeValue<T>(key, v, rev),
      modRevision: rev,
      // Absent only if the engine dropped prev_kv; the key existed at expectedModRevision.
      createRevision: prev?.createRevision ?? 0,
    }
  }

  async delete<T = unknown>(key: string, options: DeleteOptions = {}): Promise<StoredObject<T>> {
    const k = checkKey(key)
    checkRevision('expectedModRevision', options.expectedModRevision)
    const expected = options.expectedModRevision
    const res = await this.engine.txn(
      {
        compare:
          expected === undefined ? [] : [{ key: k, target: 'MOD', result: 'EQUAL', modRevision: expected }],
        success: [{ op: 'deleteRange', request: { key: k, prevKv: true } }],
        failure: [{ op: 'range', request: { key: k } }],
      },
      this.deadline(options),
    )
    if (!res.succeeded) throw preconditionError(key, res)
    const del = res.responses[0]
    const prev = del?.op === 'deleteRange' ? del.response.prevKvs[0] : undefined
    if (prev === undefined) throw new StorageError('NotFound', { key, revision: res.header.revision })
    return decodeKv<T>(prev)
  }

  async putWithTtl<T = unknown>(
    key: string,
    value: T,
    ttlSeconds: number,
    options?: CallOptions,
  ): Promise<StoredObject<T>> {
    const k = checkKey(key)
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
      throw new StorageError('InvalidObject', { key, detail: 'ttlSeconds must be a positive integer' })
    }
    const v = encodeValue(key, value)
    const call = this.deadline(options)
    // A new lease per write, as the etcd3 store of k8s.io/apiserver attaches one (its lease manager
    // reuses leases across keys; one key here, so one lease a write, the old one left to expire).
    const lease = await this.engine.leaseGrant(ttlSeconds, call)
    const res = await this.engine.txn(
      {
        compare: [],
        success: [{ op: 'put', request: { key: k, value: v, lease, prevKv: true } }],
        failure: [],
      },
      call,
    )
    const put = res.responses[0]
    const prev = put?.op === 'put' ? put.response.prevKv : undefined
    const rev = res.header.revision
    return {
      key,
      value: decodeValue<T>(key, v, rev),
      modRevision: rev,
      createRevision: prev?.createRevision ?? rev,
    }
  }

  async compact(revision: number, options?: CallOptions): Promise<void> {
    checkRevision('revision', revision)
    await this.engine.compact(revision, this.deadline(options))
  }

  async currentRevision(options?: CallOptions): Promise<number> {
    const res = await this.engine.range(
      { key: encodeKey('/'), limit: 1, countOnly: true },
      false,
      this.deadline(options),
    )
    return res.header.revision
  }

  async count(prefix: string, options?: CallOptions): Promise<number> {
    const k = checkKey(prefix)
    const res = await this.engine.range(
      { key: k, rangeEnd: prefixRangeEnd(k), countOnly: true },
      false,
      this.deadline(options),
    )
    return res.count
  }

  async readiness(options?: CallOptions): Promise<Readiness> {
    if (this.closed) return { ok: false, reason: 'storage is closed' }
    try {
      return await this.engine.readiness({
        deadline: Date.now() + (options?.timeoutMs ?? DEFAULT_READINESS_TIMEOUT_MS),
      })
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message : String(err) }
    }
  }

  watch<T = unknown>(options: WatchOptions, handler: WatchHandler<T>): Promise<Watch> {
    if (this.closed) return Promise.reject(new StorageError('Unavailable', { detail: 'storage is closed' }))
    const hasKey = options.key !== undefined
    const hasPrefix = options.prefix !== undefined
    try {
      if (hasKey === hasPrefix) {
        throw new StorageError('InvalidObject', { detail: 'watch needs exactly one of key and prefix' })
      }
      checkRevision('afterRevision', options.afterRevision)
    } catch (err) {
      return Promise.reject(err)
    }
    const keyBytes = checkKey((hasKey ? options.key : options.prefix) as string)
    return new Promise((resolve) => {
      let done = false
      let established = false
      let kvWatch: KvWatch | undefined
      const finish = (): void => {
        done = true
        kvWatch?.close()
        this.watches.delete(handle)
      }
      const handle: Watch = { close: finish }
      const emit = (ev: WatchEvent<T>): void => {
        if (!done) handler(ev)
      }
      const sink = (msg: KvWatchMessage): void => {
        if (done) return
        switch (msg.kind) {
          case 'created':
            established = true
            resolve(handle)
            return
          case 'progress':
            emit({ type: 'BOOKMARK', revision: msg.revision })
            return
          case 'error':
            emit({ type: 'ERROR', error: msg.error })
            finish()
            resolve(handle)
            return
          case 'events':
            for (const ev of msg.events) {
              let out: WatchEvent<T>
              try {
                out = toWatchEvent<T>(ev, options.prevKv === true)
              } catch (err) {
                const error =
                  err instanceof StorageError ? err : new StorageError('InvalidObject', { cause: err })
                emit({ type: 'ERROR', error })
                finish()
                return
              }
              emit(out)
              if (done) return
            }
        }
      }
      kvWatch = this.engine.watch(
        {
          key: keyBytes,
          rangeEnd: hasPrefix ? prefixRangeEnd(keyBytes) : undefined,
          startRevision: options.afterRevision > 0 ? options.afterRevision + 1 : 0,
          progressNotify: options.progressNotify === true,
        },
        sink,
      )
      if (done) {
        kvWatch.close()
        if (!established) resolve(handle)
      } else {
        this.watches.add(handle)
      }
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.compactor?.stop()
    for (const w of [...this.watches]) w.close()
    if (this.ownsEngine) await this.engine.close()
  }
}

function decodeValue<T>(key: string, bytes: Uint8Array, rev: number): T {
  return decodeKv<T>({
    key: encodeKey(key),
    value: bytes,
    modRevision: rev,
    createRevision: rev,
    version: 1,
    lease: 0n,
  }).value
}

/** A failed update/delete precondition: the failure branch's Range tells NotFound from Conflict. */
function preconditionError(key: string, res: TxnResponse): StorageError {
  const range = res.responses[0]
  const kv = range?.op === 'range' ? range.response.kvs[0] : undefined
  if (kv === undefined) return new StorageError('NotFound', { key, revision: res.header.revision })
  return new StorageError('Conflict', { key, revision: kv.modRevision })
}

function toWatchEvent<T>(ev: MvccEvent, withPrev: boolean): WatchEvent<T> {
  const revision = ev.kv.modRevision
  if (ev.type === 'PUT') {
    const object = decodeKv<T>(ev.kv)
    if (ev.kv.createRevision === ev.kv.modRevision) return { type: 'ADDED', object, revision }
    if (withPrev && ev.prevKv !== undefined) {
      return { type: 'MODIFIED', object, prevObject: decodeKv<T>(ev.prevKv), revision }
    }
    return { type: 'MODIFIED', object, revision }
  }
  if (ev.prevKv === undefined) {
    throw new StorageError('InvalidObject', {
      key: Buffer.from(ev.kv.key).toString(),
      revision,
      detail: 'DELETE event without the prior object (compacted?)',
    })
  }
  const prevObject = decodeKv<T>(ev.prevKv)
  return { type: 'DELETED', object: { ...prevObject, modRevision: revision }, prevObject, revision }
}
