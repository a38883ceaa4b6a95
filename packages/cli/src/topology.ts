/**
 * Planning a cluster from `hakube up`'s flags: which hosts, on which loopback addresses, with which
 * roles, and the `hakube node` command line of each. Pure: no I/O, so the whole layout is unit-tested.
 *
 * Layout (the default block starts at 127.0.1.1): master-1..M take the first M addresses, the external
 * store members etcd-1..E the next E (external-etcd only), the workers worker-1..W the next W, and the
 * balancer runs on its own address (127.0.0.1:6443 by default), so every api-server listens on 6443,
 * every store member on 2379/2380, every scheduler on 10259, every controller-manager on 10257 and
 * every node simulator on 10250 as on real hosts. Each master also runs a scheduler replica and a
 * controller-manager replica that talk to its own host's api-server (as kubeadm's static pods do);
 * the workers' node simulators talk to the balancer (as kubelets do).
 */
import { parseGoDuration } from '@hakube/api/flags'

export type Topology = 'stacked' | 'external-etcd'
export type StoreKind = 'hakube' | 'etcd'
/** A host's role: which components its supervisor runs. */
export type Role = 'stacked-master' | 'master' | 'etcd' | 'lb' | 'worker'
export const ROLES: readonly Role[] = ['stacked-master', 'master', 'etcd', 'lb', 'worker']

export const STORE_CLIENT_PORT = 2379
export const STORE_PEER_PORT = 2380
export const APISERVER_PORT = 6443
/** kube-scheduler's secure port (here plain HTTP: /healthz, /readyz, /metrics). */
export const SCHEDULER_PORT = 10259
/** kube-controller-manager's secure port (here plain HTTP: /healthz, /readyz, /metrics). */
export const CONTROLLER_MANAGER_PORT = 10257
/** The kubelet's port: the node simulator's read API and its admin endpoint. */
export const NODE_SIM_PORT = 10250

export type ResourceLock = 'endpoints' | 'leases' | 'endpointsleases'
export const RESOURCE_LOCKS: readonly ResourceLock[] = ['endpoints', 'leases', 'endpointsleases']

/**
 * The election flags of the schedulers and controller-managers, passed through as given (Go
 * durations); empty means their default (15s, 10s, 2s, endpoints), which is what a plain `hakube up`
 * runs.
 */
export interface LeaderElectFlags {
  readonly leaseDuration: string
  readonly renewDeadline: string
  readonly retryPeriod: string
  readonly resourceLock: string
}

export const DEFAULT_LEADER_ELECT: LeaderElectFlags = {
  leaseDuration: '',
  renewDeadline: '',
  retryPeriod: '',
  resourceLock: '',
}

/** client-go's defaults (component-base), used when a flag is not given. */
const ELECTION_DEFAULTS = { leaseDuration: '15s', renewDeadline: '10s', retryPeriod: '2s' }

export interface PlanInput {
  readonly topology: Topology
  /** Master hosts (each runs an api-server; stacked: a store member too). */
  readonly masters: number
  /** Store members on hosts of their own (external-etcd only). */
  readonly etcd: number
  readonly store: StoreKind
  /** Absolute path of the cluster's directory. */
  readonly dir: string
  /** First host address (IPv4). */
  readonly firstAddress: string
  /** The balancer's listening address, host:port. */
  readonly lbAddress: string
  /** The balancer's /stats port (on the balancer's host). */
  readonly lbStatsPort: number
  /** Worker hosts, each running a node simulator. */
  readonly workers: number
  /** Simulated nodes on each worker host. */
  readonly nodesPerWorker: number
  /** The schedulers' and controller-managers' election flags. */
  readonly leaderElect?: LeaderElectFlags
  /** The controller-managers' node lifecycle timing. */
  readonly nodeMonitor?: NodeMonitorFlags
}

export interface HostPlan {
  readonly name: string
  readonly role: Role
  readonly address: string
  /** `hakube node` arguments (after `node`) that run this host. */
  readonly nodeArgs: readonly string[]
}

export interface StoreMemberPlan {
  readonly name: string
  readonly host: string
  readonly clientUrl: string
  readonly peerUrl: string
}

