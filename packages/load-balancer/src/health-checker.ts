/**
 * Active health checks: every interval, `GET <health-path>` on a fresh connection to each backend
 * (like HAProxy's `option httpchk`, a pooled socket would hide a backend that stopped accepting),
 * answered 200 within the timeout or it fails. Results go to the pool, which applies fall/rise.
 */
import http from 'node:http'
import https from 'node:https'
import type { Backend, BackendPool } from './backend-pool.js'

export interface HealthCheckOptions {
  readonly path: string
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly ca: string | Buffer | undefined
  /**
   * Verify an https:// backend's certificate. Off only in TCP mode without --backend-ca-file: the
   * check reads a status code and sends nothing secret, as HAProxy's `check-ssl verify none` in kind.
   */
  readonly verify?: boolean
}

export interface CheckResult {
  /** undefined: passed. */
  readonly error: string | undefined
  /** The backend did not answer at all (refused, reset, timeout), as opposed to answering non-200. */
  readonly dead: boolean
  /** The check ran out of time (the one failure a busy backend and a hung one both give). */
  readonly timedOut?: boolean
}

/** One check. Never rejects. */
export function checkOnce(url: URL, opts: Omit<HealthCheckOptions, 'intervalMs'>): Promise<CheckResult> {
  return new Promise((resolve) => {
    let settled = false
    const done = (r: CheckResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      resolve(r)
    }
    const mod = url.protocol === 'https:' ? https : http
    const req = mod.request(new URL(opts.path, url), {
      method: 'GET',
      agent: false,
      headers: { accept: 'text/plain', 'user-agent': 'hakube-lb/health-check' },
      ...(opts.ca !== undefined && { ca: opts.ca }),
      ...(opts.verify === false && { rejectUnauthorized: false }),
    })
    // Node runs expired timers before it polls I/O: a balancer whose loop was held up past the
    // timeout would time out an answer already waiting in its socket. The verdict waits for the poll
    // phase (setImmediate runs after it) and is a timeout only if the answer has still not come.
    const timer = setTimeout(
      () =>
        setImmediate(() => done({ error: `timeout after ${opts.timeoutMs}ms`, dead: true, timedOut: true })),
      opts.timeoutMs,
    )
    req.on('response', (res) => {
      res.resume()
      if (res.statusCode === 200) done({ error: undefined, dead: false })
      else done({ error: `HTTP ${res.statusCode ?? 0}`, dead: false })
    })
    req.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message, dead: true }))
    req.end()
  })
}

/** Runs the checks of every backend of a pool, each on its own timer, until stopped. */
export class HealthChecker {
  private readonly timers = new Map<Backend, NodeJS.Timeout>()
  private stopped = false

  constructor(
    private readonly pool: BackendPool,
    private readonly opts: HealthCheckOptions,
  ) {}

  /** Starts checking a backend; the first check runs at once. */
  watch(b: Backend): void {
    if (this.stopped || this.timers.has(b)) return
    const run = (): void => {
      if (this.stopped || b.removed) {
        this.timers.delete(b)
        return
      }
      const startedAt = Date.now()
      void checkOnce(b.url, this.opts).then((r) => {
        if (this.stopped || b.removed) return
        // A check that timed out while the backend was answering proxied requests meets a busy
        // backend (its queue is longer than the timeout), not a hung one: it still fails (out of
        // rotation after fall), but what is in flight there is left to finish. Cutting it would send
        // every retried GET to the other backends, overload them in turn and fail their checks too.
        const busy = r.timedOut === true && b.lastProgressAtMs >= startedAt
        this.pool.recordCheck(b, r.error, r.dead && !busy, busy)
        // Checks start every interval (not interval after the last one ended), so a hung backend is
        // out of rotation within fall × max(interval, timeout).
        const waitMs = Math.max(0, this.opts.intervalMs - (Date.now() - startedAt))
        this.timers.set(b, setTimeout(run, waitMs))
      })
    }
    this.timers.set(b, setTimeout(run, 0))
  }

  stop(): void {
    this.stopped = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }
}
