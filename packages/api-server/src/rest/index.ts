/**
 * The REST core: every resource of the registry at `/api/v1/...` and `/apis/<group>/<version>/...`
 * with kube-apiserver's verbs and semantics (see handlers.ts, list.ts and watch.ts for each verb's
 * rules). Unknown resources get 404 NotFound, verbs a resource lacks (and methods no route takes:
 * TRACE, OPTIONS, ...) 405 MethodNotAllowed, and every storage failure a Status (errors.ts); nothing
 * a client sends crashes the server. Query options are decoded and validated before a body is read
 * (request-options.ts), and a body's nesting is measured before anything parses it (nesting.ts).
 *
 * Subresources: `/status` (handlers.ts), `pods/binding` and `/scale` (subresources.ts), `pods/log`
 * (and refused exec/attach/portforward: pod-log.ts). Deletion,
 * graceful for pods, is in delete.ts.
 *
 * Server-side apply: apply.ts (not on subresources). Tables and PartialObjectMetadata for GET, LIST
 * and WATCH (`Accept: ...;as=Table;g=meta.k8s.io;v=v1`): table.ts.
 */
import { METHODS } from 'node:http'
import { lookupResource, statusErrors, type Verb } from '@hakube/api'
import type { Storage } from '@hakube/storage'
import { resourcePrefix } from '@hakube/storage'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ApiServer } from '../server.js'
import { applyObject, parseApplyBody } from './apply.js'
import { APPLY_PATCH_MEDIA_TYPE, mediaType, parseObjectBody, parsePatchBody } from './body.js'
import { deleteCollection, deleteObject, deleteStatusCode, parseDeleteOptions } from './delete.js'
import {
  contextFor,
  createObject,
  getObject,
  patchObject,
  type RestContext,
  updateObject,
} from './handlers.js'
import { listBody, parseSelectors, planListRead, readList } from './list.js'
import { checkBodyNesting } from './nesting.js'
import { matchPodStream, servePodStream } from './pod-log.js'
import { boolParam, type Query } from './query.js'
import { parseRequestPath } from './request-info.js'
import { decodeListOptions, validateWriteOptions } from './request-options.js'
import { parseServiceCidr, ServiceIpAllocator } from './service-ips.js'
import { matchServiceProxy, serveServiceProxy } from './service-proxy.js'
import { bindPod, getScale, updateScale } from './subresources.js'
import { negotiateOutput, sendNegotiated } from './table.js'
import { serveWatch } from './watch.js'

export interface ResourceRoutesOptions {
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK (default 60 s, as the cacher). */
  bookmarkIntervalMs?: number
  /** Where Services get their clusterIP (`--service-cluster-ip-range`, default 10.96.0.0/12). */
  serviceClusterIpRange?: string
}

export const DEFAULT_SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/12'

const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000

/** Registers the resource routes on `server.app` (call before `listen`). */
export function registerResourceRoutes(
  server: ApiServer,
  storage: Storage,
  options: ResourceRoutesOptions = {},
): void {
  const range = options.serviceClusterIpRange ?? DEFAULT_SERVICE_CLUSTER_IP_RANGE
  const cidr = parseServiceCidr(range)
  if (cidr === undefined)
    throw new Error(`--service-cluster-ip-range: ${JSON.stringify(range)} is not an IPv4 CIDR`)
  const settings = {
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
    serviceIps: new ServiceIpAllocator(storage, cidr),
  }
  const handler = (req: FastifyRequest, reply: FastifyReply) => serve(server, storage, settings, req, reply)
  for (const m of METHODS)
    if (m !== 'CONNECT' && !server.app.supportedMethods.includes(m))
      server.app.addHttpMethod(m, { hasBody: true })
  server.app.register(async (scope) => {
    // Bodies are decoded per verb (objects as JSON or YAML, patches by their type), so every body
    // arrives raw; fastify still enforces the 3 MiB limit.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
    // Every method reaches the handler, so that one a resource does not take is kube's router 405
    // (TRACE, OPTIONS, PROPFIND, ...), not a 404. HEAD comes with GET.
    const method = scope.supportedMethods.filter((m) => m !== 'HEAD')
    scope.route({ method, url: '/api/*', handler })
    scope.route({ method, url: '/apis/*', handler })
  })
}