export interface WorkerPlan {
  /** The host's name (worker-N). */
  readonly host: string
  readonly address: string
  /** The node simulator's base URL (kubelet read API and admin endpoint). */
  readonly url: string
  /** The Node objects it registers: `worker-N` alone, or `worker-N-1`... with several per host. */
  readonly nodes: readonly string[]
}

/** A replica of a leader-elected master component (scheduler or controller-manager). */
export interface SchedulerPlan {
  readonly host: string
  /** http://address:10259 (scheduler) or :10257 (controller-manager), for /healthz. */
  readonly url: string
}

/** The object holding an election record. */
export interface LockPlan {
  readonly kind: ResourceLock
  readonly namespace: string
  readonly name: string
}

export interface ClusterPlan {
  readonly topology: Topology
  readonly store: StoreKind
  readonly dir: string
  /** In start order: store hosts, then masters (stacked: together), then the balancer, then workers. */
  readonly hosts: readonly HostPlan[]
  readonly storeMembers: readonly StoreMemberPlan[]
  /** http://address:6443 of every api-server. */
  readonly apiServers: readonly string[]
  readonly lb: { readonly host: string; readonly port: number; readonly statsPort: number }
  /** One scheduler replica per master (absent in a cluster.json written before schedulers existed). */
  readonly schedulers?: readonly SchedulerPlan[]
  /** The schedulers' lock: kind, namespace and name of the object holding the election record. */
  readonly schedulerLock?: LockPlan
  /** One controller-manager replica per master (absent in a cluster.json written before them). */
  readonly controllerManagers?: readonly SchedulerPlan[]
  readonly controllerManagerLock?: LockPlan
  readonly workers?: readonly WorkerPlan[]
}

export interface CountCheck {
  readonly errors: string[]
  readonly warnings: string[]
}

/** Quorum facts for N members: majority ⌊N/2⌋+1, tolerating N - majority failures. */
export function quorumOf(members: number): { quorum: number; tolerates: number } {
  const quorum = Math.floor(members / 2) + 1
  return { quorum, tolerates: Math.max(0, members - quorum) }
}

/** The store member count a topology runs. */
export function storeMemberCount(input: Pick<PlanInput, 'topology' | 'masters' | 'etcd'>): number {
  return input.topology === 'stacked' ? input.masters : input.etcd
}

/**
 * Checks the counts: errors stop `hakube up`; warnings are printed and `up` goes on. An even number of
 * store members gets the fault-tolerance warning (a majority of 4 is 3: 4 tolerate one failure like 3
 * do, with one more member to lose), one member is allowed with a warning.
 */
export function checkCounts(
  input: Pick<PlanInput, 'topology' | 'masters' | 'etcd'> & { etcdGiven?: boolean },
): CountCheck {
  const errors: string[] = []
  const warnings: string[] = []
  if (!Number.isInteger(input.masters) || input.masters < 1)
    errors.push(`--masters must be at least 1 (got ${input.masters})`)
  if (input.topology === 'stacked' && input.etcdGiven === true)
    errors.push(
      '--etcd applies to --topology external-etcd; a stacked cluster runs one store member on each master (use --masters)',
    )
  if (input.topology === 'external-etcd' && (!Number.isInteger(input.etcd) || input.etcd < 1))
    errors.push(`--etcd must be at least 1 (got ${input.etcd})`)
  if (errors.length > 0) return { errors, warnings }
  const n = storeMemberCount(input)
  const members = `${n} store member${n === 1 ? '' : 's'}`
  const what = input.topology === 'stacked' ? `${n} master${n === 1 ? '' : 's'} (${members})` : members
  const { quorum, tolerates } = quorumOf(n)
  if (n === 1)
    warnings.push(
      `${what}: no fault tolerance; losing that member stops the cluster (fine for development; use 3, 5 or 7 for HA)`,
    )
  else if (n % 2 === 0) {
    const odd = quorumOf(n - 1)
    warnings.push(
      `${what}: an even number adds no fault tolerance. A quorum of ${n} is ${quorum}, so ${n} members tolerate ` +
        `${tolerates} failure${tolerates === 1 ? '' : 's'}, like ${n - 1} (quorum ${odd.quorum}), with one more member that can fail` +
        (n === 2 ? '; two members lose writes when either dies, worse than one' : '') +
        `. Use ${n - 1} or ${n + 1}.`,
    )
  }
  if (n > 7)
    warnings.push(`${what}: more than 7 store members slows every write (each needs a majority of ${quorum})`)
  return { errors, warnings }
}

