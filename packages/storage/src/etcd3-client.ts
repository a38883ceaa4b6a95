/**
 * A small etcd v3 client on @grpc/grpc-js with hakube-store's protos, over every endpoint of
 * `--etcd-servers`, with failover. One gRPC channel per endpoint; the client keeps a *current*
 * endpoint and moves to the next one when the current one is unreachable or answers a transient error.
 *
 * Retry rule (the one place it lives; compare etcd clientv3's retry.go isSafeRetry{Im,M}mutableRPC):
 * - Before sending, the client waits (at most `dialTimeoutMs`) for the endpoint's channel to be READY,
 *   unless another endpoint's channel is READY already (that one is used at once); an endpoint that
 *   cannot connect is skipped. Nothing was sent, so every request may go to the next
 *   endpoint.
 * - 'read' (Range, Status) and 'idempotent' (Compact) requests are retried on the next endpoint after
 *   any transient failure: Unavailable (connection lost, "no leader", "leader changed", "request timed
 *   out"...), an attempt deadline (`attemptTimeoutMs`), Internal, Unknown, ResourceExhausted. Applying
 *   them twice changes nothing.
 * - 'write' (Txn with a Put or DeleteRange) is retried ONLY when the server refused it before
 *   proposing it: "etcdserver: no leader" (requests other than serializable reads carry etcd's
 *   `hasleader` metadata, so a leaderless etcd member refuses at once), "etcdserver: not capable", "etcdserver: too many requests",
 *   "rpc not supported for learner". Any other failure after the request was sent (connection reset,
 *   "leader changed", "request timed out", deadline) may have been applied: the write fails with
 *   Unavailable/Timeout and `outcomeUnknown: true`; the caller (the api-server → the Kubernetes
 *   client) decides. A write is never sent twice by this client, so it can never apply twice.
 * - After every endpoint failed once, the client pauses `backoffMs` before the next round; it gives up
 *   at the call's deadline with Timeout (writes: `outcomeUnknown` if an attempt was sent).
 *
 * Keepalive as kube-apiserver's etcd client (k8s.io/apiserver storagebackend/factory/etcd3.go:
 * keepalive time 30 s, timeout 10 s; clientv3's PermitWithoutStream false): a ping only while a call
 * or watch is open. etcd's server enforces gRPC's policy (MinTime = --grpc-keepalive-min-time, 5 s;
 * PermitWithoutStream false): a ping on a connection with no open stream, or sooner than MinTime
 * after the last, is a strike, and after two strikes etcd ends the connection with GOAWAY
 * ENHANCE_YOUR_CALM "too_many_pings" (grpc-js logs "rejected by server because of excess pings").
 * Pinging idle connections every 10 s did exactly that, every few minutes.
 *
 * Not supported: TLS (https:// endpoints are refused at construction), auth, endpoint discovery
 * (MemberList sync): the given list is the list.
 */
import {
  ChannelCredentials,
  Client,
  type ClientDuplexStream,
  connectivityState,
  Metadata,
  type MethodDefinition,
  type ServiceError,
  status,
} from '@grpc/grpc-js'
import { loadEtcdProto } from '@hakube/store/grpc-proto'
import { StorageError } from './errors.js'

export type Msg = Record<string, unknown>
export type Service = 'KV' | 'Watch' | 'Maintenance' | 'Lease'
export type RetryClass = 'read' | 'idempotent' | 'write'

export interface Etcd3ClientOptions {
  /** `http://host:port` (or `host:port`) of every member. */
  endpoints: readonly string[]
  /** How long to wait for one endpoint to connect before trying the next. Default 2 s. */
  dialTimeoutMs?: number
  /** Per-attempt deadline of reads before trying the next endpoint. Default 5 s. */
  attemptTimeoutMs?: number
  /** Pause after every endpoint failed once. Default 200 ms. */
  backoffMs?: number
  /**
   * Ping an endpoint this long after the last activity, while a call or watch is open (never on an
   * idle connection). Default 30 s (kube-apiserver's); keep it >= the server's keepalive min time
   * (etcd: --grpc-keepalive-min-time, 5 s).
   */
  keepaliveTimeMs?: number
  /** A ping unanswered this long closes the connection (the client then fails over). Default 10 s. */
  keepaliveTimeoutMs?: number
}

/** kube-apiserver's etcd client keepalive (storagebackend/factory/etcd3.go). */
export const DEFAULT_KEEPALIVE_TIME_MS = 30_000
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 10_000

