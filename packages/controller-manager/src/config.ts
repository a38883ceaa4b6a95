/**
 * hakube-controller-manager's command line: kube-controller-manager's flags that hakube honours
 * (pflag syntax, Go durations, through @hakube/api's light flags entry) and the leader-election flags
 * of @hakube/leader-election (resource name `kube-controller-manager`). Checked by hand rather than
 * with zod, so `--help`, `--version` and a bad flag answer without loading any schema. A bad value is
 * one line naming the flag, for main.ts to print before exiting with code 2.
 */
import {
  type ComponentOptions,
  componentFlags,
  componentOptions,
  flag,
  flagUsages,
  parseFlags,
} from '@hakube/api/flags'
import {
  type LeaderElectionOptions,
  leaderElectionFlags,
  leaderElectionOptions,
} from '@hakube/leader-election/flags'

export const CONTROLLER_MANAGER_VERSION = 'hakube-controller-manager v0.1.0'

/** kube-controller-manager's names of the controllers hakube knows, in start order. */
export const KNOWN_CONTROLLERS = [
  'serviceaccount',
  'namespace',
  'garbagecollector',
  'replicaset',
  'deployment',
  'endpoint',
  'nodelifecycle',
] as const
export type ControllerName = (typeof KNOWN_CONTROLLERS)[number]

export const CONTROLLER_MANAGER_FLAGS = {
  ...componentFlags(10257),
  controllers: flag({
    name: 'controllers',
    type: 'stringSlice',
    default: ['*'],
    usage: `A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'. All controllers: ${KNOWN_CONTROLLERS.join(', ')}.`,
  }),
  concurrentReplicasetSyncs: flag({
    name: 'concurrent-replicaset-syncs',
    type: 'int',
    default: 5,
    usage:
      'The number of replica sets that are allowed to sync concurrently. Larger number = more responsive replica management, but more CPU (and network) load',
  }),
  concurrentDeploymentSyncs: flag({
    name: 'concurrent-deployment-syncs',
    type: 'int',
    default: 5,
    usage:
      'The number of deployment objects that are allowed to sync concurrently. Larger number = more responsive deployments, but more CPU (and network) load',
  }),
  concurrentEndpointSyncs: flag({
    name: 'concurrent-endpoint-syncs',
    type: 'int',
    default: 5,
    usage:
      'The number of endpoint syncing operations that will be done concurrently. Larger number = faster endpoint updating, but more CPU (and network) load',
  }),
  concurrentNamespaceSyncs: flag({
    name: 'concurrent-namespace-syncs',
    type: 'int',
    default: 10,
    usage:
      'The number of namespace objects that are allowed to sync concurrently. Larger number = more responsive namespace termination, but more CPU (and network) load',
  }),
  concurrentGcSyncs: flag({
    name: 'concurrent-gc-syncs',
    type: 'int',
    default: 20,
    usage: 'The number of garbage collector workers that are allowed to sync concurrently.',
  }),
  nodeMonitorPeriod: flag({
    name: 'node-monitor-period',
    type: 'duration',
    default: 5000,
    usage: 'The period for syncing NodeStatus in cloud-node-lifecycle-controller.',
  }),
  nodeMonitorGracePeriod: flag({
    name: 'node-monitor-grace-period',
    type: 'duration',
    default: 40_000,
    usage:
      "Amount of time which we allow running Node to be unresponsive before marking it unhealthy. Must be N times more than kubelet's nodeStatusUpdateFrequency, where N means number of retries allowed for kubelet to post node status.",
  }),
  nodeStartupGracePeriod: flag({
    name: 'node-startup-grace-period',
    type: 'duration',
    default: 60_000,
    usage: 'Amount of time which we allow starting Node to be unresponsive before marking it unhealthy.',
  }),
  nodeEvictionRate: flag({
    name: 'node-eviction-rate',
    type: 'string',
    default: '0.1',
    usage:
      'Number of nodes per second on which pods are deleted in case of node failure when a zone is healthy.',
  }),
  ...leaderElectionFlags('kube-controller-manager'),
}

export interface ControllerManagerConfig extends ComponentOptions {
  /** The controllers to run (known and enabled), in start order. */
  readonly controllers: readonly ControllerName[]
  readonly concurrentReplicasetSyncs: number
  readonly concurrentDeploymentSyncs: number
  readonly concurrentEndpointSyncs: number
  readonly concurrentNamespaceSyncs: number
  readonly concurrentGcSyncs: number
  readonly nodeMonitorPeriodMs: number
  readonly nodeMonitorGracePeriodMs: number
  readonly nodeStartupGracePeriodMs: number
  /** Nodes per second. */
  readonly nodeEvictionRate: number
  readonly leaderElection: LeaderElectionOptions
}