/**
 * Checks the election flags as the scheduler will (Go durations; lease > renew > 1.2 × retry > 0,
 * client-go's rule with its jitter factor; a known lock kind), so `hakube up` refuses them at once
 * instead of leaving a scheduler crash-looping in its log.
 */
export function checkLeaderElect(f: LeaderElectFlags): string[] {
  const errors: string[] = []
  const ms: Record<string, number> = {}
  for (const [key, flagName] of [
    ['leaseDuration', '--leader-elect-lease-duration'],
    ['renewDeadline', '--leader-elect-renew-deadline'],
    ['retryPeriod', '--leader-elect-retry-period'],
  ] as const) {
    const text = f[key] === '' ? ELECTION_DEFAULTS[key] : f[key]
    try {
      ms[key] = parseGoDuration(text)
    } catch (err) {
      errors.push(
        `invalid argument ${JSON.stringify(text)} for "${flagName}" flag: ${(err as Error).message}`,
      )
    }
  }
  if (f.resourceLock !== '' && !RESOURCE_LOCKS.includes(f.resourceLock as ResourceLock))
    errors.push(
      `--leader-elect-resource-lock must be one of ${RESOURCE_LOCKS.join(', ')} (got ${JSON.stringify(f.resourceLock)})`,
    )
  if (errors.length > 0) return errors
  const { leaseDuration, renewDeadline, retryPeriod } = ms as Record<
    'leaseDuration' | 'renewDeadline' | 'retryPeriod',
    number
  >
  if (!(retryPeriod > 0)) errors.push('--leader-elect-retry-period must be greater than zero')
  else if (!(renewDeadline > 1.2 * retryPeriod))
    errors.push('--leader-elect-renew-deadline must be greater than 1.2 × --leader-elect-retry-period')
  else if (!(leaseDuration > renewDeadline))
    errors.push('--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline')
  return errors
}

/** The election flags given, as `hakube node` (and the scheduler) take them. */
export function leaderElectArgs(f: LeaderElectFlags | undefined): string[] {
  if (f === undefined) return []
  const out: string[] = []
  if (f.leaseDuration !== '') out.push(`--leader-elect-lease-duration=${f.leaseDuration}`)
  if (f.renewDeadline !== '') out.push(`--leader-elect-renew-deadline=${f.renewDeadline}`)
  if (f.retryPeriod !== '') out.push(`--leader-elect-retry-period=${f.retryPeriod}`)
  if (f.resourceLock !== '') out.push(`--leader-elect-resource-lock=${f.resourceLock}`)
  return out
}

/**
 * The controller-managers' `--node-monitor-period` and `--node-monitor-grace-period`, passed through as
 * given (Go durations); empty means their default (5s, 40s). Short values let a test see a failed node
 * tainted and its pods evicted in seconds.
 */
export interface NodeMonitorFlags {
  readonly period: string
  readonly gracePeriod: string
}

/** Checks the node monitor flags as the controller-manager will (Go durations above zero). */
export function checkNodeMonitor(f: NodeMonitorFlags): string[] {
  const errors: string[] = []
  for (const [text, flagName] of [
    [f.period, '--node-monitor-period'],
    [f.gracePeriod, '--node-monitor-grace-period'],
  ] as const) {
    if (text === '') continue
    try {
      if (!(parseGoDuration(text) > 0)) errors.push(`${flagName} must be greater than 0`)
    } catch (err) {
      errors.push(
        `invalid argument ${JSON.stringify(text)} for "${flagName}" flag: ${(err as Error).message}`,
      )
    }
  }
  return errors
}

