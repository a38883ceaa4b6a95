/**
 * The etcd v3 gRPC services (KV, Watch, Lease, Cluster, Maintenance, Auth) on a grpc-js {@link Server}.
 * Errors reach the wire only through STORE_ERRORS (a {@link StoreError}'s code and message).
 */
import { createHash } from 'node:crypto'
import {
  type Metadata,
  Server,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js'
import type { EtcdBackend } from '../backend.js'
import { StoreError } from '../errors.js'
import { big } from './convert.js'
import { EtcdApi, UnsupportedError, unwrap } from './etcd-api.js'
import { loadEtcdProto, UndecodableRequest } from './proto.js'
import { WatchStream } from './watch-stream.js'
import type { WireWatchRequest } from './wire-types.js'

/** etcd's snapshot chunk size (v3rpc/maintenance.go: 32 KiB). */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024
/**
 * etcdctl 3.4 accepts a snapshot only if its size is 32 (the SHA-256) more than a multiple of 512 (bbolt
 * files are page-aligned), so the image is zero-padded to a multiple of 512 before the hash is taken.
 * A restore must therefore ignore trailing zero padding after the image.
 */
export const SNAPSHOT_ALIGN_BYTES = 512

export interface Logger {
  warn(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
}

/** A failure as a gRPC status: StoreErrors carry etcd's code and message, anything else is Unknown. */
export function toServiceError(err: unknown, logger?: Logger): Partial<ServiceError> {
  if (err instanceof StoreError) return { code: err.grpcCode, details: err.message, message: err.message }
  if (err instanceof UnsupportedError) return { code: status.UNIMPLEMENTED, details: err.message }
  logger?.warn({ err }, 'unexpected error in a client request')
  const message = err instanceof Error ? err.message : String(err)
  return { code: status.UNKNOWN, details: message }
}

/** etcd's `hasleader` metadata (clientv3.WithRequireLeader): the client wants no answer from a leaderless member. */
function requiresLeader(metadata: Metadata): boolean {
  const v = metadata.get(REQUIRE_LEADER_KEY)
  return v.length > 0 && v[0] === 'true'
}
const REQUIRE_LEADER_KEY = 'hasleader'
/** etcd's monitorLeader: a `hasleader` stream ends after this many checks in a row without a leader. */
const NO_LEADER_CHECKS_MAX = 3
const NO_LEADER_CHECK_MS = 1000

/** grpc-go's answer (etcd 3.4) to a unary request that is not a valid protobuf message. */
function unmarshalError(req: UndecodableRequest): Partial<ServiceError> {
  return { code: status.INTERNAL, details: `grpc: error unmarshalling request: ${req.reason}` }
}

/** grpc-go's answer (etcd 3.4) to a stream message that is not a valid protobuf message. */
function streamUnmarshalError(req: UndecodableRequest): Partial<ServiceError> {
  return { code: status.INTERNAL, details: `grpc: failed to unmarshal the received message ${req.reason}` }
}

function unaryService(
  methods: Record<string, (req: Record<string, unknown>, signal?: AbortSignal) => Promise<unknown>>,
  backend: EtcdBackend,
  logger?: Logger,
): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {}
  for (const [name, fn] of Object.entries(methods)) {
    impl[name] = (call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>) => {
      if (call.request instanceof UndecodableRequest) {
        cb(unmarshalError(call.request))
        return
      }
      // etcd's unary interceptor: refused at once, before anything is proposed or read.
      if (requiresLeader(call.metadata) && !backend.hasLeader()) {
        cb(toServiceError(new StoreError('STORE_ERR_NO_LEADER'), logger))
        return
      }
      // grpc-js cancels the call when the client cancels or its deadline passes: a write still waiting
      // for a leader then is dropped rather than proposed later (etcd ties proposals to the context).
      // grpc-js also reports 'cancelled' when a finished call's stream closes: only a pending call is
      // aborted (abort() builds a DOMException with a stack, which showed in profiles).
      const cancelled = new AbortController()
      let pending = true
      call.once('cancelled', () => {
        if (pending) cancelled.abort()
      })
      fn(call.request, cancelled.signal).then(
        (resp) => {
          pending = false
          cb(null, resp)
        },
        (err: unknown) => {
          pending = false
          cb(toServiceError(err, logger))
        },
      )
    }
  }
  return impl
}

function watchService(backend: EtcdBackend, logger?: Logger): UntypedServiceImplementation {
  return {
    Watch: (call: ServerDuplexStream<WireWatchRequest, unknown>) => {
      // etcd's stream interceptor: a `hasleader` watch is refused without a leader and ended once the
      // leader has been gone for a few checks (monitorLeader), so the client moves to another member.
      let noLeaderChecks = 0
      const monitor = requiresLeader(call.metadata)
        ? setInterval(() => {
            noLeaderChecks = backend.hasLeader() ? 0 : noLeaderChecks + 1
            if (noLeaderChecks >= NO_LEADER_CHECKS_MAX) endNoLeader()
          }, NO_LEADER_CHECK_MS)
        : undefined
      const endNoLeader = (): void => {
        clearInterval(monitor)
        call.emit('error', toServiceError(new StoreError('STORE_ERR_NO_LEADER'), logger))
        call.destroy()
      }
      if (monitor !== undefined && !backend.hasLeader()) {
        endNoLeader()
        return
      }
      const stream = new WatchStream(backend, {
        write: (resp) => call.write(resp),
        pending: () => call.writableLength,
      })
      call.on('data', (req: WireWatchRequest | UndecodableRequest) => {
        if (req instanceof UndecodableRequest) {
          call.emit('error', streamUnmarshalError(req))
          call.destroy()
          return
        }
        try {
          stream.handle(req)
        } catch (err) {
          logger?.warn({ err }, 'watch request failed')
          call.destroy(err instanceof Error ? err : new Error(String(err)))
        }
      })
      const finish = (): void => {
        clearInterval(monitor)
        stream.close()
      }
      call.on('end', () => {
        finish()
        call.end()
      })
      call.on('error', finish)
      call.on('cancelled', finish)
      call.on('close', finish)
    },
  }
}

function leaseService(api: EtcdApi, logger?: Logger): UntypedServiceImplementation {
  const unary = unaryService(api.handlers()['Lease'] ?? {}, api.backend, logger)
  return {
    ...unary,
    /** etcd 3.4: a keep-alive of an unknown or expired lease answers TTL 0, not an error. */
    LeaseKeepAlive: (call: ServerDuplexStream<{ ID?: string }, unknown>) => {
      let chain = Promise.resolve()
      let open = true
      call.on('data', (req: { ID?: string } | UndecodableRequest) => {
        if (req instanceof UndecodableRequest) {
          if (!open) return
          open = false
          call.emit('error', streamUnmarshalError(req))
          call.destroy()
          return
        }
        const id = big(req.ID)
        chain = chain.then(async () => {
          const res = await api.backend.leaseKeepAlive(id)
          if (!open) return
          if (!res.ok && res.error.code !== 'STORE_ERR_LEASE_NOT_FOUND') {
            open = false
            call.emit('error', toServiceError(res.error, logger))
            call.destroy()
            return
          }
          const ttl = res.ok ? res.response.ttl : 0
          call.write({ header: api.header(), ID: id.toString(), TTL: String(ttl) })
        })
      })
      const stop = (): void => {
        open = false
      }
      call.on('end', () => {
        void chain.then(() => {
          if (open) call.end()
          open = false
        })
      })
      call.on('cancelled', stop)
      call.on('error', stop)
    },
  }
}

function maintenanceService(api: EtcdApi, logger?: Logger): UntypedServiceImplementation {
  const unary = unaryService(api.handlers()['Maintenance'] ?? {}, api.backend, logger)
  return {
    ...unary,
    Snapshot: (call: ServerWritableStream<unknown, unknown>) => {
      void (async () => {
        try {
          const raw = unwrap(await api.backend.snapshot())
          const padded = Math.ceil(raw.length / SNAPSHOT_ALIGN_BYTES) * SNAPSHOT_ALIGN_BYTES
          const image = new Uint8Array(padded)
          image.set(raw)
          const header = api.header()
          const sha = createHash('sha256')
          for (let off = 0; off < image.length; off += SNAPSHOT_CHUNK_BYTES) {
            const end = Math.min(off + SNAPSHOT_CHUNK_BYTES, image.length)
            const blob = Buffer.from(image.buffer, image.byteOffset + off, end - off)
            sha.update(blob)
            const ok = call.write({ header, remaining_bytes: String(image.length - end), blob })
            if (!ok) await new Promise((resolve) => call.once('drain', resolve))
            if (call.cancelled) return
          }
          call.write({ header, remaining_bytes: '0', blob: sha.digest() })
          call.end()
        } catch (err) {
          call.emit('error', toServiceError(err, logger))
        }
      })()
    },
  }
}

/** A grpc-js server with the six etcd services over `backend` (not bound to any port). */
export function createGrpcServer(backend: EtcdBackend, logger?: Logger): Server {
  const proto = loadEtcdProto()
  const api = new EtcdApi(backend)
  const handlers = api.handlers()
  const server = new Server({
    // etcd's defaults: 1.5 MiB requests plus gRPC overhead; responses unbounded.
    'grpc.max_receive_message_length': 2 * 1024 * 1024,
    'grpc.max_send_message_length': -1,
  })
  server.addService(proto.services.KV, unaryService(handlers['KV'] ?? {}, backend, logger))
  server.addService(proto.services.Watch, watchService(backend, logger))
  server.addService(proto.services.Lease, leaseService(api, logger))
  server.addService(proto.services.Cluster, unaryService(handlers['Cluster'] ?? {}, backend, logger))
  server.addService(proto.services.Maintenance, maintenanceService(api, logger))
  server.addService(proto.services.Auth, unaryService(handlers['Auth'] ?? {}, backend, logger))
  return server
}
