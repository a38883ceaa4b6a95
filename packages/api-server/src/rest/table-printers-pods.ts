/**
 * Table printers of pods and the nodes they run on (printers.go printPod, printNode, 1.32): READY,
 * STATUS as kubectl shows it (init containers, waiting and terminated reasons, Terminating), RESTARTS,
 * and node roles, addresses and versions.
 */
import {
  ageCol,
  at,
  bool,
  col,
  humanDuration,
  int,
  list,
  map,
  nameCol,
  type PrintedRow,
  type Printer,
  str,
  type TableRowCondition,
  timeOf,
  translateTimestampSince,
} from './table-cells.js'

// ---------------------------------------------------------------------------------------------
// Pods.

const POD_SUCCEEDED: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
]
const POD_FAILED: TableRowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' },
]

const podColumns = [
  nameCol(),
  col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
  col('Status', 'string', 'The aggregate status of the containers in this pod.'),
  col(
    'Restarts',
    'string',
    'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
  ),
  ageCol(),
  col(
    'IP',
    'string',
    'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
    1,
  ),
  col(
    'Node',
    'string',
    'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename',
    1,
  ),
  col(
    'Nominated Node',
    'string',
    'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.',
    1,
  ),
  col(
    'Readiness Gates',
    'string',
    'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates',
    1,
  ),
]

const isRestartable = (c: unknown): boolean => str(c, 'restartPolicy') === 'Always'

function conditionStatus(pod: unknown, type: string): string | undefined {
  const c = list(pod, 'status', 'conditions').find((x) => str(x, 'type') === type)
  return c === undefined ? undefined : str(c, 'status')
}

/** printPod: READY n/m, STATUS (init containers, waiting/terminated reasons, Terminating), RESTARTS. */
function printPod(pod: unknown, nowMs: number): PrintedRow {
  let restarts = 0
  let restartableInitRestarts = 0
  let totalContainers = list(pod, 'spec', 'containers').length
  let readyContainers = 0
  // Finish times in ms; undefined is Go's zero time (before every other time).
  let lastRestart: number | undefined
  let lastRestartableInitRestart: number | undefined
  const later = (a: number | undefined, b: number | undefined) =>
    b !== undefined && (a === undefined || a < b) ? b : a

  const phase = str(pod, 'status', 'phase')
  let reason = phase
  if (str(pod, 'status', 'reason') !== '') reason = str(pod, 'status', 'reason')
  for (const c of list(pod, 'status', 'conditions'))
    if (str(c, 'type') === 'PodScheduled' && str(c, 'reason') === 'SchedulingGated')
      reason = 'SchedulingGated'

  const row: PrintedRow = { cells: [] }
  if (phase === 'Succeeded') row.conditions = POD_SUCCEEDED
  else if (phase === 'Failed') row.conditions = POD_FAILED

  const specInit = list(pod, 'spec', 'initContainers')
  const initByName = new Map<string, unknown>()
  for (const c of specInit) {
    initByName.set(str(c, 'name'), c)
    if (isRestartable(c)) totalContainers++
  }

  let initializing = false
  const initStatuses = list(pod, 'status', 'initContainerStatuses')
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i]
    restarts += int(cs, 'restartCount')
    const finished = timeOf(at(cs, 'lastState', 'terminated', 'finishedAt'))
    if (at(cs, 'lastState', 'terminated') !== undefined) lastRestart = later(lastRestart, finished)
    const restartable = isRestartable(initByName.get(str(cs, 'name')))
    if (restartable) {
      restartableInitRestarts += int(cs, 'restartCount')
      if (at(cs, 'lastState', 'terminated') !== undefined)
        lastRestartableInitRestart = later(lastRestartableInitRestart, finished)
    }
    const terminated = at(cs, 'state', 'terminated')
    const waitingReason = str(cs, 'state', 'waiting', 'reason')
    if (terminated !== undefined && int(terminated, 'exitCode') === 0) continue
    if (restartable && bool(cs, 'started')) {
      if (bool(cs, 'ready')) readyContainers++
      continue
    }
    if (terminated !== undefined) {
      if (str(terminated, 'reason') === '') {
        reason =
          int(terminated, 'signal') !== 0
            ? `Init:Signal:${int(terminated, 'signal')}`
            : `Init:ExitCode:${int(terminated, 'exitCode')}`
      } else reason = `Init:${str(terminated, 'reason')}`
    } else if (waitingReason !== '' && waitingReason !== 'PodInitializing') reason = `Init:${waitingReason}`
    else reason = `Init:${i}/${specInit.length}`
    initializing = true
    break
  }

  if (!initializing || conditionStatus(pod, 'Initialized') === 'True') {
    restarts = restartableInitRestarts
    lastRestart = lastRestartableInitRestart
    let hasRunning = false
    const statuses = list(pod, 'status', 'containerStatuses')
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]
      restarts += int(cs, 'restartCount')
      if (at(cs, 'lastState', 'terminated') !== undefined)
        lastRestart = later(lastRestart, timeOf(at(cs, 'lastState', 'terminated', 'finishedAt')))
      const terminated = at(cs, 'state', 'terminated')
      if (str(cs, 'state', 'waiting', 'reason') !== '') reason = str(cs, 'state', 'waiting', 'reason')
      else if (terminated !== undefined && str(terminated, 'reason') !== '')
        reason = str(terminated, 'reason')
      else if (terminated !== undefined)
        reason =
          int(terminated, 'signal') !== 0
            ? `Signal:${int(terminated, 'signal')}`
            : `ExitCode:${int(terminated, 'exitCode')}`
      else if (bool(cs, 'ready') && at(cs, 'state', 'running') !== undefined) {
        hasRunning = true
        readyContainers++
      }
    }
    // A pod with a container still running is Running (or NotReady), not Completed.
    if (reason === 'Completed' && hasRunning)
      reason = list(pod, 'status', 'conditions').some(
        (c) => str(c, 'type') === 'Ready' && str(c, 'status') === 'True',
      )
        ? 'Running'
        : 'NotReady'
  }

  const deleting = at(pod, 'metadata', 'deletionTimestamp') !== undefined
  if (deleting && str(pod, 'status', 'reason') === 'NodeLost') reason = 'Unknown'
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating'

  let restartsCell = String(restarts)
  if (restarts !== 0 && lastRestart !== undefined)
    restartsCell = `${restarts} (${humanDuration(nowMs - lastRestart)} ago)`

  const podIPs = list(pod, 'status', 'podIPs')
  const podIP = (podIPs.length > 0 ? str(podIPs[0], 'ip') : str(pod, 'status', 'podIP')) || '<none>'
  const gates = list(pod, 'spec', 'readinessGates')
  let readinessGates = '<none>'
  if (gates.length > 0) {
    let trueConditions = 0
    for (const g of gates) if (conditionStatus(pod, str(g, 'conditionType')) === 'True') trueConditions++
    readinessGates = `${trueConditions}/${gates.length}`
  }
  row.cells = [
    str(pod, 'metadata', 'name'),
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsCell,
    translateTimestampSince(at(pod, 'metadata', 'creationTimestamp'), nowMs),
    podIP,
    str(pod, 'spec', 'nodeName') || '<none>',
    str(pod, 'status', 'nominatedNodeName') || '<none>',
    readinessGates,
  ]
  return row
}

