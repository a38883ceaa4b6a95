/**
 * One running hakube-lb: the listener (HTTP, HTTPS when terminating TLS, or raw TCP), the backend
 * pool with its health checks, the optional stats server, and the SIGTERM drain: stop accepting,
 * end watches, let other requests finish for up to the grace period, then cut what is left.
 *
 * As one of several workers (--workers, cluster-worker.ts) it has no health checks, no stats server and
 * logs no backend state change: its primary runs the checks and sends it the states.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import type { Logger } from 'pino'
import { BackendPool } from './backend-pool.js'
import type { LbConfig } from './config.js'
import { HealthChecker } from './health-checker.js'
import { HttpBalancer } from './http-balancer.js'
import type { StatsSource } from './stats-server.js'
import { TcpBalancer } from './tcp-balancer.js'

export interface ListeningPorts {
  readonly port: number
  /** undefined when --stats-port is 0. */
  readonly statsPort: number | undefined
}

export class LoadBalancer {
  readonly pool: BackendPool
  readonly stats: StatsSource
  /** The CA bundle for https:// backends, when --backend-ca-file is given. */
  readonly backendCa: Buffer | undefined
  private readonly config: LbConfig
  private readonly log: Logger
  private readonly checker: HealthChecker | undefined
  private readonly role: 'single' | 'worker'
  private readonly http: HttpBalancer | undefined
  private readonly tcp: TcpBalancer | undefined
  private readonly server: net.Server
  private statsServer: http.Server | undefined
  private closing: Promise<void> | undefined

  constructor(config: LbConfig, log: Logger, role: 'single' | 'worker' = 'single') {
    this.config = config
    this.log = log
    this.role = role
    const { pool, checker, ca } = createCheckedPool(config, log, role === 'single')
    this.backendCa = ca
    this.pool = pool
    this.checker = checker
    if (config.mode === 'tcp') {
      const tcp = new TcpBalancer({
        pool: this.pool,
        log: log.child({ component: 'tcp' }),
        connectTimeoutMs: config.connectTimeoutMs,
      })
      this.tcp = tcp
      this.server = net.createServer({ pauseOnConnect: true, noDelay: true }, (s) => tcp.handle(s))
    } else {
      const hb = new HttpBalancer({
        pool: this.pool,
        log: log.child({ component: 'http' }),
        connectTimeoutMs: config.connectTimeoutMs,
        ...(ca !== undefined && { ca }),
      })
      this.http = hb
      const serverOpts: http.ServerOptions = {
        // Streams (watches) never time out here; only an idle keep-alive connection does.
        requestTimeout: 0,
        keepAliveTimeout: config.idleTimeoutMs,
        noDelay: true,
      }
      const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => hb.handle(req, res)
      const server =
        config.tls === undefined
          ? http.createServer(serverOpts, onRequest)
          : https.createServer(
              {
                ...serverOpts,
                cert: readFileSync(config.tls.certFile),
                key: readFileSync(config.tls.keyFile),
              },
              onRequest,
            )
      server.headersTimeout = Math.min(60_000, config.idleTimeoutMs + 1000)
      server.timeout = 0
      server.on('upgrade', (req, socket, head) => hb.handleUpgrade(req, socket, head))
      server.on('clientError', (_err, socket) => socket.destroy())
      this.server = server
    }
    // --max-connections bounds the whole balancer: each of N workers takes its share.
    if (config.maxConnections > 0)
      this.server.maxConnections =
        role === 'worker' ? Math.ceil(config.maxConnections / config.workers) : config.maxConnections
    const balancer = this.http ?? this.tcp
    this.stats = {
      mode: config.mode,
      backends: () => this.pool.stats(),
      counters: () => ({ ...(balancer as HttpBalancer | TcpBalancer).counters }),
    }
  }

  /** Listens on --port (and --stats-port); rejects with the listen error (EADDRINUSE...). */
  async start(): Promise<ListeningPorts> {
    await listen(this.server, this.config.port, this.config.bindAddress)
    let statsPort: number | undefined
    if (this.config.statsPort !== 0 && this.role === 'single') {
      // Loaded only when asked for: prom-client is the slowest module to load, and hakube-lb must
      // serve within half a second of its start.
      const { createStatsServer } = await import('./stats-server.js')
      this.statsServer = createStatsServer(this.stats)
      await listen(this.statsServer, this.config.statsPort, this.config.bindAddress)
      statsPort = (this.statsServer.address() as AddressInfo).port
    }
    return { port: (this.server.address() as AddressInfo).port, statsPort }
  }

  get inFlight(): number {
    return (this.http ?? this.tcp)?.inFlight ?? 0
  }

  /** The SIGTERM drain. Resolves when everything is closed. */
  shutdown(graceMs = this.config.shutdownGraceMs): Promise<void> {
    this.closing ??= this.drain(graceMs)
    return this.closing
  }

  private async drain(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    if (this.server instanceof http.Server) this.server.closeIdleConnections()
    this.http?.endWatches()
    const deadline = Date.now() + graceMs
    while (this.inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
      if (this.server instanceof http.Server) this.server.closeIdleConnections()
    }
    if (this.inFlight > 0)
      this.log.warn({ inFlight: this.inFlight }, 'shutdown grace over; cutting requests still in flight')
    this.http?.abortAll()
    this.tcp?.abortAll()
    if (this.server instanceof http.Server) this.server.closeAllConnections()
    this.checker?.stop()
    this.pool.close()
    await closed
    if (this.statsServer !== undefined) {
      const s = this.statsServer
      await new Promise<void>((resolve) => {
        s.close(() => resolve())
        s.closeAllConnections()
      })
    }
  }
}

/**
 * The backend pool, with its health checker when `checks` (a single process, or a multi-worker
 * primary; a worker's pool is driven by its primary's states and logs nothing about them).
 */
export function createCheckedPool(
  config: LbConfig,
  log: Logger,
  checks: boolean,
): { pool: BackendPool; checker: HealthChecker | undefined; ca: Buffer | undefined } {
  const ca = config.backendCaFile === undefined ? undefined : readFileSync(config.backendCaFile)
  let checker: HealthChecker | undefined
  const pool = new BackendPool({
    backends: [],
    balance: config.balance,
    thresholds: { fall: config.fall, rise: config.rise },
    idleTimeoutMs: config.idleTimeoutMs,
    ca,
    log: checks ? log.child({ component: 'pool' }) : log.child({ component: 'pool' }, { level: 'silent' }),
    onAdded: (b) => checker?.watch(b),
  })
  if (checks)
    checker = new HealthChecker(pool, {
      path: config.healthPath,
      intervalMs: config.healthIntervalMs,
      timeoutMs: config.healthTimeoutMs,
      ca,
      verify: config.mode === 'http' || ca !== undefined,
    })
  pool.setBackends(config.backends)
  return { pool, checker, ca }
}

export function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}
