/**
 * Goal: hakube-apiserver reads kube-apiserver's flags with their defaults, picks the storage backend as
 * documented, and refuses bad or inconsistent values with one line naming the flag.
 */
import { describe, expect, it } from 'vitest'
import { parseApiServerFlags } from './options.js'

describe('hakube-apiserver flags', () => {
  it('defaults as kube-apiserver, with the memory backend when no --etcd-servers', () => {
    const r = parseApiServerFlags([], {})
    if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
    expect(r.config).toEqual({
      etcdServers: [],
      storageBackend: 'memory',
      etcdCompactionIntervalMs: 300_000,
      etcdHealthcheckTimeoutMs: 2000,
      etcdReadycheckTimeoutMs: 2000,
      watchCache: true,
      watchCacheSizes: {},
      defaultWatchCacheSize: 100,
      bindAddress: '0.0.0.0',
      securePort: 6443,
      // No host interface given: kube would fail to find one; hakube falls back to loopback.
      advertiseAddress: '127.0.0.1',
      endpointReconcilerType: 'lease',
      masterLeaseTtlSeconds: 15,
      serviceClusterIpRange: '10.96.0.0/12',
      maxRequestsInflight: 400,
      maxMutatingRequestsInflight: 200,
      requestTimeoutMs: 60_000,
      tls: undefined,
      shutdownDelayMs: 0,
      verbosity: 0,
    })
  })

  it('uses etcd3 when --etcd-servers is given, and reads the other flags', () => {
    const r = parseApiServerFlags([
      '--etcd-servers=http://127.0.1.11:2379,http://127.0.1.12:2379',
      '--bind-address=127.0.1.21',
      '--secure-port',
      '6443',
      '--advertise-address=127.0.1.21',
      '--max-requests-inflight=10',
      '--max-mutating-requests-inflight=5',
      '--request-timeout=30s',
      '--etcd-compaction-interval=1m30s',
      '--etcd-readycheck-timeout=800ms',
      '--etcd-healthcheck-timeout=5s',
      '-v=4',
    ])
    expect(r.ok && 'config' in r && r.config).toMatchObject({
      etcdServers: ['http://127.0.1.11:2379', 'http://127.0.1.12:2379'],
      storageBackend: 'etcd3',
      bindAddress: '127.0.1.21',
      maxRequestsInflight: 10,
      maxMutatingRequestsInflight: 5,
      requestTimeoutMs: 30_000,
      etcdCompactionIntervalMs: 90_000,
      etcdReadycheckTimeoutMs: 800,
      etcdHealthcheckTimeoutMs: 5000,
      verbosity: 4,
    })
  })

  it('reads the watch cache flags as kube-apiserver: --watch-cache, --watch-cache-sizes, --default-watch-cache-size', () => {
    const r = parseApiServerFlags([
      '--watch-cache=false',
      '--watch-cache-sizes=pods#1000,deployments.apps#0',
      '--watch-cache-sizes',
      'events#50',
      '--default-watch-cache-size=10',
    ])
    expect(r.ok && 'config' in r && r.config).toMatchObject({
      watchCache: false,
      watchCacheSizes: { pods: 1000, deployments: 0, events: 50 },
      defaultWatchCacheSize: 10,
    })
  })

  it('--advertise-address defaults to the bind address, or for 0.0.0.0 the first external IPv4 address', () => {
    const eth0 = { address: '192.0.2.7', family: 'IPv4', internal: false } as const
    const lo = { address: '127.0.0.1', family: 'IPv4', internal: true } as const
    const v6 = { address: 'fe80::1', family: 'IPv6', internal: false } as const
    const ifaces = { lo: [lo], eth0: [v6, eth0] } as never
    const adv = (argv: string[]) => {
      const r = parseApiServerFlags(argv, ifaces)
      return r.ok && 'config' in r ? r.config.advertiseAddress : r
    }
    expect(adv([])).toBe('192.0.2.7')
    expect(adv(['--bind-address=127.0.1.170'])).toBe('127.0.1.170')
    expect(adv(['--bind-address=127.0.1.170', '--advertise-address=127.0.1.171'])).toBe('127.0.1.171')
    const r = parseApiServerFlags(['--endpoint-reconciler-type=none', '--endpoint-reconciler-lease-ttl=3s'])
    expect(r.ok && 'config' in r && r.config).toMatchObject({
      endpointReconcilerType: 'none',
      masterLeaseTtlSeconds: 3,
    })
  })

  it.each([
    [
      ['--endpoint-reconciler-type=master-count'],
      '--endpoint-reconciler-type: master-count is not supported by hakube (lease or none)',
    ],
    [
      ['--endpoint-reconciler-type=leases'],
      '--endpoint-reconciler-type: invalid value "leases" (lease or none)',
    ],
    [
      ['--endpoint-reconciler-lease-ttl=1500ms'],
      '--endpoint-reconciler-lease-ttl must be a whole number of seconds, at least 1s',
    ],
    [
      ['--secure-port=x'],
      'invalid argument "x" for "--secure-port" flag: strconv.ParseInt: parsing "x": invalid syntax',
    ],
    [['--secure-port=70000'], '--secure-port 70000 must be between 0 and 65535, inclusive'],
    [['--storage-backend=etcd2'], '--storage-backend: unknown storage backend "etcd2" (etcd3 or memory)'],
    [['--storage-backend=etcd3'], '--etcd-servers must be specified'],
    [['--etcd-servers=127.0.0.1:2379'], '--etcd-servers: "127.0.0.1:2379" is not a scheme://ip:port URL'],
    [['--bind-address=localhost'], '--bind-address: "localhost" is not a valid IP address'],
    [['--max-requests-inflight=-1'], '--max-requests-inflight can not be negative value'],
    [['--request-timeout=0s'], '--request-timeout must be greater than 0'],
    [['--etcd-compaction-interval=-1s'], '--etcd-compaction-interval must not be negative'],
    [['--etcd-readycheck-timeout=0s'], '--etcd-readycheck-timeout must be greater than 0'],
    [['--etcd-healthcheck-timeout=-1s'], '--etcd-healthcheck-timeout must be greater than 0'],
    [
      ['--etcd-compaction-interval=5'],
      'invalid argument "5" for "--etcd-compaction-interval" flag: time: missing unit in duration "5"',
    ],
    [['--tls-cert-file=a.crt'], '--tls-cert-file and --tls-private-key-file must be given together'],
    [['--what'], 'unknown flag: --what'],
    [
      ['--watch-cache-sizes=pods=10'],
      '--watch-cache-sizes: invalid value "pods=10" (resource[.group]#size, comma separated)',
    ],
    [['--default-watch-cache-size=-1'], '--default-watch-cache-size can not be negative value'],
  ])('%j is refused with one line', (argv, error) => {
    expect(parseApiServerFlags(argv)).toEqual({ ok: false, error })
  })

  it('answers --help and --version', () => {
    const h = parseApiServerFlags(['--help'])
    expect(h.ok && 'exit' in h && h.exit).toBe('help')
    expect(h.ok && 'output' in h && h.output).toMatch(
      /--max-mutating-requests-inflight int +.*\(default 200\)/,
    )
    expect(h.ok && 'output' in h && h.output).toMatch(
      /--etcd-compaction-interval duration +The interval of compaction requests\. If 0, the compaction request from apiserver is disabled\..*\(default 5m0s\)/,
    )
    const off = parseApiServerFlags(['--etcd-compaction-interval=0'])
    expect(off.ok && 'config' in off && off.config.etcdCompactionIntervalMs).toBe(0)
    const v = parseApiServerFlags(['--version'])
    expect(v.ok && 'output' in v && v.output).toBe('Kubernetes v1.32.0-hakube')
  })
})
