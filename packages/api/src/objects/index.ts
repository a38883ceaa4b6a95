/**
 * Kubernetes objects for hakube: the resource registry, zod schemas per kind, decoding with
 * field validation, defaulting and admission defaults, and validation producing field errors.
 *
 * Guarantees: messages, field paths and reasons follow Kubernetes 1.32 for the rules that are
 * implemented (each file names its Kubernetes source). Non-guarantees: not every Kubernetes
 * rule is implemented (only those touching modelled fields); Go-syntax values (`%#v` of structs)
 * and decode-error Go type names are approximations.
 */
export type { Deployment, Lease, ReplicaSet, Scale } from './apps-schema.js'
export {
  Deployment as DeploymentSchema,
  Lease as LeaseSchema,
  ReplicaSet as ReplicaSetSchema,
  Scale as ScaleSchema,
} from './apps-schema.js'
export type {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  Node,
  Secret,
  Service,
  ServiceAccount,
  Taint,
} from './core-schema.js'
export {
  ConfigMap as ConfigMapSchema,
  Endpoints as EndpointsSchema,
  Event as EventSchema,
  Namespace as NamespaceSchema,
  Node as NodeSchema,
  Secret as SecretSchema,
  Service as ServiceSchema,
  ServiceAccount as ServiceAccountSchema,
} from './core-schema.js'
export type { DecodeResult, FieldValidation } from './decode.js'
export { decodeObject, dropNulls, listUnknownFields, parseFieldValidation } from './decode.js'
export {
  addDefaultTolerations,
  admitCreate,
  admitPodCreate,
  applyDefaults,
  DEFAULT_TOLERATION_SECONDS,
  defaultContainer,
  defaultDeployment,
  defaultPod,
  defaultPodSpec,
  defaultReplicaSet,
  defaultService,
  imageTag,
  NOT_READY_TAINT,
  prepareNamespaceForCreate,
  UNREACHABLE_TAINT,
} from './defaults.js'
// The ObjectMeta type is exported by the client (client/types.ts); this is its zod schema.
export type { LabelSelector as MetaLabelSelector, OwnerReference } from './meta.js'
export { atomicList, mergeList, ObjectMeta as ObjectMetaSchema, setList } from './meta.js'
export type { Binding, Container, Pod, PodSpec, PodTemplateSpec, Toleration, Volume } from './pod-schema.js'
export {
  Binding as BindingSchema,
  Container as ContainerSchema,
  Pod as PodSchema,
  PodSpec as PodSpecSchema,
  PodTemplateSpec as PodTemplateSpecSchema,
} from './pod-schema.js'
export { parseQuantity } from './quantity.js'
export type { GroupVersionKind, ResourceInfo, SubresourceInfo, SubresourceName, Verb } from './registry.js'
export {
  ALL_VERBS,
  apiVersionOf,
  lookupKind,
  lookupResource,
  parseApiVersion,
  qualifiedKind,
  qualifiedResource,
  RESOURCES,
  resolveResource,
  resourcesInCategory,
  SUBRESOURCE_SCHEMAS,
} from './registry.js'
export { validateCreate, validateUpdate } from './validate.js'
export { validateLabelSelector, validateObjectMeta } from './validate-meta.js'
export { POD_UPDATABLE_FIELDS, validatePodSpec } from './validate-pod.js'
