/**
 * hakube-node-sim's serving half, loaded by main.ts once the flags ask to serve: the pino root logger,
 * the api-server client options (--kubeconfig / --master), the node groups of --config, and the
 * simulator; SIGTERM/SIGINT stop it cleanly (nothing is deleted) and exit 0.
 */
import { clientOptionsFromFlags } from '@hakube/api'
import pino from 'pino'
import { ConfigError, checkFailNodes, type NodeSimConfig } from './config.js'
import { loadNodeGroupsFile } from './node-groups.js'
import { NodeSimulator } from './simulator.js'

export async function serve(config: NodeSimConfig): Promise<void> {
  let groups = config.groups
  let clientOptions: ReturnType<typeof clientOptionsFromFlags>
  try {
    if (groups === undefined) {
      groups = loadNodeGroupsFile(config.configFile)
      checkFailNodes(config.failNodes, groups)
    }
    clientOptions = clientOptionsFromFlags({ kubeconfig: config.kubeconfig, master: config.master })
  } catch (err) {
    process.stderr.write(`hakube-node-sim: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(err instanceof ConfigError ? 2 : 1)
  }
  // Logs on stderr (pino's destination 2), as the rules for every hakube binary say.
  const log = pino({ level: config.logLevel, base: { name: 'hakube-node-sim' } }, pino.destination(2))
  const sim = new NodeSimulator(clientOptions, groups, config, log)
  let port: number
  try {
    port = await sim.start()
  } catch (err) {
    process.stderr.write(`hakube-node-sim: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  }
  log.info(
    {
      address: config.bindAddress,
      port,
      nodes: groups.reduce((n, g) => n + g.names.length, 0),
      failed: config.failNodes,
      server: clientOptions.baseUrl,
      startupMs: Math.round(performance.now()),
    },
    'serving',
  )
  let stopping = false
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'received signal; stopping (nodes are left registered)')
    sim.stop().then(
      () => {
        log.info({}, 'stopped')
        process.exit(0)
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}
