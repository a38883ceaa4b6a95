/**
 * The `services/proxy` subresource (`/api/v1/namespaces/{ns}/services/{name}[:{port}]/proxy/{path}`),
 * what `kubectl cluster-info` links to and `kubectl get --raw` reaches services through. As kube's
 * service REST ResourceLocation:
 *
 * - the name is `name`, `name:port` or `scheme:name:port`; a numeric port is the Service port whose
 *   name then selects the endpoint port (`no service port 81 found for service "web"` otherwise);
 * - the Service must exist (404) and not be ExternalName (400);
 * - the Endpoints of the same name give the address: a random ready address of the subset port
 *   with the selected name; none is 503 ServiceUnavailable `no endpoints available for service "web"`;
 * - the request (method, rest of the path, query, body) is forwarded and the answer streamed back.
 *   An address that cannot be reached is 503 `error trying to reach service: <reason>`.
 *
 * Not served: upgrades (websockets), HTTPS to the backend, and the `pods/proxy` and `nodes/proxy`
 * subresources.
 */
import { statusErrors } from '@hakube/api'
import { isStorageError, objectKey, type Storage } from '@hakube/storage'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { request } from 'undici'
import { isObject } from './body.js'
import { storageCall, toStatus } from './errors.js'
import { undiciRequest } from './lazy-undici.js'

const SERVICES = { group: '', resource: 'services' }
const ENDPOINTS = { group: '', resource: 'endpoints' }
const PROXY_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/
/** Headers not passed on (hop-by-hop, and the ones undici sets itself). */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
])
/** How long the backend may take to answer (kube's proxy dial timeout is 30 s). */
const BACKEND_TIMEOUT_MS = 30_000

/** The namespace, service id and path of a service proxy URL, or undefined for any other path. */
export function matchServiceProxy(path: string): { namespace: string; id: string; rest: string } | undefined {
  const m = PROXY_PATH.exec(path)
  if (m === null) return undefined
  return { namespace: decodeURIComponent(m[1] ?? ''), id: decodeURIComponent(m[2] ?? ''), rest: m[3] ?? '/' }
}

type Json = Record<string, unknown>

function splitId(id: string): { scheme: string; name: string; port: string } {
  const parts = id.split(':')
  if (parts.length === 3) return { scheme: parts[0] ?? '', name: parts[1] ?? '', port: parts[2] ?? '' }
  if (parts.length === 2) return { scheme: '', name: parts[0] ?? '', port: parts[1] ?? '' }
  return { scheme: '', name: id, port: '' }
}

const listOf = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : [])

/** Where a request to the service id goes: `http://ip:port`. */
export async function serviceLocation(storage: Storage, namespace: string, id: string): Promise<URL> {
  const { scheme, name, port } = splitId(id)
  if (scheme !== '' && scheme !== 'http')
    throw statusErrors.badRequest(`hakube proxies to services over http only, not ${scheme}`)
  const svc = await storageCall(SERVICES, name, () =>
    storage.get<Json>(objectKey('services', namespace, name)),
  )
  const spec = isObject(svc.value['spec']) ? svc.value['spec'] : {}
  if (spec['type'] === 'ExternalName')
    throw statusErrors.badRequest(`external name service ${JSON.stringify(name)} has no endpoints`)
  let portName = port
  if (/^\d+$/.test(port)) {
    const match = listOf(spec['ports']).find((p) => p['port'] === Number(port))
    if (match === undefined)
      throw statusErrors.serviceUnavailable(
        `no service port ${port} found for service ${JSON.stringify(name)}`,
      )
    portName = typeof match['name'] === 'string' ? match['name'] : ''
  }
  const noEndpoints = () =>
    statusErrors.serviceUnavailable(`no endpoints available for service ${JSON.stringify(name)}`)
  let eps: Json
  try {
    eps = (await storage.get<Json>(objectKey('endpoints', namespace, name))).value
  } catch (err) {
    if (isStorageError(err, 'NotFound')) throw noEndpoints()
    throw toStatus(err, ENDPOINTS, name)
  }
  for (const subset of listOf(eps['subsets'])) {
    const addresses = listOf(subset['addresses'])
    const p = listOf(subset['ports']).find(
      (x) => (typeof x['name'] === 'string' ? x['name'] : '') === portName,
    )
    if (p === undefined || addresses.length === 0) continue
    const addr = addresses[Math.floor(Math.random() * addresses.length)]
    const ip = typeof addr?.['ip'] === 'string' ? addr['ip'] : ''
    if (ip === '' || typeof p['port'] !== 'number') continue
    return new URL(`http://${ip.includes(':') ? `[${ip}]` : ip}:${p['port']}`)
  }
  throw noEndpoints()
}

/** Serves one proxied request. */
export async function serveServiceProxy(
  storage: Storage,
  target: { namespace: string; id: string; rest: string },
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const location = await serviceLocation(storage, target.namespace, target.id)
  const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers))
    if (!DROPPED.has(k) && typeof v === 'string') headers[k] = v
  const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined
  let res: Awaited<ReturnType<typeof request>>
  try {
    // undici is loaded on the first proxied request, not at the server's start.
    const request = await undiciRequest()
    res = await request(new URL(`${target.rest}${query}`, location), {
      method: req.method as 'GET',
      headers,
      ...(body !== undefined && { body }),
      headersTimeout: BACKEND_TIMEOUT_MS,
      bodyTimeout: BACKEND_TIMEOUT_MS,
    })
  } catch (err) {
    throw statusErrors.serviceUnavailable(
      `error trying to reach service: ${err instanceof Error ? err.message : String(err)}`,
    )
  }
  reply.code(res.statusCode)
  for (const [k, v] of Object.entries(res.headers)) if (!DROPPED.has(k) && v !== undefined) reply.header(k, v)
  return reply.send(res.body)
}
