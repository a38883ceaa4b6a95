/**
 * zod schemas of the other core/v1 kinds hakube serves: Namespace, Node, Service, Endpoints,
 * Event, ConfigMap, Secret, ServiceAccount (k8s.io/api core/v1 types.go, the fields in use).
 */
import { z } from 'zod'
import {
  atomicList,
  Condition,
  IntOrString,
  mergeList,
  ResourceList,
  StringMap,
  setList,
  Time,
  typeMeta,
} from './meta.js'

const Loose = () => z.looseObject({})

export const Namespace = z.object({
  ...typeMeta,
  spec: z.object({ finalizers: atomicList(z.string()).optional() }).optional(),
  status: z
    .object({ phase: z.string().optional(), conditions: mergeList(Condition, 'type').optional() })
    .optional(),
})
export type Namespace = z.infer<typeof Namespace>

export const Taint = z.object({
  key: z.string(),
  value: z.string().optional(),
  effect: z.string(),
  timeAdded: Time.optional(),
})
export type Taint = z.infer<typeof Taint>

export const NodeAddress = z.object({ type: z.string(), address: z.string() })
export const NodeSystemInfo = z.object({
  machineID: z.string().optional(),
  systemUUID: z.string().optional(),
  bootID: z.string().optional(),
  kernelVersion: z.string().optional(),
  osImage: z.string().optional(),
  containerRuntimeVersion: z.string().optional(),
  kubeletVersion: z.string().optional(),
  kubeProxyVersion: z.string().optional(),
  operatingSystem: z.string().optional(),
  architecture: z.string().optional(),
  swap: Loose().optional(),
})

export const Node = z.object({
  ...typeMeta,
  spec: z
    .object({
      podCIDR: z.string().optional(),
      podCIDRs: setList(z.string()).optional(),
      providerID: z.string().optional(),
      unschedulable: z.boolean().optional(),
      taints: atomicList(Taint).optional(),
      configSource: Loose().optional(),
      externalID: z.string().optional(),
    })
    .optional(),
  status: z
    .object({
      capacity: ResourceList.optional(),
      allocatable: ResourceList.optional(),
      phase: z.string().optional(),
      conditions: mergeList(Condition, 'type').optional(),
      addresses: mergeList(NodeAddress, 'type').optional(),
      daemonEndpoints: z.object({ kubeletEndpoint: z.object({ Port: z.int32() }).optional() }).optional(),
      nodeInfo: NodeSystemInfo.optional(),
      images: atomicList(Loose()).optional(),
      volumesInUse: atomicList(z.string()).optional(),
      volumesAttached: atomicList(Loose()).optional(),
      config: Loose().optional(),
      runtimeHandlers: atomicList(Loose()).optional(),
      features: Loose().optional(),
    })
    .optional(),
})
export type Node = z.infer<typeof Node>

export const ServicePort = z.object({
  name: z.string().optional(),
  protocol: z.string().optional(),
  appProtocol: z.string().optional(),
  port: z.int32(),
  targetPort: IntOrString.optional(),
  nodePort: z.int32().optional(),
})

export const Service = z.object({
  ...typeMeta,
  spec: z
    .object({
      ports: mergeList(ServicePort, 'port', ['port', 'protocol']).optional(),
      selector: StringMap.optional(),
      clusterIP: z.string().optional(),
      clusterIPs: atomicList(z.string()).optional(),
      type: z.string().optional(),
      externalIPs: atomicList(z.string()).optional(),
      sessionAffinity: z.string().optional(),
      loadBalancerIP: z.string().optional(),
      loadBalancerSourceRanges: atomicList(z.string()).optional(),
      externalName: z.string().optional(),
      externalTrafficPolicy: z.string().optional(),
      healthCheckNodePort: z.int32().optional(),
      publishNotReadyAddresses: z.boolean().optional(),
      sessionAffinityConfig: Loose().optional(),
      ipFamilies: atomicList(z.string()).optional(),
      ipFamilyPolicy: z.string().optional(),
      allocateLoadBalancerNodePorts: z.boolean().optional(),
      loadBalancerClass: z.string().optional(),
      internalTrafficPolicy: z.string().optional(),
      trafficDistribution: z.string().optional(),
    })
    .optional(),
  status: z
    .object({ loadBalancer: Loose().optional(), conditions: mergeList(Condition, 'type').optional() })
    .optional(),
})
export type Service = z.infer<typeof Service>

export const ObjectReference = z.object({
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
  apiVersion: z.string().optional(),
  resourceVersion: z.string().optional(),
  fieldPath: z.string().optional(),
})

export const EndpointAddress = z.object({
  ip: z.string(),
  hostname: z.string().optional(),
  nodeName: z.string().optional(),
  targetRef: ObjectReference.optional(),
})
export const EndpointPort = z.object({
  name: z.string().optional(),
  port: z.int32(),
  protocol: z.string().optional(),
  appProtocol: z.string().optional(),
})
export const Endpoints = z.object({
  ...typeMeta,
  subsets: atomicList(
    z.object({
      addresses: atomicList(EndpointAddress).optional(),
      notReadyAddresses: atomicList(EndpointAddress).optional(),
      ports: atomicList(EndpointPort).optional(),
    }),
  ).optional(),
})
export type Endpoints = z.infer<typeof Endpoints>

export const Event = z.object({
  ...typeMeta,
  involvedObject: ObjectReference,
  reason: z.string().optional(),
  message: z.string().optional(),
  source: z.object({ component: z.string().optional(), host: z.string().optional() }).optional(),
  firstTimestamp: Time.optional(),
  lastTimestamp: Time.optional(),
  count: z.int32().optional(),
  type: z.string().optional(),
  eventTime: Time.optional(),
  series: z.object({ count: z.int32().optional(), lastObservedTime: Time.optional() }).optional(),
  action: z.string().optional(),
  related: ObjectReference.optional(),
  reportingComponent: z.string().optional(),
  reportingInstance: z.string().optional(),
})
export type Event = z.infer<typeof Event>

export const ConfigMap = z.object({
  ...typeMeta,
  immutable: z.boolean().optional(),
  data: StringMap.optional(),
  binaryData: StringMap.optional(),
})
export type ConfigMap = z.infer<typeof ConfigMap>

/** Secret `data` values are base64 strings on the wire; `stringData` is write-only plain text. */
export const Secret = z.object({
  ...typeMeta,
  immutable: z.boolean().optional(),
  data: StringMap.optional(),
  stringData: StringMap.optional(),
  type: z.string().optional(),
})
export type Secret = z.infer<typeof Secret>

export const ServiceAccount = z.object({
  ...typeMeta,
  secrets: mergeList(ObjectReference, 'name').optional(),
  imagePullSecrets: atomicList(z.object({ name: z.string().optional() })).optional(),
  automountServiceAccountToken: z.boolean().optional(),
})
export type ServiceAccount = z.infer<typeof ServiceAccount>
