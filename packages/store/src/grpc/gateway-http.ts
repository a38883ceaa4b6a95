/**
 * The answers etcd 3.4's client URL gives below the gateway's own error form, observed on etcd 3.4.23:
 * they come from Go's net/http (ServeMux, the server's request parser) and grpc-gateway 1.9's mux, in
 * plain text, not `{"error","message","code"}`:
 *
 * - a path under `/v3/` or `/v3beta/` that no route takes: 404 `Not Found`; a route's path with another
 *   method: 405 `Method Not Allowed`, except OPTIONS: 200 with an empty body (etcd's CORS handling);
 * - `/health` and `/version` with a method other than GET: 405 `Method Not Allowed`;
 * - any other path: 404 `404 page not found` (ServeMux);
 * - a path that is not clean (`//v3/kv/range`, `/v3/./kv`) or `/v3` itself: 301 to the clean path;
 * - a path with a bad percent-encoding (`%zz`): 400 `400 Bad Request`, connection closed.
 */
import { posix } from 'node:path'
import type { FastifyReply, FastifyRequest } from 'fastify'

/** Go's http.Error: the text, a newline, text/plain and nosniff. */
function goError(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply
    .status(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .send(`${text}\n`)
}

/** Go's path.Clean as ServeMux applies it (a trailing slash is kept). */
function cleanPath(p: string): string {
  if (p === '') return '/'
  const cleaned = posix.normalize(p.startsWith('/') ? p : `/${p}`)
  return p.endsWith('/') && cleaned !== '/' && !cleaned.endsWith('/') ? `${cleaned}/` : cleaned
}

export interface GatewayPaths {
  /** Every POST route of the gateway (`/v3/kv/range`, `/v3beta/watch`, ...). */
  routes: ReadonlySet<string>
  /** GET-only paths outside the gateway (`/health`, `/version`). */
  getOnly: ReadonlySet<string>
}

/** The not-found handler: what etcd answers for a path or method no route takes. */
export function answerUnrouted(paths: GatewayPaths, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const raw = req.raw.url ?? '/'
  const q = raw.indexOf('?')
  const path = q < 0 ? raw : raw.slice(0, q)
  const clean = cleanPath(path)
  if (clean !== path || path === '/v3' || path === '/v3beta') {
    const to = path === '/v3' || path === '/v3beta' ? `${path}/` : clean
    return reply
      .status(301)
      .header('location', q < 0 ? to : `${to}${raw.slice(q)}`)
      .send('')
  }
  if (paths.routes.has(path)) {
    if (req.method === 'OPTIONS') return reply.status(200).send('')
    return goError(reply, 405, 'Method Not Allowed')
  }
  if (paths.getOnly.has(path)) return goError(reply, 405, 'Method Not Allowed')
  if (path.startsWith('/v3/') || path.startsWith('/v3beta/')) return goError(reply, 404, 'Not Found')
  return goError(reply, 404, '404 page not found')
}

/** Fastify's framework errors (a bad URL) as Go's server answers a request it cannot parse. */
export function answerBadRequest(_err: Error, _req: FastifyRequest, reply: FastifyReply): void {
  void reply
    .status(400)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('connection', 'close')
    .send('400 Bad Request')
}