async function serve(
  server: ApiServer,
  storage: Storage,
  settings: { bookmarkIntervalMs: number; serviceIps: ServiceIpAllocator },
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const path = req.url.split('?')[0] ?? ''
  const proxied = matchServiceProxy(path)
  if (proxied !== undefined) return serveServiceProxy(storage, proxied, req, reply)
  const podStream = matchPodStream(path)
  if (podStream !== undefined) return servePodStream(storage, podStream, req, reply)
  const info = parseRequestPath(path)
  if (info === undefined) throw statusErrors.notFoundResource()
  const resource = lookupResource(info.group, info.version, info.plural)
  if (resource === undefined) throw statusErrors.notFoundResource()
  if (!resource.namespaced && info.namespace !== '') throw statusErrors.notFoundResource()
  const sub =
    info.subresource === '' ? undefined : resource.subresources.find((s) => s.name === info.subresource)
  if (info.subresource !== '' && sub === undefined) throw statusErrors.notFoundResource()
  const ctx = contextFor(storage, resource, info.namespace)
  ctx.userAgent = req.headers['user-agent']
  ctx.serviceIps = settings.serviceIps
  const query = (req.query ?? {}) as Query
  const need = (verb: Verb): void => {
    if (resource.verbs.includes(verb)) return
    // kube installs no route for a verb a resource lacks (the router's 405), except watch, which
    // the list handler refuses with NewMethodNotSupported.
    throw verb === 'watch' ? statusErrors.methodNotSupported(ctx.gr, verb) : statusErrors.methodNotAllowed()
  }
  const namespaceGiven = !resource.namespaced || info.namespace !== ''
  const { name, subresource } = info
  const watch = info.watchPath || boolParam(query, 'watch')
  if (sub !== undefined && sub.name !== 'status' && sub.name !== 'log') {
    if (name === '' || !namespaceGiven || watch) throw statusErrors.notFoundResource()
    return serveSubresource(ctx, sub.name, name, query, req, reply)
  }
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      if (watch) {
        if (subresource !== '') throw statusErrors.notFoundResource()
        need('watch')
        decodeListOptions(query)
        await serveWatch(server, ctx, name, query, reply, settings)
        return reply
      }
      if (name !== '') {
        if (!namespaceGiven) throw statusErrors.notFoundResource()
        need('get')
        const conv = negotiateOutput(req.headers.accept)
        return sendNegotiated(reply, resource, conv, await getObject(ctx, name, query), query, false)
      }
      need('list')
      decodeListOptions(query)
      const conv = negotiateOutput(req.headers.accept)
      const sel = parseSelectors(resource, query)
      const plan = planListRead(query, resourcePrefix(resource.plural, info.namespace))
      const list = listBody(resource, await readList(storage, resource, info.namespace, sel, plan))
      return sendNegotiated(reply, resource, conv, list, query, true)
    }
    case 'POST': {
      if (name !== '' || !namespaceGiven || info.watchPath) throw statusErrors.methodNotAllowed()
      need('create')
      validateWriteOptions('create', query)
      const created = await createObject(
        ctx,
        parseObjectBody(req.headers['content-type'], rawBody(req, resource.kind)),
        query,
      )
      return reply.code(201).send(created)
    }
    case 'PUT': {
      if (name === '' || !namespaceGiven || info.watchPath) throw statusErrors.methodNotAllowed()
      need('update')
      validateWriteOptions('update', query)
      const updated = await updateObject(
        ctx,
        name,
        subresource,
        parseObjectBody(req.headers['content-type'], rawBody(req, resource.kind)),
        query,
      )
      return reply.code(updated.created ? 201 : 200).send(updated.object)
    }
    case 'PATCH': {
      if (name === '' || !namespaceGiven || info.watchPath) throw statusErrors.methodNotAllowed()
      need('patch')
      if (mediaType(req.headers['content-type']) === APPLY_PATCH_MEDIA_TYPE) {
        validateWriteOptions('apply', query)
        const applied = await applyObject(
          ctx,
          name,
          subresource,
          parseApplyBody(rawBody(req, resource.kind)),
          query,
        )
        return reply.code(applied.created ? 201 : 200).send(applied.object)
      }
      validateWriteOptions('patch', query)
      return patchObject(
        ctx,
        name,
        subresource,
        parsePatchBody(req.headers['content-type'], rawBody(req, resource.kind)),
        query,
      )
    }
    case 'DELETE': {
      if (subresource !== '' || !namespaceGiven || info.watchPath) throw statusErrors.methodNotAllowed()
      need(name === '' ? 'deletecollection' : 'delete')
      const opts = parseDeleteOptions(deleteBody(req), query)
      if (name === '') return deleteCollection(ctx, opts, query)
      const outcome = await deleteObject(ctx, name, opts, query)
      return reply.code(deleteStatusCode(outcome, opts)).send(outcome.object)
    }
  }
  throw statusErrors.methodNotAllowed()
}

/** `pods/{name}/binding` (create only) and `{deployments,replicasets}/{name}/scale` (get, update, patch). */
async function serveSubresource(
  ctx: RestContext,
  sub: 'binding' | 'scale',
  name: string,
  query: Query,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  if (sub === 'binding') {
    if (req.method !== 'POST') throw statusErrors.methodNotAllowed()
    validateWriteOptions('create', query)
    const status = await bindPod(
      ctx,
      name,
      parseObjectBody(req.headers['content-type'], rawBody(req, 'Binding')),
      query,
    )
    return reply.code(201).send(status)
  }
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return getScale(ctx, name)
    case 'PUT':
      validateWriteOptions('update', query)
      // kubectl scale --current-replicas sends this body without a Content-Type: read as JSON.
      return updateScale(
        ctx,
        name,
        { body: parseObjectBody(req.headers['content-type'], rawBody(req, 'Scale')) },
        query,
      )
    case 'PATCH':
      validateWriteOptions('patch', query)
      return updateScale(
        ctx,
        name,
        { patch: parsePatchBody(req.headers['content-type'], rawBody(req, 'Scale')) },
        query,
      )
  }
  throw statusErrors.methodNotAllowed()
}

/** The raw body, once it passed the nesting check every body gets before it is parsed. */
function rawBody(req: FastifyRequest, kind: string): unknown {
  checkBodyNesting(kind, mediaType(req.headers['content-type']), req.body)
  return req.body
}

/** DeleteOptions may come as a JSON body (kubectl sends `{"propagationPolicy":"Background"}`). */
function deleteBody(req: FastifyRequest): unknown {
  const raw = rawBody(req, 'DeleteOptions')
  if (raw === undefined || raw === null) return undefined
  if (Buffer.isBuffer(raw) && raw.length === 0) return undefined
  return parseObjectBody(req.headers['content-type'], raw)
}
