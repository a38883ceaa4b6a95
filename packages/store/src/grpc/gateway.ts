/**
 * The JSON gateway etcd 3.4 serves on its client URL (grpc-gateway over the same services), plus
 * `/health`, `/version` and `/metrics`, as a fastify app. Routes exist under `/v3/` and the `/v3beta/`
 * alias 3.4 keeps. Errors are grpc-gateway's body `{"error", "code", "message"}` with its HTTP status.
 */
import { STATUS_CODES } from 'node:http'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { Registry } from 'prom-client'
import type { EtcdBackend } from '../backend.js'
import { big } from './convert.js'
import { EtcdApi } from './etcd-api.js'
import { answerBadRequest, answerUnrouted } from './gateway-http.js'
import { toServiceError } from './grpc-services.js'
import { JsonMapping, parseGatewayJson } from './json-mapping.js'
import { loadEtcdProto } from './proto.js'
import { WatchStream } from './watch-stream.js'

/** path (after /v3) → service, method, request and response message names. */
export const GATEWAY_ROUTES: ReadonlyArray<readonly [string, string, string, string, string]> = [
  ['/kv/range', 'KV', 'Range', 'RangeRequest', 'RangeResponse'],
  ['/kv/put', 'KV', 'Put', 'PutRequest', 'PutResponse'],
  ['/kv/deleterange', 'KV', 'DeleteRange', 'DeleteRangeRequest', 'DeleteRangeResponse'],
  ['/kv/txn', 'KV', 'Txn', 'TxnRequest', 'TxnResponse'],
  ['/kv/compaction', 'KV', 'Compact', 'CompactionRequest', 'CompactionResponse'],
  ['/lease/grant', 'Lease', 'LeaseGrant', 'LeaseGrantRequest', 'LeaseGrantResponse'],
  ['/lease/revoke', 'Lease', 'LeaseRevoke', 'LeaseRevokeRequest', 'LeaseRevokeResponse'],
  ['/kv/lease/revoke', 'Lease', 'LeaseRevoke', 'LeaseRevokeRequest', 'LeaseRevokeResponse'],
  ['/lease/timetolive', 'Lease', 'LeaseTimeToLive', 'LeaseTimeToLiveRequest', 'LeaseTimeToLiveResponse'],
  ['/kv/lease/timetolive', 'Lease', 'LeaseTimeToLive', 'LeaseTimeToLiveRequest', 'LeaseTimeToLiveResponse'],
  ['/lease/leases', 'Lease', 'LeaseLeases', 'LeaseLeasesRequest', 'LeaseLeasesResponse'],
  ['/kv/lease/leases', 'Lease', 'LeaseLeases', 'LeaseLeasesRequest', 'LeaseLeasesResponse'],
  ['/cluster/member/add', 'Cluster', 'MemberAdd', 'MemberAddRequest', 'MemberAddResponse'],
  ['/cluster/member/remove', 'Cluster', 'MemberRemove', 'MemberRemoveRequest', 'MemberRemoveResponse'],
  ['/cluster/member/update', 'Cluster', 'MemberUpdate', 'MemberUpdateRequest', 'MemberUpdateResponse'],
  ['/cluster/member/list', 'Cluster', 'MemberList', 'MemberListRequest', 'MemberListResponse'],
  ['/cluster/member/promote', 'Cluster', 'MemberPromote', 'MemberPromoteRequest', 'MemberPromoteResponse'],
  ['/maintenance/alarm', 'Maintenance', 'Alarm', 'AlarmRequest', 'AlarmResponse'],
  ['/maintenance/status', 'Maintenance', 'Status', 'StatusRequest', 'StatusResponse'],
  ['/maintenance/defragment', 'Maintenance', 'Defragment', 'DefragmentRequest', 'DefragmentResponse'],
  // etcd 3.4 maps both Hash and HashKV to this path; its gateway serves Hash there.
  ['/maintenance/hash', 'Maintenance', 'Hash', 'HashRequest', 'HashResponse'],
  [
    '/maintenance/transfer-leadership',
    'Maintenance',
    'MoveLeader',
    'MoveLeaderRequest',
    'MoveLeaderResponse',
  ],
  // etcd 3.4's auth paths (rpc.pb.gw.go); answered as its server with auth disabled (etcd-api.ts).
  ['/auth/enable', 'Auth', 'AuthEnable', 'AuthEnableRequest', 'AuthEnableResponse'],
  ['/auth/disable', 'Auth', 'AuthDisable', 'AuthDisableRequest', 'AuthDisableResponse'],
  ['/auth/authenticate', 'Auth', 'Authenticate', 'AuthenticateRequest', 'AuthenticateResponse'],
  ['/auth/user/add', 'Auth', 'UserAdd', 'AuthUserAddRequest', 'AuthUserAddResponse'],
  ['/auth/user/get', 'Auth', 'UserGet', 'AuthUserGetRequest', 'AuthUserGetResponse'],
  ['/auth/user/list', 'Auth', 'UserList', 'AuthUserListRequest', 'AuthUserListResponse'],
  ['/auth/user/delete', 'Auth', 'UserDelete', 'AuthUserDeleteRequest', 'AuthUserDeleteResponse'],
  [
    '/auth/user/changepw',
    'Auth',
    'UserChangePassword',
    'AuthUserChangePasswordRequest',
    'AuthUserChangePasswordResponse',
  ],
  ['/auth/user/grant', 'Auth', 'UserGrantRole', 'AuthUserGrantRoleRequest', 'AuthUserGrantRoleResponse'],
  ['/auth/user/revoke', 'Auth', 'UserRevokeRole', 'AuthUserRevokeRoleRequest', 'AuthUserRevokeRoleResponse'],
  ['/auth/role/add', 'Auth', 'RoleAdd', 'AuthRoleAddRequest', 'AuthRoleAddResponse'],
  ['/auth/role/get', 'Auth', 'RoleGet', 'AuthRoleGetRequest', 'AuthRoleGetResponse'],
  ['/auth/role/list', 'Auth', 'RoleList', 'AuthRoleListRequest', 'AuthRoleListResponse'],
  ['/auth/role/delete', 'Auth', 'RoleDelete', 'AuthRoleDeleteRequest', 'AuthRoleDeleteResponse'],
  [
    '/auth/role/grant',
    'Auth',
    'RoleGrantPermission',
    'AuthRoleGrantPermissionRequest',
    'AuthRoleGrantPermissionResponse',
  ],
  [
    '/auth/role/revoke',
    'Auth',
    'RoleRevokePermission',
    'AuthRoleRevokePermissionRequest',
    'AuthRoleRevokePermissionResponse',
  ],
]

