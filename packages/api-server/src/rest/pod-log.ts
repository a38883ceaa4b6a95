/**
 * `pods/{name}/log` (what `kubectl logs` reads), and the streaming subresources hakube cannot serve,
 * `pods/{name}/exec`, `/attach` and `/portforward`. As kube's pod REST LogLocation / ExecLocation
 * (pkg/registry/core/pod/strategy.go):
 *
 * - PodLogOptions from the query, checked as ValidatePodLogOptions (422 `PodLogOptions "p" is
 *   invalid: ...`); the pod must exist (404 `pods "p" not found`);
 * - the container: the only one when the pod has one, else it must be named (400 `a container name
 *   must be specified for pod p, choose one of: [a b]`) and exist (400 `container x is not valid for
 *   pod p`); a pod with no node is 400 `pod p does not have a host assigned`;
 * - the node's kubelet: its InternalIP (hakube's nodes are simulated on loopback addresses, so the
 *   InternalIP comes first, where kube-apiserver's default --kubelet-preferred-address-types puts
 *   Hostname) and `status.daemonEndpoints.kubeletEndpoint.Port` (10250 when unset), over http;
 * - the kubelet's `/containerLogs/{ns}/{pod}/{container}` answer is streamed back as text/plain (a
 *   `follow` stream lives until either side ends it); its errors become Statuses as kube's
 *   GenericHttpResponseChecker makes them: 400 BadRequest and 500 InternalError with the kubelet's
 *   text as the message (`container "c" in pod "p" is waiting to start: ContainerCreating`).
 *
 * exec, attach and portforward are checked the same way (pod, container, node), then answered 400
 * naming the simulation: every hakube node is a hakube-node-sim node, whose containers do not exist.
 */
import { type FieldError, fieldErrors, statusErrors } from '@hakube/api'
import { objectKey, type Storage } from '@hakube/storage'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { request } from 'undici'
import { isObject } from './body.js'
import { storageCall } from './errors.js'
import { undiciRequest } from './lazy-undici.js'

const PODS = { group: '', resource: 'pods' }
const NODES = { group: '', resource: 'nodes' }
const POD_STREAM_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(log|exec|attach|portforward)$/
const KUBELET_PORT_DEFAULT = 10250
/** How long the kubelet may take to answer the headers (kube's dial and TLS timeouts are 30 s). */
const KUBELET_TIMEOUT_MS = 30_000
/** GenericHttpResponseChecker reads at most this much of an error body. */
const ERROR_BODY_BYTES_MAX = 50 * 1024

type Json = Record<string, unknown>
export type PodStream = 'log' | 'exec' | 'attach' | 'portforward'

/** The namespace, pod and subresource of a pod log/exec/attach/portforward URL, or undefined. */
export function matchPodStream(
  path: string,
): { namespace: string; name: string; sub: PodStream } | undefined {
  const m = POD_STREAM_PATH.exec(path)
  if (m === null) return undefined
  try {
    return {
      namespace: decodeURIComponent(m[1] ?? ''),
      name: decodeURIComponent(m[2] ?? ''),
      sub: m[3] as PodStream,
    }
  } catch {
    return undefined
  }
}

const listOf = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : [])
const namesOf = (v: unknown): string[] =>
  listOf(v).map((c) => (typeof c['name'] === 'string' ? c['name'] : ''))

/** ValidateContainer: the container a request is for. */
export function resolveContainer(pod: Json, name: string, container: string): string {
  const spec = isObject(pod['spec']) ? pod['spec'] : {}
  const containers = namesOf(spec['containers'])
  const init = namesOf(spec['initContainers'])
  const ephemeral = namesOf(spec['ephemeralContainers'])
  if (container === '') {
    if (containers.length === 1) return containers[0] as string
    if (containers.length === 0)
      throw statusErrors.badRequest(`a container name must be specified for pod ${name}`)
    let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`
    if (init.length > 0) msg += ` or one of the init containers: [${init.join(' ')}]`
    if (ephemeral.length > 0) msg += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`
    throw statusErrors.badRequest(msg)
  }
  if (![...containers, ...init, ...ephemeral].includes(container))
    throw statusErrors.badRequest(`container ${container} is not valid for pod ${name}`)
  return container
}

/** The kubelet of `nodeName`: `http://InternalIP:port`. */
async function kubeletLocation(storage: Storage, nodeName: string): Promise<URL> {
  const node = (await storageCall(NODES, nodeName, () => storage.get<Json>(objectKey('nodes', '', nodeName))))
    .value
  const status = isObject(node['status']) ? node['status'] : {}
  const addresses = listOf(status['addresses'])
  const order = ['InternalIP', 'Hostname', 'InternalDNS', 'ExternalIP', 'ExternalDNS']
  const address = order
    .map((t) =>
      addresses.find((a) => a['type'] === t && typeof a['address'] === 'string' && a['address'] !== ''),
    )
    .find((a) => a !== undefined)
  if (address === undefined) {
    const known = addresses.map((a) => `${String(a['type'])}:${String(a['address'])}`)
    throw statusErrors.internalError(`no preferred addresses found; known addresses: [${known.join(' ')}]`)
  }
  const ep = isObject(status['daemonEndpoints']) ? status['daemonEndpoints']['kubeletEndpoint'] : undefined
  const port =
    isObject(ep) && typeof ep['Port'] === 'number' && ep['Port'] > 0 ? ep['Port'] : KUBELET_PORT_DEFAULT
  const host = String(address['address'])
  return new URL(`http://${host.includes(':') ? `[${host}]` : host}:${port}`)
}

