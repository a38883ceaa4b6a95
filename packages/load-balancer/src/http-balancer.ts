/**
 * HTTP mode: each request goes through http-proxy to a backend chosen by the pool, and the failures
 * clients must not see are absorbed here. A request that could not reach a backend, or an idempotent
 * one that failed before any response byte, is sent to another backend (retry-policy.ts); one that
 * may have been applied gets a 502 Status; no backend up gets a 503 Status. A response that has
 * started streams with no timeout; if its backend dies the client's stream ends at once (a watch
 * cleanly, so informers re-list; any other response by a cut connection, so a truncated body is never
 * taken for a whole one). HTTP/1.1 upgrades (exec, port-forward) pass through.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex, Readable } from 'node:stream'
import type { Status } from '@hakube/api'
import httpProxy from 'http-proxy'
import type { Logger } from 'pino'
import type { Backend, BackendPool, InFlight } from './backend-pool.js'
import { backendFailedStatus, type LbErrorCode, noHealthyBackendStatus } from './errors.js'
import { bodyStream, type HeldBody, holdBody } from './request-body.js'
import { decideRetry, type FailureStage, isIdempotent } from './retry-policy.js'
import { proxyUpgrade } from './upgrade-proxy.js'

/** Counters the stats server reports. */
export interface ProxyCounters {
  retries: number
  noBackend: number
  badGateway: number
  aborted: number
}

export interface HttpBalancerOptions {
  readonly pool: BackendPool
  readonly log: Logger
  readonly connectTimeoutMs: number
  /** Attempts per request, the first included (default: one per backend, at least 2). */
  readonly maxAttempts?: number
  /** CA bundle for https:// backends (upgrades open their own connections). */
  readonly ca?: string | Buffer
}

/** Errors that mean the backend never saw the request: the connection itself was not made. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'LB_CONNECT_TIMEOUT',
])

/** `?watch=true` or a `/watch/` path: a stream a dead backend ends cleanly. */
export function isWatchRequest(url: string | undefined): boolean {
  // Most requests are not watches: one substring test spares them the regex and the query parse.
  if (url === undefined || !url.includes('watch')) return false
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  if (/^\/(?:api\/[^/]+|apis\/[^/]+\/[^/]+)\/watch\//.test(path)) return true
  if (q < 0) return false
  const watch = new URLSearchParams(url.slice(q + 1)).get('watch')
  return watch === 'true' || watch === '1'
}

interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly watch: boolean
  body: HeldBody | undefined
  tried: Set<Backend>
  attempt: number
  backend: Backend | undefined
  proxyReq: import('node:http').ClientRequest | undefined
  connected: boolean
  reusedSocket: boolean
  /** The attempt's socket and its byte count when given to this request (whether anything was sent). */
  socket: Socket | undefined
  socketBytesAtStart: number
  /** The one retry a reset on a reused connection earns has been spent. */
  reusedRetried: boolean
  responseStarted: boolean
  finished: boolean
  handle: InFlight | undefined
}

export class HttpBalancer {
  readonly counters: ProxyCounters = { retries: 0, noBackend: 0, badGateway: 0, aborted: 0 }
  private readonly proxy: httpProxy
  private readonly exchanges = new WeakMap<IncomingMessage, Exchange>()
  private readonly live = new Set<Exchange>()
  private readonly opts: HttpBalancerOptions

  constructor(opts: HttpBalancerOptions) {
    this.opts = opts
    // No proxyTimeout and no timeout: watches and long responses stream as long as the backend does.
    this.proxy = httpProxy.createProxyServer({ xfwd: false, secure: true })
    this.proxy.on('proxyReq', (proxyReq, req) => this.onProxyReq(proxyReq, req))
    this.proxy.on('proxyRes', (proxyRes, req) => this.onProxyRes(proxyRes, req))
    // Errors without a callback (none expected: every call passes one) must not crash the process.
    this.proxy.on('error', (err) => opts.log.debug({ err }, 'proxy error'))
  }