/**
 * The HTTP status for a gRPC code, as etcd 3.4's grpc-gateway (v1.9) `runtime.HTTPStatusFromCode` has
 * it: FailedPrecondition is 412 there (later grpc-gateway releases changed it to 400).
 */
const HTTP_STATUS: Record<number, number> = {
  0: 200,
  1: 408,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 412,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
}

/** etcd's gRPC server limit (1.5 MiB requests plus 512 KiB overhead; grpc-services.ts sets the same). */
const GRPC_MAX_RECEIVE_BYTES = 2 * 1024 * 1024
/** Bodies beyond this are not read at all (answered as a message over the gRPC limit). */
const BODY_LIMIT_BYTES = 64 * 1024 * 1024

/** grpc-go's refusal of a message over the server's limit, as etcd's gateway passes it on (HTTP 429). */
function tooLarge(bytes: number): { error: string; message: string; code: number } {
  const message = `grpc: received message larger than max (${bytes} vs. ${GRPC_MAX_RECEIVE_BYTES})`
  return { error: message, message, code: 8 }
}

export interface GatewayOptions {
  backend: EtcdBackend
  registry: Registry
  /** Reported as `etcdserver` by /version. */
  version?: string
  logger?: boolean | object
}

export async function createGateway(opts: GatewayOptions): Promise<FastifyInstance> {
  const proto = loadEtcdProto()
  const json = new JsonMapping(proto.packageDefinition)
  const api = new EtcdApi(opts.backend)
  const handlers = api.handlers()
  const services = proto.services as unknown as Record<
    string,
    Record<string, { requestSerialize(m: unknown): Buffer }> | undefined
  >
  const serializedSize = (service: string, method: string, msg: Record<string, unknown>): number => {
    try {
      return services[service]?.[method]?.requestSerialize(msg).length ?? 0
    } catch {
      return 0 // not ours to refuse here: the handler answers what is wrong with it
    }
  }
  // grpc-gateway reads a body of any size; the size that matters is the message's (see tooLarge).
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES, frameworkErrors: answerBadRequest })
  // grpc-gateway reads any body as JSON, whatever the content type (curl -d sends a form type).
  app.removeAllContentTypeParsers()
  // As grpc-gateway's json.Decoder, a body may hold several JSON values one after another: a unary
  // request reads the first (the rest is ignored), a streaming one sends them all in order.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    done(null, new RawBody(String(body)))
  })
  const firstValue = (body: unknown): unknown => {
    const first = body instanceof RawBody ? splitJsonValues(body.text)[0] : undefined
    return first === undefined ? {} : parseGatewayJson(first)
  }
  app.setErrorHandler((err, req, reply) => {
    if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const bytes = Number(req.headers['content-length'] ?? BODY_LIMIT_BYTES + 1)
      return reply.status(429).send(tooLarge(bytes))
    }
    const message = err instanceof Error ? err.message : String(err)
    return reply.status(400).send({ error: message, message, code: 3 })
  })
  const routed = new Set<string>()
  for (const prefix of ['/v3', '/v3beta'])
    for (const path of [...GATEWAY_ROUTES.map((r) => r[0]), '/watch', '/lease/keepalive'])
      routed.add(prefix + path)
  app.setNotFoundHandler((req, reply) =>
    answerUnrouted({ routes: routed, getOnly: new Set(['/health', '/version']) }, req, reply),
  )

  for (const prefix of ['/v3', '/v3beta']) {
    for (const [path, service, method, reqType, respType] of GATEWAY_ROUTES) {
      const fn = handlers[service]?.[method]
      if (fn === undefined) throw new Error(`gateway: no handler for ${service}.${method}`)
      app.post(`${prefix}${path}`, async (req, reply) => {
        try {
          let wireReq: Record<string, unknown>
          try {
            wireReq = json.fromJson(`etcdserverpb.${reqType}`, firstValue(req.body))
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err)
            return reply.status(400).send({ error: message, message, code: 3 })
          }
          // grpc-gateway hands the message to the gRPC server, which refuses one over its limit.
          const size = serializedSize(service, method, wireReq)
          if (size > GRPC_MAX_RECEIVE_BYTES) return reply.status(429).send(tooLarge(size))
          const resp = await fn(wireReq)
          return reply.send(json.toJson(`etcdserverpb.${respType}`, resp))
        } catch (err) {
          const e = toServiceError(err)
          const code = e.code ?? 2
          const message = e.details ?? ''
          return reply.status(HTTP_STATUS[code] ?? 500).send({ error: message, message, code })
        }
      })
    }
  }

  for (const prefix of ['/v3', '/v3beta']) {
    app.post(`${prefix}/watch`, (req, reply) => serveWatch(req.body, reply, json, opts.backend))
    app.post(`${prefix}/lease/keepalive`, (req, reply) => serveKeepAlive(req.body, reply, json, api))
  }

  app.get('/health', async (_req, reply) => {
    const res = await opts.backend.range({ key: Buffer.from('health') })
    const healthy = res.ok
    return reply.status(healthy ? 200 : 503).send({ health: healthy ? 'true' : 'false' })
  })
  app.get('/version', async () => ({ etcdserver: opts.version ?? '3.4.23', etcdcluster: '3.4.0' }))
  // etcd serves its metrics to any method.
  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url: '/metrics',
    handler: async (_req, reply) => {
      const body = await opts.registry.metrics()
      return reply.header('content-type', opts.registry.contentType).send(body)
    },
  })
  await app.ready()
  return app
}

