/**
 * --workers N, the primary: it forks N proxy workers (cluster-worker.ts) that share the listening
 * socket, and keeps for itself what must happen once: the health checks and the backends' states (one
 * log line per change, sent to every worker at once), the Endpoints follower, the stats server (the
 * workers' counts summed), the restart of a worker that dies (the other workers keep the shared socket
 * open meanwhile) and the SIGTERM drain (every worker drains, the primary waits for them, exits 0).
 *
 * Scheduling: `SCHED_NONE`. The primary binds the socket once and each worker accepts on it; the
 * kernel gives each connection to whichever worker takes it. Round robin (`SCHED_RR`, Node's default)
 * would accept every connection in the primary and pass it over IPC.
 */
import type { Cluster, Worker } from 'node:cluster'
import type http from 'node:http'
import type { Logger } from 'pino'
import {
  aggregateStats,
  isLbMessage,
  retire,
  snapshotPool,
  sumCounters,
  type ToPrimary,
  type ToWorker,
  type WorkerReport,
} from './cluster-protocol.js'
import type { LbConfig } from './config.js'
import { followEndpoints } from './endpoints-follower.js'
import { createCheckedPool, listen } from './load-balancer.js'
import type { StatsSource } from './stats-server.js'

/** A worker that dies sooner than this after its start is restarted only after this long. */
export const RESTART_BACKOFF_MS = 1000
/** How long the stats server waits for a worker's counts. */
const STATS_TIMEOUT_MS = 1000
/** Time the workers get to exit after the shutdown grace, before SIGKILL. */
const EXIT_MARGIN_MS = 2000

interface Slot {
  worker: Worker
  startedAtMs: number
  /** Sent lb:hello: it takes messages. */
  greeted: boolean
  last: WorkerReport | undefined
}

