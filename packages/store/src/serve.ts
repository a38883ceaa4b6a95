/**
 * hakube-store's server half, loaded by main.ts once the flags ask to serve (`--help`, `--version` and bad
 * flags never load it, so they answer at once): creates the root logger, starts the peer transport, the
 * Raft-replicated server and the client URLs (gRPC + JSON gateway), and handles signals: SIGTERM/SIGINT
 * hand leadership over when leading, flush the WAL and close everything, then exit 0.
 */
import { isIP } from 'node:net'
import pino from 'pino'
import { collectDefaultMetrics, Registry } from 'prom-client'
import type { StoreConfig } from './config/index.js'
import { type ClientServer, startClientServer } from './grpc/client-server.js'
import { discoverCluster } from './peer/cluster-discovery.js'
import { HttpTransport } from './peer/http-transport.js'
import { readClusterIdFile, writeClusterIdFile } from './server/cluster-file.js'
import { deriveClusterId, deriveMemberId } from './server/member-id.js'
import { StoreMetrics } from './server/metrics.js'
import { StoreServer } from './server/store-server.js'

/** etcd's log levels onto pino's (pino has no "panic"). */
const PINO_LEVEL: Record<string, string> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  panic: 'fatal',
  fatal: 'fatal',
}

/** Runs the member until a signal stops it (the process then exits). */
export async function serve(config: Readonly<StoreConfig>): Promise<void> {
  const log = pino({ level: PINO_LEVEL[config.logLevel] ?? 'info', base: { name: config.name } })
  for (const warning of config.warnings) log.warn({ component: 'config' }, warning)

  // The peer transport checks the cluster id on every request, so it must be known before the server
  // starts: remembered from an earlier start, derived from the initial cluster by a founding member, or
  // asked from a running peer by a member joining with `existing` (etcd's GetClusterFromRemotePeers).
  const token = config.initialClusterToken
  const ownPeerUrls = config.initialCluster[config.name] ?? []
  const memberId = deriveMemberId(ownPeerUrls, token)
  const stored = readClusterIdFile(config.dataDir)
  let clusterId: number
  if (stored !== undefined) clusterId = stored
  else if (config.initialClusterState === 'new')
    clusterId = deriveClusterId(
      Object.values(config.initialCluster).map((urls) => deriveMemberId(urls, token)),
    )
  else {
    const peers = Object.entries(config.initialCluster)
      .filter(([name]) => name !== config.name)
      .flatMap(([, urls]) => urls)
    const found = await discoverCluster(peers, { timeoutMs: 10_000 })
    if (!found.members.some((m) => m.id === memberId)) {
      throw new Error(
        `member ${memberId.toString(16)} (--name ${config.name}, peer URLs ${ownPeerUrls.join(',')}) is not ` +
          'in the running cluster: add it first with `etcdctl member add`',
      )
    }
    clusterId = found.clusterId
  }

  const peerListen = config.listenPeerAddresses[0]
  if (peerListen === undefined) throw new Error('no --listen-peer-urls address')
  const transport = await HttpTransport.start({
    memberId,
    clusterId,
    listen: peerListen,
    // Outgoing peer connections leave from the address we listen on when it names one host (each emulated
    // host has its own 127.0.1.x), so traffic between two members carries both their addresses.
    localAddress: isSingleHostIp(peerListen.host) ? peerListen.host : undefined,
    logger: log.child({ component: 'peer' }),
  })
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const server = await StoreServer.start({
    name: config.name,
    dataDir: config.dataDir,
    initialCluster: config.initialCluster,
    initialClusterToken: token,
    initialClusterState: config.initialClusterState,
    clientUrls: config.advertiseClientUrls,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    electionTimeoutMs: config.electionTimeoutMs,
    snapshotCount: config.snapshotCount,
    maxRequestBytes: config.maxRequestBytes,
    maxTxnOps: config.maxTxnOps,
    quotaBackendBytes: config.backendQuotaBytes,
    transport,
    logger: log.child({ component: 'server' }),
    metrics: new StoreMetrics(registry),
  })
  if (stored === undefined) writeClusterIdFile(config.dataDir, clusterId)
  transport.serveClusterMembers(() =>
    server.membersNow().map((m) => ({ id: String(m.id), name: m.name, peerUrls: [...m.peerUrls] })),
  )

  const clients: ClientServer[] = []
  for (const address of config.listenClientAddresses) {
    clients.push(
      await startClientServer({
        host: address.host,
        port: address.port,
        backend: server,
        registry,
        logger: log.child({ component: 'client' }),
      }),
    )
  }
  log.info(
    {
      memberId: memberId.toString(16),
      clusterId: clusterId.toString(16),
      clientUrls: config.advertiseClientUrls,
    },
    'ready to serve client requests',
  )

  let stopping = false
  const shutdown = (signal: NodeJS.Signals | 'removed'): void => {
    if (stopping) return
    stopping = true
    if (signal === 'removed')
      log.warn({}, 'the member has been permanently removed from the cluster; stopping')
    else log.info({ signal }, 'received signal; shutting down')
    // The server first: a leader hands leadership over while its peers can still reach it.
    server
      .stop()
      .then(() => Promise.all(clients.map((c) => c.close())))
      .then(
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
  server.onRemoved(() => shutdown('removed'))
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

/** An IP address naming one host (not a wildcard, not a name that may resolve to several). */
function isSingleHostIp(host: string): boolean {
  return isIP(host) !== 0 && host !== '0.0.0.0' && host !== '::'
}
