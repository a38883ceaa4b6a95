/**
 * The api-server's HTTP core (fastify): what every request goes through before and after a resource
 * handler, as kube-apiserver's filter chain does it (k8s.io/apiserver pkg/server/filters):
 *
 * - max-in-flight: non-mutating and mutating requests are counted apart against
 *   --max-requests-inflight / --max-mutating-requests-inflight; one over the limit gets 429
 *   TooManyRequests with `Retry-After: 1`. Long-running requests (watches) are not counted.
 * - timeout: a non-long-running request unanswered after --request-timeout gets 504 Timeout.
 * - bodies over 3 MiB get 413; malformed JSON 400; an unsupported Content-Type 415; an unknown path
 *   404 NotFound. Every error body is a Kubernetes `Status`; no input crashes the process. That
 *   includes what never reaches a route: a bad percent-encoding in the path (400, Go's
 *   `invalid URL escape "%zz"`), requests node's HTTP parser refuses (bad Content-Length or chunked
 *   framing, an unknown method: 400 on a closing connection), headers over Go's 1 MiB (431), and
 *   CONNECT (405). src/fuzz.test.ts holds the server to this.
 * - authentication by client certificate with --client-ca-file (authentication.ts): 401 for a
 *   certificate that does not verify; `POST .../selfsubjectreviews` tells the caller who it is.
 * - /healthz, /livez, /readyz (the `etcd` check asks the storage; `shutdown` fails once SIGTERM came),
 *   /version, /metrics (prom-client: requests by verb, resource and code, latency, in-flight).
 *
 * Resource routes are registered by the caller through {@link ApiServer.app} before `listen`.
 */