/** A request body as received; routes decode it (see the content type parser). */
class RawBody {
  constructor(readonly text: string) {}
}

/** The JSON values one after another in `text` (Go's json.Decoder reading a stream), as texts. */
export function splitJsonValues(text: string): string[] {
  const out: string[] = []
  const ws = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r'
  const skipString = (at: number): number => {
    let j = at + 1
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
    return j + 1
  }
  let i = 0
  for (;;) {
    while (ws(text[i])) i++
    if (i >= text.length) return out
    const start = i
    const c = text[i]
    if (c === '{' || c === '[') {
      let depth = 0
      while (i < text.length) {
        const d = text[i]
        if (d === '"') {
          i = skipString(i)
          continue
        }
        if (d === '{' || d === '[') depth++
        else if (d === '}' || d === ']') depth--
        i++
        if (depth === 0) break
      }
    } else if (c === '"') {
      i = skipString(i)
    } else {
      while (i < text.length && !ws(text[i]) && !'{["'.includes(text[i] as string)) i++
    }
    out.push(text.slice(start, i))
  }
}

/** grpc-gateway's error body for a stream that failed before its first message: code 2, HTTP 500. */
function streamDecodeError(reply: FastifyReply, err: unknown): FastifyReply {
  const message = err instanceof Error ? err.message : String(err)
  return reply.status(500).send({ error: message, message, code: 2 })
}

