/**
 * `hakube node`: the supervisor of one emulated host (supervisor.ts), with its admin endpoint
 * (admin.ts). `hakube up` starts one per host; a container in deploy/ runs it as its entrypoint.
 * SIGTERM or SIGINT stops the components in reverse start order, then the process exits 0.
 */
import { mkdirSync, unlinkSync } from 'node:fs'
import { parseGoDuration } from '@hakube/api/flags'
import { serveAdmin } from './admin.js'
import { resolveBinaries } from './binaries.js'
import {
  APISERVER_READYCHECK_TIMEOUT,
  adminSocket,
  componentSpecs,
  hostDir,
  logFile,
  type NodeConfig,
} from './components.js'
import { flag, flagUsages, parseFlags } from './flags.js'
import { Supervisor } from './supervisor.js'
import {
  checkLeaderElect,
  checkNodeMonitor,
  hostGid,
  type LeaderElectFlags,
  type NodeMonitorFlags,
  ROLES,
  type Role,
  type StoreKind,
} from './topology.js'

export const NODE_FLAGS = {
  role: flag({ kind: 'string', default: '', usage: `The host's role: ${ROLES.join(', ')}.` }),
  name: flag({
    kind: 'string',
    default: '',
    usage: 'The host name (store member name, log and data folder).',
  }),
  address: flag({
    kind: 'string',
    default: '',
    usage: "The host's IP address; every component listens on it.",
  }),
  dir: flag({
    kind: 'string',
    default: '.hakube',
    usage: "The cluster's directory (data, logs, admin socket).",
  }),
  store: flag({
    kind: 'string',
    default: 'hakube',
    usage: "The store member's implementation: 'hakube' or 'etcd'.",
  }),
  'initial-cluster': flag({ kind: 'string', default: '', usage: 'The store members, name=peerURL,...' }),
  'etcd-servers': flag({ kind: 'strings', default: [], usage: 'Store client URLs for the api-server.' }),
  backends: flag({ kind: 'strings', default: [], usage: 'Api-server URLs for the balancer.' }),
  port: flag({ kind: 'int', default: 6443, usage: "The balancer's port." }),
  'stats-port': flag({ kind: 'int', default: 6444, usage: "The balancer's /stats port." }),
  'health-timeout': flag({
    kind: 'string',
    default: '',
    usage:
      "The balancer's --health-timeout for each api-server's /readyz (Go duration; empty: its default, 1s).",
  }),
  'etcd-readycheck-timeout': flag({
    kind: 'string',
    default: '',
    usage: `The api-server's --etcd-readycheck-timeout (empty: ${APISERVER_READYCHECK_TIMEOUT}); keep it below the balancer's health timeout.`,
  }),
  master: flag({
    kind: 'string',
    default: '',
    usage: "The api-server URL a worker's node simulator talks to (the balancer).",
  }),
  nodes: flag({ kind: 'int', default: 1, usage: "A worker's simulated nodes." }),
  'leader-elect-lease-duration': flag({
    kind: 'string',
    default: '',
    usage: "The scheduler's and controller-manager's lease duration (Go duration; empty: its default, 15s).",
  }),
  'leader-elect-renew-deadline': flag({
    kind: 'string',
    default: '',
    usage: "The scheduler's and controller-manager's renew deadline (empty: 10s).",
  }),
  'leader-elect-retry-period': flag({
    kind: 'string',
    default: '',
    usage: "The scheduler's and controller-manager's retry period (empty: 2s).",
  }),
  'leader-elect-resource-lock': flag({
    kind: 'string',
    default: '',
    usage:
      "The scheduler's and controller-manager's lock: endpoints, leases or endpointsleases (empty: endpoints).",
  }),
  'node-monitor-period': flag({
    kind: 'string',
    default: '',
    usage: "The controller-manager's --node-monitor-period (Go duration; empty: its default, 5s).",
  }),
  'node-monitor-grace-period': flag({
    kind: 'string',
    default: '',
    usage: "The controller-manager's --node-monitor-grace-period (empty: 40s).",
  }),
  'grace-period': flag({
    kind: 'int',
    default: 10,
    usage: 'Seconds between SIGTERM and SIGKILL for each component.',
  }),
}

export const NODE_USAGE = `hakube node runs the components of one emulated host and restarts those that crash.

Usage:
  hakube node --role ROLE --name NAME --address IP [flags]

Flags:
${flagUsages(NODE_FLAGS)}`

