/**
 * hakube-node-sim's command line: pflag syntax and Go durations (@hakube/api/flags), checked here by
 * hand (no zod on the start-up path). A bad value is one line naming the flag; the binary prints it and
 * exits 2. Node groups come from the `--node-*` flags (one group) or from `--config FILE` (YAML: a list
 * of groups), read by `loadNodeGroupsFile` (node-groups.ts), which serve.ts calls.
 */
import { isIPv4 } from 'node:net'
import { componentFlags, componentOptions, flag, flagUsages, parseFlags } from '@hakube/api/flags'

export const NODE_SIM_VERSION = 'hakube-node-sim v0.1.0'
/** What every node reports as `nodeInfo.kubeletVersion` (the kubelet this emulates, and us). */
export const KUBELET_VERSION = 'v1.33.0-hakube'

export const NODE_SIM_FLAGS = {
  // --kubeconfig, --master, --bind-address, --port, --log-level, --version: as every component's.
  ...componentFlags(10250),
  bindAddress: flag({
    name: 'bind-address',
    type: 'string',
    default: '0.0.0.0',
    usage:
      "The IP address the kubelet API listens on, and every node's InternalIP (0.0.0.0 advertises 127.0.0.1).",
  }),
  port: flag({
    name: 'port',
    type: 'int',
    default: 10250,
    usage: 'Port of the kubelet read API and the admin endpoint (0 picks a free port).',
  }),
  nodes: flag({ name: 'nodes', type: 'int', default: 1, usage: 'How many nodes to simulate.' }),
  nodeNamePrefix: flag({
    name: 'node-name-prefix',
    type: 'string',
    default: 'hakube-node',
    usage: 'Nodes are named PREFIX-1 .. PREFIX-N.',
  }),
  nodeName: flag({
    name: 'node-name',
    type: 'string',
    default: '',
    usage: "Simulate exactly one node with this name (the kubelet's --hostname-override).",
  }),
  nodeLabels: flag({
    name: 'node-labels',
    type: 'stringSlice',
    default: [],
    usage: 'Labels of every node, key=value, comma separated.',
  }),
  nodeTaints: flag({
    name: 'node-taints',
    type: 'stringSlice',
    default: [],
    usage:
      'Taints of every node, key[=value]:Effect, comma separated (NoSchedule, PreferNoSchedule, NoExecute).',
  }),
  nodeCpu: flag({ name: 'node-cpu', type: 'string', default: '32', usage: 'CPU capacity of every node.' }),
  nodeMemory: flag({
    name: 'node-memory',
    type: 'string',
    default: '256Gi',
    usage: 'Memory capacity of every node.',
  }),
  nodePods: flag({ name: 'node-pods', type: 'int', default: 110, usage: 'Pod capacity of every node.' }),
  config: flag({
    name: 'config',
    type: 'string',
    default: '',
    usage:
      'A YAML file listing node groups (count, prefix, labels, taints, capacity) instead of the --node-* flags.',
  }),
  failNodes: flag({
    name: 'fail-nodes',
    type: 'stringSlice',
    default: [],
    usage: 'Nodes that start failed: registered once, then no heartbeat until recovered.',
  }),
  podStartDelay: flag({
    name: 'pod-start-delay',
    type: 'duration',
    default: 1000,
    usage: 'Time a bound pod stays Pending (ContainerCreating) before it runs.',
  }),
  jobRunTime: flag({
    name: 'job-run-time',
    type: 'duration',
    default: 5000,
    usage:
      "How long the containers of a Job's pod run before exiting 0 (0: they run until deleted). The annotation hakube.io/run-time overrides it per pod.",
  }),
  crashBackoff: flag({
    name: 'crash-backoff',
    type: 'duration',
    default: 10_000,
    usage:
      "First restart delay of a crashed container (CrashLoopBackOff); doubles per restart (the kubelet's 10s).",
  }),
  crashBackoffMax: flag({
    name: 'crash-backoff-max',
    type: 'duration',
    default: 300_000,
    usage: "Largest restart delay (the kubelet's 5m).",
  }),
  containerLogInterval: flag({
    name: 'container-log-interval',
    type: 'duration',
    default: 5000,
    usage: 'A simulated container writes one log line this often.',
  }),
  nodeLeaseDuration: flag({
    name: 'node-lease-duration',
    type: 'duration',
    default: 40_000,
    usage:
      "leaseDurationSeconds of each node's Lease in kube-node-lease (the kubelet's nodeLeaseDurationSeconds).",
  }),
  nodeLeaseRenewInterval: flag({
    name: 'node-lease-renew-interval',
    type: 'duration',
    default: 10_000,
    usage: "How often each node renews its Lease (the kubelet's 0.25 x lease duration).",
  }),
  nodeStatusUpdateFrequency: flag({
    name: 'node-status-update-frequency',
    type: 'duration',
    default: 10_000,
    usage: 'How often each node computes its status; it is posted when it changed.',
  }),
  nodeStatusReportFrequency: flag({
    name: 'node-status-report-frequency',
    type: 'duration',
    default: 300_000,
    usage: 'A node posts its status at least this often even when nothing changed.',
  }),
  maxRequestsInflight: flag({
    name: 'max-requests-inflight',
    type: 'int',
    default: 64,
    usage: 'Most heartbeat and pod status requests in flight at once, over all nodes.',
  }),
}

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'

