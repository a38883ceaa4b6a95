/**
 * hakube-apiserver's command line: kube-apiserver's flag names, defaults and pflag syntax, plus
 * `--storage-backend=memory` (hakube's in-process store). A bad or inconsistent value is one line
 * naming the flag, for the binary to print before exiting with code 2.
 */
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { flag, flagUsages, parseFlags } from '@hakube/api/flags'
import { parseWatchCacheSizes } from '@hakube/storage'
import { parseServiceCidr } from './rest/service-cidr.js'

export const APISERVER_FLAGS = {
  etcdServers: flag({
    name: 'etcd-servers',
    type: 'stringSlice',
    default: [],
    usage: 'List of etcd servers to connect with (scheme://ip:port), comma separated.',
  }),
  storageBackend: flag({
    name: 'storage-backend',
    type: 'string',
    default: '',
    usage:
      "The storage backend for persistence. Options: 'etcd3', 'memory' (default: 'etcd3' when --etcd-servers is set, else 'memory').",
  }),
  etcdCompactionInterval: flag({
    name: 'etcd-compaction-interval',
    type: 'duration',
    default: 5 * 60_000,
    usage:
      'The interval of compaction requests. If 0, the compaction request from apiserver is disabled. (hakube compacts the memory backend the same way.)',
  }),
  etcdHealthcheckTimeout: flag({
    name: 'etcd-healthcheck-timeout',
    type: 'duration',
    default: 2000,
    usage: 'The timeout to use when checking etcd health.',
  }),
  etcdReadycheckTimeout: flag({
    name: 'etcd-readycheck-timeout',
    type: 'duration',
    default: 2000,
    usage:
      "The timeout to use when checking etcd readiness. (hakube: keep it below a balancer's health-check timeout, or a store that cannot answer makes this api-server look hung rather than not ready.)",
  }),
  watchCache: flag({
    name: 'watch-cache',
    type: 'bool',
    default: true,
    usage: 'Enable watch caching in the apiserver',
  }),
  watchCacheSizes: flag({
    name: 'watch-cache-sizes',
    type: 'stringSlice',
    default: [],
    usage:
      'Watch cache size settings for some resources (pods, nodes, etc.), comma separated. The individual setting format: resource[.group]#size, where resource is lowercase plural (no version), group is omitted for resources of apiVersion v1 (the legacy core API) and included for others, and size is a number. This option is only meaningful for resources built into the apiserver, not ones defined by CRDs or aggregated from external servers, and is only consulted if the watch-cache is enabled. The only meaningful size setting to supply here is zero, which means to disable watch caching for the associated resource; all non-zero values are equivalent and mean to not disable watch caching for that resource. (hakube: a non-zero size is the starting size of its ring of events.)',
  }),
  defaultWatchCacheSize: flag({
    name: 'default-watch-cache-size',
    type: 'int',
    default: 100,
    usage:
      'Default watch cache size. If zero, watch cache will be disabled for resources that do not have a default watch size set.',
  }),
  bindAddress: flag({
    name: 'bind-address',
    type: 'string',
    default: '0.0.0.0',
    usage: 'The IP address on which to listen for the --secure-port port.',
  }),
  securePort: flag({
    name: 'secure-port',
    type: 'int',
    default: 6443,
    usage:
      'The port on which to serve HTTPS with authentication and authorization (HTTP without --tls-cert-file; 0 picks a free port).',
  }),
  advertiseAddress: flag({
    name: 'advertise-address',
    type: 'string',
    default: '',
    usage:
      "The IP address on which to advertise the apiserver to members of the cluster. This address must be reachable by the rest of the cluster. If blank, the --bind-address will be used. If --bind-address is unspecified, the host's default interface will be used.",
  }),
  endpointReconcilerType: flag({
    name: 'endpoint-reconciler-type',
    type: 'string',
    default: 'lease',
    usage:
      'Use an endpoint reconciler (master-count, lease, none) master-count is deprecated, and will be removed in a future version. (hakube has lease and none.)',
  }),
  endpointReconcilerLeaseTtl: flag({
    name: 'endpoint-reconciler-lease-ttl',
    type: 'duration',
    default: 15_000,
    usage:
      "hakube, for tests: the TTL of this api-server's master lease (whole seconds); the lease reconciler runs every 2/3 of it (kube: fixed 15s and 10s).",
  }),
  serviceClusterIpRange: flag({
    name: 'service-cluster-ip-range',
    type: 'string',
    default: '10.96.0.0/12',
    usage:
      "A CIDR notation IP range from which to assign service cluster IPs (hakube defaults to kubeadm's 10.96.0.0/12).",
  }),
  maxRequestsInflight: flag({
    name: 'max-requests-inflight',
    type: 'int',
    default: 400,
    usage: 'The maximum number of non-mutating requests in flight at a given time. 0 means no limit.',
  }),
  maxMutatingRequestsInflight: flag({
    name: 'max-mutating-requests-inflight',
    type: 'int',
    default: 200,
    usage: 'The maximum number of mutating requests in flight at a given time. 0 means no limit.',
  }),
  requestTimeout: flag({
    name: 'request-timeout',
    type: 'duration',
    default: 60_000,
    usage:
      'An optional field indicating the duration a handler must keep a request open before timing it out.',
  }),
  tlsCertFile: flag({
    name: 'tls-cert-file',
    type: 'string',
    default: '',
    usage: 'File containing the default x509 Certificate for HTTPS.',
  }),
  tlsPrivateKeyFile: flag({
    name: 'tls-private-key-file',
    type: 'string',
    default: '',
    usage: 'File containing the default x509 private key matching --tls-cert-file.',
  }),
  clientCaFile: flag({
    name: 'client-ca-file',
    type: 'string',
    default: '',
    usage:
      'If set, any request presenting a client certificate signed by one of the authorities in the client-ca-file is authenticated with an identity corresponding to the CommonName of the client certificate. (hakube: needs --tls-cert-file.)',
  }),
  shutdownDelayDuration: flag({
    name: 'shutdown-delay-duration',
    type: 'duration',
    default: 0,
    usage:
      'Time to delay the termination. During that time the server keeps serving requests normally, /readyz fails.',
  }),
  v: flag({
    name: 'v',
    shorthand: 'v',
    type: 'int',
    default: 0,
    usage: 'number for the log level verbosity',
  }),
  version: flag({
    name: 'version',
    type: 'bool',
    default: false,
    usage: 'Print version information and quit.',
  }),
}

