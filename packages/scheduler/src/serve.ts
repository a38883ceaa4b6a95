/**
 * hakube-scheduler's serving half, loaded by main.ts once the flags ask to serve: the pino root
 * logger, the api-server client (kubeconfig and/or --master), the scheduler's informers (started at
 * once: a standby keeps warm caches), the health and metrics server, and the leader elector that
 * runs the scheduling loop only while this instance leads.
 *
 * Exits: SIGTERM/SIGINT stop scheduling, release the lock (a standby takes over within a retry
 * period) and exit 0; a lost lease exits 1 at once, as kube-scheduler does ("leaderelection lost");
 * a kubeconfig that cannot be used or a port that cannot be bound prints one line and exits 1.
 */
import {
  ApiClient,
  type ApiClientOptions,
  type Check,
  clientOptionsFromFlags,
  startHealthServer,
} from '@hakube/api'
import { defaultIdentity, LeaderElector } from '@hakube/leader-election'
import pino from 'pino'
import type { SchedulerConfig } from './config.js'
import { SchedulerMetrics } from './metrics.js'
import { DEFAULT_SCHEDULER_NAME, Scheduler } from './scheduler.js'

/** How long a SIGTERM waits for the lock's release and the informers before exiting anyway. */
const SHUTDOWN_GRACE_MS = 5000

function fail(message: string): never {
  process.stderr.write(`hakube-scheduler: ${message}\n`)
  process.exit(1)
}

/** Serves until a signal or a lost lease ends the process. */
export async function serve(config: SchedulerConfig): Promise<void> {
  // Logs go to stderr (synchronously: a fatal exit loses no line).
  const log = pino({ level: config.logLevel, base: { name: 'hakube-scheduler' } }, pino.destination(2))
  let clientOptions: ApiClientOptions
  try {
    clientOptions = clientOptionsFromFlags({ kubeconfig: config.kubeconfig, master: config.master })
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err))
  }
  const client = new ApiClient({ ...clientOptions, userAgent: 'hakube-scheduler' })
  // A client of its own for the lock, as kube-scheduler's: renewals never queue behind bindings.
  const electionClient = new ApiClient({ ...clientOptions, userAgent: 'hakube-scheduler/leader-election' })
  const le = config.leaderElection
  const identity = defaultIdentity()
  const metrics = new SchedulerMetrics()
  metrics.leader.set({ name: le.resourceName }, 0)
  const scheduler = new Scheduler({
    client,
    log: log.child({ component: 'scheduler' }),
    identity,
    metrics,
    podInitialBackoffMs: config.podInitialBackoffMs,
    podMaxBackoffMs: config.podMaxBackoffMs,
  })
  scheduler.start()

  const shutdown = new AbortController()
  let elector: LeaderElector | undefined
  if (le.leaderElect) {
    elector = new LeaderElector({
      client: electionClient,
      lock: le.resourceLock,
      name: le.resourceName,
      namespace: le.resourceNamespace,
      identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      releaseOnCancel: true,
      logger: log.child({ component: 'leader-election' }),
      eventSource: DEFAULT_SCHEDULER_NAME,
      callbacks: {
        onStartedLeading: async (signal) => {
          metrics.leader.set({ name: le.resourceName }, 1)
          await scheduler.runLeading(signal)
        },
        onStoppedLeading: () => {
          metrics.leader.set({ name: le.resourceName }, 0)
        },
      },
    })
  }
  const ping: Check = { name: 'ping', run: () => ({ ok: true }) }
  const livez: Check[] = [ping]
  if (elector !== undefined) {
    const e = elector
    livez.push({ name: 'leaderElection', run: () => e.healthz() })
  }
  const synced: Check = {
    name: 'sched-handler-sync',
    run: () => (scheduler.hasSynced() ? { ok: true } : { ok: false, reason: 'waiting for the informers' }),
  }
  let port: number
  try {
    ;({ port } = await startHealthServer({
      host: config.bindAddress,
      port: config.port,
      livez,
      readyz: [...livez, synced],
      registry: metrics.registry,
    }))
  } catch (err) {
    fail(
      `failed to listen on ${config.bindAddress}:${config.port}: ${err instanceof Error ? err.message : String(err)}`,
    )
  }
  log.info(
    {
      identity,
      address: config.bindAddress,
      port,
      leaderElect: le.leaderElect,
      lock: le.resourceLock,
      startupMs: Math.round(performance.now()),
    },
    'serving',
  )

  const onSignal = (signal: NodeJS.Signals): void => {
    if (shutdown.signal.aborted) return
    log.info({ signal }, 'received signal; stopping')
    shutdown.abort()
    // Whatever hangs (a release the api-server never answers), the process ends.
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)

  if (elector !== undefined) await elector.run(shutdown.signal)
  else await scheduler.runLeading(shutdown.signal)
  if (!shutdown.signal.aborted) {
    log.fatal({ identity }, 'leaderelection lost')
    process.exit(1)
  }
  await Promise.race([scheduler.stop(), new Promise((r) => setTimeout(r, 1000))])
  log.info({ bound: scheduler.boundCount }, 'stopped')
  process.exit(0)
}
