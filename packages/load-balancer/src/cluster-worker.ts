/**
 * --workers N, one proxy worker: the balancer of a single process (load-balancer.ts) without health
 * checks or a stats server, listening on the socket all workers share (the primary set
 * `SCHED_NONE`: the kernel hands each connection to one of them). It takes the backends' states from
 * the primary before it listens and after every check, reports its passive failures and its backends'
 * progress, answers the primary's stats requests, and drains on `lb:drain` or a signal of its own.
 * When the primary dies its IPC channel closes and node:cluster ends the worker.
 */
import type { Logger } from 'pino'
import {
  applySnapshot,
  isLbMessage,
  type ToPrimary,
  type ToWorker,
  workerReport,
} from './cluster-protocol.js'
import type { LbConfig } from './config.js'
import { LoadBalancer } from './load-balancer.js'

/** How often a worker reports which backends answered (the checker reads it; health-checker.ts). */
export const PROGRESS_REPORT_MS = 200

export function serveWorker(config: LbConfig, log: Logger): void {
  const send = (m: ToPrimary): void => {
    if (process.connected) process.send?.(m)
  }
  const lb = new LoadBalancer(config, log, 'worker')
  const pool = lb.pool
  pool.onUpdate = (e) => {
    if (e.kind === 'passive') send({ t: 'lb:passive', url: e.backend.key, error: e.error ?? 'unknown' })
  }
  const reported = new Map<string, number>()
  const progress = setInterval(() => {
    const at: Array<[string, number]> = []
    for (const b of pool.backends)
      if (b.lastProgressAtMs > (reported.get(b.key) ?? 0)) {
        reported.set(b.key, b.lastProgressAtMs)
        at.push([b.key, b.lastProgressAtMs])
      }
    if (at.length > 0) send({ t: 'lb:progress', at })
  }, PROGRESS_REPORT_MS)
  progress.unref()

  let listening = false
  let stopping = false
  const shutdown = (why: string): void => {
    if (stopping) return
    stopping = true
    clearInterval(progress)
    log.info({ why, inFlight: lb.inFlight }, 'draining')
    lb.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while shutting down')
        process.exit(1)
      },
    )
  }
  const start = (): void => {
    listening = true
    lb.start().then(
      (ports) => send({ t: 'lb:listening', port: ports.port }),
      (err: unknown) => {
        send({ t: 'lb:listen-error', message: err instanceof Error ? err.message : String(err) })
        process.exit(1)
      },
    )
  }
  process.on('message', (m: unknown) => {
    if (!isLbMessage(m)) return
    const msg = m as ToWorker
    switch (msg.t) {
      case 'lb:state':
        applySnapshot(pool, msg.backends)
        if (!listening && !stopping) start()
        return
      case 'lb:cut': {
        const b = pool.backends.find((x) => x.key === msg.url)
        if (b !== undefined) pool.cut(b, msg.reason)
        return
      }
      case 'lb:stats?': {
        const counters = lb.stats.counters()
        send({ t: 'lb:stats', id: msg.id, report: workerReport(pool, counters, lb.inFlight) })
        return
      }
      case 'lb:drain':
        shutdown('primary')
    }
  })
  // A signal sent to the whole process group (Ctrl-C) reaches the workers too: the same drain.
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  send({ t: 'lb:hello' })
}
