/**
 * The `etcd3` backend: the storage semantics (kv-storage.ts) over {@link Etcd3Client}, speaking the
 * etcd v3 gRPC API to a hakube-store cluster or a real etcd 3.4, unchanged.
 *
 * Guarantees:
 * - Reads and writes fail over among all `--etcd-servers` under the retry rule of etcd3-client.ts
 *   (reads retried anywhere; writes re-sent only when refused before proposal): no write is ever
 *   applied twice by a retry, and an acknowledged write was committed by the cluster.
 * - Watches survive a stream or connection failure: the watch is re-created on the next reachable
 *   endpoint from (last delivered revision + 1) — events are neither lost nor repeated. If no endpoint
 *   can re-establish it within `watchReconnectTimeoutMs` the watch ends with ERROR Unavailable; if the
 *   resume revision was compacted meanwhile, with ERROR TooOld (the api-server's 410 Gone).
 * - readiness(): Maintenance.Status of every member (unreachable / no leader; a quarter of the budget
 *   each) beside a linearizable read through the cluster (quorum).
 *
 * Non-guarantees: a member that is alive but partitioned from the quorum keeps a watch stream open
 * silently on hakube-store (real etcd cancels it thanks to the `hasleader` metadata); no TLS or auth.
 */
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js'
import type {
  Compare,
  KeyValue,
  MvccEvent,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from '@hakube/store/mvcc'
import { StorageError } from './errors.js'
import { Etcd3Client, type Etcd3ClientOptions, type Msg } from './etcd3-client.js'
import type { Readiness } from './interface.js'
import type { KvCallOptions, KvEngine, KvWatch, KvWatchMessage, KvWatchRequest } from './kv-backend.js'
import { type CompactionOptions, DEFAULT_REQUEST_TIMEOUT_MS, KvStorage } from './kv-storage.js'

export interface Etcd3StorageOptions extends Etcd3ClientOptions, CompactionOptions {
  /** Default per-call timeout (ms). Default 30 s. */
  requestTimeoutMs?: number
  /** How long a broken watch may try to re-establish before ending with Unavailable. Default 30 s. */
  watchReconnectTimeoutMs?: number
}

// ---- proto <-> MVCC shapes (int64 as decimal strings, bytes as Buffers, snake_case) ----

const buf = (b: Uint8Array | undefined): Buffer =>
  b === undefined ? Buffer.alloc(0) : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
const num = (v: unknown): number => Number(v ?? 0)
/**
 * `range_end` only when set: protobufjs sends a present-but-empty bytes field, which real etcd 3.4
 * decodes as a non-nil empty slice meaning "every key >= key" (a get of a missing key would return the
 * next key). hakube-store treats both alike; etcd does not.
 */
const rangeEnd = (b: Uint8Array | undefined): { range_end?: Buffer } =>
  b === undefined || b.byteLength === 0 ? {} : { range_end: buf(b) }

function rangeToProto(r: RangeRequest, serializable: boolean): Msg {
  return {
    key: buf(r.key),
    ...rangeEnd(r.rangeEnd),
    limit: String(r.limit ?? 0),
    revision: String(r.revision ?? 0),
    serializable,
    keys_only: r.keysOnly === true,
    count_only: r.countOnly === true,
  }
}

function compareToProto(c: Compare): Msg {
  const m: Msg = { key: buf(c.key), target: c.target, result: c.result, ...rangeEnd(c.rangeEnd) }
  if (c.target === 'MOD') m['mod_revision'] = String(c.modRevision ?? 0)
  else if (c.target === 'CREATE') m['create_revision'] = String(c.createRevision ?? 0)
  else if (c.target === 'VERSION') m['version'] = String(c.version ?? 0)
  else if (c.target === 'VALUE') m['value'] = buf(c.value)
  else m['lease'] = String(c.lease ?? 0n)
  return m
}

function opToProto(op: RequestOp): Msg {
  switch (op.op) {
    case 'range':
      return { request_range: rangeToProto(op.request, false) }
    case 'put':
      return {
        request_put: {
          key: buf(op.request.key),
          value: buf(op.request.value),
          lease: String(op.request.lease ?? 0n),
          prev_kv: op.request.prevKv === true,
        },
      }
    case 'deleteRange':
      return {
        request_delete_range: {
          key: buf(op.request.key),
          ...rangeEnd(op.request.rangeEnd),
          prev_kv: op.request.prevKv === true,
        },
      }
    case 'txn':
      return { request_txn: txnToProto(op.request) }
  }
}

function txnToProto(t: TxnRequest): Msg {
  return {
    compare: (t.compare ?? []).map(compareToProto),
    success: (t.success ?? []).map(opToProto),
    failure: (t.failure ?? []).map(opToProto),
  }
}

function kvFromProto(m: Msg): KeyValue {
  return {
    key: m['key'] as Buffer,
    value: m['value'] as Buffer,
    createRevision: num(m['create_revision']),
    modRevision: num(m['mod_revision']),
    version: num(m['version']),
    lease: BigInt((m['lease'] as string | undefined) ?? '0'),
  }
}

const headerRev = (m: Msg): number => num((m['header'] as Msg | undefined)?.['revision'])

function rangeFromProto(m: Msg): RangeResponse {
  return {
    header: { revision: headerRev(m) },
    kvs: ((m['kvs'] as Msg[] | undefined) ?? []).map(kvFromProto),
    more: m['more'] === true,
    count: num(m['count']),
  }
}

function responseOpFromProto(m: Msg): ResponseOp {
  const which = m['response'] as string | undefined
  const r = (which === undefined ? {} : m[which]) as Msg
  switch (which) {
    case 'response_range':
      return { op: 'range', response: rangeFromProto(r) }
    case 'response_put':
      return {
        op: 'put',
        response: {
          header: { revision: headerRev(r) },
          ...(r['prev_kv'] ? { prevKv: kvFromProto(r['prev_kv'] as Msg) } : {}),
        },
      }
    case 'response_delete_range':
      return {
        op: 'deleteRange',
        response: {
          header: { revision: headerRev(r) },
          deleted: num(r['deleted']),
          prevKvs: ((r['prev_kvs'] as Msg[] | undefined) ?? []).map(kvFromProto),
        },
      }
    default:
      return { op: 'txn', response: txnFromProto(r) }
  }
}

function txnFromProto(m: Msg): TxnResponse {
  return {
    header: { revision: headerRev(m) },
    succeeded: m['succeeded'] === true,
    responses: ((m['responses'] as Msg[] | undefined) ?? []).map(responseOpFromProto),
  }
}

function eventFromProto(m: Msg): MvccEvent {
  const ev: MvccEvent = { type: m['type'] === 'DELETE' ? 'DELETE' : 'PUT', kv: kvFromProto(m['kv'] as Msg) }
  if (m['prev_kv']) ev.prevKv = kvFromProto(m['prev_kv'] as Msg)
  return ev
}

// ---- watch with resume ----

class EtcdWatch implements KvWatch {
  /** Every event with a revision <= delivered has been handed to the sink. */
  private delivered = 0
  private created = false
  private closed = false
  private stream: ClientDuplexStream<Msg, Msg> | undefined
  /** When the current run of failures started (undefined while established). */
  private failingSince: number | undefined

  constructor(
    private readonly client: Etcd3Client,
    private readonly req: KvWatchRequest,
    private readonly sink: (msg: KvWatchMessage) => void,
    private readonly reconnectTimeoutMs: number,
    private readonly onClose: (w: EtcdWatch) => void = () => {},
  ) {
    if (req.startRevision > 0) this.delivered = req.startRevision - 1
    this.failingSince = Date.now()
    void this.connect()
  }

  private terminate(error: StorageError): void {
    if (this.closed) return
    this.close()
    this.sink({ kind: 'error', error })
  }

  private async connect(): Promise<void> {
    if (this.closed) return
    const since = this.failingSince ?? Date.now()
    let opened: { stream: ClientDuplexStream<Msg, Msg>; index: number }
    try {
      opened = await this.client.openWatch(since + this.reconnectTimeoutMs)
    } catch (err) {
      this.terminate(
        err instanceof StorageError ? err : new StorageError('Unavailable', { detail: String(err) }),
      )
      return
    }
    if (this.closed) {
      // Closed while the stream was being opened (an endpoint that took long to connect): cancelling
      // makes the stream emit CANCELLED as an 'error', which with no listener would crash the process
      // (an api-server died so when its master came back on the network).
      opened.stream.on('error', () => {})
      opened.stream.cancel()
      return
    }
    const { stream, index } = opened
    this.stream = stream
    let broken = false
    const onBroken = (why: string): void => {
      if (broken || this.closed || this.stream !== stream) return
      broken = true
      this.stream = undefined
      stream.cancel()
      this.client.markFailed(index)
      this.failingSince ??= Date.now()
      if (Date.now() - this.failingSince > this.reconnectTimeoutMs) {
        this.terminate(new StorageError('Unavailable', { detail: `watch lost: ${why}` }))
        return
      }
      setTimeout(() => void this.connect(), 100)
    }
    stream.on('data', (m: Msg) => {
      if (!broken) this.onResponse(m, onBroken)
    })
    stream.on('error', (err: ServiceError) => onBroken(`${this.client.endpoints[index]}: ${err.details}`))
    stream.on('end', () => onBroken(`${this.client.endpoints[index]}: stream ended`))
    const start = this.created || this.req.startRevision > 0 ? this.delivered + 1 : 0
    stream.write({
      create_request: {
        key: buf(this.req.key),
        ...rangeEnd(this.req.rangeEnd),
        start_revision: String(start),
        progress_notify: this.req.progressNotify,
        prev_kv: true,
      },
    })
  }

  private onResponse(m: Msg, onBroken: (why: string) => void): void {
    if (this.closed) return
    const compactRev = num(m['compact_revision'])
    if (compactRev > 0) {
      this.terminate(
        new StorageError('TooOld', { revision: compactRev, detail: 'watch start revision was compacted' }),
      )
      return
    }
    if (m['created'] === true) {
      this.failingSince = undefined
      if (m['canceled'] === true) {
        this.terminate(
          new StorageError('InvalidObject', { detail: `watch refused: ${String(m['cancel_reason'])}` }),
        )
        return
      }
      if (!this.created) {
        this.created = true
        if (this.req.startRevision === 0) this.delivered = headerRev(m)
        this.sink({ kind: 'created', revision: headerRev(m) })
      }
      return
    }
    if (m['canceled'] === true) {
      onBroken(`watch canceled: ${String(m['cancel_reason'])}`)
      return
    }
    const events = ((m['events'] as Msg[] | undefined) ?? []).map(eventFromProto)
    if (events.length === 0) {
      const rev = headerRev(m)
      if (rev > this.delivered) this.delivered = rev
      this.sink({ kind: 'progress', revision: rev })
      return
    }
    const fresh = events.filter((ev) => ev.kv.modRevision > this.delivered)
    if (fresh.length === 0) return
    this.delivered = (fresh[fresh.length - 1] as MvccEvent).kv.modRevision
    this.sink({ kind: 'events', events: fresh })
  }

  /**
   * etcd's WatchProgressRequest on this watch's stream: the member answers with a progress
   * notification at its current revision once the watch is in sync (etcd 3.4+, hakube-store).
   */
  requestProgress(): void {
    if (this.closed || !this.created || this.stream === undefined) return
    this.stream.write({ progress_request: {} })
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.onClose(this)
    const s = this.stream
    this.stream = undefined
    if (s !== undefined) {
      s.end()
      s.cancel()
    }
  }
}

// ---- engine ----

class Etcd3Engine implements KvEngine {
  readonly name = 'etcd3'
  private readonly watches = new Set<EtcdWatch>()

  constructor(
    readonly client: Etcd3Client,
    private readonly watchReconnectTimeoutMs: number,
  ) {}

  async range(req: RangeRequest, serializable: boolean, opts: KvCallOptions): Promise<RangeResponse> {
    const res = await this.client.unary(
      'KV',
      'Range',
      rangeToProto(req, serializable),
      'read',
      opts.deadline,
      !serializable,
    )
    return rangeFromProto(res)
  }

  async txn(req: TxnRequest, opts: KvCallOptions): Promise<TxnResponse> {
    const hasWrite = [...(req.success ?? []), ...(req.failure ?? [])].some((op) => op.op !== 'range')
    const res = await this.client.unary(
      'KV',
      'Txn',
      txnToProto(req),
      hasWrite ? 'write' : 'read',
      opts.deadline,
    )
    return txnFromProto(res)
  }

  async compact(revision: number, opts: KvCallOptions): Promise<void> {
    try {
      await this.client.unary(
        'KV',
        'Compact',
        { revision: String(revision), physical: false },
        'idempotent',
        opts.deadline,
      )
    } catch (err) {
      // Already compacted at or beyond `revision` (e.g. our own earlier attempt): nothing to do.
      if (err instanceof StorageError && err.code === 'TooOld') return
      if (err instanceof StorageError && err.code === 'Timeout' && err.message.includes('future revision')) {
        throw new StorageError('InvalidObject', { revision, detail: 'cannot compact a future revision' })
      }
      throw err
    }
  }

  async leaseGrant(ttlSeconds: number, opts: KvCallOptions): Promise<bigint> {
    // Granting twice (a retry after a lost answer) only leaves an unused lease to expire.
    const res = await this.client.unary(
      'Lease',
      'LeaseGrant',
      { TTL: String(ttlSeconds), ID: '0' },
      'idempotent',
      opts.deadline,
    )
    const id = BigInt((res['ID'] as string | undefined) ?? '0')
    if (id === 0n)
      throw new StorageError('InvalidObject', { detail: `lease not granted: ${String(res['error'])}` })
    return id
  }

  watch(req: KvWatchRequest, sink: (msg: KvWatchMessage) => void): KvWatch {
    const w = new EtcdWatch(this.client, req, sink, this.watchReconnectTimeoutMs, (done) =>
      this.watches.delete(done),
    )
    this.watches.add(w)
    return w
  }

  /** A progress request on every open watch stream (one watch per stream here). */
  requestProgress(): void {
    for (const w of this.watches) w.requestProgress()
  }

  async readiness(opts: KvCallOptions): Promise<Readiness> {
    // The members' Status and the quorum read run side by side: a member whose address went silent
    // holds its Status until the deadline, and must not use up the quorum read's time as well.
    const quorum = this.range({ key: Buffer.from('/'), limit: 1, countOnly: true }, false, opts).then(
      () => undefined,
      (err: unknown) => (err as Error).message,
    )
    // A live member answers its Status in milliseconds; one that has not within a quarter of the
    // budget counts as unreachable (readiness fails only if none answered), so the check stays well
    // within a balancer's health-check timeout.
    const statusDeadline = Math.min(
      opts.deadline,
      Date.now() + Math.max(250, (opts.deadline - Date.now()) / 4),
    )
    const statuses = await Promise.all(
      this.client.endpoints.map(async (ep, i) => {
        try {
          const s = await this.client.unaryOn(i, 'Maintenance', 'Status', {}, statusDeadline)
          return {
            ep,
            leader: String(s['leader'] ?? '0'),
            errors: (s['errors'] as string[] | undefined) ?? [],
          }
        } catch (err) {
          return { ep, error: (err as ServiceError).details ?? String(err) }
        }
      }),
    )
    // What the Statuses already tell is answered at once (a leader left alone steps down, so "no
    // leader" comes before the quorum read's deadline): a slow /readyz looks hung to a balancer.
    const answered = statuses.filter((s) => s.error === undefined)
    if (answered.length === 0) {
      return {
        ok: false,
        reason: `etcd unreachable: ${statuses.map((s) => `${s.ep}: ${s.error}`).join('; ')}`,
      }
    }
    if (answered.every((s) => s.leader === '0')) {
      return { ok: false, reason: `etcd has no leader (${answered.map((s) => s.ep).join(', ')} answered)` }
    }
    const alarms = answered.flatMap((s) => s.errors ?? [])
    if (alarms.length > 0) return { ok: false, reason: `etcd reports: ${alarms.join('; ')}` }
    // Quorum: a linearizable read needs the leader to confirm it still leads a majority.
    const quorumError = await quorum
    if (quorumError !== undefined) return { ok: false, reason: `etcd has no quorum: ${quorumError}` }
    return { ok: true }
  }

  async close(): Promise<void> {
    this.client.close()
  }
}

/** The etcd3 backend over `options.endpoints` (`--etcd-servers`). */
export class Etcd3Storage extends KvStorage {
  private readonly client: Etcd3Client

  constructor(options: Etcd3StorageOptions) {
    const client = new Etcd3Client(options)
    super(
      new Etcd3Engine(client, options.watchReconnectTimeoutMs ?? 30_000),
      options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    )
    this.client = client
    this.startCompactor(options)
  }

  /**
   * The watch cache's {@link WatchProgressRequester}: asks the store for a progress notification on
   * every open watch (kube's etcd3 store does the same for consistent reads from its cache).
   */
  requestWatchProgress(): void {
    ;(this.engine as Etcd3Engine).requestProgress()
  }

  /** The endpoint (host:port) requests currently go to; for diagnostics and failover tests. */
  get activeEndpoint(): string {
    return this.client.activeEndpoint
  }
}

export function createEtcd3Storage(options: Etcd3StorageOptions): Etcd3Storage {
  return new Etcd3Storage(options)
}