/** The node monitor flags given, as `hakube node` (and the controller-manager) take them. */
export function nodeMonitorArgs(f: NodeMonitorFlags | undefined): string[] {
  if (f === undefined) return []
  const out: string[] = []
  if (f.period !== '') out.push(`--node-monitor-period=${f.period}`)
  if (f.gracePeriod !== '') out.push(`--node-monitor-grace-period=${f.gracePeriod}`)
  return out
}

/** The simulated nodes of worker host `host`: its own name alone, or `host-1`... `host-M`. */
export function workerNodeNames(host: string, nodesPerWorker: number): string[] {
  return nodesPerWorker === 1 ? [host] : Array.from({ length: nodesPerWorker }, (_, i) => `${host}-${i + 1}`)
}

/** IPv4 dotted quad to a number, or undefined. */
export function ipv4ToNumber(address: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address)
  if (m === null) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return parts.reduce((acc, p) => acc * 256 + p, 0)
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')
}

/** `host:port` split (IPv4 only), or an error text. */
export function parseHostPort(text: string, flagName: string): { host: string; port: number } | string {
  const m = /^([\d.]+):(\d{1,5})$/.exec(text)
  const port = m === null ? Number.NaN : Number(m[2])
  if (m === null || ipv4ToNumber(m[1] as string) === undefined || port < 1 || port > 65535)
    return `${flagName} must be IPv4:port, e.g. 127.0.0.1:6443 (got ${JSON.stringify(text)})`
  return { host: m[1] as string, port }
}