interface LogOptions {
  container: string
  params: URLSearchParams
}

/** PodLogOptions from the query, validated as ValidatePodLogOptions. */
export function parseLogOptions(name: string, query: URLSearchParams): LogOptions {
  const errs: FieldError[] = []
  const params = new URLSearchParams()
  const int = (key: string): number | undefined => {
    const v = query.get(key)
    if (v === null || v === '') return undefined
    if (!/^-?\d+$/.test(v))
      throw statusErrors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`)
    return Number(v)
  }
  const tail = int('tailLines')
  const limit = int('limitBytes')
  const since = int('sinceSeconds')
  const sinceTime = query.get('sinceTime') ?? ''
  if (tail !== undefined && tail < 0)
    errs.push(fieldErrors.invalid('tailLines', tail, 'must be greater than or equal to 0'))
  if (limit !== undefined && limit < 1)
    errs.push(fieldErrors.invalid('limitBytes', limit, 'must be greater than 0'))
  if (since !== undefined && sinceTime !== '')
    errs.push(fieldErrors.forbidden('', 'at most one of `sinceTime` or `sinceSeconds` may be specified'))
  else if (since !== undefined && since < 1)
    errs.push(fieldErrors.invalid('sinceSeconds', since, 'must be greater than 0'))
  if (sinceTime !== '' && Number.isNaN(Date.parse(sinceTime)))
    throw statusErrors.badRequest(
      `parsing time ${JSON.stringify(sinceTime)} as "2006-01-02T15:04:05Z07:00": cannot parse`,
    )
  if (errs.length > 0) throw statusErrors.invalid({ group: '', kind: 'PodLogOptions' }, name, errs)
  const bool = (key: string) => ['true', '1', 'True', 'TRUE'].includes(query.get(key) ?? '')
  if (bool('follow')) params.set('follow', 'true')
  if (bool('previous')) params.set('previous', 'true')
  if (bool('timestamps')) params.set('timestamps', 'true')
  if (since !== undefined) params.set('sinceSeconds', String(since))
  if (sinceTime !== '') params.set('sinceTime', sinceTime)
  if (tail !== undefined) params.set('tailLines', String(tail))
  if (limit !== undefined) params.set('limitBytes', String(limit))
  return { container: query.get('container') ?? '', params }
}

/** Serves `pods/{name}/log` (GET), and refuses exec, attach and portforward with the simulation named. */
export async function servePodStream(
  storage: Storage,
  target: { namespace: string; name: string; sub: PodStream },
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { namespace, name, sub } = target
  const query = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '')
  if (sub === 'log' && req.method !== 'GET' && req.method !== 'HEAD') throw statusErrors.methodNotAllowed()
  if (sub !== 'log' && req.method !== 'GET' && req.method !== 'POST') throw statusErrors.methodNotAllowed()
  const opts = sub === 'log' ? parseLogOptions(name, query) : undefined
  const pod = (await storageCall(PODS, name, () => storage.get<Json>(objectKey('pods', namespace, name))))
    .value
  const container =
    sub === 'portforward' ? '' : resolveContainer(pod, name, opts?.container ?? query.get('container') ?? '')
  const spec = isObject(pod['spec']) ? pod['spec'] : {}
  const nodeName = typeof spec['nodeName'] === 'string' ? spec['nodeName'] : ''
  if (nodeName === '') throw statusErrors.badRequest(`pod ${name} does not have a host assigned`)
  if (opts === undefined) {
    const what = sub === 'portforward' ? 'its ports cannot be forwarded' : `its containers cannot ${sub}`
    throw statusErrors.badRequest(
      `hakube-node-sim: node ${JSON.stringify(nodeName)} is simulated and runs no containers; ${what}`,
    )
  }
  const base = await kubeletLocation(storage, nodeName)
  const enc = encodeURIComponent
  const path = `/containerLogs/${enc(namespace)}/${enc(name)}/${enc(container)}`
  const qs = opts.params.toString()
  const url = new URL(`${path}${qs === '' ? '' : `?${qs}`}`, base)
  let res: Awaited<ReturnType<typeof request>>
  try {
    // undici is loaded on the first logs request, not at the server's start.
    const request = await undiciRequest()
    res = await request(url, { method: 'GET', headersTimeout: KUBELET_TIMEOUT_MS, bodyTimeout: 0 })
  } catch (err) {
    throw statusErrors.internalError(
      `Get ${JSON.stringify(url.href)}: ${err instanceof Error ? err.message : String(err)}`,
    )
  }
  if (res.statusCode < 200 || res.statusCode > 206) {
    const text = (await res.body.text()).slice(0, ERROR_BODY_BYTES_MAX)
    if (res.statusCode === 400) throw statusErrors.badRequest(text)
    if (res.statusCode === 404) throw statusErrors.notFound({ group: '', resource: 'pods/log' }, name)
    throw statusErrors.internalError(text)
  }
  reply.code(200).header('content-type', 'text/plain')
  return reply.send(res.body)
}
