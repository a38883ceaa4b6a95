/**
 * Observability: `GET /stats` (JSON: each backend's state, last check, consecutive failures, active
 * connections, requests, errors, time of the last state change, plus the balancer's own counters) and
 * `GET /metrics` (Prometheus text, prom-client), on --stats-port. Values are read from the pool when
 * scraped, so nothing is counted twice. With --workers above 1 the primary serves them, summing what its
 * workers count (cluster-primary.ts gathers their counts before each answer).
 */
import http from 'node:http'
import { Counter, Gauge, Registry } from 'prom-client'
import type { BackendStats } from './backend-pool.js'

export interface BalancerCounters {
  readonly retries: number
  readonly noBackend: number
  readonly badGateway: number
  readonly aborted: number
}

/** One worker process (--workers above 1): what it has in flight and sent, and its view of each backend. */
export interface WorkerStats {
  readonly id: number
  readonly pid: number | undefined
  readonly inFlight: number
  readonly backends: ReadonlyArray<{
    readonly url: string
    readonly state: string
    readonly requests: number
  }>
}

export interface StatsSource {
  readonly mode: 'http' | 'tcp'
  backends(): BackendStats[]
  counters(): BalancerCounters
  /** With --workers above 1: each worker (its counts are in backends() and counters() already). */
  workers?(): WorkerStats[]
  /** Runs before each answer, so that backends() and counters() read fresh values (workers' counts). */
  refresh?(): Promise<void>
}

export interface StatsBody {
  readonly mode: 'http' | 'tcp'
  readonly backends: BackendStats[]
  readonly counters: BalancerCounters
  readonly workers?: WorkerStats[]
}

export function statsBody(src: StatsSource): StatsBody {
  const body = { mode: src.mode, backends: src.backends(), counters: src.counters() }
  return src.workers === undefined ? body : { ...body, workers: src.workers() }
}

/** A Registry with hakube-lb's metrics, collected from `src` at each scrape. */
export function metricsRegistry(src: StatsSource): Registry {
  const registry = new Registry()
  const perBackend = (name: string, help: string, value: (b: BackendStats) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['backend'],
      registers: [registry],
      collect() {
        this.reset()
        for (const b of src.backends()) this.set({ backend: b.url }, value(b))
      },
    })
  }
  perBackend('hakube_lb_backend_up', '1 when the backend is in rotation, 0 when it is down.', (b) =>
    b.state === 'up' ? 1 : 0,
  )
  perBackend(
    'hakube_lb_backend_active_connections',
    'Requests (http) or connections (tcp) in flight on the backend.',
    (b) => b.activeConnections,
  )
  // The pool keeps these counts; each scrape adds what grew since the last one, per backend.
  const perBackendCounter = (name: string, help: string, value: (b: BackendStats) => number): void => {
    const last = new Map<string, number>()
    new Counter({
      name,
      help,
      labelNames: ['backend'],
      registers: [registry],
      collect() {
        for (const b of src.backends()) {
          const v = value(b)
          this.inc({ backend: b.url }, Math.max(0, v - (last.get(b.url) ?? 0)))
          last.set(b.url, v)
        }
      },
    })
  }
  perBackendCounter(
    'hakube_lb_backend_requests_total',
    'Requests (or connections) sent to the backend, retries included.',
    (b) => b.requests,
  )
  perBackendCounter(
    'hakube_lb_backend_errors_total',
    'Attempts on the backend that failed (connection or response errors).',
    (b) => b.errors,
  )
  perBackend(
    'hakube_lb_backend_consecutive_check_failures',
    'Health checks failed in a row.',
    (b) => b.consecutiveFailures,
  )
  const counter = (name: string, help: string, value: (c: BalancerCounters) => number): void => {
    let last = 0
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = value(src.counters())
        this.inc(Math.max(0, v - last))
        last = v
      },
    })
  }
  counter(
    'hakube_lb_retries_total',
    'Requests sent again to another backend after a failure clients did not see.',
    (c) => c.retries,
  )
  counter(
    'hakube_lb_no_backend_total',
    'Requests answered 503 because no backend was up.',
    (c) => c.noBackend,
  )
  counter(
    'hakube_lb_bad_gateway_total',
    'Requests answered 502 because their backend failed and they could not be replayed.',
    (c) => c.badGateway,
  )
  counter(
    'hakube_lb_streams_cut_total',
    'Responses ended early because their backend died mid-stream.',
    (c) => c.aborted,
  )
  return registry
}

/** The stats HTTP server (not yet listening). */
export function createStatsServer(src: StatsSource): http.Server {
  const registry = metricsRegistry(src)
  return http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (src.refresh === undefined) answer(req, res)
    else
      src.refresh().then(
        () => answer(req, res),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      )
  })

  function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/stats') {
      const body = JSON.stringify(statsBody(src), null, 2)
      res.writeHead(200, { 'content-type': 'application/json' }).end(body)
      return
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      )
      return
    }
    if (path === '/healthz') {
      const anyUp = src.backends().some((b) => b.state === 'up')
      res.writeHead(anyUp ? 200 : 503, { 'content-type': 'text/plain' }).end(anyUp ? 'ok' : 'no backend up')
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /stats or /metrics')
  }
}