import { readFileSync } from 'node:fs'
import { type IncomingMessage, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { isStatusError, StatusError, statusErrors } from '@hakube/api'
import { parseGoDuration } from '@hakube/api/flags'
import type { Storage } from '@hakube/storage'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { installAuthentication, registerSelfSubjectReview } from './authentication.js'
import { type HealthCheck, ping, registerHealth } from './health.js'
import { type ApiServerConfig, KUBERNETES_VERSION } from './options.js'
import { boolParam, type Query, queryParam } from './rest/query.js'

/** Longest wait for in-flight requests at shutdown before their connections are cut. */
const SHUTDOWN_GRACE_MS_MAX = 5000

/** net/http's DefaultMaxHeaderBytes (1 MiB), which kube-apiserver keeps. */
export const MAX_HEADER_BYTES = 1 << 20

/** kube-apiserver's MaxRequestBodyBytes (3 MiB). */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024

export interface ApiServerLogger {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface ApiServerOptions {
  config: ApiServerConfig
  storage: Storage
  logger: ApiServerLogger
  registry?: Registry
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the in-flight filter: which limit the request counts against, if any. */
    inflightKind: 'readOnly' | 'mutating' | undefined
    startedAt: bigint
  }
}

export class ApiServer {
  readonly app: FastifyInstance
  readonly registry: Registry
  private readonly inflight = { readOnly: 0, mutating: 0 }
  private shuttingDown = false
  /** Set once the shutdown delay is over: the listener is closed and new requests get 503. */
  private draining = false
  private readonly longRunning = new Set<FastifyReply>()
  private readonly metrics: {
    requests: Counter
    duration: Histogram
    inflight: Gauge
  }

  constructor(private readonly opts: ApiServerOptions) {
    const { config } = opts
    this.registry = opts.registry ?? new Registry()
    if (opts.registry === undefined) collectDefaultMetrics({ register: this.registry })
    const registers = [this.registry]
    this.metrics = {
      requests: new Counter({
        name: 'apiserver_request_total',
        help: 'Counter of apiserver requests broken out for each verb, group, version, resource and HTTP response code.',
        labelNames: ['verb', 'resource', 'code'],
        registers,
      }),
      duration: new Histogram({
        name: 'apiserver_request_duration_seconds',
        help: 'Response latency distribution in seconds for each verb and resource.',
        labelNames: ['verb', 'resource'],
        buckets: [
          0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
        ],
        registers,
      }),
      inflight: new Gauge({
        name: 'apiserver_current_inflight_requests',
        help: 'Maximal number of currently used inflight request limit of this apiserver per request kind.',
        labelNames: ['request_kind'],
        registers,
      }),
    }
    this.app = Fastify({
      logger: false,
      bodyLimit: MAX_REQUEST_BODY_BYTES,
      // Watches are closed by shutdown(); idle keep-alive connections must not hold close() up.
      forceCloseConnections: 'idle',
      // Go's router has no limit on a path segment's length (a wildcard is one fastify param).
      routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
      // Below fastify's router (a bad percent-encoding) and below fastify itself (HTTP framing
      // errors the parser refuses, oversized headers): answered with a Status too.
      frameworkErrors: (error, _req, reply: FastifyReply) => {
        const err = frameworkStatus(error)
        reply.code(err.code).send(err.toJSON())
      },
      clientErrorHandler: clientError,
      // Go's http.DefaultMaxHeaderBytes (node's own default is 16 KiB); past it, 431.
      ...(config.tls === undefined
        ? { http: { maxHeaderSize: MAX_HEADER_BYTES } }
        : {
            https: {
              cert: readFileSync(config.tls.certFile),
              key: readFileSync(config.tls.keyFile),
              maxHeaderSize: MAX_HEADER_BYTES,
              // --client-ca-file: ask for a client certificate, never require one (authentication.ts).
              ...(config.clientCaFile !== undefined && {
                ca: readFileSync(config.clientCaFile),
                requestCert: true,
                rejectUnauthorized: false,
              }),
            },
          }),
    })
    // CONNECT is no request node's parser hands to fastify; without a listener the socket is just cut.
    this.app.server.on('connect', (_req: IncomingMessage, socket: Duplex) =>
      writeRawStatus(socket, statusErrors.methodNotAllowed()),
    )
    this.app.decorateRequest('inflightKind', undefined)
    this.app.decorateRequest('startedAt', 0n)
    installAuthentication(this.app)
    this.installFilters()
    this.installErrorHandling()
    registerSelfSubjectReview(this.app)
    registerHealth(this.app, this.healthChecks(), (endpoint, check, reason) =>
      opts.logger.warn({ endpoint, check, reason }, 'health check failed'),
    )
    this.app.get('/version', async () => ({
      ...KUBERNETES_VERSION,
      gitCommit: 'hakube',
      gitTreeState: 'clean',
      buildDate: '2026-11-22T00:00:00Z',
      goVersion: `node${process.versions.node}`,
      compiler: 'tsc',
      platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
    }))
    this.app.get('/metrics', async (_req, reply) => {
      reply.type(this.registry.contentType)
      return this.registry.metrics()
    })
  }

  /** Binds --bind-address:--secure-port (0 picks a free port); resolves with the bound port. */
  async listen(): Promise<number> {
    await this.app.listen({ host: this.opts.config.bindAddress, port: this.opts.config.securePort })
    const addr = this.app.server.address()
    return typeof addr === 'object' && addr !== null ? addr.port : this.opts.config.securePort
  }

  /**
   * Marks the server as leaving a long-running request (a watch): it is not counted in flight and not
   * timed out, and shutdown() ends it.
   */
  trackLongRunning(reply: FastifyReply): void {
    this.longRunning.add(reply)
    reply.raw.once('close', () => this.longRunning.delete(reply))
  }

  /**
   * kube-apiserver's graceful termination: /readyz fails at once (so load balancers stop sending),
   * requests keep being served for --shutdown-delay-duration, then the listener closes (new
   * connections are refused), in-flight requests finish, and watches are ended. A request that still
   * arrives on an open keep-alive connection meanwhile gets 503 `apiserver is shutting down` with
   * `Retry-After: 1`, as kube's WithWaitGroup filter answers, so clients retry elsewhere.
   */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return
    this.shuttingDown = true
    this.opts.logger.info({ delayMs: this.opts.config.shutdownDelayMs }, 'shutting down: /readyz now fails')
    if (this.opts.config.shutdownDelayMs > 0)
      await new Promise((r) => setTimeout(r, this.opts.config.shutdownDelayMs))
    this.draining = true
    // No new connections; fastify's close() below tolerates the server being closed already.
    this.app.server.close()
    for (const reply of this.longRunning) reply.raw.end()
    // In-flight requests get to finish (each has its --request-timeout, bounded here), then every
    // connection is closed: keep-alive ones would otherwise hold the process.
    const deadline = Date.now() + Math.min(this.opts.config.requestTimeoutMs, SHUTDOWN_GRACE_MS_MAX)
    while (this.inflight.readOnly + this.inflight.mutating > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    const closed = this.app.close()
    this.app.server.closeAllConnections()
    await closed
  }

  private healthChecks(): { healthz: HealthCheck[]; livez: HealthCheck[]; readyz: HealthCheck[] } {
    // kube's two budgets for the same store check: --etcd-healthcheck-timeout for /healthz and
    // /livez, --etcd-readycheck-timeout for /readyz (the one a balancer polls).
    const etcdCheck = (timeoutMs: number): HealthCheck => ({
      name: 'etcd',
      check: async () => {
        const r = await this.opts.storage.readiness({ timeoutMs })
        return r.ok ? undefined : r.reason
      },
    })
    const etcd = etcdCheck(this.opts.config.etcdHealthcheckTimeoutMs)
    const etcdReady = etcdCheck(this.opts.config.etcdReadycheckTimeoutMs)
    const shutdown: HealthCheck = {
      name: 'shutdown',
      check: async () => (this.shuttingDown ? 'process is shutting down' : undefined),
    }
    const log: HealthCheck = { name: 'log', check: async () => undefined }
    return {
      healthz: [ping(), log, etcd],
      livez: [ping(), log, etcd],
      readyz: [ping(), log, etcdReady, shutdown],
    }
  }

  private installFilters(): void {
    const { config, logger } = this.opts
    this.app.addHook('onRequest', async (req, reply) => {
      req.startedAt = process.hrtime.bigint()
      if (this.draining) {
        const err = statusErrors.serviceUnavailable('apiserver is shutting down')
        req.raw.resume()
        return reply.code(err.code).header('retry-after', '1').send(err.toJSON())
      }
      if (isLongRunning(req)) return
      // kube's WithRequestDeadline: `?timeout=` (a Go duration) shortens --request-timeout, never
      // lengthens it (0 or more means the server's); a malformed one is a 400 before anything else.
      let timeoutMs = config.requestTimeoutMs
      const asked = queryParam((req.query ?? {}) as Query, 'timeout')
      if (asked !== undefined && asked !== '') {
        let ms: number
        try {
          ms = parseGoDuration(asked)
        } catch (e) {
          const err = statusErrors.badRequest(
            `invalid timeout specified in the request URL - ${e instanceof Error ? e.message : String(e)}`,
          )
          req.raw.resume()
          return reply.code(err.code).send(err.toJSON())
        }
        if (ms > 0 && ms < timeoutMs) timeoutMs = ms
      }
      const kind = MUTATING.has(req.method) ? 'mutating' : 'readOnly'
      const limit = kind === 'mutating' ? config.maxMutatingRequestsInflight : config.maxRequestsInflight
      if (limit > 0 && this.inflight[kind] >= limit) {
        const err = statusErrors.tooManyRequests(1)
        // Discard the unread body, or the keep-alive connection never counts as idle again.
        req.raw.resume()
        return reply.code(err.code).header('retry-after', '1').send(err.toJSON())
      }
      this.inflight[kind]++
      this.metrics.inflight.set({ request_kind: kind }, this.inflight[kind])
      req.inflightKind = kind
      const timer = setTimeout(() => {
        if (reply.sent || reply.raw.headersSent) return
        const err = statusErrors.timeout(
          'request did not complete within requested timeout - context deadline exceeded',
          0,
        )
        reply.code(err.code).send(err.toJSON())
      }, timeoutMs)
      timer.unref()
      reply.raw.once('close', () => clearTimeout(timer))
      return undefined
    })
    this.app.addHook('onResponse', async (req, reply) => {
      const kind = req.inflightKind
      if (kind !== undefined) {
        this.inflight[kind]--
        this.metrics.inflight.set({ request_kind: kind }, this.inflight[kind])
      }
      const resource = resourceOf(req)
      const verb = verbOf(req)
      this.metrics.requests.inc({ verb, resource, code: String(reply.statusCode) })
      this.metrics.duration.observe({ verb, resource }, Number(process.hrtime.bigint() - req.startedAt) / 1e9)
      logger.debug(
        {
          method: req.method,
          url: req.url,
          code: reply.statusCode,
          ms: Number(process.hrtime.bigint() - req.startedAt) / 1e6,
        },
        'request',
      )
    })
  }

  private installErrorHandling(): void {
    const { logger } = this.opts
    this.app.setNotFoundHandler((_req, reply) => {
      const err = statusErrors.notFoundResource()
      return reply.code(err.code).send(err.toJSON())
    })
    this.app.setErrorHandler((error: unknown, _req: FastifyRequest, reply: FastifyReply) => {
      const err = toStatusError(error)
      if (err.code >= 500) logger.error({ err: error }, 'request failed')
      if (err.code === 429 && err.retryAfterSeconds !== undefined)
        reply.header('retry-after', String(err.retryAfterSeconds))
      return reply.code(err.code).send(err.toJSON())
    })
  }
}

/** Maps any failure to the Status the client gets: ours pass through, fastify's become kube's. */
export function toStatusError(error: unknown): StatusError {
  if (isStatusError(error)) return error
  const e = error as { code?: string; statusCode?: number; message?: string }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return statusErrors.requestEntityTooLarge(`limit is ${MAX_REQUEST_BODY_BYTES}`)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return statusErrors.unsupportedMediaType([
        'application/json',
        'application/yaml',
        'application/vnd.kubernetes.protobuf',
      ])
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return statusErrors.badRequest(
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
      )
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return statusErrors.badRequest(e.message ?? 'invalid content length')
  }
  if (e.statusCode === 400 || error instanceof SyntaxError)
    return statusErrors.badRequest(
      `the body of the request could not be decoded: ${e.message ?? String(error)}`,
    )
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return new StatusError({ code: e.statusCode, reason: 'BadRequest', message: e.message ?? 'bad request' })
  return statusErrors.internalError(e.message ?? String(error))
}

