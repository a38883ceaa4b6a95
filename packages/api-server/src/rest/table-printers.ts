/**
 * The columns and cells kube-apiserver prints for each kind (pkg/printers/internalversion/printers.go,
 * 1.32), as pure functions of an object and the current time: the api-server always generates the wide
 * form (GenerateOptions{Wide: true}) and kubectl drops the priority > 0 columns unless `-o wide`.
 *
 * Cells follow kube's types: `integer` columns carry numbers, everything else strings. Ages are
 * duration.HumanDuration of `now - timestamp` ("45s", "5m3s", "3h4m", "2d3h", "<unknown>" for no
 * timestamp, "<invalid>" for one more than a second in the future).
 *
 * Non-guarantee: objects are read leniently (a missing or mistyped field reads as empty), so a cell
 * may differ from kube's for objects kube's validation would have refused.
 */
import { LabelSelectorError, labelSelectorAsSelector } from '@hakube/api'

/** metav1.TableColumnDefinition. */
export interface TableColumnDefinition {
  name: string
  type: string
  format: string
  description: string
  priority: number
}

/** metav1.TableRowCondition (only pods set them: Completed when Succeeded or Failed). */
export interface TableRowCondition {
  type: string
  status: string
  reason?: string
  message?: string
}

export type TableCell = string | number | boolean

/** A printed row before its `object` is attached. */
export interface PrintedRow {
  cells: TableCell[]
  conditions?: TableRowCondition[]
}

/** One kind's printer: its columns (wide form) and a row per object. */
export interface Printer {
  columns: readonly TableColumnDefinition[]
  print(obj: unknown, nowMs: number): PrintedRow
}

// ---------------------------------------------------------------------------------------------
// Reading objects leniently.

function at(o: unknown, ...path: string[]): unknown {
  let cur = o
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[p]
  }
  return cur
}
const str = (o: unknown, ...path: string[]): string => {
  const v = at(o, ...path)
  return typeof v === 'string' ? v : ''
}
const int = (o: unknown, ...path: string[]): number => {
  const v = at(o, ...path)
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}
const list = (o: unknown, ...path: string[]): unknown[] => {
  const v = at(o, ...path)
  return Array.isArray(v) ? v : []
}
const map = (o: unknown, ...path: string[]): Record<string, unknown> => {
  const v = at(o, ...path)
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}
const bool = (o: unknown, ...path: string[]): boolean => at(o, ...path) === true

/** An RFC 3339 timestamp in ms; undefined for a missing or unparsable one (Go's zero time). */
function timeOf(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined
  const ms = Date.parse(v)
  return Number.isNaN(ms) ? undefined : ms
}

// ---------------------------------------------------------------------------------------------
// Durations (k8s.io/apimachinery/pkg/util/duration).

/** duration.HumanDuration: ~2-3 significant figures, truncating like Go's integer conversions. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000)
  // Up to 2 s in the future still reads as now (clock skew between machines).
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 60 * 2) return `${seconds}s`
  const minutes = Math.trunc(ms / 60_000)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 60 * 3) return `${minutes}m`
  const hours = Math.trunc(ms / 3_600_000)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365
    const y = Math.trunc(hours / 24 / 365)
    return dy === 0 ? `${y}y` : `${y}y${dy}d`
  }
  return `${Math.trunc(hours / 24 / 365)}y`
}

/** printers.go translateTimestampSince: `<unknown>` for the zero time. */
export function translateTimestampSince(timestamp: unknown, nowMs: number): string {
  const t = timeOf(timestamp)
  return t === undefined ? '<unknown>' : humanDuration(nowMs - t)
}

// ---------------------------------------------------------------------------------------------
// Column descriptions (the Swagger docs kube's printers quote).

const NAME_DESC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names'
const CREATED_DESC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata'
const CONTAINERS_DESC = 'Names of each container in the template.'
const IMAGES_DESC = 'Images referenced by each container in the template.'

function col(
  name: string,
  type: string,
  description: string,
  priority = 0,
  format = '',
): TableColumnDefinition {
  return Object.freeze({ name, type, format, description, priority })
}
const nameCol = (priority = 0) => col('Name', 'string', NAME_DESC, priority, 'name')
const ageCol = () => col('Age', 'string', CREATED_DESC)

// ---------------------------------------------------------------------------------------------
// Shared cell helpers.

/** layoutContainerCells: container names and images, comma-joined. */
function containerCells(podSpec: unknown): [string, string] {
  const cs = list(podSpec, 'containers')
  return [cs.map((c) => str(c, 'name')).join(','), cs.map((c) => str(c, 'image')).join(',')]
}

