/**
 * The serving half that hakube-scheduler and hakube-controller-manager share, as kube's components
 * share component-base and client-go's leaderelection wiring: the pino root logger, two api-server
 * clients (one for the work, one of its own for the lock, so renewals never queue behind the work),
 * the health and metrics server (`/healthz`, `/livez`, `/readyz` with the election watchdog), SIGTERM
 * and SIGINT handling, and the elector that runs the component's work only while this instance leads.
 *
 * Order: health first (a standby, or an instance still waiting for its api-server, answers at once),
 * then the component prepares its work (informers start at once: a standby keeps warm caches; it
 * may wait for discovery), then the election.
 *
 * Exits: a signal stops the work (its AbortSignal aborts), releases the lock (a standby takes over
 * within a retry period) and exits 0; a lost lease exits 1 at once ("leaderelection lost", as kube's
 * components do); a kubeconfig that cannot be used or a port that cannot be bound is one line on
 * stderr and exit 1.
 */
import {
  ApiClient,
  type ApiClientOptions,
  type Check,
  clientOptionsFromFlags,
  startHealthServer,
} from '@hakube/api'
import type { ComponentOptions } from '@hakube/api/flags'
import pino, { type Logger } from 'pino'
import { LeaderElector } from './elector.js'
import { defaultIdentity, type LeaderElectionOptions } from './flags.js'

/** How long a SIGTERM waits for the lock's release and the work to stop before exiting anyway. */
const SHUTDOWN_GRACE_MS = 5000
/** How long the work may take to stop once it no longer leads, before the process exits anyway. */
const STOP_WAIT_MS = 1000

/** What the component runs: started by `prepare`, led by the elector. */
export interface ElectedWork {
  /** Does the work while `signal` is not aborted (resolves once it has stopped). */
  runLeading(signal: AbortSignal): Promise<void>
  /** Stops the informers; called once the work no longer leads, before exit. */
  stop(): Promise<void>
  /** Informers synced: the readiness check. */
  hasSynced(): boolean
}

/** What `prepare` receives. */
export interface ComponentContext {
  client: ApiClient
  log: Logger
  identity: string
  /** Aborted on SIGTERM/SIGINT. */
  signal: AbortSignal
}

export interface ElectedComponentOptions {
  /** The binary's name: the logger's `name` and the client's User-Agent. */
  name: string
  /** The component the election Events name (`default-scheduler`, `kube-controller-manager`). */
  eventSource: string
  config: ComponentOptions & { readonly leaderElection: LeaderElectionOptions }
  /** `/metrics` and the leader gauge (`leader_election_master_status{name}` in kube). */
  metrics: {
    registry: { readonly contentType: string; metrics(): Promise<string> }
    leader: { set(labels: { name: string }, value: number): void }
  }
  /** The readiness check's name (kube-scheduler: `sched-handler-sync`). */
  syncCheckName: string
  /** Extra fields of the "serving" log line. */
  logFields?: Record<string, unknown>
  /**
   * Builds and starts the work. It may wait (e.g. for discovery); once `signal` aborts it should give
   * up and answer undefined (the process then exits 0).
   */
  prepare(ctx: ComponentContext): Promise<ElectedWork | undefined>
  /** Extra fields of the "stopped" log line. */
  stoppedFields?: () => Record<string, unknown>
}

function fail(name: string, message: string): never {
  process.stderr.write(`${name}: ${message}\n`)
  process.exit(1)
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Serves until a signal or a lost lease ends the process. */
export async function runElectedComponent(o: ElectedComponentOptions): Promise<never> {
  const { config, name } = o
  // Logs go to stderr, synchronously: a fatal exit loses no line.
  const log = pino({ level: config.logLevel, base: { name } }, pino.destination(2))
  let clientOptions: ApiClientOptions
  try {
    clientOptions = clientOptionsFromFlags({ kubeconfig: config.kubeconfig, master: config.master })
  } catch (err) {
    fail(name, message(err))
  }
  const client = new ApiClient({ ...clientOptions, userAgent: name })
  const electionClient = new ApiClient({ ...clientOptions, userAgent: `${name}/leader-election` })
  const le = config.leaderElection
  const identity = defaultIdentity()
  o.metrics.leader.set({ name: le.resourceName }, 0)
  const shutdown = new AbortController()
  let work: ElectedWork | undefined
  let elector: LeaderElector | undefined

  const livez: Check[] = [
    { name: 'ping', run: () => ({ ok: true }) },
    { name: 'leaderElection', run: () => (elector === undefined ? { ok: true } : elector.healthz()) },
  ]
  const synced: Check = {
    name: o.syncCheckName,
    run: () =>
      work?.hasSynced() === true ? { ok: true } : { ok: false, reason: 'waiting for the informers' },
  }
  let port: number
  try {
    ;({ port } = await startHealthServer({
      host: config.bindAddress,
      port: config.port,
      livez,
      readyz: [...livez, synced],
      registry: o.metrics.registry,
    }))
  } catch (err) {
    fail(name, `failed to listen on ${config.bindAddress}:${config.port}: ${message(err)}`)
  }
  log.info(
    {
      identity,
      address: config.bindAddress,
      port,
      ...o.logFields,
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

  const w = await o.prepare({ client, log, identity, signal: shutdown.signal })
  if (w === undefined || shutdown.signal.aborted) return exitAfterStop(w, log, o)
  work = w
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
      eventSource: o.eventSource,
      callbacks: {
        onStartedLeading: async (signal) => {
          o.metrics.leader.set({ name: le.resourceName }, 1)
          await w.runLeading(signal)
        },
        onStoppedLeading: () => {
          o.metrics.leader.set({ name: le.resourceName }, 0)
        },
      },
    })
    await elector.run(shutdown.signal)
  } else {
    await w.runLeading(shutdown.signal)
  }
  if (!shutdown.signal.aborted) {
    log.fatal({ identity }, 'leaderelection lost')
    process.exit(1)
  }
  return exitAfterStop(w, log, o)
}

async function exitAfterStop(
  w: ElectedWork | undefined,
  log: Logger,
  o: ElectedComponentOptions,
): Promise<never> {
  if (w !== undefined) await Promise.race([w.stop(), new Promise((r) => setTimeout(r, STOP_WAIT_MS))])
  log.info(o.stoppedFields?.() ?? {}, 'stopped')
  process.exit(0)
}
