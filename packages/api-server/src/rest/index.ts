/**
 * The REST core: every resource of the registry at `/api/v1/...` and `/apis/<group>/<version>/...`
 * with kube-apiserver's verbs and semantics (see handlers.ts, list.ts and watch.ts for each verb's
 * rules). Unknown resources get 404 NotFound, verbs a resource lacks 405 MethodNotAllowed, and every
 * storage failure a Status (errors.ts); nothing a client sends crashes the server.
 *
 * Not yet served: strategic merge patch and server-side apply (415), `pods/binding`, `/scale`,
 * graceful pod deletion, Table output.
 */
import { lookupResource, statusErrors, type Verb } from '@hakube/api'
import type { Storage } from '@hakube/storage'
import { resourcePrefix } from '@hakube/storage'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ApiServer } from '../server.js'
import { parseObjectBody, parsePatchBody } from './body.js'
import {
  contextFor,
  createObject,
  deleteCollection,
  deleteObject,
  getObject,
  patchObject,
  updateObject,
} from './handlers.js'
import { listBody, parseSelectors, planListRead, readList } from './list.js'
import { boolParam, type Query } from './query.js'
import { parseRequestPath } from './request-info.js'
import { serveWatch } from './watch.js'

export interface ResourceRoutesOptions {
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK (default 60 s, as the cacher). */
  bookmarkIntervalMs?: number
}

const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000

/** Registers the resource routes on `server.app` (call before `listen`). */
export function registerResourceRoutes(
  server: ApiServer,
  storage: Storage,
  options: ResourceRoutesOptions = {},
): void {
  const settings = { bookmarkIntervalMs: options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS }
  const handler = (req: FastifyRequest, reply: FastifyReply) => serve(server, storage, settings, req, reply)
  server.app.register(async (scope) => {
    // Bodies are decoded per verb (objects as JSON or YAML, patches by their type), so every body
    // arrives raw; fastify still enforces the 3 MiB limit.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
    const method = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
    scope.route({ method: [...method], url: '/api/*', handler })
    scope.route({ method: [...method], url: '/apis/*', handler })
  })
}

async function serve(
  server: ApiServer,
  storage: Storage,
  settings: { bookmarkIntervalMs: number },
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const path = req.url.split('?')[0] ?? ''
  const info = parseRequestPath(path)
  if (info === undefined) throw statusErrors.notFoundResource()
  const resource = lookupResource(info.group, info.version, info.plural)
  if (resource === undefined) throw statusErrors.notFoundResource()
  if (!resource.namespaced && info.namespace !== '') throw statusErrors.notFoundResource()
  if (info.subresource !== '') {
    const sub = resource.subresources.find((s) => s.name === info.subresource)
    // binding and scale are served later; until then they are unknown paths.
    if (sub === undefined || sub.name !== 'status') throw statusErrors.notFoundResource()
  }
  const ctx = contextFor(storage, resource, info.namespace)
  const query = (req.query ?? {}) as Query
  const need = (verb: Verb): void => {
    if (!resource.verbs.includes(verb)) throw statusErrors.methodNotSupported(ctx.gr, verb)
  }
  const namespaceGiven = !resource.namespaced || info.namespace !== ''
  const { name, subresource } = info
  const watch = info.watchPath || boolParam(query, 'watch')
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      if (watch) {
        if (subresource !== '') throw statusErrors.notFoundResource()
        need('watch')
        await serveWatch(server, ctx, name, query, reply, settings)
        return reply
      }
      if (name !== '') {
        if (!namespaceGiven) throw statusErrors.notFoundResource()
        need('get')
        return getObject(ctx, name, query)
      }
      need('list')
      const sel = parseSelectors(resource, query)
      const plan = planListRead(query, resourcePrefix(resource.plural, info.namespace))
      return listBody(resource, await readList(storage, resource, info.namespace, sel, plan))
    }
    case 'POST': {
      if (name !== '' || !namespaceGiven || info.watchPath)
        throw statusErrors.methodNotSupported(ctx.gr, 'create')
      need('create')
      const created = await createObject(ctx, parseObjectBody(req.headers['content-type'], req.body), query)
      return reply.code(201).send(created)
    }
    case 'PUT': {
      if (name === '' || !namespaceGiven || info.watchPath)
        throw statusErrors.methodNotSupported(ctx.gr, 'update')
      need('update')
      return updateObject(
        ctx,
        name,
        subresource,
        parseObjectBody(req.headers['content-type'], req.body),
        query,
      )
    }
    case 'PATCH': {
      if (name === '' || !namespaceGiven || info.watchPath)
        throw statusErrors.methodNotSupported(ctx.gr, 'patch')
      need('patch')
      return patchObject(ctx, name, subresource, parsePatchBody(req.headers['content-type'], req.body), query)
    }
    case 'DELETE': {
      if (subresource !== '' || !namespaceGiven || info.watchPath)
        throw statusErrors.methodNotSupported(ctx.gr, 'delete')
      const body = deleteBody(req)
      if (name === '') {
        need('deletecollection')
        return deleteCollection(ctx, body, query)
      }
      need('delete')
      return deleteObject(ctx, name, body, query)
    }
  }
  throw statusErrors.methodNotSupported(ctx.gr, req.method.toLowerCase())
}

/** DeleteOptions may come as a JSON body (kubectl sends `{"propagationPolicy":"Background"}`). */
function deleteBody(req: FastifyRequest): unknown {
  const raw = req.body
  if (raw === undefined || raw === null) return undefined
  if (Buffer.isBuffer(raw) && raw.length === 0) return undefined
  return parseObjectBody(req.headers['content-type'], raw)
}
