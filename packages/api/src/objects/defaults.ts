/**
 * Defaulting, as Kubernetes does it when an object is decoded (pkg/apis/core/v1/defaults.go,
 * pkg/apis/apps/v1/defaults.go), plus the create-time mutations of the admission plugins and
 * strategies that kubectl users see in `-o yaml` (DefaultTolerationSeconds, ServiceAccount,
 * Priority admission; the namespace strategy's `kubernetes` finalizer).
 *
 * Every function returns a new object and never mutates its argument (callers may pass cached,
 * frozen objects). Fields already set are never changed.
 */
import type { Deployment, ReplicaSet } from './apps-schema.js'
import type { Endpoints, Namespace, Node, Secret, Service } from './core-schema.js'
import type { Container, Pod, PodSpec, PodTemplateSpec, Toleration } from './pod-schema.js'

type Obj = Record<string, unknown>

/** Image tag as parsers.ParseImageName finds it: `latest` when there is neither tag nor digest. */
export function imageTag(image: string): string {
  const at = image.indexOf('@')
  const name = at < 0 ? image : image.slice(0, at)
  const slash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  if (colon > slash) return name.slice(colon + 1)
  return at < 0 ? 'latest' : ''
}

/** SetDefaults_Container (+ SetDefaults_ContainerPort, requests defaulted from limits). */
export function defaultContainer(c: Container, hostNetwork = false): Container {
  const out: Container = { ...c }
  if (!out.imagePullPolicy)
    out.imagePullPolicy = imageTag(out.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent'
  if (!out.terminationMessagePath) out.terminationMessagePath = '/dev/termination-log'
  if (!out.terminationMessagePolicy) out.terminationMessagePolicy = 'File'
  if (out.ports) {
    out.ports = out.ports.map((p) => {
      const port = { ...p }
      if (!port.protocol) port.protocol = 'TCP'
      // SetDefaults_PodSpec: with hostNetwork, hostPort defaults to containerPort.
      if (hostNetwork && !port.hostPort) port.hostPort = port.containerPort
      return port
    })
  }
  // SetDefaults_Pod (via the template too): requests default to limits for each resource.
  const resources = { ...(out.resources ?? {}) }
  if (resources.limits) {
    const requests = { ...(resources.requests ?? {}) }
    for (const [name, q] of Object.entries(resources.limits)) if (!(name in requests)) requests[name] = q
    resources.requests = requests
  }
  out.resources = resources
  if (out.env)
    out.env = out.env.map((e) =>
      e.valueFrom?.fieldRef && !e.valueFrom.fieldRef.apiVersion
        ? { ...e, valueFrom: { ...e.valueFrom, fieldRef: { ...e.valueFrom.fieldRef, apiVersion: 'v1' } } }
        : e,
    )
  return out
}

/** SetDefaults_PodSpec and the volume-source defaults (SetDefaults_ConfigMapVolumeSource, ...). */
export function defaultPodSpec(spec: PodSpec): PodSpec {
  const out: PodSpec = { ...spec }
  if (!out.dnsPolicy) out.dnsPolicy = 'ClusterFirst'
  if (!out.restartPolicy) out.restartPolicy = 'Always'
  if (!out.securityContext) out.securityContext = {}
  if (out.terminationGracePeriodSeconds === undefined) out.terminationGracePeriodSeconds = 30
  if (!out.schedulerName) out.schedulerName = 'default-scheduler'
  if (out.enableServiceLinks === undefined) out.enableServiceLinks = true
  const hostNetwork = out.hostNetwork === true
  if (out.containers) out.containers = out.containers.map((c) => defaultContainer(c, hostNetwork))
  if (out.initContainers) out.initContainers = out.initContainers.map((c) => defaultContainer(c, hostNetwork))
  if (out.volumes) {
    out.volumes = out.volumes.map((v) => {
      const vol = { ...v }
      if (vol.configMap && vol.configMap.defaultMode === undefined)
        vol.configMap = { ...vol.configMap, defaultMode: 0o644 }
      if (vol.secret && vol.secret.defaultMode === undefined)
        vol.secret = { ...vol.secret, defaultMode: 0o644 }
      if (vol.hostPath && vol.hostPath.type === undefined) vol.hostPath = { ...vol.hostPath, type: '' }
      const hasSource = Object.keys(vol).some((k) => k !== 'name')
      // SetDefaults_Volume: a volume with no source is an emptyDir.
      if (!hasSource) vol.emptyDir = {}
      return vol
    })
  }
  return out
}

export function defaultPodTemplate(t: PodTemplateSpec | undefined): PodTemplateSpec {
  const tpl: PodTemplateSpec = { ...(t ?? {}) }
  tpl.spec = defaultPodSpec(tpl.spec ?? {})
  return tpl
}

export function defaultPod(pod: Pod): Pod {
  const out: Pod = { ...pod, spec: defaultPodSpec(pod.spec ?? {}) }
  return out
}

/** SetDefaults_Deployment (apps/v1). */
export function defaultDeployment(d: Deployment): Deployment {
  const spec = { ...(d.spec ?? {}) }
  if (spec.replicas === undefined) spec.replicas = 1
  const strategy = { ...(spec.strategy ?? {}) }
  if (!strategy.type) strategy.type = 'RollingUpdate'
  if (strategy.type === 'RollingUpdate') {
    const ru = { ...(strategy.rollingUpdate ?? {}) }
    if (ru.maxUnavailable === undefined) ru.maxUnavailable = '25%'
    if (ru.maxSurge === undefined) ru.maxSurge = '25%'
    strategy.rollingUpdate = ru
  }
  spec.strategy = strategy
  if (spec.revisionHistoryLimit === undefined) spec.revisionHistoryLimit = 10
  if (spec.progressDeadlineSeconds === undefined) spec.progressDeadlineSeconds = 600
  spec.template = defaultPodTemplate(spec.template)
  return { ...d, spec }
}

/** SetDefaults_ReplicaSet (apps/v1). */
export function defaultReplicaSet(rs: ReplicaSet): ReplicaSet {
  const spec = { ...(rs.spec ?? {}) }
  if (spec.replicas === undefined) spec.replicas = 1
  spec.template = defaultPodTemplate(spec.template)
  return { ...rs, spec }
}

/** SetDefaults_Service and SetDefaults_ServicePort. ClusterIP and IP families are allocated by the server. */
export function defaultService(svc: Service): Service {
  const spec = { ...(svc.spec ?? {}) }
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None'
  if (!spec.type) spec.type = 'ClusterIP'
  if (spec.ports) {
    spec.ports = spec.ports.map((p) => {
      const port = { ...p }
      if (!port.protocol) port.protocol = 'TCP'
      if (port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '')
        port.targetPort = port.port
      return port
    })
  }
  if (spec.type !== 'ExternalName' && !spec.internalTrafficPolicy) spec.internalTrafficPolicy = 'Cluster'
  if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && !spec.externalTrafficPolicy)
    spec.externalTrafficPolicy = 'Cluster'
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined)
    spec.allocateLoadBalancerNodePorts = true
  return { ...svc, spec }
}