/** labels.FormatLabels: sorted `k=v` pairs, `<none>` when empty. */
export function formatLabels(labels: Record<string, unknown>): string {
  const keys = Object.keys(labels).sort()
  if (keys.length === 0) return '<none>'
  return keys.map((k) => `${k}=${String(labels[k] ?? '')}`).join(',')
}

/** metav1.LabelSelectorAsSelector(...).String(); `bad` when the selector does not convert. */
function selectorString(sel: unknown, bad: string): string {
  try {
    return labelSelectorAsSelector(
      sel === undefined || sel === null ? undefined : (sel as Parameters<typeof labelSelectorAsSelector>[0]),
    ).toString()
  } catch (err) {
    if (err instanceof LabelSelectorError || err instanceof Error) return bad
    throw err
  }
}

/** metav1.FormatLabelSelector: `<none>` for an empty string, `<error>` when it does not convert. */
function formatLabelSelector(sel: unknown): string {
  const s = selectorString(sel, '<error>')
  return s === '' ? '<none>' : s
}

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

// ---------------------------------------------------------------------------------------------
// Workloads.

const deploymentColumns = [
  nameCol(),
  col('Ready', 'string', 'Number of the pod with ready state'),
  col(
    'Up-to-date',
    'string',
    'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
  ),
  col(
    'Available',
    'string',
    'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
  ),
  ageCol(),
  col('Containers', 'string', CONTAINERS_DESC, 1),
  col('Images', 'string', IMAGES_DESC, 1),
  col(
    'Selector',
    'string',
    'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
    1,
  ),
]

/** `spec.replicas` as the internal object has it after v1 defaulting (1 when unset). */
const desiredReplicas = (o: unknown): number => {
  const v = at(o, 'spec', 'replicas')
  return typeof v === 'number' ? v : 1
}

function printDeployment(d: unknown, nowMs: number): PrintedRow {
  const [names, images] = containerCells(at(d, 'spec', 'template', 'spec'))
  return {
    cells: [
      str(d, 'metadata', 'name'),
      `${int(d, 'status', 'readyReplicas')}/${desiredReplicas(d)}`,
      int(d, 'status', 'updatedReplicas'),
      int(d, 'status', 'availableReplicas'),
      translateTimestampSince(at(d, 'metadata', 'creationTimestamp'), nowMs),
      names,
      images,
      selectorString(at(d, 'spec', 'selector'), '<invalid>'),
    ],
  }
}

const replicaSetColumns = [
  nameCol(),
  col(
    'Desired',
    'integer',
    'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
  ),
  col(
    'Current',
    'integer',
    'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
  ),
  col('Ready', 'integer', 'The number of ready replicas for this replica set.'),
  ageCol(),
  col('Containers', 'string', CONTAINERS_DESC, 1),
  col('Images', 'string', IMAGES_DESC, 1),
  col(
    'Selector',
    'string',
    'Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
    1,
  ),
]

function printReplicaSet(rs: unknown, nowMs: number): PrintedRow {
  const [names, images] = containerCells(at(rs, 'spec', 'template', 'spec'))
  return {
    cells: [
      str(rs, 'metadata', 'name'),
      desiredReplicas(rs),
      int(rs, 'status', 'replicas'),
      int(rs, 'status', 'readyReplicas'),
      translateTimestampSince(at(rs, 'metadata', 'creationTimestamp'), nowMs),
      names,
      images,
      formatLabelSelector(at(rs, 'spec', 'selector')),
    ],
  }
}

// ---------------------------------------------------------------------------------------------
// Services and endpoints.

const serviceColumns = [
  nameCol(),
  col(
    'Type',
    'string',
    'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
  ),
  col(
    'Cluster-IP',
    'string',
    'clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are "None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
  ),
  col(
    'External-IP',
    'string',
    'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.',
  ),
  col(
    'Port(s)',
    'string',
    'The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
  ),
  ageCol(),
  col(
    'Selector',
    'string',
    'Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/',
    1,
  ),
]

const LOAD_BALANCER_WIDTH = 16

/** loadBalancerStatusStringer: sorted unique IPs/hostnames, clipped to 16 bytes unless wide. */
function loadBalancerStatus(svc: unknown, wide: boolean): string {
  const set = new Set<string>()
  for (const ing of list(svc, 'status', 'loadBalancer', 'ingress')) {
    if (str(ing, 'ip') !== '') set.add(str(ing, 'ip'))
    else if (str(ing, 'hostname') !== '') set.add(str(ing, 'hostname'))
  }
  const r = [...set].sort().join(',')
  return !wide && r.length > LOAD_BALANCER_WIDTH ? `${r.slice(0, LOAD_BALANCER_WIDTH - 3)}...` : r
}

