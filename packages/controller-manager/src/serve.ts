/**
 * hakube-controller-manager's serving half, loaded by main.ts once the flags ask to serve: the pino
 * root logger, the api-server client (kubeconfig and/or --master), the shared informers (started at
 * once: a standby keeps warm caches), the health and metrics server, and the leader elector that runs
 * the controllers only while this instance leads.
 *
 * Exits: SIGTERM/SIGINT stop the controllers (their signal aborts, workers drain), release the lock
 * (a standby takes over within a retry period) and exit 0; a lost lease exits 1 at once, as
 * kube-controller-manager does ("leaderelection lost"); a kubeconfig that cannot be used or a port
 * that cannot be bound prints one line and exits 1.
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
import type { ControllerManagerConfig } from './config.js'
import { discoverResources, type ServedResource } from './controllers/resources.js'
import { ControllerManager } from './manager.js'
import { ControllerManagerMetrics } from './metrics.js'

/** How long a SIGTERM waits for the lock's release and the informers before exiting anyway. */
const SHUTDOWN_GRACE_MS = 5000
/** Between two discovery attempts while the api-server does not answer. */
const DISCOVERY_RETRY_MS = 1000

function fail(message: string): never {
  process.stderr.write(`hakube-controller-manager: ${message}\n`)
  process.exit(1)
}

/** Serves until a signal or a lost lease ends the process. */
export async function serve(config: ControllerManagerConfig): Promise<void> {
  const log = pino(
    { level: config.logLevel, base: { name: 'hakube-controller-manager' } },
    pino.destination(2),
  )
  let clientOptions: ApiClientOptions
  try {
    clientOptions = clientOptionsFromFlags({ kubeconfig: config.kubeconfig, master: config.master })
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err))
  }
  const client = new ApiClient({ ...clientOptions, userAgent: 'hakube-controller-manager' })
  // A client of its own for the lock: renewals never queue behind the controllers' requests.
  const electionClient = new ApiClient({
    ...clientOptions,
    userAgent: 'hakube-controller-manager/leader-election',
  })
  const le = config.leaderElection
  const identity = defaultIdentity()
  const metrics = new ControllerManagerMetrics()
  metrics.leader.set({ name: le.resourceName }, 0)
  const shutdown = new AbortController()
  let manager: ControllerManager | undefined
  let elector: LeaderElector | undefined

  // Health first (a standby or a controller manager waiting for its api-server answers at once).
  const ping: Check = { name: 'ping', run: () => ({ ok: true }) }
  const electionCheck: Check = {
    name: 'leaderElection',
    run: () => (elector === undefined ? { ok: true } : elector.healthz()),
  }
  const livez: Check[] = [ping, electionCheck]
  const synced: Check = {
    name: 'informer-sync',
    run: () =>
      manager?.hasSynced() === true
        ? { ok: true }
        : { ok: false, reason: 'waiting for discovery and the informers' },
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
      controllers: config.controllers,
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

  // What the api-server serves, as kube's controller context reads discovery; retried until it answers.
  let resources: ServedResource[] | undefined
  for (let attempt = 0; resources === undefined; attempt++) {
    try {
      resources = await discoverResources(client, shutdown.signal)
    } catch (err) {
      if (shutdown.signal.aborted) process.exit(0)
      if (attempt % 10 === 0) log.warn({ err: String(err) }, 'waiting for the api-server (discovery)')
      await new Promise((r) => setTimeout(r, DISCOVERY_RETRY_MS))
    }
  }
  const m = new ControllerManager({
    client,
    log,
    identity,
    controllers: config.controllers,
    resources,
    metrics,
    nodeLifecycle: {
      monitorPeriodMs: config.nodeMonitorPeriodMs,
      gracePeriodMs: config.nodeMonitorGracePeriodMs,
      evictionRate: config.nodeEvictionRate,
    },
    workers: {
      replicaset: config.concurrentReplicasetSyncs,
      deployment: config.concurrentDeploymentSyncs,
      endpoint: config.concurrentEndpointSyncs,
      namespace: config.concurrentNamespaceSyncs,
      garbagecollector: config.concurrentGcSyncs,
    },
  })
  manager = m
  m.start()

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
      eventSource: 'kube-controller-manager',
      callbacks: {
        onStartedLeading: async (signal) => {
          metrics.leader.set({ name: le.resourceName }, 1)
          await m.runLeading(signal)
        },
        onStoppedLeading: () => {
          metrics.leader.set({ name: le.resourceName }, 0)
        },
      },
    })
  }
  if (elector !== undefined) await elector.run(shutdown.signal)
  else await m.runLeading(shutdown.signal)
  if (!shutdown.signal.aborted) {
    log.fatal({ identity }, 'leaderelection lost')
    process.exit(1)
  }
  await Promise.race([m.stop(), new Promise((r) => setTimeout(r, 1000))])
  log.info('stopped')
  process.exit(0)
}