  /** Requests in flight now (for draining). */
  get inFlight(): number {
    return this.live.size
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const ex: Exchange = {
      req,
      res,
      watch: isWatchRequest(req.url),
      body: undefined,
      tried: new Set(),
      attempt: 0,
      backend: undefined,
      proxyReq: undefined,
      connected: false,
      reusedSocket: false,
      socket: undefined,
      socketBytesAtStart: 0,
      reusedRetried: false,
      responseStarted: false,
      finished: false,
      handle: undefined,
    }
    this.exchanges.set(req, ex)
    this.live.add(ex)
    res.on('close', () => this.finish(ex))
    holdBody(req).then(
      (body) => {
        ex.body = body
        this.attempt(ex)
      },
      () => res.destroy(),
    )
  }

  /** Ends every watch cleanly (shutdown: clients re-watch through another balancer or after restart). */
  endWatches(): void {
    for (const ex of this.live)
      if (ex.watch && ex.responseStarted) this.endClientStream(ex, 'load balancer shutting down')
  }

  /** Cuts every exchange still open (shutdown grace over). */
  abortAll(): void {
    for (const ex of [...this.live]) {
      ex.proxyReq?.destroy()
      ex.res.destroy()
    }
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, tried = new Set<Backend>()): void {
    const b = this.opts.pool.pick(tried)
    if (b === undefined) {
      this.counters.noBackend++
      writeRawStatus(socket, noHealthyBackendStatus())
      return
    }
    tried.add(b)
    b.requests++
    b.active++
    let backendSocket: Duplex | undefined
    const handle: InFlight = {
      abort: () => {
        backendSocket?.destroy()
        socket.destroy()
      },
    }
    b.inFlight.add(handle)
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      b.active--
      b.inFlight.delete(handle)
    }
    socket.once('close', release)
    proxyUpgrade(
      req,
      socket,
      head,
      { url: b.url, ca: this.opts.ca },
      {
        onPiped: (s) => {
          backendSocket = s
        },
        onError: (code, connected) => {
          b.errors++
          release()
          socket.off('close', release)
          // Opening an upgrade is a GET: retried unless the backend may have started answering it.
          if (!connected && CONNECT_ERRORS.has(code)) this.opts.pool.recordPassiveFailure(b, code)
          if (!socket.destroyed && (!connected || req.method === 'GET')) {
            this.counters.retries++
            this.handleUpgrade(req, socket, head, tried)
            return
          }
          socket.destroy()
        },
      },
    )
  }

  private attempt(ex: Exchange): void {
    if (ex.finished) return
    const b = this.opts.pool.pick(ex.tried)
    if (b === undefined) {
      if (ex.backend !== undefined && this.opts.pool.anyHealthy()) {
        this.sendStatus(ex, backendFailedStatus(ex.backend.key, 'every api-server tried failed', true))
        return
      }
      this.counters.noBackend++
      this.sendStatus(ex, noHealthyBackendStatus())
      return
    }
    ex.attempt++
    ex.tried.add(b)
    ex.backend = b
    ex.proxyReq = undefined
    ex.connected = false
    ex.reusedSocket = false
    ex.socket = undefined
    b.requests++
    b.active++
    const attemptNo = ex.attempt
    const handle: InFlight = { abort: (reason) => this.onBackendAbort(ex, attemptNo, reason) }
    ex.handle = handle
    b.inFlight.add(handle)
    const body = ex.body as HeldBody
    this.proxy.web(
      ex.req,
      ex.res,
      { target: b.proxyTarget, agent: b.agent, buffer: bodyStream(body) as Readable },
      (err: NodeJS.ErrnoException) => {
        if (attemptNo !== ex.attempt || ex.finished) return
        this.onAttemptError(ex, b, err.code ?? err.message)
      },
    )
  }

  private release(ex: Exchange): void {
    const b = ex.backend
    if (b === undefined || ex.handle === undefined) return
    if (b.inFlight.delete(ex.handle)) b.active--
    ex.handle = undefined
    this.opts.pool.releaseIfRemoved(b)
  }

  private onProxyReq(proxyReq: import('node:http').ClientRequest, req: IncomingMessage): void {
    const ex = this.exchanges.get(req)
    if (ex === undefined) return
    ex.proxyReq = proxyReq
    // The agent decides synchronously whether a pooled socket is reused; it hands the socket over on
    // the next tick, so what needs the socket waits for its 'socket' event.
    ex.reusedSocket = proxyReq.reusedSocket
    // A pooled socket is connected (and past its TLS handshake) already.
    if (proxyReq.reusedSocket) ex.connected = true
    const attemptNo = ex.attempt
    const onSocket = (socket: Socket): void => {
      if (attemptNo !== ex.attempt) return
      ex.socket = socket
      ex.socketBytesAtStart = socket.bytesWritten
      if (ex.connected) return
      // A fresh TLS socket counts as connected only once the handshake is done, since nothing reaches
      // the backend before that.
      const connectEvent = 'encrypted' in socket && socket.encrypted ? 'secureConnect' : 'connect'
      if (!socket.connecting && connectEvent === 'connect') {
        ex.connected = true
        return
      }
      const timer = setTimeout(() => {
        if (attemptNo !== ex.attempt || ex.connected) return
        const err: NodeJS.ErrnoException = new Error('connect timeout')
        err.code = 'LB_CONNECT_TIMEOUT'
        proxyReq.destroy(err)
      }, this.opts.connectTimeoutMs)
      socket.once(connectEvent, () => {
        clearTimeout(timer)
        if (attemptNo === ex.attempt) ex.connected = true
      })
      socket.once('close', () => clearTimeout(timer))
    }
    if (proxyReq.socket !== null) onSocket(proxyReq.socket as Socket)
    else proxyReq.once('socket', onSocket)
  }

  private onProxyRes(proxyRes: IncomingMessage, req: IncomingMessage): void {
    const ex = this.exchanges.get(req)
    if (ex === undefined) return
    ex.responseStarted = true
    const attemptNo = ex.attempt
    // The backend answers: alive, however slow its health checks (health-checker.ts reads this).
    const b = ex.backend
    if (b !== undefined) {
      b.lastProgressAtMs = Date.now()
      b.suspect = false
    }
    // A streamed response (no content-length: a watch, `logs -f`) passes its headers on at once, as
    // Go's reverse proxy flushes them: http-proxy would send them with the first body chunk only, and
    // a watch with no event yet would leave its client waiting for headers until one comes.
    if (proxyRes.headers['content-length'] === undefined)
      process.nextTick(() => {
        if (!ex.finished && !ex.res.headersSent) ex.res.flushHeaders()
      })
    proxyRes.on('close', () => {
      if (proxyRes.complete && b !== undefined) b.lastProgressAtMs = Date.now()
      // A client that went away first (kubectl's `get -w` ended) is not the backend's failure.
      if (attemptNo !== ex.attempt || proxyRes.complete || ex.finished) return
      // The backend's response stopped before its end: the backend died or its connection broke.
      if (ex.backend !== undefined) ex.backend.errors++
      this.endClientStream(ex, 'backend connection lost')
    })
  }

  private onAttemptError(ex: Exchange, b: Backend, code: string): void {
    this.release(ex)
    b.errors++
    const stage: FailureStage = !ex.connected && CONNECT_ERRORS.has(code) ? 'connect' : 'sent'
    // A refused connection, or a reset of a fresh one, means the process is gone. A reset of a reused
    // keep-alive socket may only be the backend closing an idle connection, so checks decide that.
    if (stage === 'connect' || (code === 'ECONNRESET' && !ex.reusedSocket))
      this.opts.pool.recordPassiveFailure(b, code)
    if (ex.reusedSocket && !ex.responseStarted && (code === 'ECONNRESET' || code === 'EPIPE')) {
      if (this.retryAfterReusedReset(ex, b)) return
    }
    this.retryOrFail(ex, b, stage, code)
  }

  /**
   * A reused keep-alive connection was reset before any answer: the backend may only have closed it
   * idle (the request then never reached it), or died. Its idle sockets go (they are likely reset too)
   * and it is suspect. The request gets one retry on a fresh connection, to this backend or another,
   * as Go's transport does: an idempotent one always, any other only if nothing of it was written to
   * the socket (it cannot have reached the backend). A fresh connection to a dead backend is refused,
   * which marks it down, so when every backend dies at once the client gets the 503 Status.
   */
  private retryAfterReusedReset(ex: Exchange, b: Backend): boolean {
    b.suspect = true
    this.opts.pool.dropIdle(b)
    if (ex.reusedRetried || ex.body?.replayable !== true) return false
    const nothingWritten = ex.socket !== undefined && ex.socket.bytesWritten === ex.socketBytesAtStart
    if (!isIdempotent(ex.req.method ?? 'GET') && !nothingWritten) return false
    ex.reusedRetried = true
    ex.tried.delete(b)
    this.counters.retries++
    this.opts.log.debug(
      { backend: b.key, method: ex.req.method, url: ex.req.url },
      'reused connection reset; retrying',
    )
    // attempt() numbers the new attempt, which makes the failed one's late events inert.
    this.attempt(ex)
    return true
  }

  private onBackendAbort(ex: Exchange, attemptNo: number, reason: string): void {
    if (attemptNo !== ex.attempt || ex.finished) return
    const b = ex.backend as Backend
    if (ex.responseStarted) {
      this.release(ex)
      this.endClientStream(ex, reason)
      return
    }
    // Move on to the next attempt before destroying, so the old attempt's error is ignored.
    const stage: FailureStage = ex.connected ? 'sent' : 'connect'
    const proxyReq = ex.proxyReq
    this.release(ex)
    b.errors++
    this.retryOrFail(ex, b, stage, reason)
    proxyReq?.destroy()
  }

  private retryOrFail(ex: Exchange, b: Backend, stage: FailureStage, cause: string): void {
    const decision = decideRetry({
      method: ex.req.method ?? 'GET',
      stage,
      responseStarted: ex.responseStarted || ex.res.headersSent,
      bodyReplayable: ex.body?.replayable ?? false,
      attempts: ex.attempt,
      // The free retry after a reset on a reused connection (Go's rule) does not use up the budget.
      maxAttempts:
        (this.opts.maxAttempts ?? Math.max(2, this.opts.pool.backends.length)) + (ex.reusedRetried ? 1 : 0),
    })
    this.opts.log.debug(
      { backend: b.key, cause, stage, method: ex.req.method, url: ex.req.url, decision: decision.action },
      'proxy attempt failed',
    )
    if (decision.action === 'retry') {
      this.counters.retries++
      // attempt() numbers the new attempt, which makes the failed one's late events inert (counting
      // here too spent two of the budget per retry).
      this.attempt(ex)
      return
    }
    if (decision.action === 'abort') {
      this.endClientStream(ex, cause)
      return
    }
    if (decision.replayable && !this.opts.pool.anyHealthy()) {
      // Nothing was applied and nothing is left to try: the same answer as a request arriving now.
      this.counters.noBackend++
      this.sendStatus(ex, noHealthyBackendStatus())
      return
    }
    this.counters.badGateway++
    this.opts.log.warn(
      {
        code: 'LB_ERR_BACKEND_FAILED' satisfies LbErrorCode,
        backend: b.key,
        cause,
        method: ex.req.method,
        url: ex.req.url,
      },
      'request failed on its backend and could not be replayed',
    )
    this.sendStatus(ex, backendFailedStatus(b.key, cause, decision.replayable))
  }

  /** The response has started and its backend is gone: end a watch cleanly, cut anything else. */
  private endClientStream(ex: Exchange, reason: string): void {
    if (ex.finished) return
    this.counters.aborted++
    this.opts.log.debug({ url: ex.req.url, reason, watch: ex.watch }, 'ending client stream')
    ex.proxyReq?.destroy()
    if (ex.watch) ex.res.end()
    else ex.res.destroy()
  }

  private sendStatus(ex: Exchange, status: Status): void {
    if (ex.res.headersSent) {
      ex.res.destroy()
      return
    }
    const body = JSON.stringify(status)
    ex.res.writeHead(status.code, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(status.details?.retryAfterSeconds !== undefined && {
        'retry-after': String(status.details.retryAfterSeconds),
      }),
    })
    ex.res.end(body)
  }

  private finish(ex: Exchange): void {
    if (ex.finished) return
    ex.finished = true
    this.release(ex)
    this.live.delete(ex)
    // The client left (or the response ended): a request still going to a backend is useless now.
    if (!ex.res.writableFinished) ex.proxyReq?.destroy()
  }
}

/** A Status on a raw socket (an upgrade request that found no backend). */
function writeRawStatus(socket: Duplex, status: Status): void {
  const body = JSON.stringify(status)
  socket.end(
    `HTTP/1.1 ${status.code} ${status.code === 503 ? 'Service Unavailable' : 'Bad Gateway'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}
