/**
 * zod schema of core/v1 Pod (and PodSpec / PodTemplateSpec, reused by Deployment and ReplicaSet),
 * with the fields controllers, the scheduler, node-sim and kubectl use (k8s.io/api core/v1 types.go).
 * Sub-structures hakube does not interpret (securityContext, affinity, probes, lifecycle) are
 * `looseObject`s: kept whole, never reported as unknown fields.
 */
import { z } from 'zod'
import {
  atomicList,
  Condition,
  IntOrString,
  mergeList,
  ObjectMeta,
  ResourceList,
  StringMap,
  Time,
  typeMeta,
} from './meta.js'

const Loose = () => z.looseObject({})

export const ContainerPort = z.object({
  name: z.string().optional(),
  hostPort: z.int32().optional(),
  containerPort: z.int32(),
  protocol: z.string().optional(),
  hostIP: z.string().optional(),
})

const KeySelector = z.object({
  name: z.string().optional(),
  key: z.string(),
  optional: z.boolean().optional(),
})
export const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({
      fieldRef: z.object({ apiVersion: z.string().optional(), fieldPath: z.string() }).optional(),
      resourceFieldRef: z
        .object({
          containerName: z.string().optional(),
          resource: z.string(),
          divisor: z.union([z.string(), z.number()]).optional(),
        })
        .optional(),
      configMapKeyRef: KeySelector.optional(),
      secretKeyRef: KeySelector.optional(),
    })
    .optional(),
})

export const ResourceRequirements = z.object({
  limits: ResourceList.optional(),
  requests: ResourceList.optional(),
  claims: atomicList(z.object({ name: z.string(), request: z.string().optional() })).optional(),
})

export const VolumeMount = z.object({
  name: z.string(),
  readOnly: z.boolean().optional(),
  mountPath: z.string(),
  subPath: z.string().optional(),
  subPathExpr: z.string().optional(),
  mountPropagation: z.string().optional(),
  recursiveReadOnly: z.string().optional(),
})

const Probe = z.looseObject({
  exec: z.object({ command: atomicList(z.string()).optional() }).optional(),
  httpGet: z
    .looseObject({ path: z.string().optional(), port: IntOrString, host: z.string().optional() })
    .optional(),
  tcpSocket: z.object({ port: IntOrString, host: z.string().optional() }).optional(),
  initialDelaySeconds: z.int32().optional(),
  timeoutSeconds: z.int32().optional(),
  periodSeconds: z.int32().optional(),
  successThreshold: z.int32().optional(),
  failureThreshold: z.int32().optional(),
  terminationGracePeriodSeconds: z.int().optional(),
})

export const Container = z.object({
  name: z.string(),
  image: z.string().optional(),
  command: atomicList(z.string()).optional(),
  args: atomicList(z.string()).optional(),
  workingDir: z.string().optional(),
  ports: mergeList(ContainerPort, 'containerPort', ['containerPort', 'protocol']).optional(),
  envFrom: atomicList(Loose()).optional(),
  env: mergeList(EnvVar, 'name').optional(),
  resources: ResourceRequirements.optional(),
  resizePolicy: atomicList(Loose()).optional(),
  restartPolicy: z.string().optional(),
  volumeMounts: mergeList(VolumeMount, 'mountPath').optional(),
  volumeDevices: mergeList(z.object({ name: z.string(), devicePath: z.string() }), 'devicePath').optional(),
  livenessProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  startupProbe: Probe.optional(),
  lifecycle: Loose().optional(),
  terminationMessagePath: z.string().optional(),
  terminationMessagePolicy: z.string().optional(),
  imagePullPolicy: z.string().optional(),
  securityContext: Loose().optional(),
  stdin: z.boolean().optional(),
  stdinOnce: z.boolean().optional(),
  tty: z.boolean().optional(),
})
export type Container = z.infer<typeof Container>

export const Toleration = z.object({
  key: z.string().optional(),
  operator: z.string().optional(),
  value: z.string().optional(),
  effect: z.string().optional(),
  tolerationSeconds: z.int().optional(),
})
export type Toleration = z.infer<typeof Toleration>

const KeyToPath = z.object({ key: z.string(), path: z.string(), mode: z.int32().optional() })
export const Volume = z.object({
  name: z.string(),
  emptyDir: z
    .object({ medium: z.string().optional(), sizeLimit: z.union([z.string(), z.number()]).optional() })
    .optional(),
  hostPath: z.object({ path: z.string(), type: z.string().optional() }).optional(),
  configMap: z
    .object({
      name: z.string().optional(),
      items: atomicList(KeyToPath).optional(),
      defaultMode: z.int32().optional(),
      optional: z.boolean().optional(),
    })
    .optional(),
  secret: z
    .object({
      secretName: z.string().optional(),
      items: atomicList(KeyToPath).optional(),
      defaultMode: z.int32().optional(),
      optional: z.boolean().optional(),
    })
    .optional(),
  persistentVolumeClaim: z.object({ claimName: z.string(), readOnly: z.boolean().optional() }).optional(),
  projected: Loose().optional(),
  downwardAPI: Loose().optional(),
  nfs: Loose().optional(),
  csi: Loose().optional(),
  ephemeral: Loose().optional(),
  image: Loose().optional(),
})
export type Volume = z.infer<typeof Volume>