export async function servePrimary(config: LbConfig, log: Logger, cluster: Cluster): Promise<void> {
  cluster.schedulingPolicy = cluster.SCHED_NONE
  const { pool, checker, ca } = createCheckedPool(config, log, true)
  const slots = new Map<number, Slot>()
  let stopping = false
  let retired: WorkerReport = { backends: [], counters: sumCounters([]), inFlight: 0 }

  const sendTo = (s: Slot, m: ToWorker): void => {
    // A worker just killed can still look connected: the send then fails (EPIPE, channel closed),
    // reported to the callback rather than as an 'error' event the primary would die of.
    if (s.greeted && s.worker.isConnected()) s.worker.send(m, undefined, undefined, () => {})
  }
  const broadcast = (m: ToWorker): void => {
    for (const s of slots.values()) sendTo(s, m)
  }
  const stateMessage = (): ToWorker => ({ t: 'lb:state', backends: snapshotPool(pool) })
  let flushQueued = false
  const flushState = (): void => {
    flushQueued = false
    broadcast(stateMessage())
  }
  pool.onUpdate = () => {
    if (flushQueued) return
    flushQueued = true
    queueMicrotask(flushState)
  }
  pool.onCut = (b, reason) => {
    // The state first (the backend is down), so that what the workers retry avoids it.
    flushState()
    broadcast({ t: 'lb:cut', url: b.key, reason })
  }

  let resolveReady: ((port: number) => void) | undefined
  let rejectReady: ((err: Error) => void) | undefined
  const ready = new Promise<number>((resolve, reject) => {
    resolveReady = resolve
    rejectReady = reject
  })
  let listeningCount = 0
  let statsId = 0
  const pendingStats = new Map<number, (r: WorkerReport) => void>()

  const onMessage = (s: Slot, m: unknown): void => {
    if (!isLbMessage(m)) return
    const msg = m as ToPrimary
    switch (msg.t) {
      case 'lb:hello':
        s.greeted = true
        sendTo(s, stateMessage())
        return
      case 'lb:listening':
        listeningCount++
        if (listeningCount === config.workers) resolveReady?.(msg.port)
        return
      case 'lb:listen-error':
        rejectReady?.(new Error(msg.message))
        return
      case 'lb:passive': {
        const b = pool.backends.find((x) => x.key === msg.url)
        if (b !== undefined) pool.recordPassiveFailure(b, msg.error)
        return
      }
      case 'lb:progress':
        for (const [url, atMs] of msg.at) {
          const b = pool.backends.find((x) => x.key === url)
          if (b !== undefined && atMs > b.lastProgressAtMs) b.lastProgressAtMs = atMs
        }
        return
      case 'lb:stats':
        pendingStats.get(msg.id)?.(msg.report)
    }
  }

  const fork = (): void => {
    const worker = cluster.fork()
    const slot: Slot = { worker, startedAtMs: Date.now(), greeted: false, last: undefined }
    slots.set(worker.id, slot)
    worker.on('message', (m: unknown) => onMessage(slot, m))
    // Its IPC channel failing (the worker died mid-send) is the 'exit' below's business, not a crash.
    worker.on('error', (err: Error) =>
      log.debug({ worker: worker.id, err: err.message }, 'worker channel error'),
    )
    worker.on('exit', (code, signal) => {
      slots.delete(worker.id)
      if (slot.last !== undefined) retired = retire(retired, slot.last)
      if (stopping) return
      if (listeningCount < config.workers) {
        // Before serving: a worker that cannot start (its error was reported) ends the start.
        rejectReady?.(new Error(`worker ${worker.id} exited (${signal ?? code}) before listening`))
        return
      }
      const lived = Date.now() - slot.startedAtMs
      const delayMs = lived < RESTART_BACKOFF_MS ? RESTART_BACKOFF_MS : 0
      log.warn(
        { worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delayMs },
        'worker exited; starting another',
      )
      setTimeout(() => {
        if (!stopping) fork()
      }, delayMs)
    })
  }

  /** Every worker's counts now (a worker that does not answer in time counts as its last answer). */
  const gather = async (): Promise<WorkerReport[]> => {
    const live = [...slots.values()].filter((s) => s.greeted && s.worker.isConnected())
    await Promise.all(
      live.map(
        (s) =>
          new Promise<void>((resolve) => {
            const id = ++statsId
            const timer = setTimeout(() => {
              pendingStats.delete(id)
              resolve()
            }, STATS_TIMEOUT_MS)
            pendingStats.set(id, (r) => {
              clearTimeout(timer)
              pendingStats.delete(id)
              s.last = r
              resolve()
            })
            sendTo(s, { t: 'lb:stats?', id })
          }),
      ),
    )
    return [retired, ...[...slots.values()].flatMap((s) => (s.last === undefined ? [] : [s.last]))]
  }
  let reports: WorkerReport[] = []
  const stats: StatsSource = {
    mode: config.mode,
    backends: () => aggregateStats(pool.stats(), reports),
    counters: () => sumCounters(reports),
    workers: () =>
      [...slots.values()].map((s) => ({
        id: s.worker.id,
        pid: s.worker.process.pid,
        inFlight: s.last?.inFlight ?? 0,
        backends: (s.last?.backends ?? []).map((b) => ({ url: b.url, state: b.state, requests: b.requests })),
      })),
    refresh: async () => {
      reports = await gather()
    },
  }

  for (let i = 0; i < config.workers; i++) fork()
  let port: number
  let statsServer: http.Server | undefined
  let statsPort: number | undefined
  try {
    port = await ready
    if (config.statsPort !== 0) {
      const { createStatsServer } = await import('./stats-server.js')
      statsServer = createStatsServer(stats)
      await listen(statsServer, config.statsPort, config.bindAddress)
      statsPort = config.statsPort
    }
  } catch (err) {
    stopping = true
    for (const s of slots.values()) s.worker.process.kill('SIGKILL')
    process.stderr.write(`hakube-lb: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  }
  log.info(
    {
      address: config.bindAddress,
      port,
      statsPort,
      mode: config.mode,
      workers: config.workers,
      startupMs: Math.round(performance.now()),
      backends: config.backends.map((u) => u.origin),
    },
    'serving',
  )
  const follower = config.backendsFromEndpoints
    ? followEndpoints({ pool, seeds: config.backends, ca, log: log.child({ component: 'endpoints' }) })
    : undefined

  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    log.info({ signal, workers: slots.size }, 'received signal; draining every worker')
    follower?.stop()
    const exited = [...slots.values()].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.worker.isDead()) resolve()
          else s.worker.once('exit', () => resolve())
        }),
    )
    for (const s of slots.values()) {
      if (s.worker.isConnected())
        s.worker.send({ t: 'lb:drain' } satisfies ToWorker, undefined, undefined, () => {})
      else s.worker.process.kill('SIGTERM')
    }
    const killTimer = setTimeout(() => {
      for (const s of slots.values()) {
        log.warn({ worker: s.worker.id }, 'worker still running after the grace; killing it')
        s.worker.process.kill('SIGKILL')
      }
    }, config.shutdownGraceMs + EXIT_MARGIN_MS)
    void Promise.all(exited).then(async () => {
      clearTimeout(killTimer)
      checker?.stop()
      pool.close()
      if (statsServer !== undefined) {
        const server = statsServer
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
      }
      log.info({}, 'stopped')
      process.exit(0)
    })
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}
