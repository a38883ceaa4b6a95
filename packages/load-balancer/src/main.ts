#!/usr/bin/env node
/**
 * hakube-lb: the binary. Wiring only: flags (config.ts), the pino root logger, the balancer
 * (load-balancer.ts), the Endpoints follower when asked, and SIGTERM/SIGINT draining to exit 0.
 * Bad flags print one line and exit 2; a port that cannot be bound prints one line and exits 1.
 */
import pino from 'pino'
import { helpText, parseLbFlags } from './config.js'
import { followEndpoints } from './endpoints-follower.js'
import { LoadBalancer } from './load-balancer.js'

async function main(): Promise<void> {
  const parsed = parseLbFlags(process.argv.slice(2))
  if (!parsed.ok) {
    process.stderr.write(`hakube-lb: ${parsed.error}\n`)
    process.exit(2)
  }
  if (!('config' in parsed)) {
    process.stdout.write(`${parsed.exit === 'help' ? helpText() : parsed.output}\n`)
    process.exit(0)
  }
  const config = parsed.config
  const log = pino({ level: config.logLevel, base: { name: 'hakube-lb' } })
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

main().catch((err: unknown) => {
  process.stderr.write(`hakube-lb: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