export interface ApiServerConfig {
  readonly etcdServers: readonly string[]
  readonly storageBackend: 'memory' | 'etcd3'
  /** --etcd-compaction-interval in ms; 0 disables compaction. */
  readonly etcdCompactionIntervalMs: number
  /** --etcd-healthcheck-timeout (/healthz, /livez) and --etcd-readycheck-timeout (/readyz), in ms. */
  readonly etcdHealthcheckTimeoutMs: number
  readonly etcdReadycheckTimeoutMs: number
  /** --watch-cache: serve watches and lists from the api-server's watch cache (CachedStorage). */
  readonly watchCache: boolean
  /** --watch-cache-sizes, by resource plural (0: that resource is not cached). */
  readonly watchCacheSizes: Readonly<Record<string, number>>
  /** --default-watch-cache-size: the ring size of every resource not in watchCacheSizes (0: none). */
  readonly defaultWatchCacheSize: number
  readonly bindAddress: string
  readonly securePort: number
  readonly advertiseAddress: string
  readonly endpointReconcilerType: 'lease' | 'none'
  /** The master lease TTL in whole seconds (kube: 15). */
  readonly masterLeaseTtlSeconds: number
  readonly serviceClusterIpRange: string
  readonly maxRequestsInflight: number
  readonly maxMutatingRequestsInflight: number
  readonly requestTimeoutMs: number
  readonly tls: { certFile: string; keyFile: string } | undefined
  /** --client-ca-file: client certificates are asked for and verified against it (needs TLS). */
  readonly clientCaFile: string | undefined
  readonly shutdownDelayMs: number
  /** klog verbosity (0 info ... 4+ debug). */
  readonly verbosity: number
}

