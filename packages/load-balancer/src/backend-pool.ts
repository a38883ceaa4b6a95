/**
 * The backends and their live bookkeeping: health state (backend-state.ts), requests in flight, counts
 * for stats, a keep-alive agent each, and the balancing cursor. The set of backends can be replaced
 * at run time (--backends-from-endpoints); a backend kept across a replacement keeps its state.
 *
 * When a backend goes down because it stopped answering (check timeout or connection error, i.e.
 * dead or hung, as under SIGSTOP), the requests in flight on it are aborted so their clients get an
 * answer or a closed stream instead of a hang. A backend that answers its check with an error status
 * (an api-server shutting down fails /readyz first) is taken out of rotation but its in-flight
 * requests are left to finish.
 */
import http from 'node:http'
import https from 'node:https'
import type { Logger } from 'pino'
import {
  type BackendHealth,
  type BackendState,
  initialBackendState,
  observeCheck,
  observePassiveFailure,
  type Thresholds,
} from './backend-state.js'
import { chooseBackend } from './balancer.js'
import type { BalanceAlgorithm } from './config.js'
import type { LbErrorCode } from './errors.js'

/** Something in flight on a backend that can be cut short when the backend is found dead or hung. */
export interface InFlight {
  abort(reason: string): void
}

const NONE_TRIED: ReadonlySet<Backend> = new Set()

export class Backend {
  readonly url: URL
  /** `scheme://host:port`, the backend's identity in stats and logs. */
  readonly key: string
  readonly agent: http.Agent
  state: BackendState
  active = 0
  requests = 0
  errors = 0
  readonly inFlight = new Set<InFlight>()
  /** Set when the pool dropped it; its checks stop. */
  removed = false
  /**
   * When a response from it last started or ended (Date.now() ms; 0 before any): a backend that
   * answers is alive, however slowly its health checks come back.
   */
  lastProgressAtMs = 0
  /**
   * Down only because its checks time out while it still answers (health-checker.ts): alive. When no
   * backend is up, such backends still take requests: a slow answer beats a 503 for every client.
   */
  busy = false
  /**
   * A reused keep-alive connection to it was reset before any answer (http-balancer.ts): it may have
   * closed an idle socket, or died. Not reason enough to take it down, but not counted as a healthy
   * backend either when deciding between 502 and 503, until it answers something again.
   */
  suspect = false
  /** The target http-proxy is given, parsed once (http-proxy parses a string target per request). */
  readonly proxyTarget: { protocol: string; host: string; hostname: string; port: string; path: string }

  constructor(url: URL, agent: http.Agent, nowMs: number) {
    this.url = url
    this.key = url.origin
    this.agent = agent
    this.state = initialBackendState(nowMs)
    this.proxyTarget = {
      protocol: url.protocol,
      host: url.host,
      // An IPv6 literal without its brackets, as url.parse gives it and http.request wants it.
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port,
      path: '/',
    }
  }

  get up(): boolean {
    return this.state.health === 'up'
  }
}

export interface BackendStats {
  readonly url: string
  readonly state: BackendHealth
  readonly lastCheck: string | null
  readonly lastCheckError: string | null
  readonly consecutiveFailures: number
  readonly activeConnections: number
  readonly requests: number
  readonly errors: number
  readonly lastStateChange: string
}

/** What BackendPool.onUpdate reports. */
export type PoolUpdate =
  | { readonly kind: 'set' }
  | { readonly kind: 'check' | 'passive'; readonly backend: Backend; readonly error: string | undefined }

export interface BackendPoolOptions {
  readonly backends: readonly URL[]
  readonly balance: BalanceAlgorithm
  readonly thresholds: Thresholds
  /** Free pooled sockets to a backend are closed after this long. */
  readonly idleTimeoutMs: number
  /** CA bundle for https:// backends; undefined uses Node's roots. */
  readonly ca: string | Buffer | undefined
  readonly log: Logger
  readonly now?: () => number
  /** Called for each backend added (the health checker starts its loop). */
  readonly onAdded?: (b: Backend) => void
}

export class BackendPool {
  private list: Backend[] = []
  private cursor = 0
  private readonly opts: BackendPoolOptions
  private readonly now: () => number
  /** Fires on every state change (stats listeners, tests). */
  onChange: ((b: Backend, health: BackendHealth) => void) | undefined
  /**
   * Fires after every observation (a check, a passive failure) and every change of the set, changed
   * or not: a multi-worker primary sends the new state to its workers, a worker reports its passive
   * failures to the primary (cluster-*.ts).
   */
  onUpdate: ((event: PoolUpdate) => void) | undefined
  /** Fires when what is in flight on a backend is cut (it was found dead or hung). */
  onCut: ((b: Backend, reason: string) => void) | undefined

  constructor(opts: BackendPoolOptions) {
    this.opts = opts
    this.now = opts.now ?? Date.now
    this.setBackends(opts.backends)
  }

  get backends(): readonly Backend[] {
    return this.list
  }

  /** Replaces the set of backends; ones already known keep their state and agent. */
  setBackends(urls: readonly URL[]): void {
    const byKey = new Map(this.list.map((b) => [b.key, b]))
    const next: Backend[] = []
    const seen = new Set<string>()
    for (const u of urls) {
      if (seen.has(u.origin)) continue
      seen.add(u.origin)
      const existing = byKey.get(u.origin)
      if (existing !== undefined) {
        next.push(existing)
        byKey.delete(u.origin)
        continue
      }
      const b = new Backend(u, this.newAgent(u), this.now())
      next.push(b)
      this.opts.log.info({ backend: b.key }, 'backend added')
      this.opts.onAdded?.(b)
    }
    for (const gone of byKey.values()) {
      // A backend leaving the Endpoints may be an api-server shutting down gracefully: what is in
      // flight on it finishes (releaseIfRemoved closes its pool after the last one); idle sockets go now.
      gone.removed = true
      destroyFreeSockets(gone.agent)
      this.releaseIfRemoved(gone)
      this.opts.log.info({ backend: gone.key }, 'backend removed')
    }
    this.list = next
    this.onUpdate?.({ kind: 'set' })
  }