/** SetDefaults_Namespace: phase Active and the `kubernetes.io/metadata.name` label. */
export function defaultNamespace(ns: Namespace): Namespace {
  const status = { ...(ns.status ?? {}) }
  if (!status.phase) status.phase = 'Active'
  const out: Namespace = { ...ns, status }
  const name = ns.metadata?.name
  if (name)
    out.metadata = {
      ...ns.metadata,
      labels: { ...(ns.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': name },
    }
  return out
}

/** SetDefaults_NodeStatus: allocatable defaults to capacity. */
export function defaultNode(node: Node): Node {
  if (!node.status?.capacity || node.status.allocatable) return node
  return { ...node, status: { ...node.status, allocatable: { ...node.status.capacity } } }
}

/** SetDefaults_Secret (type Opaque) and the v1 conversion that folds `stringData` into base64 `data`. */
export function defaultSecret(secret: Secret): Secret {
  const out: Secret = { ...secret }
  if (!out.type) out.type = 'Opaque'
  if (out.stringData) {
    const data = { ...(out.data ?? {}) }
    for (const [k, v] of Object.entries(out.stringData)) data[k] = Buffer.from(v, 'utf8').toString('base64')
    out.data = data
    delete out.stringData
  }
  return out
}

/** SetDefaults_EndpointPort: protocol TCP. */
export function defaultEndpoints(ep: Endpoints): Endpoints {
  if (!ep.subsets) return ep
  return {
    ...ep,
    subsets: ep.subsets.map((s) =>
      s.ports ? { ...s, ports: s.ports.map((p) => ({ ...p, protocol: p.protocol || 'TCP' })) } : s,
    ),
  }
}

const DEFAULTERS: Record<string, (o: never) => unknown> = {
  Pod: defaultPod,
  Deployment: defaultDeployment,
  ReplicaSet: defaultReplicaSet,
  Service: defaultService,
  Namespace: defaultNamespace,
  Node: defaultNode,
  Secret: defaultSecret,
  Endpoints: defaultEndpoints,
}

/** Scheme defaulting for any served kind (identity for kinds without defaults). */
export function applyDefaults<T extends Obj>(kind: string, obj: T): T {
  const fn = DEFAULTERS[kind]
  return fn ? (fn(obj as never) as T) : obj
}

// Create-time admission and strategy mutations -------------------------------------------------

export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready'
export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable'
/** --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds. */
export const DEFAULT_TOLERATION_SECONDS = 300

const tolerates = (ts: readonly Toleration[], key: string) =>
  ts.some((t) => (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect))

/**
 * DefaultTolerationSeconds admission (plugin/pkg/admission/defaulttolerationseconds): adds the
 * not-ready and unreachable NoExecute tolerations (300 s) unless the pod already tolerates them.
 */
export function addDefaultTolerations(pod: Pod, seconds = DEFAULT_TOLERATION_SECONDS): Pod {
  const existing = pod.spec?.tolerations ?? []
  const add: Toleration[] = []
  for (const key of [NOT_READY_TAINT, UNREACHABLE_TAINT]) {
    if (!tolerates(existing, key))
      add.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds })
  }
  if (add.length === 0) return pod
  return { ...pod, spec: { ...pod.spec, tolerations: [...existing, ...add] } }
}

