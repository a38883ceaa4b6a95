/**
 * hakube-apiserver's server half, loaded by main.ts once the flags ask to serve (`--help`, `--version` and
 * bad flags never load it): pino logs; the storage chosen by --storage-backend / --etcd-servers,
 * behind the watch cache (--watch-cache, watch-cache.ts); the routes; the system namespaces and the
 * kubernetes Service; SIGTERM/SIGINT shut down as kube-apiserver does (/readyz fails first, in-flight
 * requests finish, watches end, the cache and the store close) and exit 0.
 */
import { openStorage } from '@hakube/storage'
import pino from 'pino'
import { startSystemNamespaces } from './bootstrap.js'
import { registerDiscovery } from './discovery.js'
import { instrumentStorage } from './instrumented-storage.js'
import { startKubernetesService } from './kubernetes-service.js'
import { registerOpenAPI } from './openapi/register.js'
import type { ApiServerConfig } from './options.js'
import { registerResourceRoutes } from './rest/index.js'
import { firstServiceIp, parseServiceCidr, ServiceIpAllocator } from './rest/service-ips.js'
import { ApiServer } from './server.js'
import { registerWatchCacheMetrics, withWatchCache } from './watch-cache.js'

/** Serves until a signal stops it (the process then exits). */
export async function serve(config: ApiServerConfig): Promise<void> {
  const log = pino({ level: config.verbosity >= 4 ? 'debug' : 'info', base: { name: 'hakube-apiserver' } })
  // The etcd3 backend (gRPC and the etcd protos) is loaded only when the flags choose it.
  const instrumented = instrumentStorage(
    await openStorage({
      backend: config.storageBackend,
      etcdServers: [...config.etcdServers],
      requestTimeoutMs: config.requestTimeoutMs,
      // kube-apiserver's compactor (one of the api-servers sharing the store compacts each interval).
      compactionIntervalMs: config.etcdCompactionIntervalMs,
      onCompactionError: (err) => log.error({ err }, 'compaction failed; retrying next interval'),
      onCompacted: (revision) => log.debug({ revision }, 'compacted'),
    }),
  )
  // --watch-cache: lists and watches from kube's watch cache, over the instrumented store (so the
  // etcd request metrics count what reaches the store); closing it closes the store too.
  const storage = withWatchCache(instrumented, config)
  const server = new ApiServer({ config, storage, logger: log.child({ component: 'http' }) })
  instrumented.registerMetrics(server.registry)
  registerWatchCacheMetrics(storage, server.registry)
  registerDiscovery(server.app)
  registerOpenAPI(server.app)
  registerResourceRoutes(server, storage, { serviceClusterIpRange: config.serviceClusterIpRange })
  const port = await server.listen()
  log.info(
    { address: config.bindAddress, port, storage: config.storageBackend, etcdServers: config.etcdServers },
    'serving',
  )
  const systemNamespaces = startSystemNamespaces(storage, {
    onError: (err) => log.warn({ err }, 'creating the system namespaces failed; retrying'),
  })
  // Validated by parseApiServerFlags.
  const cidr = parseServiceCidr(config.serviceClusterIpRange) as NonNullable<
    ReturnType<typeof parseServiceCidr>
  >
  const kubernetesService = startKubernetesService({
    storage,
    serviceIps: new ServiceIpAllocator(storage, cidr),
    clusterIp: firstServiceIp(cidr),
    publicIp: config.advertiseAddress,
    securePort: port,
    endpointReconciler: config.endpointReconcilerType,
    leaseTtlSeconds: config.masterLeaseTtlSeconds,
    // kube: a 15 s TTL written every 10 s.
    intervalMs: Math.round((config.masterLeaseTtlSeconds * 1000 * 2) / 3),
    onError: (err) => log.warn({ err }, 'reconciling the kubernetes service failed; retrying'),
    after: systemNamespaces.ready,
  })
  let stopping = false
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    systemNamespaces.stop()
    log.info({ signal }, 'received signal; shutting down')
    // kube's PreShutdownHook: this api-server leaves the kubernetes Endpoints while it shuts down
    // (/readyz fails at once all the same); the process exits once both are done.
    Promise.all([kubernetesService.stop(), server.shutdown()])
      .then(() => storage.close())
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
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}