/** The grpc-js channel options of one endpoint's connection (see the module doc for keepalive). */
export function channelOptions(options: Pick<Etcd3ClientOptions, 'keepaliveTimeMs' | 'keepaliveTimeoutMs'>) {
  return {
    'grpc.max_receive_message_length': 512 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2_000,
    'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? DEFAULT_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS,
    // etcd refuses pings on a connection without streams (PermitWithoutStream false).
    'grpc.keepalive_permit_without_calls': 0,
    'grpc.enable_retries': 0,
  }
}

/** Refused by the server before it was proposed: safe to send elsewhere (see module doc). */
const REFUSED_BEFORE_PROPOSAL = new Set([
  'etcdserver: no leader',
  'etcdserver: not capable',
  'etcdserver: too many requests',
  'etcdserver: rpc not supported for learner',
])

const TRANSIENT_CODES = new Set<number>([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.UNKNOWN,
  status.RESOURCE_EXHAUSTED,
  status.CANCELLED,
])

export function parseEndpoint(url: string): string {
  const m = /^(?:(https?):\/\/)?([^/]+?)\/?$/.exec(url.trim())
  if (m === null || m[2] === undefined) {
    throw new StorageError('InvalidObject', { detail: `bad etcd endpoint ${JSON.stringify(url)}` })
  }
  if (m[1] === 'https') {
    throw new StorageError('InvalidObject', { detail: `TLS endpoints are not supported: ${url}` })
  }
  return m[2]
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

/** Maps a final gRPC failure to a storage error. */
export function storageErrorOf(err: ServiceError, endpoint: string, outcomeUnknown: boolean): StorageError {
  const detail = `${endpoint}: ${err.details || err.message}`
  if (err.code === status.OUT_OF_RANGE && err.details.includes('compacted')) {
    return new StorageError('TooOld', { detail })
  }
  if (err.code === status.OUT_OF_RANGE && err.details.includes('future revision')) {
    return new StorageError('Timeout', { detail })
  }
  if (err.code === status.DEADLINE_EXCEEDED) return new StorageError('Timeout', { detail, outcomeUnknown })
  if (err.code === status.INVALID_ARGUMENT) return new StorageError('InvalidObject', { detail })
  return new StorageError('Unavailable', { detail, outcomeUnknown })
}

export class Etcd3Client {
  readonly endpoints: readonly string[]
  private readonly conns: Client[]
  private current = 0
  private closed = false
  private readonly dialTimeoutMs: number
  private readonly attemptTimeoutMs: number
  private readonly backoffMs: number
  private readonly methods = new Map<string, MethodDefinition<Msg, Msg>>()

  constructor(options: Etcd3ClientOptions) {
    if (options.endpoints.length === 0) {
      throw new StorageError('InvalidObject', { detail: 'no etcd endpoints given' })
    }
    this.endpoints = options.endpoints.map(parseEndpoint)
    this.dialTimeoutMs = options.dialTimeoutMs ?? 2_000
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 5_000
    this.backoffMs = options.backoffMs ?? 200
    const channel = channelOptions(options)
    this.conns = this.endpoints.map((ep) => new Client(ep, ChannelCredentials.createInsecure(), channel))
  }

  /** The endpoint requests go to now (host:port). */
  get activeEndpoint(): string {
    return this.endpoints[this.current] as string
  }

  method(service: Service, name: string): MethodDefinition<Msg, Msg> {
    const id = `${service}.${name}`
    let def = this.methods.get(id)
    if (def === undefined) {
      def = loadEtcdProto().services[service][name] as MethodDefinition<Msg, Msg> | undefined
      if (def === undefined) throw new Error(`etcd proto has no ${id}`)
      this.methods.set(id, def)
    }
    return def
  }

  /** Moves off endpoint `i` if it is still the current one. */
  markFailed(i: number): void {
    if (this.current === i) this.current = (i + 1) % this.conns.length
  }

  static metadata(): Metadata {
    const md = new Metadata()
    // etcd's rpctypes.MetadataRequireLeaderKey: a member without a leader refuses ("no leader").
    md.set('hasleader', 'true')
    return md
  }

  private waitReady(conn: Client, deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (conn.getChannel().getConnectivityState(true) === connectivityState.READY) {
        resolve(true)
        return
      }
      conn.waitForReady(deadline, (err) => resolve(err === undefined || err === null))
    })
  }

  /**
   * A connected endpoint, trying them in turn from the current one until `deadline`; rejects with
   * Unavailable once the deadline passes.
   */
  async connected(deadline: number): Promise<{ conn: Client; index: number }> {
    let tried = 0
    const failures: string[] = []
    for (;;) {
      if (this.closed) throw new StorageError('Unavailable', { detail: 'client closed' })
      const now = Date.now()
      if (now >= deadline) {
        throw new StorageError('Unavailable', { detail: `no endpoint reachable: ${failures.join('; ')}` })
      }
      if (tried >= this.conns.length) {
        await sleep(Math.min(this.backoffMs, deadline - now))
        tried = 0
        continue
      }
      tried++
      let index = this.current
      let conn = this.conns[index] as Client
      // The current endpoint still connecting (a member whose address went silent can take seconds
      // to fail): another whose channel is ready now serves at once, as clientv3's balancer would.
      if (conn.getChannel().getConnectivityState(true) !== connectivityState.READY) {
        const ready = this.conns.findIndex(
          (c, i) => i !== index && c.getChannel().getConnectivityState(false) === connectivityState.READY,
        )
        if (ready >= 0) {
          this.current = ready
          index = ready
          conn = this.conns[ready] as Client
        }
      }
      if (await this.waitReady(conn, Math.min(deadline, Date.now() + this.dialTimeoutMs))) {
        return { conn, index }
      }
      failures.push(`${this.endpoints[index]} unreachable`)
      if (failures.length > 6) failures.shift()
      this.markFailed(index)
    }
  }

  /** One unary call with failover under the retry rule in the module doc. */
  /**
   * `requireLeader` (default true) sends etcd's `hasleader` metadata; serializable reads omit it so a
   * member cut off from the leader can still answer them.
   */
  async unary(
    service: Service,
    name: string,
    req: Msg,
    retry: RetryClass,
    deadline: number,
    requireLeader = true,
  ): Promise<Msg> {
    const def = this.method(service, name)
    let sent = false
    let last: string | undefined
    for (;;) {
      let target: { conn: Client; index: number }
      try {
        target = await this.connected(deadline)
      } catch (err) {
        if (Date.now() < deadline || this.closed) throw err
        throw new StorageError('Timeout', {
          detail: `${service}.${name}: ${last ?? (err as Error).message}`,
          outcomeUnknown: retry === 'write' && sent,
        })
      }
      const endpoint = this.endpoints[target.index] as string
      const attemptDeadline =
        retry === 'write' ? deadline : Math.min(deadline, Date.now() + this.attemptTimeoutMs)
      sent = sent || retry === 'write'
      try {
        return await new Promise<Msg>((resolve, reject) => {
          target.conn.makeUnaryRequest(
            def.path,
            def.requestSerialize,
            def.responseDeserialize,
            req,
            requireLeader ? Etcd3Client.metadata() : new Metadata(),
            { deadline: attemptDeadline },
            (err, res) => (err ? reject(err) : resolve(res as Msg)),
          )
        })
      } catch (e) {
        const err = e as ServiceError
        const refused = REFUSED_BEFORE_PROPOSAL.has(err.details)
        if (!TRANSIENT_CODES.has(err.code) && !refused) throw storageErrorOf(err, endpoint, false)
        if (retry === 'write' && !refused) {
          // Not retried (it may have been applied), but the next call starts on another endpoint: a
          // connection that failed a write (reset, or gone silent until the deadline) is suspect, and a
          // channel that went silent without a FIN stays READY until keepalive ends it (40 s).
          this.markFailed(target.index)
          throw storageErrorOf(err, endpoint, true)
        }
        if (retry === 'write' && refused) sent = false
        last = `${endpoint}: ${err.details || err.message}`
        this.markFailed(target.index)
        if (Date.now() >= deadline) {
          throw new StorageError('Timeout', { detail: `${service}.${name}: ${last}` })
        }
      }
    }
  }

  /** Unary call on one given endpoint, no failover, no `hasleader` (for per-member status). */
  unaryOn(index: number, service: Service, name: string, req: Msg, deadline: number): Promise<Msg> {
    const def = this.method(service, name)
    const conn = this.conns[index] as Client
    return new Promise<Msg>((resolve, reject) => {
      conn.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        req,
        new Metadata(),
        { deadline },
        (err, res) => (err ? reject(err) : resolve(res as Msg)),
      )
    })
  }

  /** Opens Watch.Watch on a connected endpoint (failing over until `deadline`). */
  async openWatch(deadline: number): Promise<{ stream: ClientDuplexStream<Msg, Msg>; index: number }> {
    const { conn, index } = await this.connected(deadline)
    const def = this.method('Watch', 'Watch')
    const stream = conn.makeBidiStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      Etcd3Client.metadata(),
      {},
    )
    return { stream, index }
  }

  close(): void {
    this.closed = true
    for (const c of this.conns) c.close()
  }
}