export interface Taint {
  readonly key: string
  readonly value?: string
  readonly effect: TaintEffect
}

/** One group of identical nodes. */
export interface NodeGroup {
  /** The node names, in order. */
  readonly names: readonly string[]
  readonly labels: Readonly<Record<string, string>>
  readonly taints: readonly Taint[]
  readonly cpu: string
  readonly memory: string
  readonly pods: number
}

export interface NodeSimConfig {
  readonly kubeconfig: string
  readonly master: string
  /** Undefined when --config names a file (serve.ts reads it). */
  readonly groups: readonly NodeGroup[] | undefined
  readonly configFile: string
  readonly bindAddress: string
  readonly port: number
  readonly failNodes: readonly string[]
  readonly podStartDelayMs: number
  readonly jobRunTimeMs: number
  readonly crashBackoffMs: number
  readonly crashBackoffMsMax: number
  readonly containerLogIntervalMs: number
  readonly nodeLeaseDurationMs: number
  readonly nodeLeaseRenewIntervalMs: number
  readonly nodeStatusUpdateFrequencyMs: number
  readonly nodeStatusReportFrequencyMs: number
  readonly maxRequestsInflight: number
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
}

export type NodeSimFlagsResult =
  | { ok: true; config: NodeSimConfig }
  | { ok: true; exit: 'help' | 'version'; output: string }
  | { ok: false; error: string }

/** Thrown by the checks below; the message is the one line the binary prints. */
export class ConfigError extends Error {}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const QUANTITY = /^([+-]?[0-9]*\.?[0-9]+)([eE][-+]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/
const EFFECTS: readonly TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute']

/** A label or taint key: an optional DNS-subdomain prefix and a name of at most 63 characters. */
export function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/')
  const name = slash < 0 ? key : key.slice(slash + 1)
  const prefix = slash < 0 ? '' : key.slice(0, slash)
  if (slash >= 0 && (prefix === '' || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false
  return name.length <= 63 && LABEL_NAME.test(name)
}

export function isLabelValue(v: string): boolean {
  return v === '' || (v.length <= 63 && LABEL_NAME.test(v))
}

export function isNodeName(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name)
}

export function isQuantity(q: string): boolean {
  return QUANTITY.test(q)
}

/** `k=v` pairs (the kubelet's --node-labels). */
export function parseLabels(items: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of items) {
    const eq = item.indexOf('=')
    const key = eq < 0 ? item : item.slice(0, eq)
    const value = eq < 0 ? '' : item.slice(eq + 1)
    if (eq < 0 || !isQualifiedName(key) || !isLabelValue(value))
      throw new ConfigError(`${what}: ${JSON.stringify(item)} is not a valid key=value label`)
    out[key] = value
  }
  return out
}

