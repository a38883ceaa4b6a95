/**
 * The JSON gateway etcd 3.4 serves on its client URL (grpc-gateway over the same services), plus
 * `/health`, `/version` and `/metrics`, as a fastify app. Routes exist under `/v3/` and the `/v3beta/`
 * alias 3.4 keeps. Errors are grpc-gateway's body `{"error", "code", "message"}` with its HTTP status.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { EtcdBackend } from '../backend.js'
import { EtcdApi } from './etcd-api.js'
import { toServiceError } from './grpc-services.js'
import { JsonMapping } from './json-mapping.js'
import { loadEtcdProto } from './proto.js'

/** path (after /v3) → service, method, request and response message names. */
const ROUTES: Array<[string, string, string, string, string]> = [
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
  ['/cluster/member/list', 'Cluster', 'MemberList', 'MemberListRequest', 'MemberListResponse'],
  ['/maintenance/status', 'Maintenance', 'Status', 'StatusRequest', 'StatusResponse'],
]

/** grpc-gateway v1's HTTP status for a gRPC code (runtime.HTTPStatusFromCode). */
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
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
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
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 })
  // grpc-gateway reads any body as JSON, whatever the content type (curl -d sends a form type).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body)
    if (text.trim() === '') return done(null, {})
    try {
      done(null, JSON.parse(text))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
  app.setErrorHandler((err, _req, reply) => {
    const message = err instanceof Error ? err.message : String(err)
    void reply.status(400).send({ error: message, message, code: 3 })
  })

  for (const prefix of ['/v3', '/v3beta']) {
    for (const [path, service, method, reqType, respType] of ROUTES) {
      const fn = handlers[service]?.[method]
      if (fn === undefined) throw new Error(`gateway: no handler for ${service}.${method}`)
      app.post(`${prefix}${path}`, async (req, reply) => {
        try {
          const wireReq = json.fromJson(`etcdserverpb.${reqType}`, req.body)
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

  app.get('/health', async (_req, reply) => {
    const res = await opts.backend.range({ key: Buffer.from('health') })
    const healthy = res.ok
    return reply.status(healthy ? 200 : 503).send({ health: healthy ? 'true' : 'false' })
  })
  app.get('/version', async () => ({ etcdserver: opts.version ?? '3.4.23', etcdcluster: '3.4.0' }))
  app.get('/metrics', async (_req, reply) => {
    const body = await opts.registry.metrics()
    return reply.header('content-type', opts.registry.contentType).send(body)
  })
  await app.ready()
  return app
}