  /**
   * The backend for the next request, skipping those already tried for it; when none is up, a busy
   * one (down for slow checks, still answering).
   */
  pick(tried: ReadonlySet<Backend> = NONE_TRIED): Backend | undefined {
    const triedIdx = new Set<number>()
    if (tried.size > 0)
      this.list.forEach((b, i) => {
        if (tried.has(b)) triedIdx.add(i)
      })
    let c = chooseBackend(this.list, this.opts.balance, this.cursor, triedIdx)
    if (c.index === undefined && this.list.some((b) => b.busy))
      c = chooseBackend(
        this.list.map((b) => ({ up: b.busy, active: b.active })),
        this.opts.balance,
        this.cursor,
        triedIdx,
      )
    this.cursor = c.cursor
    return c.index === undefined ? undefined : this.list[c.index]
  }

  /**
   * An active check finished; `dead` says the backend did not answer at all (timeout, refused) and
   * was not seen answering anything else meanwhile. A backend already down that is found dead now
   * (a busy one that stopped answering) has what is still in flight on it cut, as at the transition.
   */
  recordCheck(b: Backend, error: string | undefined, dead: boolean, busy = false): void {
    b.busy = error !== undefined && busy && !dead
    if (error === undefined) b.suspect = false
    const t = observeCheck(b.state, error, this.now(), this.opts.thresholds)
    this.apply(b, t.state, t.changed, error, dead)
    if (t.changed === undefined && dead && !b.up && b.inFlight.size > 0) this.cut(b, error)
    this.onUpdate?.({ kind: 'check', backend: b, error })
  }

  /** A proxied connection was refused or reset. */
  recordPassiveFailure(b: Backend, error: string): void {
    b.busy = false
    const t = observePassiveFailure(b.state, error, this.now(), this.opts.thresholds)
    this.apply(b, t.state, t.changed, error, true)
    this.onUpdate?.({ kind: 'passive', backend: b, error })
  }

  /** Some backend is up and not suspect: a request that found none to try met failures, not an outage. */
  anyHealthy(): boolean {
    return this.list.some((b) => b.up && !b.suspect)
  }

  /** Closes a backend's idle pooled sockets (one was found reset: the others likely are too). */
  dropIdle(b: Backend): void {
    destroyFreeSockets(b.agent)
  }

  stats(): BackendStats[] {
    return this.list.map((b) => ({
      url: b.key,
      state: b.state.health,
      lastCheck: b.state.lastCheckAtMs === undefined ? null : new Date(b.state.lastCheckAtMs).toISOString(),
      lastCheckError: b.state.lastCheckError ?? null,
      consecutiveFailures: b.state.consecutiveFailures,
      activeConnections: b.active,
      requests: b.requests,
      errors: b.errors,
      lastStateChange: new Date(b.state.lastChangeAtMs).toISOString(),
    }))
  }

  /** Closes a removed backend's connection pool once nothing is in flight on it. */
  releaseIfRemoved(b: Backend): void {
    if (b.removed && b.active === 0) b.agent.destroy()
  }

  /** Cuts everything in flight (shutdown). */
  abortAll(reason: string): void {
    for (const b of this.list) for (const f of [...b.inFlight]) f.abort(reason)
  }

  close(): void {
    for (const b of this.list) {
      b.removed = true
      b.agent.destroy()
    }
  }

  private apply(
    b: Backend,
    state: BackendState,
    changed: BackendHealth | undefined,
    error: string | undefined,
    dead: boolean,
  ): void {
    b.state = state
    if (changed === undefined) return
    if (changed === 'down') this.opts.log.warn({ backend: b.key, error }, 'backend down')
    else this.opts.log.info({ backend: b.key }, 'backend up')
    if (changed === 'down' && !this.list.some((x) => x.up)) {
      const code: LbErrorCode = 'LB_ERR_NO_HEALTHY_BACKEND'
      this.opts.log.error({ code }, 'no backend up; answering 503 until one passes its checks')
    }
    this.onChange?.(b, changed)
    if (changed === 'down' && dead) this.cut(b, error)
  }

  /**
   * The backend is dead or hung: cut what is in flight on it and its pooled sockets. Public for a
   * worker told so by its primary, which runs the checks.
   */
  cut(b: Backend, error: string | undefined): void {
    // Drop pooled sockets too: a reused socket to a hung process would hang the next request.
    b.agent.destroy()
    const reason = `backend ${b.key} is down: ${error ?? 'unknown error'}`
    for (const f of [...b.inFlight]) f.abort(reason)
    this.onCut?.(b, error ?? 'unknown error')
  }

  private newAgent(u: URL): http.Agent {
    const common = { keepAlive: true, timeout: this.opts.idleTimeoutMs, scheduling: 'lifo' as const }
    return u.protocol === 'https:'
      ? new https.Agent({ ...common, ...(this.opts.ca !== undefined && { ca: this.opts.ca }) })
      : new http.Agent(common)
  }
}

function destroyFreeSockets(agent: http.Agent): void {
  for (const list of Object.values(agent.freeSockets)) for (const s of list ?? []) s.destroy()
}