/** getServiceExternalIP (with wide = true, as the server prints). */
function serviceExternalIP(svc: unknown): string {
  const externalIPs = list(svc, 'spec', 'externalIPs').filter((x): x is string => typeof x === 'string')
  switch (str(svc, 'spec', 'type')) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>'
    case 'LoadBalancer': {
      const lb = loadBalancerStatus(svc, true)
      if (externalIPs.length > 0) return [...(lb === '' ? [] : lb.split(',')), ...externalIPs].join(',')
      return lb !== '' ? lb : '<pending>'
    }
    case 'ExternalName':
      return str(svc, 'spec', 'externalName')
  }
  return '<unknown>'
}

/** makePortString: `80/TCP`, `80:30080/TCP` with a node port. */
function portString(svc: unknown): string {
  return list(svc, 'spec', 'ports')
    .map((p) => {
      const protocol = str(p, 'protocol')
      return int(p, 'nodePort') > 0
        ? `${int(p, 'port')}:${int(p, 'nodePort')}/${protocol}`
        : `${int(p, 'port')}/${protocol}`
    })
    .join(',')
}

function printService(svc: unknown, nowMs: number): PrintedRow {
  const clusterIPs = list(svc, 'spec', 'clusterIPs')
  const clusterIP = (clusterIPs.length > 0 ? str(clusterIPs[0]) : str(svc, 'spec', 'clusterIP')) || '<none>'
  return {
    cells: [
      str(svc, 'metadata', 'name'),
      str(svc, 'spec', 'type'),
      clusterIP,
      serviceExternalIP(svc),
      portString(svc) || '<none>',
      translateTimestampSince(at(svc, 'metadata', 'creationTimestamp'), nowMs),
      formatLabels(map(svc, 'spec', 'selector')),
    ],
  }
}

const endpointsColumns = [
  nameCol(),
  col(
    'Endpoints',
    'string',
    'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.',
  ),
  ageCol(),
]

const ENDPOINTS_SHOWN_MAX = 3

