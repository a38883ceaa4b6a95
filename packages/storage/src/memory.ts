/**
 * The `memory` backend: hakube-store's MVCC library (`MvccStore` + `WatchHub`) in this process. The
 * default when `--etcd-servers` is empty.
 *
 * Guarantees: the same revisions, ranges, txn outcomes, compaction and watch semantics as a
 * hakube-store cluster (it is the same code, minus Raft), so the shared contract suite passes
 * unchanged. Every operation runs synchronously on the event loop, so it is linearizable and never
 * times out; `consistency: 'any'` reads are as fresh as quorum reads. Watch events are delivered
 * asynchronously (a microtask after the write), so handlers may write to the storage. A slow handler
 * cannot grow memory without bound: past `maxBufferedWatchResponses` the watch becomes a "victim"
 * and is replayed from history once its queue drains (as etcd's slow watchers are).
 *
 * Each life of the store starts at a revision no earlier life can have reached (by default the wall
 * clock in microseconds, see {@link MemoryStorageOptions.startRevision}) with everything below it
 * compacted: a client that resumes with a resourceVersion of a previous process (an informer after the
 * api-server restarted) gets TooOld, the api-server's 410 Expired, and relists, instead of watching
 * from a revision whose history this life never had.
 *
 * Non-guarantees: no durability (the process is the store), no replication, no request size limits
 * beyond the MVCC library's txn-ops limit. A previous life's resourceVersion can look newer than this
 * life's only if the wall clock went back, or the previous life wrote more than once per microsecond
 * on average over its whole life.
 */
import { MvccStore, type StoreError, WatchHub, type WatchResponse } from '@hakube/store/mvcc'
import { StorageError } from './errors.js'
import type { Readiness, Storage } from './interface.js'
import type { KvEngine, KvWatch, KvWatchMessage, KvWatchRequest } from './kv-backend.js'
import { type CompactionOptions, DEFAULT_REQUEST_TIMEOUT_MS, KvStorage } from './kv-storage.js'

export interface MemoryStorageOptions extends CompactionOptions {
  /** Default per-call timeout (ms); unused by this backend's synchronous operations but kept for parity. */
  requestTimeoutMs?: number
  /** How often watches created with `progressNotify` get a BOOKMARK (etcd: 10 min). Default 60 s. */
  progressNotifyIntervalMs?: number
  /** Undelivered watch responses per watch before it becomes a victim. Default 1000. */
  maxBufferedWatchResponses?: number
  /**
   * The revision the empty store starts at; every revision below it counts as compacted. Default:
   * {@link clockStartRevision}, so no two lives of a memory api-server share a revision.
   */
  startRevision?: number
}

/**
 * Microseconds since the epoch: above any revision an earlier life can have reached unless it wrote
 * more than once per microsecond on average (a million writes a second); below 2^53 until the year
 * 2255, so resourceVersions stay exact JavaScript numbers.
 */
export function clockStartRevision(nowMs: number = Date.now()): number {
  return Math.floor(nowMs) * 1000
}

/** Maps the MVCC library's typed failures onto storage errors. */
function mapStoreError(err: StoreError, compactRevision: number): StorageError {
  switch (err.code) {
    case 'MVCC_ERR_COMPACTED':
      return new StorageError('TooOld', { revision: compactRevision, detail: err.message })
    case 'MVCC_ERR_FUTURE_REV':
      // Kubernetes answers "Too large resource version" as a timeout-class error (retry later).
      return new StorageError('Timeout', { detail: err.message })
    default:
      return new StorageError('InvalidObject', { detail: err.message })
  }
}