export type ApiServerFlagsResult =
  | { ok: true; config: ApiServerConfig }
  | { ok: true; exit: 'help' | 'version'; output: string }
  | { ok: false; error: string }

/** The Kubernetes version hakube-apiserver reports (kubectl's dispatcher picks its 1.32 for it). */
export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-hakube' }

/** The host's addresses, as os.networkInterfaces() lists them. */
export type HostInterfaces = ReturnType<typeof networkInterfaces>

/**
 * kube's advertise address default (ServerRunOptions.DefaultAdvertiseAddress): the bind address,
 * unless it is unspecified, then the host's first non-loopback IPv4 address (kube asks the default
 * route's interface). hakube departs from kube for a loopback bind address: each 127.0.1.x is an
 * emulated host, so it is advertised as it is (kube would look for a host interface instead).
 */
export function defaultAdvertiseAddress(bindAddress: string, interfaces: HostInterfaces): string {
  if (bindAddress !== '0.0.0.0' && bindAddress !== '::') return bindAddress
  for (const list of Object.values(interfaces))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  return '127.0.0.1'
}

export function parseApiServerFlags(
  argv: readonly string[],
  interfaces: HostInterfaces = networkInterfaces(),
): ApiServerFlagsResult {
  const r = parseFlags(APISERVER_FLAGS, argv)
  if (!r.ok) return r
  if (r.help) return { ok: true, exit: 'help', output: helpText() }
  const v = r.values
  if (v.version) return { ok: true, exit: 'version', output: `Kubernetes ${KUBERNETES_VERSION.gitVersion}` }
  if (r.args.length > 0) return { ok: false, error: `unexpected argument ${JSON.stringify(r.args[0])}` }
  const backend = v.storageBackend === '' ? (v.etcdServers.length > 0 ? 'etcd3' : 'memory') : v.storageBackend
  if (backend !== 'etcd3' && backend !== 'memory')
    return {
      ok: false,
      error: `--storage-backend: unknown storage backend ${JSON.stringify(backend)} (etcd3 or memory)`,
    }
  if (backend === 'etcd3' && v.etcdServers.length === 0)
    return { ok: false, error: '--etcd-servers must be specified' }
  for (const s of v.etcdServers) {
    let u: URL | undefined
    try {
      u = new URL(s)
    } catch {
      u = undefined
    }
    if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.port === '')
      return { ok: false, error: `--etcd-servers: ${JSON.stringify(s)} is not a scheme://ip:port URL` }
  }
  if (v.etcdCompactionInterval < 0)
    return { ok: false, error: '--etcd-compaction-interval must not be negative' }
  let watchCacheSizes: Record<string, number>
  try {
    watchCacheSizes = parseWatchCacheSizes(v.watchCacheSizes)
  } catch {
    const bad = v.watchCacheSizes.join(',')
    return {
      ok: false,
      error: `--watch-cache-sizes: invalid value ${JSON.stringify(bad)} (resource[.group]#size, comma separated)`,
    }
  }
  if (v.defaultWatchCacheSize < 0)
    return { ok: false, error: '--default-watch-cache-size can not be negative value' }
  if (isIP(v.bindAddress) === 0)
    return { ok: false, error: `--bind-address: ${JSON.stringify(v.bindAddress)} is not a valid IP address` }
  if (v.advertiseAddress !== '' && isIP(v.advertiseAddress) === 0)
    return {
      ok: false,
      error: `--advertise-address: ${JSON.stringify(v.advertiseAddress)} is not a valid IP address`,
    }
  if (v.endpointReconcilerType !== 'lease' && v.endpointReconcilerType !== 'none')
    return {
      ok: false,
      error:
        v.endpointReconcilerType === 'master-count'
          ? '--endpoint-reconciler-type: master-count is not supported by hakube (lease or none)'
          : `--endpoint-reconciler-type: invalid value ${JSON.stringify(v.endpointReconcilerType)} (lease or none)`,
    }
  if (v.endpointReconcilerLeaseTtl < 1000 || v.endpointReconcilerLeaseTtl % 1000 !== 0)
    return {
      ok: false,
      error: '--endpoint-reconciler-lease-ttl must be a whole number of seconds, at least 1s',
    }
  if (parseServiceCidr(v.serviceClusterIpRange) === undefined)
    return {
      ok: false,
      error: `--service-cluster-ip-range: ${JSON.stringify(v.serviceClusterIpRange)} is not an IPv4 CIDR between /8 and /30`,
    }
  if (v.securePort < 0 || v.securePort > 65535)
    return { ok: false, error: `--secure-port ${v.securePort} must be between 0 and 65535, inclusive` }
  for (const [name, n] of [
    ['max-requests-inflight', v.maxRequestsInflight],
    ['max-mutating-requests-inflight', v.maxMutatingRequestsInflight],
  ] as const) {
    if (n < 0) return { ok: false, error: `--${name} can not be negative value` }
  }
  if (v.requestTimeout <= 0) return { ok: false, error: '--request-timeout must be greater than 0' }
  for (const [name, ms] of [
    ['etcd-healthcheck-timeout', v.etcdHealthcheckTimeout],
    ['etcd-readycheck-timeout', v.etcdReadycheckTimeout],
  ] as const) {
    if (ms <= 0) return { ok: false, error: `--${name} must be greater than 0` }
  }
  if ((v.tlsCertFile === '') !== (v.tlsPrivateKeyFile === ''))
    return { ok: false, error: '--tls-cert-file and --tls-private-key-file must be given together' }
  if (v.clientCaFile !== '' && v.tlsCertFile === '')
    return {
      ok: false,
      error: '--client-ca-file needs --tls-cert-file (without it hakube serves plain HTTP)',
    }
  return {
    ok: true,
    config: {
      etcdServers: v.etcdServers,
      storageBackend: backend,
      etcdCompactionIntervalMs: v.etcdCompactionInterval,
      etcdHealthcheckTimeoutMs: v.etcdHealthcheckTimeout,
      etcdReadycheckTimeoutMs: v.etcdReadycheckTimeout,
      watchCache: v.watchCache,
      watchCacheSizes,
      defaultWatchCacheSize: v.defaultWatchCacheSize,
      bindAddress: v.bindAddress,
      securePort: v.securePort,
      advertiseAddress:
        v.advertiseAddress === '' ? defaultAdvertiseAddress(v.bindAddress, interfaces) : v.advertiseAddress,
      endpointReconcilerType: v.endpointReconcilerType,
      masterLeaseTtlSeconds: v.endpointReconcilerLeaseTtl / 1000,
      serviceClusterIpRange: v.serviceClusterIpRange,
      maxRequestsInflight: v.maxRequestsInflight,
      maxMutatingRequestsInflight: v.maxMutatingRequestsInflight,
      requestTimeoutMs: v.requestTimeout,
      tls: v.tlsCertFile === '' ? undefined : { certFile: v.tlsCertFile, keyFile: v.tlsPrivateKeyFile },
      clientCaFile: v.clientCaFile === '' ? undefined : v.clientCaFile,
      shutdownDelayMs: v.shutdownDelayDuration,
      verbosity: v.v,
    },
  }
}

export function helpText(): string {
  return [
    'The hakube API server validates and configures data for the api objects, which include pods,',
    'services, deployments and others, as kube-apiserver does, storing them in an etcd-compatible store.',
    '',
    'Usage:',
    '  hakube-apiserver [flags]',
    '',
    'Flags:',
    flagUsages(APISERVER_FLAGS),
    '',
  ].join('\n')
}