/** net.JoinHostPort: IPv6 hosts in brackets. */
const joinHostPort = (host: string, port: number) =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`

/** formatEndpoints: the first 3 `ip:port` pairs, then `+ N more...`; `<none>` without subsets. */
export function formatEndpoints(ep: unknown): string {
  const subsets = list(ep, 'subsets')
  if (subsets.length === 0) return '<none>'
  const shown: string[] = []
  let more = false
  let count = 0
  for (const ss of subsets) {
    const addresses = list(ss, 'addresses')
    const ports = list(ss, 'ports')
    if (ports.length === 0) {
      // Headless services may have no ports.
      count += addresses.length
      for (const a of addresses) {
        if (shown.length === ENDPOINTS_SHOWN_MAX) {
          more = true
          break
        }
        shown.push(str(a, 'ip'))
      }
      continue
    }
    for (const p of ports) {
      count += addresses.length
      for (const a of addresses) {
        if (shown.length === ENDPOINTS_SHOWN_MAX) {
          more = true
          break
        }
        shown.push(joinHostPort(str(a, 'ip'), int(p, 'port')))
      }
    }
  }
  const joined = shown.join(',')
  return more ? `${joined} + ${count - ENDPOINTS_SHOWN_MAX} more...` : joined
}

function printEndpoints(ep: unknown, nowMs: number): PrintedRow {
  return {
    cells: [
      str(ep, 'metadata', 'name'),
      formatEndpoints(ep),
      translateTimestampSince(at(ep, 'metadata', 'creationTimestamp'), nowMs),
    ],
  }
}

// ---------------------------------------------------------------------------------------------
// Events.

const eventColumns = [
  col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
  col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
  col(
    'Reason',
    'string',
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ),
  col('Object', 'string', 'The object that this event is about.'),
  col(
    'Subobject',
    'string',
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
    1,
  ),
  col(
    'Source',
    'string',
    'The component reporting this event. Should be a short machine understandable string.',
    1,
  ),
  col('Message', 'string', 'A human-readable description of the status of this operation.'),
  col(
    'First Seen',
    'string',
    'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
    1,
  ),
  col('Count', 'string', 'The number of times this event has occurred.', 1),
  nameCol(1),
]

function printEvent(ev: unknown, nowMs: number): PrintedRow {
  let firstSeen = translateTimestampSince(at(ev, 'firstTimestamp'), nowMs)
  if (timeOf(at(ev, 'firstTimestamp')) === undefined)
    firstSeen = translateTimestampSince(at(ev, 'eventTime'), nowMs)
  let lastSeen = translateTimestampSince(at(ev, 'lastTimestamp'), nowMs)
  if (timeOf(at(ev, 'lastTimestamp')) === undefined) lastSeen = firstSeen
  let count = int(ev, 'count')
  if (at(ev, 'series') !== undefined && at(ev, 'series') !== null) {
    lastSeen = translateTimestampSince(at(ev, 'series', 'lastObservedTime'), nowMs)
    count = int(ev, 'series', 'count')
  } else if (count === 0) count = 1 // singleton events of the events.k8s.io API carry no count
  const kind = str(ev, 'involvedObject', 'kind').toLowerCase()
  const target =
    str(ev, 'involvedObject', 'name') !== '' ? `${kind}/${str(ev, 'involvedObject', 'name')}` : kind
  const component = str(ev, 'source', 'component') || str(ev, 'reportingComponent')
  const host = str(ev, 'source', 'host') || str(ev, 'reportingInstance')
  return {
    cells: [
      lastSeen,
      str(ev, 'type'),
      str(ev, 'reason'),
      target,
      str(ev, 'involvedObject', 'fieldPath'),
      host === '' ? component : `${component}, ${host}`,
      str(ev, 'message').trim(),
      firstSeen,
      count,
      str(ev, 'metadata', 'name'),
    ],
  }
}

// ---------------------------------------------------------------------------------------------
// The small kinds.

const namespaceColumns = [nameCol(), col('Status', 'string', 'The status of the namespace'), ageCol()]
const secretColumns = [
  nameCol(),
  col(
    'Type',
    'string',
    'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
  ),
  col(
    'Data',
    'string',
    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
  ),
  ageCol(),
]
const serviceAccountColumns = [
  nameCol(),
  col(
    'Secrets',
    'string',
    'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret',
  ),
  ageCol(),
]
const configMapColumns = [
  nameCol(),
  col(
    'Data',
    'string',
    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
  ),
  ageCol(),
]
const leaseColumns = [
  nameCol(),
  col(
    'Holder',
    'string',
    'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
  ),
  ageCol(),
]

const age = (o: unknown, nowMs: number) =>
  translateTimestampSince(at(o, 'metadata', 'creationTimestamp'), nowMs)
const name = (o: unknown) => str(o, 'metadata', 'name')

const PRINTERS: Readonly<Record<string, Printer>> = Object.freeze({
  Pod: { columns: podColumns, print: printPod },
  Node: { columns: nodeColumns, print: printNode },
  Deployment: { columns: deploymentColumns, print: printDeployment },
  ReplicaSet: { columns: replicaSetColumns, print: printReplicaSet },
  Service: { columns: serviceColumns, print: printService },
  Endpoints: { columns: endpointsColumns, print: printEndpoints },
  Event: { columns: eventColumns, print: printEvent },
  Namespace: {
    columns: namespaceColumns,
    print: (o, now) => ({ cells: [name(o), str(o, 'status', 'phase'), age(o, now)] }),
  },
  Secret: {
    columns: secretColumns,
    print: (o, now) => ({
      cells: [name(o), str(o, 'type'), Object.keys(map(o, 'data')).length, age(o, now)],
    }),
  },
  ServiceAccount: {
    columns: serviceAccountColumns,
    print: (o, now) => ({ cells: [name(o), list(o, 'secrets').length, age(o, now)] }),
  },
  ConfigMap: {
    columns: configMapColumns,
    print: (o, now) => ({
      cells: [
        name(o),
        Object.keys(map(o, 'data')).length + Object.keys(map(o, 'binaryData')).length,
        age(o, now),
      ],
    }),
  },
  Lease: {
    columns: leaseColumns,
    print: (o, now) => ({ cells: [name(o), str(o, 'spec', 'holderIdentity'), age(o, now)] }),
  },
})

/**
 * rest.NewDefaultTableConvertor (k8s.io/apiserver pkg/registry/rest/table.go), for a kind without a
 * printer: Name and `Created At` as an RFC 3339 date.
 */
export const DEFAULT_PRINTER: Printer = Object.freeze({
  columns: [nameCol(), col('Created At', 'date', CREATED_DESC)],
  print: (o: unknown) => {
    const t = timeOf(at(o, 'metadata', 'creationTimestamp'))
    // Go formats the zero time as 0001-01-01T00:00:00Z.
    const created =
      t === undefined ? '0001-01-01T00:00:00Z' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')
    return { cells: [name(o), created] }
  },
})

/** The printer for a kind (kube's printers.go handler), or the default table convertor's. */
export function printerFor(kind: string): Printer {
  return PRINTERS[kind] ?? DEFAULT_PRINTER
}