/**
 * What a pod gets on create besides defaulting: the ServiceAccount admission's `default`
 * account (hakube mounts no token volume), Priority admission's priority 0 and
 * PreemptLowerPriority, and DefaultTolerationSeconds.
 */
export function admitPodCreate(pod: Pod): Pod {
  const spec: PodSpec = { ...(pod.spec ?? {}) }
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || 'default'
  if (!spec.serviceAccount) spec.serviceAccount = spec.serviceAccountName
  if (spec.priority === undefined && !spec.priorityClassName) spec.priority = 0
  if (!spec.preemptionPolicy) spec.preemptionPolicy = 'PreemptLowerPriority'
  return addDefaultTolerations({ ...pod, spec })
}

/** Namespace strategy PrepareForCreate: `spec.finalizers: [kubernetes]`. */
export function prepareNamespaceForCreate(ns: Namespace): Namespace {
  const finalizers = ns.spec?.finalizers ?? []
  if (finalizers.includes('kubernetes')) return ns
  return { ...ns, spec: { ...ns.spec, finalizers: [...finalizers, 'kubernetes'] } }
}

/** The create-time mutations for any kind (identity for kinds without any). */
export function admitCreate<T extends Obj>(kind: string, obj: T): T {
  if (kind === 'Pod') return admitPodCreate(obj as Pod) as T
  if (kind === 'Namespace') return prepareNamespaceForCreate(obj as Namespace) as T
  return obj
}
