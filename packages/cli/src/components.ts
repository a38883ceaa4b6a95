/**
 * What one host runs: its components' command lines, derived from `hakube node`'s flags. Pure, so
 * each component's argv is unit-tested; the supervisor only spawns them.
 */
import { join } from 'node:path'
import {
  APISERVER_PORT,
  CONTROLLER_MANAGER_PORT,
  type LeaderElectFlags,
  leaderElectArgs,
  NODE_SIM_PORT,
  type NodeMonitorFlags,
  nodeMonitorArgs,
  type Role,
  SCHEDULER_PORT,
  STORE_CLIENT_PORT,
  STORE_PEER_PORT,
  type StoreKind,
} from './topology.js'

export type ComponentName = 'store' | 'apiserver' | 'scheduler' | 'controller-manager' | 'lb' | 'node-sim'

export interface NodeConfig {
  readonly role: Role
  readonly name: string
  readonly address: string
  /** The cluster's directory (data under hosts/<name>/, logs under logs/<name>/). */
  readonly dir: string
  readonly store: StoreKind
  /** name=peerURL,... (hosts running a store member). */
  readonly initialCluster: string
  /** Store client URLs for the api-server. */
  readonly etcdServers: readonly string[]
  /** Api-server URLs for the balancer. */
  readonly backends: readonly string[]
  /** The balancer's port and its /stats port. */
  readonly port: number
  readonly statsPort: number
  /** The balancer's --health-timeout (empty or absent: its default, 1s). */
  readonly healthTimeout?: string
  /** The api-server's --etcd-readycheck-timeout (empty or absent: APISERVER_READYCHECK_TIMEOUT). */
  readonly etcdReadycheckTimeout?: string
  /** The api-server URL the worker's node simulator talks to (the balancer). */
  readonly master: string
  /** Simulated nodes on a worker: one named like the host, or `<host>-1`... */
  readonly nodes: number
  /** The scheduler's and controller-manager's election flags (empty: their defaults). */
  readonly leaderElect: LeaderElectFlags
  /** The controller-manager's node lifecycle timing (absent or empty: its defaults). */
  readonly nodeMonitor?: NodeMonitorFlags
}

/** Where the binaries are: node scripts for hakube's own, an executable for etcd. */
export interface Binaries {
  readonly node: string
  readonly store: string
  readonly apiserver: string
  readonly lb: string
  readonly scheduler: string
  readonly controllerManager: string
  readonly nodeSim: string
  readonly etcd: string
}

export interface ComponentSpec {
  readonly name: ComponentName
  readonly command: string
  readonly args: readonly string[]
}

export function hostDir(dir: string, host: string): string {
  return join(dir, 'hosts', host)
}

export function logFile(dir: string, host: string, component: string): string {
  return join(dir, 'logs', host, `${component}.log`)
}

export function adminSocket(dir: string, host: string): string {
  return join(hostDir(dir, host), 'admin.sock')
}

/**
 * The components of a role, in start order (stop order is the reverse: a master's controller-manager
 * and scheduler stop before its api-server, so a leader can still release its lock through it).
 */
export function componentsOf(role: Role): ComponentName[] {
  switch (role) {
    case 'stacked-master':
      return ['store', 'apiserver', 'scheduler', 'controller-manager']
    case 'master':
      return ['apiserver', 'scheduler', 'controller-manager']
    case 'etcd':
      return ['store']
    case 'lb':
      return ['lb']
    case 'worker':
      return ['node-sim']
  }
}

/** The host's components with their command lines, in start order. */
/** Below the balancer's default --health-timeout (1s). */
export const APISERVER_READYCHECK_TIMEOUT = '700ms'

export function componentSpecs(c: NodeConfig, bins: Binaries): ComponentSpec[] {
  const specs: Record<ComponentName, () => ComponentSpec> = {
    store: () => storeSpec(c, bins),
    apiserver: () => ({
      name: 'apiserver',
      command: bins.node,
      args: [
        bins.apiserver,
        `--bind-address=${c.address}`,
        `--advertise-address=${c.address}`,
        `--secure-port=${APISERVER_PORT}`,
        `--etcd-servers=${c.etcdServers.join(',')}`,
        '--endpoint-reconciler-type=lease',
        // The balancer gives /readyz 1 s (its --health-timeout): the store check must answer within
        // it, or an api-server whose store cannot commit looks hung (and its in-flight writes are cut
        // with 502) instead of not ready.
        `--etcd-readycheck-timeout=${c.etcdReadycheckTimeout || APISERVER_READYCHECK_TIMEOUT}`,
      ],
    }),
    // kubeadm's scheduler.conf points at the local api-server: a scheduler survives the balancer's loss
    // and goes down with its own host's api-server, as on a real master.
    scheduler: () => ({
      name: 'scheduler',
      command: bins.node,
      args: [
        bins.scheduler,
        `--master=http://${c.address}:${APISERVER_PORT}`,
        `--bind-address=${c.address}`,
        `--port=${SCHEDULER_PORT}`,
        ...leaderElectArgs(c.leaderElect),
      ],
    }),
    // Likewise kubeadm's controller-manager.conf: the local api-server.
    'controller-manager': () => ({
      name: 'controller-manager',
      command: bins.node,
      args: [
        bins.controllerManager,
        `--master=http://${c.address}:${APISERVER_PORT}`,
        `--bind-address=${c.address}`,
        `--port=${CONTROLLER_MANAGER_PORT}`,
        ...leaderElectArgs(c.leaderElect),
        ...nodeMonitorArgs(c.nodeMonitor),
      ],
    }),
    // Kubelets reach the api-servers through the balancer.
    'node-sim': () => ({
      name: 'node-sim',
      command: bins.node,
      args: [
        bins.nodeSim,
        `--master=${c.master}`,
        `--bind-address=${c.address}`,
        `--port=${NODE_SIM_PORT}`,
        ...(c.nodes === 1
          ? [`--node-name=${c.name}`]
          : [`--nodes=${c.nodes}`, `--node-name-prefix=${c.name}`]),
      ],
    }),
    lb: () => ({
      name: 'lb',
      command: bins.node,
      args: [
        bins.lb,
        `--bind-address=${c.address}`,
        `--port=${c.port}`,
        `--stats-port=${c.statsPort}`,
        `--backends=${c.backends.join(',')}`,
        ...(c.healthTimeout ? [`--health-timeout=${c.healthTimeout}`] : []),
      ],
    }),
  }
  return componentsOf(c.role).map((name) => specs[name]())
}

function storeSpec(c: NodeConfig, bins: Binaries): ComponentSpec {
  const peer = `http://${c.address}:${STORE_PEER_PORT}`
  const client = `http://${c.address}:${STORE_CLIENT_PORT}`
  const flags = [
    `--name=${c.name}`,
    `--data-dir=${join(hostDir(c.dir, c.name), 'store')}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--initial-cluster=${c.initialCluster}`,
    '--initial-cluster-state=new',
    '--initial-cluster-token=hakube',
  ]
  if (c.store === 'hakube') return { name: 'store', command: bins.node, args: [bins.store, ...flags] }
  // etcd 3.4 defaults to --pre-vote=false; hakube-store always runs PreVote (etcd's default since 3.5).
  return {
    name: 'store',
    command: bins.etcd,
    args: [...flags, '--pre-vote=true', '--logger=zap', '--log-outputs=stderr'],
  }
}