/** Plans the hosts, or returns the errors (counts, addresses). */
export function planCluster(
  input: PlanInput,
): { plan: ClusterPlan; warnings: string[] } | { errors: string[] } {
  const counts = checkCounts(input)
  if (counts.errors.length > 0) return { errors: counts.errors }
  const first = ipv4ToNumber(input.firstAddress)
  if (first === undefined || Math.floor(first / 2 ** 24) !== 127)
    return {
      errors: [
        `--first-address must be a loopback IPv4 address (127.x.y.z), got ${JSON.stringify(input.firstAddress)}`,
      ],
    }
  const lb = parseHostPort(input.lbAddress, '--lb-address')
  if (typeof lb === 'string') return { errors: [lb] }
  if (
    !Number.isInteger(input.lbStatsPort) ||
    input.lbStatsPort < 1 ||
    input.lbStatsPort > 65535 ||
    input.lbStatsPort === lb.port
  )
    return { errors: [`--lb-stats-port must be a port other than the balancer's (got ${input.lbStatsPort})`] }
  if (!Number.isInteger(input.workers) || input.workers < 0)
    return { errors: [`--workers must be 0 or more (got ${input.workers})`] }
  if (!Number.isInteger(input.nodesPerWorker) || input.nodesPerWorker < 1)
    return { errors: [`--nodes-per-worker must be at least 1 (got ${input.nodesPerWorker})`] }
  const electionErrors = checkLeaderElect(input.leaderElect ?? DEFAULT_LEADER_ELECT)
  if (electionErrors.length > 0) return { errors: electionErrors }
  const monitorErrors = input.nodeMonitor === undefined ? [] : checkNodeMonitor(input.nodeMonitor)
  if (monitorErrors.length > 0) return { errors: monitorErrors }
  const external = input.topology === 'external-etcd' ? input.etcd : 0
  const total = input.masters + external + input.workers
  const last = first + total - 1
  if (last % 256 === 255 || Math.floor(last / 256) !== Math.floor(first / 256))
    return {
      errors: [
        `${total} hosts from ${input.firstAddress} run past the end of its /24; choose a lower --first-address`,
      ],
    }
  const hostAddresses = Array.from({ length: total }, (_, i) => numberToIpv4(first + i))
  if (hostAddresses.includes(lb.host))
    return {
      errors: [
        `--lb-address ${input.lbAddress} is one of the hosts' addresses (${hostAddresses.join(', ')})`,
      ],
    }

  const masters = Array.from({ length: input.masters }, (_, i) => ({
    name: `master-${i + 1}`,
    address: hostAddresses[i] as string,
  }))
  const etcdHosts = Array.from({ length: external }, (_, i) => ({
    name: `etcd-${i + 1}`,
    address: hostAddresses[input.masters + i] as string,
  }))
  const workerHosts = Array.from({ length: input.workers }, (_, i) => ({
    name: `worker-${i + 1}`,
    address: hostAddresses[input.masters + external + i] as string,
  }))
  const memberHosts = input.topology === 'stacked' ? masters : etcdHosts
  const storeMembers = memberHosts.map((h) => ({
    name: h.name,
    host: h.address,
    clientUrl: `http://${h.address}:${STORE_CLIENT_PORT}`,
    peerUrl: `http://${h.address}:${STORE_PEER_PORT}`,
  }))
  const apiServers = masters.map((h) => `http://${h.address}:${APISERVER_PORT}`)
  const initialCluster = storeMembers.map((m) => `${m.name}=${m.peerUrl}`).join(',')
  const etcdServers = storeMembers.map((m) => m.clientUrl).join(',')
  const common = (name: string, role: Role, address: string): string[] => [
    `--role=${role}`,
    `--name=${name}`,
    `--address=${address}`,
    `--dir=${input.dir}`,
    `--store=${input.store}`,
  ]
  const hosts: HostPlan[] = []
  for (const h of etcdHosts)
    hosts.push({
      name: h.name,
      role: 'etcd',
      address: h.address,
      nodeArgs: [...common(h.name, 'etcd', h.address), `--initial-cluster=${initialCluster}`],
    })
  for (const h of masters) {
    const role: Role = input.topology === 'stacked' ? 'stacked-master' : 'master'
    const args = common(h.name, role, h.address)
    if (role === 'stacked-master') args.push(`--initial-cluster=${initialCluster}`)
    args.push(
      `--etcd-servers=${etcdServers}`,
      ...leaderElectArgs(input.leaderElect),
      ...nodeMonitorArgs(input.nodeMonitor),
    )
    hosts.push({ name: h.name, role, address: h.address, nodeArgs: args })
  }
  hosts.push({
    name: 'lb',
    role: 'lb',
    address: lb.host,
    nodeArgs: [
      ...common('lb', 'lb', lb.host),
      `--backends=${apiServers.join(',')}`,
      `--port=${lb.port}`,
      `--stats-port=${input.lbStatsPort}`,
    ],
  })
  const lbUrl = `http://${lb.host}:${lb.port}`
  for (const h of workerHosts)
    hosts.push({
      name: h.name,
      role: 'worker',
      address: h.address,
      nodeArgs: [
        ...common(h.name, 'worker', h.address),
        `--master=${lbUrl}`,
        `--nodes=${input.nodesPerWorker}`,
      ],
    })
  const lockKind = (input.leaderElect?.resourceLock || 'endpoints') as ResourceLock
  return {
    plan: {
      topology: input.topology,
      store: input.store,
      dir: input.dir,
      hosts,
      storeMembers,
      apiServers,
      lb: { host: lb.host, port: lb.port, statsPort: input.lbStatsPort },
      schedulers: masters.map((h) => ({ host: h.name, url: `http://${h.address}:${SCHEDULER_PORT}` })),
      schedulerLock: { kind: lockKind, namespace: 'kube-system', name: 'kube-scheduler' },
      controllerManagers: masters.map((h) => ({
        host: h.name,
        url: `http://${h.address}:${CONTROLLER_MANAGER_PORT}`,
      })),
      controllerManagerLock: { kind: lockKind, namespace: 'kube-system', name: 'kube-controller-manager' },
      workers: workerHosts.map((h) => ({
        host: h.name,
        address: h.address,
        url: `http://${h.address}:${NODE_SIM_PORT}`,
        nodes: workerNodeNames(h.name, input.nodesPerWorker),
      })),
    },
    warnings: counts.warnings,
  }
}

/**
 * The group id a host's processes run with (when hakube runs as root), one per address, so that
 * iptables can give their outgoing connections the host's own source address (see partition.ts).
 */
export function hostGid(address: string): number {
  const n = ipv4ToNumber(address) ?? 0
  return 200_000 + (n % 65_536)
}