/**
 * POST /v3/watch: every WatchRequest in the body goes to one watch stream; its responses are written as
 * newline-delimited `{"result": WatchResponse}` until the client goes away (grpc-gateway streaming).
 */
function serveWatch(body: unknown, reply: FastifyReply, json: JsonMapping, backend: EtcdBackend): void {
  const texts = body instanceof RawBody ? splitJsonValues(body.text) : []
  const requests: Record<string, unknown>[] = []
  for (const [i, t] of texts.entries()) {
    try {
      requests.push(json.fromJson('etcdserverpb.WatchRequest', parseGatewayJson(t)))
    } catch (err) {
      if (i === 0) {
        void streamDecodeError(reply, err)
        return
      }
      break // as grpc-gateway: a later undecodable request ends what the client sends
    }
  }
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
  const stream = new WatchStream(backend, {
    write: (resp) =>
      raw.write(`${JSON.stringify({ result: json.toJson('etcdserverpb.WatchResponse', resp) })}\n`),
    pending: () => (raw.writableNeedDrain ? Number.MAX_SAFE_INTEGER : 0),
  })
  raw.on('close', () => stream.close())
  for (const r of requests) stream.handle(r)
}

/** POST /v3/lease/keepalive: one `{"result": LeaseKeepAliveResponse}` line per request in the body. */
async function serveKeepAlive(
  body: unknown,
  reply: FastifyReply,
  json: JsonMapping,
  api: EtcdApi,
): Promise<void> {
  const texts = body instanceof RawBody ? splitJsonValues(body.text) : []
  const ids: bigint[] = []
  for (const [i, t] of texts.entries()) {
    try {
      ids.push(big(json.fromJson('etcdserverpb.LeaseKeepAliveRequest', parseGatewayJson(t))['ID'] as string))
    } catch (err) {
      if (i === 0) {
        void streamDecodeError(reply, err)
        return
      }
      break
    }
  }
  let out = ''
  for (const id of ids) {
    const res = await api.backend.leaseKeepAlive(id)
    if (!res.ok && res.error.code !== 'STORE_ERR_LEASE_NOT_FOUND') {
      // grpc-gateway's stream error chunk; the status is the error's only if nothing was written yet.
      const e = toServiceError(res.error)
      const grpcCode = e.code ?? 2
      const httpCode = HTTP_STATUS[grpcCode] ?? 500
      const error = {
        grpc_code: grpcCode,
        http_code: httpCode,
        message: e.details ?? '',
        http_status: STATUS_CODES[httpCode],
      }
      void reply
        .status(out === '' ? httpCode : 200)
        .header('content-type', 'application/json')
        .send(`${out}${JSON.stringify({ error })}`)
      return
    }
    // etcd 3.4: an unknown or expired lease answers TTL 0 (omitted from the JSON), not an error.
    const resp = { header: api.header(), ID: id.toString(), TTL: String(res.ok ? res.response.ttl : 0) }
    out += `${JSON.stringify({ result: json.toJson('etcdserverpb.LeaseKeepAliveResponse', resp) })}\n`
  }
  void reply.status(200).header('content-type', 'application/json').send(out)
}