/** Names of the volume source fields above, for "exactly one volume type" validation. */
export const VOLUME_SOURCES = [
  'emptyDir',
  'hostPath',
  'configMap',
  'secret',
  'persistentVolumeClaim',
  'projected',
  'downwardAPI',
  'nfs',
  'csi',
  'ephemeral',
  'image',
] as const

export const PodSpec = z.object({
  volumes: mergeList(Volume, 'name').optional(),
  initContainers: mergeList(Container, 'name').optional(),
  containers: mergeList(Container, 'name').optional(),
  ephemeralContainers: mergeList(Loose(), 'name').optional(),
  restartPolicy: z.string().optional(),
  terminationGracePeriodSeconds: z.int().optional(),
  activeDeadlineSeconds: z.int().optional(),
  dnsPolicy: z.string().optional(),
  nodeSelector: StringMap.optional(),
  serviceAccountName: z.string().optional(),
  serviceAccount: z.string().optional(),
  automountServiceAccountToken: z.boolean().optional(),
  nodeName: z.string().optional(),
  hostNetwork: z.boolean().optional(),
  hostPID: z.boolean().optional(),
  hostIPC: z.boolean().optional(),
  shareProcessNamespace: z.boolean().optional(),
  securityContext: Loose().optional(),
  imagePullSecrets: mergeList(z.object({ name: z.string().optional() }), 'name').optional(),
  hostname: z.string().optional(),
  subdomain: z.string().optional(),
  affinity: Loose().optional(),
  schedulerName: z.string().optional(),
  tolerations: atomicList(Toleration).optional(),
  hostAliases: mergeList(
    z.object({ ip: z.string(), hostnames: atomicList(z.string()).optional() }),
    'ip',
  ).optional(),
  priorityClassName: z.string().optional(),
  priority: z.int32().optional(),
  dnsConfig: Loose().optional(),
  readinessGates: atomicList(z.object({ conditionType: z.string() })).optional(),
  runtimeClassName: z.string().optional(),
  enableServiceLinks: z.boolean().optional(),
  preemptionPolicy: z.string().optional(),
  overhead: ResourceList.optional(),
  topologySpreadConstraints: atomicList(Loose()).optional(),
  setHostnameAsFQDN: z.boolean().optional(),
  os: z.object({ name: z.string() }).optional(),
  hostUsers: z.boolean().optional(),
  schedulingGates: mergeList(z.object({ name: z.string() }), 'name').optional(),
  resourceClaims: mergeList(Loose(), 'name').optional(),
})
export type PodSpec = z.infer<typeof PodSpec>

const ContainerState = z.object({
  waiting: z.object({ reason: z.string().optional(), message: z.string().optional() }).optional(),
  running: z.object({ startedAt: Time.optional() }).optional(),
  terminated: z
    .object({
      exitCode: z.int32(),
      signal: z.int32().optional(),
      reason: z.string().optional(),
      message: z.string().optional(),
      startedAt: Time.optional(),
      finishedAt: Time.optional(),
      containerID: z.string().optional(),
    })
    .optional(),
})

export const ContainerStatus = z.object({
  name: z.string(),
  state: ContainerState.optional(),
  lastState: ContainerState.optional(),
  ready: z.boolean(),
  restartCount: z.int32(),
  image: z.string(),
  imageID: z.string(),
  containerID: z.string().optional(),
  started: z.boolean().optional(),
  allocatedResources: ResourceList.optional(),
  resources: ResourceRequirements.optional(),
  volumeMounts: atomicList(Loose()).optional(),
  user: Loose().optional(),
  allocatedResourcesStatus: atomicList(Loose()).optional(),
  stopSignal: z.string().optional(),
})

const PodIP = z.object({ ip: z.string() })
export const PodStatus = z.object({
  observedGeneration: z.int().optional(),
  phase: z.string().optional(),
  conditions: mergeList(Condition, 'type').optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  nominatedNodeName: z.string().optional(),
  hostIP: z.string().optional(),
  hostIPs: mergeList(PodIP, 'ip').optional(),
  podIP: z.string().optional(),
  podIPs: mergeList(PodIP, 'ip').optional(),
  startTime: Time.optional(),
  initContainerStatuses: atomicList(ContainerStatus).optional(),
  containerStatuses: atomicList(ContainerStatus).optional(),
  ephemeralContainerStatuses: atomicList(ContainerStatus).optional(),
  qosClass: z.string().optional(),
  resize: z.string().optional(),
  resourceClaimStatuses: atomicList(Loose()).optional(),
})

export const PodTemplateSpec = z.object({ metadata: ObjectMeta.optional(), spec: PodSpec.optional() })
export type PodTemplateSpec = z.infer<typeof PodTemplateSpec>

export const Pod = z.object({ ...typeMeta, spec: PodSpec.optional(), status: PodStatus.optional() })
export type Pod = z.infer<typeof Pod>

/** core/v1 Binding (the body of POST pods/NAME/binding). */
export const Binding = z.object({
  ...typeMeta,
  target: z.object({
    kind: z.string().optional(),
    apiVersion: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
  }),
})
export type Binding = z.infer<typeof Binding>