/** Parses and checks the node flags; an error text for bad ones. */
export function nodeConfigFromArgs(
  argv: readonly string[],
): { config: NodeConfig; graceMs: number } | { error: string } | 'help' {
  const p = parseFlags(NODE_FLAGS, argv)
  if (!p.ok) return { error: p.error }
  if (p.help) return 'help'
  const v = p.values
  if (p.args.length > 0) return { error: `unexpected argument ${JSON.stringify(p.args[0])}` }
  if (!ROLES.includes(v.role as Role))
    return { error: `--role must be one of ${ROLES.join(', ')} (got ${JSON.stringify(v.role)})` }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(v.name))
    return { error: `--name must be a DNS label (got ${JSON.stringify(v.name)})` }
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(v.address))
    return { error: `--address must be an IPv4 address (got ${JSON.stringify(v.address)})` }
  if (v.store !== 'hakube' && v.store !== 'etcd')
    return { error: `--store must be 'hakube' or 'etcd' (got ${JSON.stringify(v.store)})` }
  const role = v.role as Role
  if ((role === 'stacked-master' || role === 'etcd') && v['initial-cluster'] === '')
    return { error: `--initial-cluster is required for --role ${role}` }
  if ((role === 'stacked-master' || role === 'master') && v['etcd-servers'].length === 0)
    return { error: `--etcd-servers is required for --role ${role}` }
  if (role === 'lb' && v.backends.length === 0) return { error: '--backends is required for --role lb' }
  if (role === 'worker' && !/^https?:\/\/[^/]+$/.test(v.master))
    return {
      error: `--master is required for --role worker, as http://HOST:PORT (got ${JSON.stringify(v.master)})`,
    }
  if (v.nodes < 1) return { error: `--nodes must be at least 1 (got ${v.nodes})` }
  const leaderElect: LeaderElectFlags = {
    leaseDuration: v['leader-elect-lease-duration'],
    renewDeadline: v['leader-elect-renew-deadline'],
    retryPeriod: v['leader-elect-retry-period'],
    resourceLock: v['leader-elect-resource-lock'],
  }
  const electionErrors = checkLeaderElect(leaderElect)
  if (electionErrors.length > 0) return { error: electionErrors[0] as string }
  const nodeMonitor: NodeMonitorFlags = {
    period: v['node-monitor-period'],
    gracePeriod: v['node-monitor-grace-period'],
  }
  const monitorErrors = checkNodeMonitor(nodeMonitor)
  if (monitorErrors.length > 0) return { error: monitorErrors[0] as string }
  for (const name of ['health-timeout', 'etcd-readycheck-timeout'] as const) {
    const d = v[name]
    if (d === '') continue
    let ms: number
    try {
      ms = parseGoDuration(d)
    } catch {
      ms = Number.NaN
    }
    if (!(ms > 0))
      return { error: `--${name} must be a duration such as 700ms or 3s (got ${JSON.stringify(d)})` }
  }
  if (v['grace-period'] < 1) return { error: `--grace-period must be at least 1 (got ${v['grace-period']})` }
  const config: NodeConfig = {
    role,
    name: v.name,
    address: v.address,
    dir: v.dir,
    store: v.store as StoreKind,
    initialCluster: v['initial-cluster'],
    etcdServers: v['etcd-servers'],
    backends: v.backends,
    port: v.port,
    statsPort: v['stats-port'],
    healthTimeout: v['health-timeout'],
    etcdReadycheckTimeout: v['etcd-readycheck-timeout'],
    master: v.master,
    nodes: v.nodes,
    leaderElect,
    nodeMonitor,
  }
  return { config, graceMs: v['grace-period'] * 1000 }
}

/**
 * The environment of a host's components: the supervisor's, with HAKUBE_HOSTNAME set to the emulated
 * host's name (what the scheduler, the controller-manager and the node simulator take as their hostname).
 */
export function componentEnv(host: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...base, HAKUBE_HOSTNAME: host }
}

export async function runNode(argv: readonly string[]): Promise<number> {
  const parsed = nodeConfigFromArgs(argv)
  if (parsed === 'help') {
    process.stdout.write(`${NODE_USAGE}\n`)
    return 0
  }
  if ('error' in parsed) {
    process.stderr.write(`hakube node: ${parsed.error}\n`)
    return 2
  }
  const { config, graceMs } = parsed
  // The components start first; the logger (a few hundred ms to load on a busy machine) follows, and
  // what was logged meanwhile is written once it is there, stamped with when it happened.
  const pending: Array<[Record<string, unknown>, string]> = []
  let write: ((event: Record<string, unknown>, message: string) => void) | undefined
  const log = {
    info(event: Record<string, unknown>, message: string): void {
      if (write !== undefined) write(event, message)
      else pending.push([{ ...event, at: new Date().toISOString() }, message])
    },
  }
  mkdirSync(hostDir(config.dir, config.name), { recursive: true })
  const supervisor = new Supervisor(componentSpecs(config, resolveBinaries()), {
    logFileOf: (component) => logFile(config.dir, config.name, component),
    graceMs,
    // The emulated host's name, which the scheduler, controller-manager and node simulator use as their
    // hostname (a leader's identity is `<hostname>_<uuid>`, so `hakube status` can tell which host leads).
    env: componentEnv(config.name, process.env),
    // As root, each host's processes get a group id of their own (partition.ts pins their source address).
    ...(process.getuid?.() === 0 ? { gid: hostGid(config.address) } : {}),
    log: (event, message) => log.info(event, message),
  })
  const socket = adminSocket(config.dir, config.name)
  const admin = await serveAdmin(socket, supervisor, {
    host: config.name,
    role: config.role,
    address: config.address,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  })
  supervisor.start()
  log.info({ role: config.role, address: config.address, socket }, 'host up')
  const { default: pino } = await import('pino')
  const logger = pino({ base: { name: 'hakube-node', host: config.name } })
  write = (event, message) => logger.info(event, message)
  for (const [event, message] of pending.splice(0)) write(event, message)
  return await new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return
      stopping = true
      log.info({ signal }, 'stopping the components (reverse start order)')
      supervisor.shutdown().then(() => {
        admin.close()
        try {
          unlinkSync(socket)
        } catch {
          // already gone
        }
        log.info({}, 'host stopped')
        resolve(0)
      })
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
}