// ---------------------------------------------------------------------------------------------
// Nodes.

const nodeColumns = [
  nameCol(),
  col('Status', 'string', 'The status of the node'),
  col('Roles', 'string', 'The roles of the node'),
  ageCol(),
  col('Version', 'string', 'Kubelet Version reported by the node.'),
  col(
    'Internal-IP',
    'string',
    "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
    1,
  ),
  col(
    'External-IP',
    'string',
    "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
    1,
  ),
  col(
    'OS-Image',
    'string',
    'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
    1,
  ),
  col(
    'Kernel-Version',
    'string',
    "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    1,
  ),
  col(
    'Container-Runtime',
    'string',
    'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
    1,
  ),
]

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/'

/** findNodeRoles: `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role=<role>`, sorted, unique. */
export function nodeRoles(labels: Record<string, unknown>): string[] {
  const roles = new Set<string>()
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith(NODE_ROLE_PREFIX)) {
      const role = k.slice(NODE_ROLE_PREFIX.length)
      if (role !== '') roles.add(role)
    } else if (k === 'kubernetes.io/role' && typeof v === 'string' && v !== '') roles.add(v)
  }
  return [...roles].sort()
}

function nodeAddress(node: unknown, type: string): string {
  const a = list(node, 'status', 'addresses').find((x) => str(x, 'type') === type)
  return a === undefined ? '<none>' : str(a, 'address')
}

function printNode(node: unknown, nowMs: number): PrintedRow {
  const status: string[] = []
  const ready = list(node, 'status', 'conditions').findLast((c) => str(c, 'type') === 'Ready')
  if (ready !== undefined) status.push(str(ready, 'status') === 'True' ? 'Ready' : 'NotReady')
  if (status.length === 0) status.push('Unknown')
  if (bool(node, 'spec', 'unschedulable')) status.push('SchedulingDisabled')
  const roles = nodeRoles(map(node, 'metadata', 'labels')).join(',') || '<none>'
  return {
    cells: [
      str(node, 'metadata', 'name'),
      status.join(','),
      roles,
      translateTimestampSince(at(node, 'metadata', 'creationTimestamp'), nowMs),
      str(node, 'status', 'nodeInfo', 'kubeletVersion'),
      nodeAddress(node, 'InternalIP'),
      nodeAddress(node, 'ExternalIP'),
      str(node, 'status', 'nodeInfo', 'osImage') || '<unknown>',
      str(node, 'status', 'nodeInfo', 'kernelVersion') || '<unknown>',
      str(node, 'status', 'nodeInfo', 'containerRuntimeVersion') || '<unknown>',
    ],
  }
}

export const POD_PRINTER: Printer = { columns: podColumns, print: printPod }
export const NODE_PRINTER: Printer = { columns: nodeColumns, print: printNode }
