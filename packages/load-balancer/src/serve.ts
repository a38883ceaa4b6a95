/**
 * hakube-lb's serving half, loaded by main.ts once the flags ask to serve (`--help`, `--version` and bad
 * flags never load it): the pino root logger, the balancer (load-balancer.ts), the Endpoints follower
 * when asked, and SIGTERM/SIGINT draining to exit 0. A port that cannot be bound prints one line and
 * exits 1. With --workers above 1 the process is a node:cluster primary (cluster-primary.ts) or one of
 * its workers (cluster-worker.ts); with 1, node:cluster is not even loaded.
 */
import pino from 'pino'
import type { LbConfig } from './config.js'
import { followEndpoints } from './endpoints-follower.js'
import { LoadBalancer } from './load-balancer.js'

/** Serves until a signal stops it (the process then exits). */
export async function serve(config: LbConfig): Promise<void> {
  const log = pino({ level: config.logLevel, base: { name: 'hakube-lb' } })
  if (config.workers > 1) {
    const { default: cluster } = await import('node:cluster')
    if (cluster.isPrimary) {
      const { servePrimary } = await import('./cluster-primary.js')
      await servePrimary(config, log.child({ role: 'primary' }), cluster)
    } else {
      const { serveWorker } = await import('./cluster-worker.js')
      serveWorker(config, log.child({ worker: cluster.worker?.id }))
    }
    return
  }
  const lb = new LoadBalancer(config, log)
  let ports: Awaited<ReturnType<LoadBalancer['start']>>
  try {
    ports = await lb.start()
  } catch (err) {
    process.stderr.write(`hakube-lb: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  }
  log.info(
    {
      address: config.bindAddress,
      port: ports.port,
      statsPort: ports.statsPort,
      mode: config.mode,
      // Since the process started (performance's time origin): hakube-lb serves within half a second.
      startupMs: Math.round(performance.now()),
      backends: config.backends.map((u) => u.origin),
    },
    'serving',
  )
  const follower = config.backendsFromEndpoints
    ? followEndpoints({
        pool: lb.pool,
        seeds: config.backends,
        ca: lb.backendCa,
        log: log.child({ component: 'endpoints' }),
      })
    : undefined
  let stopping = false
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    log.info({ signal, inFlight: lb.inFlight }, 'received signal; draining')
    follower?.stop()
    lb.shutdown().then(
      () => {
        log.info({}, 'stopped')
        process.exit(0)
      },
      (err: unknown) => {
        log.error({ err }, 'error while shutting down')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}