/** `key[=value]:Effect` (the kubelet's --register-with-taints). */
export function parseTaint(item: string, what: string): Taint {
  const colon = item.lastIndexOf(':')
  const effect = colon < 0 ? '' : item.slice(colon + 1)
  const kv = colon < 0 ? item : item.slice(0, colon)
  const eq = kv.indexOf('=')
  const key = eq < 0 ? kv : kv.slice(0, eq)
  const value = eq < 0 ? undefined : kv.slice(eq + 1)
  if (!EFFECTS.includes(effect as TaintEffect))
    throw new ConfigError(
      `${what}: ${JSON.stringify(item)}: the effect must be one of NoSchedule, PreferNoSchedule, NoExecute`,
    )
  if (!isQualifiedName(key) || (value !== undefined && !isLabelValue(value)))
    throw new ConfigError(`${what}: ${JSON.stringify(item)} is not a valid key[=value]:Effect taint`)
  return value === undefined
    ? { key, effect: effect as TaintEffect }
    : { key, value, effect: effect as TaintEffect }
}

/** Node names `prefix-1` .. `prefix-count`, checked. */
export function groupNames(prefix: string, count: number, what: string): string[] {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`)
  for (const n of [names[0], names[names.length - 1]])
    if (n !== undefined && !isNodeName(n))
      throw new ConfigError(`${what}: ${JSON.stringify(n)} is not a valid node name (a DNS-1123 subdomain)`)
  return names
}

/** Checks the capacity of a group. */
export function checkCapacity(cpu: string, memory: string, pods: number, what: string): void {
  if (!isQuantity(cpu)) throw new ConfigError(`${what}cpu: ${JSON.stringify(cpu)} is not a quantity`)
  if (!isQuantity(memory)) throw new ConfigError(`${what}memory: ${JSON.stringify(memory)} is not a quantity`)
  if (!Number.isInteger(pods) || pods < 1) throw new ConfigError(`${what}pods must be a positive integer`)
}

/** Every node name at most once over all groups. */
export function checkUniqueNames(groups: readonly NodeGroup[]): void {
  const seen = new Set<string>()
  for (const g of groups)
    for (const n of g.names) {
      if (seen.has(n)) throw new ConfigError(`node ${JSON.stringify(n)} is defined twice`)
      seen.add(n)
    }
  if (seen.size === 0) throw new ConfigError('no nodes to simulate')
}

export function parseNodeSimFlags(argv: readonly string[]): NodeSimFlagsResult {
  const r = parseFlags(NODE_SIM_FLAGS, argv)
  if (!r.ok) return r
  if (r.help) return { ok: true, exit: 'help', output: helpText() }
  const v = r.values
  if (v.version) return { ok: true, exit: 'version', output: NODE_SIM_VERSION }
  if (r.args.length > 0) return { ok: false, error: `unexpected argument ${JSON.stringify(r.args[0])}` }
  try {
    return { ok: true, config: configFrom(v, r.set) }
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, error: err.message }
    throw err
  }
}

type Values = Extract<ReturnType<typeof parseFlags<typeof NODE_SIM_FLAGS>>, { help: false }>

function configFrom(v: Values['values'], set: Values['set']): NodeSimConfig {
  const component = componentOptions(v)
  if (!component.ok) throw new ConfigError(component.error)
  // Every node's InternalIP: IPv4 only here.
  if (!isIPv4(v.bindAddress))
    throw new ConfigError(`--bind-address: ${JSON.stringify(v.bindAddress)} is not a valid IPv4 address`)
  if (v.nodes < 1) throw new ConfigError('--nodes must be at least 1')
  const nodeFlags = [
    'nodes',
    'nodeNamePrefix',
    'nodeName',
    'nodeLabels',
    'nodeTaints',
    'nodeCpu',
    'nodeMemory',
    'nodePods',
  ] as const
  if (v.config !== '' && nodeFlags.some((f) => set.has(f)))
    throw new ConfigError(
      '--config describes the node groups: it takes none of the --nodes and --node-* flags',
    )
  if (v.nodeName !== '' && set.has('nodes') && v.nodes !== 1)
    throw new ConfigError('--node-name names exactly one node: it takes no --nodes')
  if (v.nodeName !== '' && set.has('nodeNamePrefix'))
    throw new ConfigError('--node-name and --node-name-prefix can not be given together')
  const positive: Array<[number, string]> = [
    [v.nodeLeaseDuration, 'node-lease-duration'],
    [v.nodeLeaseRenewInterval, 'node-lease-renew-interval'],
    [v.nodeStatusUpdateFrequency, 'node-status-update-frequency'],
    [v.nodeStatusReportFrequency, 'node-status-report-frequency'],
    [v.crashBackoff, 'crash-backoff'],
    [v.crashBackoffMax, 'crash-backoff-max'],
    [v.containerLogInterval, 'container-log-interval'],
  ]
  for (const [ms, name] of positive) if (!(ms > 0)) throw new ConfigError(`--${name} must be greater than 0`)
  if (v.podStartDelay < 0) throw new ConfigError('--pod-start-delay can not be negative')
  if (v.jobRunTime < 0) throw new ConfigError('--job-run-time can not be negative')
  if (v.nodeLeaseRenewInterval * 2 > v.nodeLeaseDuration)
    throw new ConfigError('--node-lease-renew-interval must be at most half of --node-lease-duration')
  if (v.nodeLeaseDuration % 1000 !== 0)
    throw new ConfigError('--node-lease-duration must be a whole number of seconds (leaseDurationSeconds)')
  if (v.crashBackoffMax < v.crashBackoff)
    throw new ConfigError('--crash-backoff-max must not be shorter than --crash-backoff')
  if (v.maxRequestsInflight < 1) throw new ConfigError('--max-requests-inflight must be at least 1')
  let groups: NodeGroup[] | undefined
  if (v.config === '') {
    checkCapacity(v.nodeCpu, v.nodeMemory, v.nodePods, '--node-')
    if (v.nodeName !== '' && !isNodeName(v.nodeName))
      throw new ConfigError(
        `--node-name: ${JSON.stringify(v.nodeName)} is not a valid node name (a DNS-1123 subdomain)`,
      )
    groups = [
      {
        names: v.nodeName !== '' ? [v.nodeName] : groupNames(v.nodeNamePrefix, v.nodes, '--node-name-prefix'),
        labels: parseLabels(v.nodeLabels, '--node-labels'),
        taints: v.nodeTaints.map((t) => parseTaint(t, '--node-taints')),
        cpu: v.nodeCpu,
        memory: v.nodeMemory,
        pods: v.nodePods,
      },
    ]
    checkUniqueNames(groups)
    checkFailNodes(v.failNodes, groups)
  }
  return Object.freeze({
    kubeconfig: v.kubeconfig,
    master: v.master,
    groups,
    configFile: v.config,
    bindAddress: v.bindAddress,
    port: v.port,
    failNodes: v.failNodes,
    podStartDelayMs: v.podStartDelay,
    jobRunTimeMs: v.jobRunTime,
    crashBackoffMs: v.crashBackoff,
    crashBackoffMsMax: v.crashBackoffMax,
    containerLogIntervalMs: v.containerLogInterval,
    nodeLeaseDurationMs: v.nodeLeaseDuration,
    nodeLeaseRenewIntervalMs: v.nodeLeaseRenewInterval,
    nodeStatusUpdateFrequencyMs: v.nodeStatusUpdateFrequency,
    nodeStatusReportFrequencyMs: v.nodeStatusReportFrequency,
    maxRequestsInflight: v.maxRequestsInflight,
    logLevel: component.options.logLevel,
  })
}

/** Every --fail-nodes name must be a simulated node. */
export function checkFailNodes(failNodes: readonly string[], groups: readonly NodeGroup[]): void {
  const all = new Set(groups.flatMap((g) => g.names))
  for (const n of failNodes)
    if (!all.has(n)) throw new ConfigError(`--fail-nodes: ${JSON.stringify(n)} is not a simulated node`)
}

export function helpText(): string {
  return `hakube-node-sim simulates worker nodes as KWOK does: it registers Nodes, renews their Leases in
kube-node-lease, runs the pods bound to them through their phases, serves their logs, and fails nodes on request.

Usage:
  hakube-node-sim (--kubeconfig PATH | --master URL) [flags]

Pod annotations: hakube.io/run-time (containers exit after this duration, e.g. 30s), hakube.io/exit-code
(their exit code, default 0), hakube.io/crash-after (containers exit 1 after this duration).

Flags:
${flagUsages(NODE_SIM_FLAGS)}`
}