class MemoryEngine implements KvEngine {
  readonly name = 'memory'
  readonly store: MvccStore
  private readonly hub: WatchHub
  /** Granted leases and their expiry timers (etcd's lessor, emulated: no renewals, no checkpoints). */
  private readonly leases = new Map<bigint, NodeJS.Timeout>()
  private nextLeaseId = 1n
  private progressTimer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly progressIntervalMs: number,
    private readonly maxBuffered: number,
    startRevision: number,
  ) {
    if (!Number.isSafeInteger(startRevision) || startRevision < 1) {
      throw new StorageError('InvalidObject', { detail: 'startRevision must be a positive safe integer' })
    }
    this.store = new MvccStore({ leaseExists: (id) => this.leases.has(id) })
    // An empty state at startRevision, compacted there: older revisions are TooOld, not "empty".
    if (startRevision > 1) this.store.restoreState(startRevision, startRevision, [])
    this.hub = new WatchHub(this.store)
  }

  private check(): void {
    if (this.closed) throw new StorageError('Unavailable', { detail: 'memory storage is closed' })
  }

  async range(req: Parameters<MvccStore['range']>[0]) {
    this.check()
    const r = this.store.range(req)
    if (!r.ok) throw mapStoreError(r.error, this.store.compactRevision)
    return r.response
  }

  async txn(req: Parameters<MvccStore['txn']>[0]) {
    this.check()
    const r = this.store.txn(req)
    if (!r.ok) throw mapStoreError(r.error, this.store.compactRevision)
    return r.response
  }

  async compact(revision: number): Promise<void> {
    this.check()
    if (revision <= this.store.compactRevision) return
    if (revision > this.store.revision) {
      throw new StorageError('InvalidObject', {
        revision,
        detail: `cannot compact beyond the current revision ${this.store.revision}`,
      })
    }
    const r = this.store.compact(revision)
    if (!r.ok) throw mapStoreError(r.error, this.store.compactRevision)
  }

  async leaseGrant(ttlSeconds: number): Promise<bigint> {
    this.check()
    const id = this.nextLeaseId++
    const timer = setTimeout(() => {
      this.leases.delete(id)
      if (!this.closed) this.store.revokeLease(id)
    }, ttlSeconds * 1000)
    // An api-server exiting must not wait for its master lease to expire.
    timer.unref()
    this.leases.set(id, timer)
    return id
  }

  async readiness(): Promise<Readiness> {
    return this.closed ? { ok: false, reason: 'memory storage is closed' } : { ok: true }
  }

  watch(req: KvWatchRequest, sink: (msg: KvWatchMessage) => void): KvWatch {
    const queue: KvWatchMessage[] = []
    let scheduled = false
    let closed = false
    let victim = false
    let watchId: number | undefined
    const flush = (): void => {
      scheduled = false
      for (let m = queue.shift(); m !== undefined && !closed; m = queue.shift()) sink(m)
      if (victim && !closed && watchId !== undefined) {
        victim = false
        this.hub.resume(watchId)
      }
    }
    const push = (msg: KvWatchMessage): void => {
      queue.push(msg)
      if (!scheduled) {
        scheduled = true
        queueMicrotask(flush)
      }
    }
    const hubSink = (r: WatchResponse): boolean => {
      if (closed) return true
      if (queue.length >= this.maxBuffered) {
        victim = true
        return false
      }
      if (r.compactRevision !== undefined && r.compactRevision > 0) {
        push({
          kind: 'error',
          error: new StorageError('TooOld', {
            revision: r.compactRevision,
            detail: 'watch start revision was compacted',
          }),
        })
      } else if (r.created === true) {
        push({ kind: 'created', revision: r.header.revision })
      } else if (r.canceled === true) {
        push({ kind: 'error', error: new StorageError('Unavailable', { detail: 'watch canceled' }) })
      } else if (r.events.length === 0) {
        push({ kind: 'progress', revision: r.header.revision })
      } else {
        push({ kind: 'events', events: r.events })
      }
      return true
    }
    if (this.closed) {
      push({ kind: 'error', error: new StorageError('Unavailable', { detail: 'memory storage is closed' }) })
    } else {
      const res = this.hub.watch(
        {
          key: req.key,
          rangeEnd: req.rangeEnd,
          startRevision: req.startRevision,
          prevKv: true,
          progressNotify: req.progressNotify,
        },
        hubSink,
      )
      if (res.ok) watchId = res.response.watchId
      else push({ kind: 'error', error: mapStoreError(res.error, this.store.compactRevision) })
      if (req.progressNotify) this.startProgressTimer()
    }
    return {
      close: () => {
        closed = true
        if (watchId !== undefined) this.hub.cancel(watchId)
      },
    }
  }

  /** etcd's WatchProgressRequest: a progress notification (BOOKMARK) now on every progressNotify watch. */
  requestProgress(): void {
    if (!this.closed) this.hub.notifyProgress()
  }

  private startProgressTimer(): void {
    if (this.progressTimer !== undefined) return
    this.progressTimer = setInterval(() => this.hub.notifyProgress(), this.progressIntervalMs)
    this.progressTimer.unref()
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.progressTimer !== undefined) clearInterval(this.progressTimer)
    for (const timer of this.leases.values()) clearTimeout(timer)
    this.leases.clear()
    this.hub.close()
  }
}

/**
 * The memory backend; `compact()`, `currentRevision()` and the periodic compaction
 * (`compactionIntervalMs`, kube's protocol: a `compact_rev_key` in the store) come from the shared
 * storage, so history is bounded here as on etcd.
 */
export class MemoryStorage extends KvStorage {
  constructor(options: MemoryStorageOptions = {}) {
    super(
      new MemoryEngine(
        options.progressNotifyIntervalMs ?? 60_000,
        options.maxBufferedWatchResponses ?? 1000,
        options.startRevision ?? clockStartRevision(),
      ),
      options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    )
    this.startCompactor(options)
  }

  /**
   * The watch cache's {@link WatchProgressRequester}: every watch opened with `progressNotify` gets a
   * progress notification at the current revision (the hub delivers synchronously, so it is in sync).
   */
  requestWatchProgress(): void {
    ;(this.engine as MemoryEngine).requestProgress()
  }

  /**
   * Another client of the same in-process store (e.g. a second api-server in one process): its own
   * watches, closed state and, with `compactionIntervalMs`, its own compactor (which competes with the
   * others through the compact key, as api-servers sharing an etcd do); closing it leaves this
   * storage and the store open.
   */
  client(options: CompactionOptions = {}): Storage {
    return new MemoryClient(this.engine, this.requestTimeoutMs, options)
  }
}

class MemoryClient extends KvStorage {
  constructor(engine: KvEngine, requestTimeoutMs: number, options: CompactionOptions) {
    super(engine, requestTimeoutMs, false)
    this.startCompactor(options)
  }
}

export function createMemoryStorage(options?: MemoryStorageOptions): MemoryStorage {
  return new MemoryStorage(options)
}
