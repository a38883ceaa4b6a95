import {
  type ClientDuplexStream,
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  type ServiceError,
} from '@grpc/grpc-js'
import { loadEtcdProto } from '../../../../packages/store/src/grpc/proto.js'

/**
 * A thin etcd v3 client for the conformance suite: grpc-js over hakube-store's own etcd protos (the same
 * proto-loader options the server uses: int64 as decimal strings, bytes as Buffers, enums by name,
 * defaults filled in), one channel per endpoint. Unary calls resolve to an {@link Outcome} (a response or
 * a gRPC status) instead of throwing, so errors are compared like responses. Watch streams are collected
 * by {@link StreamSession}.
 */

export type Msg = Record<string, unknown>
export type Service = 'KV' | 'Lease' | 'Cluster' | 'Maintenance'

export type Outcome = { ok: true; res: Msg } | { ok: false; code: number; message: string }

type UnaryFn = (
  req: Msg,
  opts: { deadline: number },
  cb: (err: ServiceError | null, res: Msg) => void,
) => void
type GrpcClient = Record<string, unknown> & { close(): void }
type Ctor = new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
  opts?: object,
) => GrpcClient

let pkg: GrpcObject | undefined
function etcdserverpb(): GrpcObject {
  if (pkg === undefined)
    pkg = loadPackageDefinition(loadEtcdProto().packageDefinition)['etcdserverpb'] as GrpcObject
  return pkg
}

export class EtcdClient {
  private readonly clients = new Map<string, GrpcClient>()

  constructor(readonly endpoint: string) {}

  private client(service: Service | 'Watch'): GrpcClient {
    let c = this.clients.get(service)
    if (c === undefined) {
      const ctor = etcdserverpb()[service] as unknown as Ctor
      c = new ctor(this.endpoint, credentials.createInsecure(), {
        'grpc.max_receive_message_length': 16 * 1024 * 1024,
      })
      this.clients.set(service, c)
    }
    return c
  }

  unary(service: Service, method: string, req: Msg, deadlineMs = 20_000): Promise<Outcome> {
    const c = this.client(service)
    const fn = c[method] as UnaryFn | undefined
    if (typeof fn !== 'function') throw new Error(`no method ${service}.${method}`)
    return new Promise((resolve) => {
      fn.call(c, req, { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err !== null) resolve({ ok: false, code: err.code, message: err.details })
        else resolve({ ok: true, res })
      })
    })
  }

  /** Like {@link unary} but throws on an error status (setup and cleanup steps). */
  async must(service: Service, method: string, req: Msg, deadlineMs = 20_000): Promise<Msg> {
    const o = await this.unary(service, method, req, deadlineMs)
    if (!o.ok) throw new Error(`${this.endpoint} ${service}.${method} failed: ${o.code} ${o.message}`)
    return o.res
  }

  /** A bidirectional stream: Watch.Watch or Lease.LeaseKeepAlive. */
  stream(service: 'Watch' | 'Lease', method: 'Watch' | 'LeaseKeepAlive'): StreamSession {
    const c = this.client(service)
    const open = c[method] as (() => ClientDuplexStream<Msg, Msg>) | undefined
    if (typeof open !== 'function') throw new Error(`no method ${service}.${method}`)
    return new StreamSession(open.call(c))
  }

  close(): void {
    for (const c of this.clients.values()) c.close()
    this.clients.clear()
  }
}

/** One bidirectional stream: every response kept in arrival order; `next(n)` waits for the next n. */
export class StreamSession {
  private readonly received: Msg[] = []
  private taken = 0
  private ended: string | undefined
  private wake: (() => void) | undefined

  constructor(private readonly stream: ClientDuplexStream<Msg, Msg>) {
    stream.on('data', (m: Msg) => {
      this.received.push(m)
      this.wake?.()
    })
    stream.on('error', (err: ServiceError) => {
      this.ended = `stream error ${err.code}: ${err.details}`
      this.wake?.()
    })
    stream.on('end', () => {
      this.ended ??= 'stream ended'
      this.wake?.()
    })
  }

  send(req: Msg): void {
    this.stream.write(req)
  }

  /**
   * The next `n` responses; if fewer arrive within `timeoutMs` (or the stream ends), the ones that did
   * arrive followed by a marker string saying so (compared like any response).
   */
  async next(n: number, timeoutMs = 15_000): Promise<Array<Msg | string>> {
    const deadline = Date.now() + timeoutMs
    while (this.received.length - this.taken < n && this.ended === undefined && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      this.wake = undefined
    }
    const got: Array<Msg | string> = this.received.slice(this.taken, this.taken + n)
    this.taken += got.length
    if (got.length < n) got.push(`missing ${n - got.length} response(s): ${this.ended ?? 'timeout'}`)
    return got
  }

  /** Responses that arrive within `ms` beyond those taken (expected: none). */
  async extra(ms = 300): Promise<Msg[]> {
    await new Promise((r) => setTimeout(r, ms))
    const rest = this.received.slice(this.taken)
    this.taken = this.received.length
    return rest
  }

  close(): void {
    this.stream.end()
    this.stream.cancel()
  }
}