export type ControllerManagerFlagsResult =
  | { ok: true; config: ControllerManagerConfig }
  | { ok: true; exit: 'help' | 'version'; output: string }
  | { ok: false; error: string }

/**
 * `--controllers` as kube reads it (app.IsControllerEnabled): a name enables it, `-name` disables it
 * (and wins), `*` enables every controller not named with `-`. Unknown names are an error.
 */
export function selectControllers(
  list: readonly string[],
): { ok: true; controllers: ControllerName[] } | { ok: false; error: string } {
  const known = new Set<string>(KNOWN_CONTROLLERS)
  for (const raw of list) {
    const name = raw.startsWith('-') ? raw.slice(1) : raw
    if (raw === '*') continue
    if (!known.has(name))
      return {
        ok: false,
        error: `--controllers: "${raw}" is not in the list of known controllers (${KNOWN_CONTROLLERS.join(', ')})`,
      }
  }
  const star = list.includes('*')
  const controllers = KNOWN_CONTROLLERS.filter((c) => {
    if (list.includes(`-${c}`)) return false
    return list.includes(c) || star
  })
  return { ok: true, controllers }
}

export function parseControllerManagerFlags(argv: readonly string[]): ControllerManagerFlagsResult {
  const r = parseFlags(CONTROLLER_MANAGER_FLAGS, argv)
  if (!r.ok) return r
  if (r.help) return { ok: true, exit: 'help', output: helpText() }
  const v = r.values
  if (v.version) return { ok: true, exit: 'version', output: CONTROLLER_MANAGER_VERSION }
  if (r.args.length > 0) return { ok: false, error: `unexpected argument ${JSON.stringify(r.args[0])}` }
  const component = componentOptions(v)
  if (!component.ok) return component
  const selected = selectControllers(v.controllers)
  if (!selected.ok) return selected
  for (const [name, value] of [
    ['concurrent-replicaset-syncs', v.concurrentReplicasetSyncs],
    ['concurrent-deployment-syncs', v.concurrentDeploymentSyncs],
    ['concurrent-endpoint-syncs', v.concurrentEndpointSyncs],
    ['concurrent-namespace-syncs', v.concurrentNamespaceSyncs],
    ['concurrent-gc-syncs', v.concurrentGcSyncs],
  ] as const) {
    if (value < 1) return { ok: false, error: `--${name} must be at least 1, got ${value}` }
  }
  if (!(v.nodeMonitorPeriod > 0)) return { ok: false, error: '--node-monitor-period must be greater than 0' }
  if (!(v.nodeMonitorGracePeriod > 0))
    return { ok: false, error: '--node-monitor-grace-period must be greater than 0' }
  if (!(v.nodeStartupGracePeriod > 0))
    return { ok: false, error: '--node-startup-grace-period must be greater than 0' }
  const rate = Number(v.nodeEvictionRate)
  if (v.nodeEvictionRate.trim() === '' || !Number.isFinite(rate) || rate < 0)
    return {
      ok: false,
      error: `invalid argument ${JSON.stringify(v.nodeEvictionRate)} for "--node-eviction-rate" flag: not a non-negative float`,
    }
  const le = leaderElectionOptions(v)
  if (!le.ok) return le
  return {
    ok: true,
    config: Object.freeze({
      ...component.options,
      controllers: Object.freeze(selected.controllers),
      concurrentReplicasetSyncs: v.concurrentReplicasetSyncs,
      concurrentDeploymentSyncs: v.concurrentDeploymentSyncs,
      concurrentEndpointSyncs: v.concurrentEndpointSyncs,
      concurrentNamespaceSyncs: v.concurrentNamespaceSyncs,
      concurrentGcSyncs: v.concurrentGcSyncs,
      nodeMonitorPeriodMs: v.nodeMonitorPeriod,
      nodeMonitorGracePeriodMs: v.nodeMonitorGracePeriod,
      nodeStartupGracePeriodMs: v.nodeStartupGracePeriod,
      nodeEvictionRate: rate,
      leaderElection: le.options,
    }),
  }
}

export function helpText(): string {
  return `hakube-controller-manager runs the controllers (${KNOWN_CONTROLLERS.join(', ')}), only while it holds the kube-controller-manager leader lock.

Usage:
  hakube-controller-manager --kubeconfig PATH | --master URL [flags]

Flags:
${flagUsages(CONTROLLER_MANAGER_FLAGS)}`
}