/** Watches (`?watch=true`, `/watch/` paths) are long-running: no in-flight slot, no timeout. */
function isLongRunning(req: FastifyRequest): boolean {
  return boolParam((req.query ?? {}) as Query, 'watch') || req.url.includes('/watch/')
}

/** Longest path segment the router takes (a wildcard route's rest of the path is one param). */
const MAX_PATH_PARAM_LENGTH = 1 << 20

/** fastify's router errors (frameworkErrors) as a Status. */
function frameworkStatus(error: { code?: string; message?: string }): StatusError {
  if (error.code === 'FST_ERR_BAD_URL') {
    // Go's url.EscapeError, which is what net/http finds in such a request line.
    const path = /'(.*)' is not a valid url component/.exec(error.message ?? '')?.[1] ?? ''
    const bad = /%(?![0-9a-fA-F]{2})/.exec(path)
    const badEscape = bad === null ? path : path.slice(bad.index, bad.index + 3)
    return statusErrors.badRequest(`invalid URL escape ${JSON.stringify(badEscape)}`)
  }
  return toStatusError(error)
}

/**
 * node's `clientError`: a request its HTTP parser refused (bad Content-Length or chunked framing,
 * an unknown method, headers over the limit) or that timed out before it was read. Answered, when
 * the socket can still take it, with a Status on a closing connection, as net/http answers these
 * with a plain 4xx and closes.
 */
function clientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  let status: StatusError
  if (err.code === 'HPE_HEADER_OVERFLOW')
    status = new StatusError({ code: 431, reason: 'BadRequest', message: 'Request Header Fields Too Large' })
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    status = new StatusError({ code: 408, reason: 'Timeout', message: 'Request Timeout' })
  else status = statusErrors.badRequest(`malformed HTTP request: ${err.message}`)
  writeRawStatus(socket, status)
}

/** Writes a whole HTTP/1.1 response carrying `err`'s Status straight to a socket, and closes it. */
function writeRawStatus(socket: Duplex, err: StatusError): void {
  if (socket.writable) {
    const body = JSON.stringify(err.toJSON())
    socket.write(
      `HTTP/1.1 ${err.code} ${STATUS_CODES[err.code] ?? 'Error'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    )
  }
  socket.end()
  // A client that never closes its side must not keep the socket.
  setTimeout(() => socket.destroy(), 1000).unref()
}

/** The resource a request is about, for metrics (`pods`, `deployments`, or `` for non-resource URLs). */
function resourceOf(req: FastifyRequest): string {
  const path = req.url.split('?')[0] ?? ''
  const parts = path.split('/').filter(Boolean)
  const start = parts[0] === 'api' ? 2 : parts[0] === 'apis' ? 3 : -1
  if (start < 0) return ''
  let rest = parts.slice(start)
  if (rest[0] === 'watch') rest = rest.slice(1)
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2)
  return rest[0] ?? ''
}

/** Kubernetes' verb for metrics (LIST vs GET, WATCH, APPLY is PATCH here). */
function verbOf(req: FastifyRequest): string {
  if (isLongRunning(req)) return 'WATCH'
  return req.method === 'HEAD' ? 'GET' : req.method
}
