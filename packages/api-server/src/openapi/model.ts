/**
 * The schema model behind both OpenAPI documents: every zod schema of the resource registry turned
 * into named OpenAPI 3.0 component schemas, named as kube-apiserver 1.32 names its definitions
 * (`io.k8s.api.core.v1.Container`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`).
 *
 * The walk reads zod 4's public internals (`schema._zod.def`, `schema.meta()`); `.meta()` carries the
 * Kubernetes extensions (x-kubernetes-patch-merge-key, -patch-strategy, -list-type, -list-map-keys)
 * and marks the special scalars (format `date-time` = metav1.Time, `quantity`, `int-or-string`).
 *
 * Object sub-schemas are named by where they sit (`DeploymentSpec.strategy` is
 * `io.k8s.api.apps.v1.DeploymentStrategy`, the {@link FIELD_TYPES} table); a zod instance named once
 * keeps its name wherever else it appears, unless the table names that place differently (the
 * one zod `Condition` is `PodCondition`, `NodeCondition`, ...). Objects named nowhere are inlined.
 *
 * References follow kube's v3 form: a property is `{allOf: [{$ref}], description}` so the description
 * stays beside the reference; array items and map values likewise. The v2 document is derived from
 * this one (v2.ts). Non-guarantees: only the fields hakube models are present; `default` values and
 * most enums are not published; sub-structures hakube keeps opaque are empty `object`s.
 */
import {
  apiVersionOf,
  ContainerSchema,
  ObjectMetaSchema,
  PodSpecSchema,
  PodTemplateSpecSchema,
  RESOURCES,
  type ResourceInfo,
  SUBRESOURCE_SCHEMAS,
} from '@hakube/api'
import { DESCRIPTIONS, LIST_DESCRIPTIONS, TYPE_META_DESCRIPTIONS } from './descriptions.js'

/** An OpenAPI 3.0 schema object, as plain JSON. */
export type OpenAPISchema = Record<string, unknown>

export interface GVK {
  group: string
  version: string
  kind: string
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1'
const CORE = 'io.k8s.api.core.v1'
const APPS = 'io.k8s.api.apps.v1'
const COORD = 'io.k8s.api.coordination.v1'
const AUTOSCALING = 'io.k8s.api.autoscaling.v1'
export const TIME = `${META}.Time`
const MICRO_TIME = `${META}.MicroTime`
export const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity'
export const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString'
export const OBJECT_META = `${META}.ObjectMeta`
export const LIST_META = `${META}.ListMeta`
export const STATUS = `${META}.Status`
export const DELETE_OPTIONS = `${META}.DeleteOptions`
export const PATCH = `${META}.Patch`

/** The Go package of a group's types, as kube names definitions (`apps` → io.k8s.api.apps.v1). */
export function definitionPackage(group: string, version: string): string {
  const pkg = group === '' ? 'core' : (group.split('.')[0] ?? group)
  return `io.k8s.api.${pkg}.${version}`
}

/** The definition name of a kind: `io.k8s.api.apps.v1.Deployment`. */
export function definitionName(gvk: GVK): string {
  return `${definitionPackage(gvk.group, gvk.version)}.${gvk.kind}`
}

/**
 * Where an object sub-schema sits (`<parent definition>.<field>`) → its definition name. The name
 * applies to the object found under optional, array and map wrappers.
 */
const FIELD_TYPES: Readonly<Record<string, string>> = {
  [`${META}.ObjectMeta.ownerReferences`]: `${META}.OwnerReference`,
  [`${META}.ObjectMeta.managedFields`]: `${META}.ManagedFieldsEntry`,
  [`${META}.ManagedFieldsEntry.fieldsV1`]: `${META}.FieldsV1`,
  [`${META}.LabelSelector.matchExpressions`]: `${META}.LabelSelectorRequirement`,

  [`${CORE}.Namespace.spec`]: `${CORE}.NamespaceSpec`,
  [`${CORE}.Namespace.status`]: `${CORE}.NamespaceStatus`,
  [`${CORE}.NamespaceStatus.conditions`]: `${CORE}.NamespaceCondition`,
  [`${CORE}.Node.spec`]: `${CORE}.NodeSpec`,
  [`${CORE}.Node.status`]: `${CORE}.NodeStatus`,
  [`${CORE}.NodeSpec.taints`]: `${CORE}.Taint`,
  [`${CORE}.NodeSpec.configSource`]: `${CORE}.NodeConfigSource`,
  [`${CORE}.NodeStatus.conditions`]: `${CORE}.NodeCondition`,
  [`${CORE}.NodeStatus.addresses`]: `${CORE}.NodeAddress`,
  [`${CORE}.NodeStatus.daemonEndpoints`]: `${CORE}.NodeDaemonEndpoints`,
  [`${CORE}.NodeDaemonEndpoints.kubeletEndpoint`]: `${CORE}.DaemonEndpoint`,
  [`${CORE}.NodeStatus.nodeInfo`]: `${CORE}.NodeSystemInfo`,
  [`${CORE}.NodeStatus.images`]: `${CORE}.ContainerImage`,
  [`${CORE}.NodeStatus.config`]: `${CORE}.NodeConfigStatus`,
  [`${CORE}.Service.spec`]: `${CORE}.ServiceSpec`,
  [`${CORE}.Service.status`]: `${CORE}.ServiceStatus`,
  [`${CORE}.ServiceSpec.ports`]: `${CORE}.ServicePort`,
  [`${CORE}.ServiceSpec.sessionAffinityConfig`]: `${CORE}.SessionAffinityConfig`,
  [`${CORE}.ServiceStatus.loadBalancer`]: `${CORE}.LoadBalancerStatus`,
  [`${CORE}.ServiceStatus.conditions`]: `${META}.Condition`,
  [`${CORE}.Endpoints.subsets`]: `${CORE}.EndpointSubset`,
  [`${CORE}.EndpointSubset.addresses`]: `${CORE}.EndpointAddress`,
  [`${CORE}.EndpointSubset.notReadyAddresses`]: `${CORE}.EndpointAddress`,
  [`${CORE}.EndpointSubset.ports`]: `${CORE}.EndpointPort`,
  [`${CORE}.EndpointAddress.targetRef`]: `${CORE}.ObjectReference`,
  [`${CORE}.Event.involvedObject`]: `${CORE}.ObjectReference`,
  [`${CORE}.Event.related`]: `${CORE}.ObjectReference`,
  [`${CORE}.Event.source`]: `${CORE}.EventSource`,
  [`${CORE}.Event.series`]: `${CORE}.EventSeries`,
  [`${CORE}.ServiceAccount.secrets`]: `${CORE}.ObjectReference`,
  [`${CORE}.ServiceAccount.imagePullSecrets`]: `${CORE}.LocalObjectReference`,
  [`${CORE}.Binding.target`]: `${CORE}.ObjectReference`,

  [`${CORE}.Pod.status`]: `${CORE}.PodStatus`,
  [`${CORE}.PodSpec.volumes`]: `${CORE}.Volume`,
  [`${CORE}.PodSpec.ephemeralContainers`]: `${CORE}.EphemeralContainer`,
  [`${CORE}.PodSpec.securityContext`]: `${CORE}.PodSecurityContext`,
  [`${CORE}.PodSpec.imagePullSecrets`]: `${CORE}.LocalObjectReference`,
  [`${CORE}.PodSpec.affinity`]: `${CORE}.Affinity`,
  [`${CORE}.PodSpec.tolerations`]: `${CORE}.Toleration`,
  [`${CORE}.PodSpec.hostAliases`]: `${CORE}.HostAlias`,
  [`${CORE}.PodSpec.dnsConfig`]: `${CORE}.PodDNSConfig`,
  [`${CORE}.PodSpec.readinessGates`]: `${CORE}.PodReadinessGate`,
  [`${CORE}.PodSpec.topologySpreadConstraints`]: `${CORE}.TopologySpreadConstraint`,
  [`${CORE}.PodSpec.os`]: `${CORE}.PodOS`,
  [`${CORE}.PodSpec.schedulingGates`]: `${CORE}.PodSchedulingGate`,
  [`${CORE}.PodSpec.resourceClaims`]: `${CORE}.PodResourceClaim`,
  [`${CORE}.Container.ports`]: `${CORE}.ContainerPort`,
  [`${CORE}.Container.envFrom`]: `${CORE}.EnvFromSource`,
  [`${CORE}.Container.env`]: `${CORE}.EnvVar`,
  [`${CORE}.Container.resources`]: `${CORE}.ResourceRequirements`,
  [`${CORE}.Container.resizePolicy`]: `${CORE}.ContainerResizePolicy`,
  [`${CORE}.Container.volumeMounts`]: `${CORE}.VolumeMount`,
  [`${CORE}.Container.volumeDevices`]: `${CORE}.VolumeDevice`,
  [`${CORE}.Container.livenessProbe`]: `${CORE}.Probe`,
  [`${CORE}.Container.readinessProbe`]: `${CORE}.Probe`,
  [`${CORE}.Container.startupProbe`]: `${CORE}.Probe`,
  [`${CORE}.Container.lifecycle`]: `${CORE}.Lifecycle`,
  [`${CORE}.Container.securityContext`]: `${CORE}.SecurityContext`,
  [`${CORE}.EnvVar.valueFrom`]: `${CORE}.EnvVarSource`,
  [`${CORE}.EnvVarSource.fieldRef`]: `${CORE}.ObjectFieldSelector`,
  [`${CORE}.EnvVarSource.resourceFieldRef`]: `${CORE}.ResourceFieldSelector`,
  [`${CORE}.EnvVarSource.configMapKeyRef`]: `${CORE}.ConfigMapKeySelector`,
  [`${CORE}.EnvVarSource.secretKeyRef`]: `${CORE}.SecretKeySelector`,
  [`${CORE}.ResourceRequirements.claims`]: `${CORE}.ResourceClaim`,
  [`${CORE}.Probe.exec`]: `${CORE}.ExecAction`,
  [`${CORE}.Probe.httpGet`]: `${CORE}.HTTPGetAction`,
  [`${CORE}.Probe.tcpSocket`]: `${CORE}.TCPSocketAction`,
  [`${CORE}.Volume.emptyDir`]: `${CORE}.EmptyDirVolumeSource`,
  [`${CORE}.Volume.hostPath`]: `${CORE}.HostPathVolumeSource`,
  [`${CORE}.Volume.configMap`]: `${CORE}.ConfigMapVolumeSource`,
  [`${CORE}.Volume.secret`]: `${CORE}.SecretVolumeSource`,
  [`${CORE}.Volume.persistentVolumeClaim`]: `${CORE}.PersistentVolumeClaimVolumeSource`,
  [`${CORE}.Volume.projected`]: `${CORE}.ProjectedVolumeSource`,
  [`${CORE}.Volume.downwardAPI`]: `${CORE}.DownwardAPIVolumeSource`,
  [`${CORE}.Volume.nfs`]: `${CORE}.NFSVolumeSource`,
  [`${CORE}.Volume.csi`]: `${CORE}.CSIVolumeSource`,
  [`${CORE}.Volume.ephemeral`]: `${CORE}.EphemeralVolumeSource`,
  [`${CORE}.Volume.image`]: `${CORE}.ImageVolumeSource`,
  [`${CORE}.ConfigMapVolumeSource.items`]: `${CORE}.KeyToPath`,
  [`${CORE}.SecretVolumeSource.items`]: `${CORE}.KeyToPath`,
  [`${CORE}.PodStatus.conditions`]: `${CORE}.PodCondition`,
  [`${CORE}.PodStatus.hostIPs`]: `${CORE}.HostIP`,
  [`${CORE}.PodStatus.podIPs`]: `${CORE}.PodIP`,
  [`${CORE}.PodStatus.initContainerStatuses`]: `${CORE}.ContainerStatus`,
  [`${CORE}.PodStatus.containerStatuses`]: `${CORE}.ContainerStatus`,
  [`${CORE}.PodStatus.ephemeralContainerStatuses`]: `${CORE}.ContainerStatus`,
  [`${CORE}.PodStatus.resourceClaimStatuses`]: `${CORE}.PodResourceClaimStatus`,
  [`${CORE}.ContainerStatus.state`]: `${CORE}.ContainerState`,
  [`${CORE}.ContainerStatus.lastState`]: `${CORE}.ContainerState`,
  [`${CORE}.ContainerStatus.resources`]: `${CORE}.ResourceRequirements`,
  [`${CORE}.ContainerStatus.volumeMounts`]: `${CORE}.VolumeMountStatus`,
  [`${CORE}.ContainerStatus.user`]: `${CORE}.ContainerUser`,
  [`${CORE}.ContainerStatus.allocatedResourcesStatus`]: `${CORE}.ResourceStatus`,
  [`${CORE}.ContainerState.waiting`]: `${CORE}.ContainerStateWaiting`,
  [`${CORE}.ContainerState.running`]: `${CORE}.ContainerStateRunning`,
  [`${CORE}.ContainerState.terminated`]: `${CORE}.ContainerStateTerminated`,

  [`${APPS}.Deployment.spec`]: `${APPS}.DeploymentSpec`,
  [`${APPS}.Deployment.status`]: `${APPS}.DeploymentStatus`,
  [`${APPS}.DeploymentSpec.selector`]: `${META}.LabelSelector`,
  [`${APPS}.DeploymentSpec.strategy`]: `${APPS}.DeploymentStrategy`,
  [`${APPS}.DeploymentStrategy.rollingUpdate`]: `${APPS}.RollingUpdateDeployment`,
  [`${APPS}.DeploymentStatus.conditions`]: `${APPS}.DeploymentCondition`,
  [`${APPS}.ReplicaSet.spec`]: `${APPS}.ReplicaSetSpec`,
  [`${APPS}.ReplicaSet.status`]: `${APPS}.ReplicaSetStatus`,
  [`${APPS}.ReplicaSetSpec.selector`]: `${META}.LabelSelector`,
  [`${APPS}.ReplicaSetStatus.conditions`]: `${APPS}.ReplicaSetCondition`,
  [`${AUTOSCALING}.Scale.spec`]: `${AUTOSCALING}.ScaleSpec`,
  [`${AUTOSCALING}.Scale.status`]: `${AUTOSCALING}.ScaleStatus`,
  [`${COORD}.Lease.spec`]: `${COORD}.LeaseSpec`,
}

/** Scalars that kube types more precisely than the shared zod schema does. */
const FIELD_SCALARS: Readonly<Record<string, string>> = {
  [`${COORD}.LeaseSpec.acquireTime`]: MICRO_TIME,
  [`${COORD}.LeaseSpec.renewTime`]: MICRO_TIME,
  [`${CORE}.Event.eventTime`]: MICRO_TIME,
}

/** Named scalar definitions (v3 form; v2.ts flattens `oneOf` to `type: string` as kube's v2 does). */
const SCALARS: Readonly<Record<string, OpenAPISchema>> = {
  [TIME]: { type: 'string', format: 'date-time' },
  [MICRO_TIME]: { type: 'string', format: 'date-time' },
  [QUANTITY]: { oneOf: [{ type: 'string' }, { type: 'number' }] },
  [INT_OR_STRING]: { format: 'int-or-string', oneOf: [{ type: 'integer' }, { type: 'string' }] },
  [`${META}.FieldsV1`]: { type: 'object' },
  [PATCH]: { type: 'object' },
}

/** The part of a zod 4 schema the walk reads. */
interface ZodLike {
  _zod: { def: ZodDef }
  meta(): Record<string, unknown> | undefined
}
interface ZodDef {
  type: string
  format?: string
  innerType?: ZodLike
  element?: ZodLike
  valueType?: ZodLike
  shape?: Record<string, ZodLike>
  catchall?: ZodLike
  options?: ZodLike[]
}

/** Definition names of exported schema instances, so they keep one name wherever they appear. */
const KNOWN_INSTANCES: ReadonlyArray<readonly [unknown, string]> = [
  [ObjectMetaSchema, OBJECT_META],
  [PodSpecSchema, `${CORE}.PodSpec`],
  [PodTemplateSpecSchema, `${CORE}.PodTemplateSpec`],
  [ContainerSchema, `${CORE}.Container`],
]

const ref = (name: string): OpenAPISchema => ({ $ref: `#/components/schemas/${name}` })

/** `{allOf: [{$ref}]}` plus the property's own keys, as kube-openapi writes v3 references. */
function refProperty(name: string, extra: OpenAPISchema = {}): OpenAPISchema {
  return { allOf: [ref(name)], ...extra }
}

/** Kubernetes extensions from `.meta()`; `format` is handled by the caller. */
function extensionsOf(meta: Record<string, unknown> | undefined): OpenAPISchema {
  const out: OpenAPISchema = {}
  for (const [k, v] of Object.entries(meta ?? {})) {
    if (k.startsWith('x-kubernetes-') && k !== 'x-kubernetes-int-or-string') out[k] = v
  }
  return out
}

function unwrapOptional(s: ZodLike): ZodLike {
  let cur = s
  while (
    (cur._zod.def.type === 'optional' ||
      cur._zod.def.type === 'nullable' ||
      cur._zod.def.type === 'default') &&
    cur._zod.def.innerType !== undefined
  )
    cur = cur._zod.def.innerType
  return cur
}

/** The component schemas, built once from the registry. */
export class SchemaModel {
  readonly components = new Map<string, OpenAPISchema>()
  private readonly instanceNames = new Map<unknown, string>(KNOWN_INSTANCES)

  constructor() {
    for (const [name, scalar] of Object.entries(SCALARS))
      this.components.set(name, withDescription({ ...scalar }, DESCRIPTIONS[name]?.['_']))
    for (const r of RESOURCES) {
      this.addKind(r, r.schema as unknown as ZodLike)
      this.addList(r)
    }
    this.addKind(
      { group: '', version: 'v1', kind: 'Binding' },
      SUBRESOURCE_SCHEMAS.Binding as unknown as ZodLike,
    )
    this.addKind(
      { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      SUBRESOURCE_SCHEMAS.Scale as unknown as ZodLike,
    )
    this.addMetaTypes()
  }

  /** The components `roots` reach (transitively), sorted by name, as one GV document carries them. */
  reachable(roots: Iterable<string>): Record<string, OpenAPISchema> {
    const seen = new Set<string>()
    const visit = (name: string): void => {
      if (seen.has(name)) return
      const schema = this.components.get(name)
      if (schema === undefined) throw new Error(`openapi: no component ${name}`)
      seen.add(name)
      for (const r of refsIn(schema)) visit(r)
    }
    for (const r of roots) visit(r)
    const out: Record<string, OpenAPISchema> = {}
    for (const name of [...seen].sort()) out[name] = this.components.get(name)!
    return out
  }

  private addKind(gvk: GVK, schema: ZodLike): void {
    const name = definitionName(gvk)
    this.instanceNames.set(schema, name)
    this.buildObject(name, schema)
    const built = this.components.get(name)!
    built['x-kubernetes-group-version-kind'] = [{ group: gvk.group, kind: gvk.kind, version: gvk.version }]
  }

  private addList(r: ResourceInfo): void {
    const item = definitionName(r)
    this.components.set(`${definitionPackage(r.group, r.version)}.${r.listKind}`, {
      description: LIST_DESCRIPTIONS.type(r.kind),
      type: 'object',
      required: ['items'],
      properties: {
        apiVersion: { type: 'string', description: TYPE_META_DESCRIPTIONS['apiVersion'] },
        items: {
          type: 'array',
          description: LIST_DESCRIPTIONS.items(r.kind),
          items: refProperty(item),
        },
        kind: { type: 'string', description: TYPE_META_DESCRIPTIONS['kind'] },
        metadata: refProperty(LIST_META, { description: LIST_DESCRIPTIONS.metadata }),
      },
      'x-kubernetes-group-version-kind': [{ group: r.group, kind: r.listKind, version: r.version }],
    })
  }

  /** metav1 types that are not part of any zod schema: list metadata, Status, DeleteOptions. */
  private addMetaTypes(): void {
    const d = (type: string, field: string) => DESCRIPTIONS[type]?.[field]
    const str = (type: string, field: string): OpenAPISchema =>
      withDescription({ type: 'string' }, d(type, field))
    const meta = (kind: string, gvks: GVK[]): OpenAPISchema => ({
      'x-kubernetes-group-version-kind': gvks.map((g) => ({ group: g.group, kind, version: g.version })),
    })
    const groupVersions = [...new Map(RESOURCES.map((r) => [apiVersionOf(r), r])).values()]
    this.components.set(LIST_META, {
      ...withDescription({ type: 'object' }, d(LIST_META, '_')),
      properties: {
        continue: str(LIST_META, 'continue'),
        remainingItemCount: withDescription(
          { type: 'integer', format: 'int64' },
          d(LIST_META, 'remainingItemCount'),
        ),
        resourceVersion: str(LIST_META, 'resourceVersion'),
        selfLink: str(LIST_META, 'selfLink'),
      },
    })
    this.components.set(`${META}.StatusCause`, {
      type: 'object',
      properties: { field: { type: 'string' }, message: { type: 'string' }, reason: { type: 'string' } },
    })
    this.components.set(`${META}.StatusDetails`, {
      type: 'object',
      properties: {
        causes: { type: 'array', items: refProperty(`${META}.StatusCause`) },
        group: { type: 'string' },
        kind: { type: 'string' },
        name: { type: 'string' },
        retryAfterSeconds: { type: 'integer', format: 'int32' },
        uid: { type: 'string' },
      },
    })
    this.components.set(STATUS, {
      ...withDescription({ type: 'object' }, d(STATUS, '_')),
      properties: {
        apiVersion: { type: 'string', description: TYPE_META_DESCRIPTIONS['apiVersion'] },
        code: withDescription({ type: 'integer', format: 'int32' }, d(STATUS, 'code')),
        details: refProperty(`${META}.StatusDetails`, { description: d(STATUS, 'details') }),
        kind: { type: 'string', description: TYPE_META_DESCRIPTIONS['kind'] },
        message: str(STATUS, 'message'),
        metadata: refProperty(LIST_META),
        reason: str(STATUS, 'reason'),
        status: str(STATUS, 'status'),
      },
      ...meta('Status', [{ group: '', version: 'v1', kind: 'Status' }]),
    })
    this.components.set(`${META}.Preconditions`, {
      type: 'object',
      properties: { resourceVersion: { type: 'string' }, uid: { type: 'string' } },
    })
    this.components.set(DELETE_OPTIONS, {
      ...withDescription({ type: 'object' }, d(DELETE_OPTIONS, '_')),
      properties: {
        apiVersion: { type: 'string', description: TYPE_META_DESCRIPTIONS['apiVersion'] },
        dryRun: { type: 'array', items: { type: 'string' }, description: d(DELETE_OPTIONS, 'dryRun') },
        gracePeriodSeconds: withDescription(
          { type: 'integer', format: 'int64' },
          d(DELETE_OPTIONS, 'gracePeriodSeconds'),
        ),
        kind: { type: 'string', description: TYPE_META_DESCRIPTIONS['kind'] },
        orphanDependents: withDescription({ type: 'boolean' }, d(DELETE_OPTIONS, 'orphanDependents')),
        preconditions: refProperty(`${META}.Preconditions`, {
          description: d(DELETE_OPTIONS, 'preconditions'),
        }),
        propagationPolicy: str(DELETE_OPTIONS, 'propagationPolicy'),
      },
      ...meta(
        'DeleteOptions',
        [...groupVersions, { group: 'autoscaling', version: 'v1', kind: '' }].map((g) => ({
          group: g.group,
          version: g.version,
          kind: 'DeleteOptions',
        })),
      ),
    })
  }

  /** Builds the component `name` from a zod object (once; recursion-safe). */
  private buildObject(name: string, schema: ZodLike): void {
    if (this.components.has(name)) return
    const out: OpenAPISchema = {}
    this.components.set(name, out) // placeholder first: recursive types refer to it
    Object.assign(out, withDescription(this.objectSchema(name, schema), DESCRIPTIONS[name]?.['_']))
  }

  /** The `type: object` schema of a zod object whose fields are described under `owner`. */
  private objectSchema(owner: string, schema: ZodLike): OpenAPISchema {
    const def = schema._zod.def
    const shape = def.shape ?? {}
    const properties: Record<string, OpenAPISchema> = {}
    const required: string[] = []
    for (const field of Object.keys(shape).sort()) {
      const fieldSchema = shape[field]!
      if (fieldSchema._zod.def.type !== 'optional') required.push(field)
      const description =
        DESCRIPTIONS[owner]?.[field] ??
        (field in TYPE_META_DESCRIPTIONS && !owner.startsWith(META)
          ? TYPE_META_DESCRIPTIONS[field]
          : undefined)
      properties[field] = this.property(owner, field, fieldSchema, description)
    }
    const out: OpenAPISchema = { type: 'object' }
    if (Object.keys(properties).length > 0) out['properties'] = properties
    if (required.length > 0) out['required'] = required
    return out
  }

  /** The schema of `owner.field`, with its description and list extensions. */
  private property(
    owner: string,
    field: string,
    schema: ZodLike,
    description: string | undefined,
  ): OpenAPISchema {
    const s = unwrapOptional(schema)
    const ext = extensionsOf(s.meta())
    const scalar = FIELD_SCALARS[`${owner}.${field}`]
    const base = scalar !== undefined ? refProperty(scalar) : this.valueSchema(s, `${owner}.${field}`)
    return withDescription({ ...base, ...ext }, description)
  }

  /**
   * The schema of a value at `place` (`<owner>.<field>`): a reference for named objects and
   * special scalars, else an inline schema.
   */
  private valueSchema(schema: ZodLike, place: string): OpenAPISchema {
    const s = unwrapOptional(schema)
    const def = s._zod.def
    const format = s.meta()?.['format']
    if (format === 'date-time') return refProperty(TIME)
    if (format === 'quantity') return refProperty(QUANTITY)
    if (format === 'int-or-string') return refProperty(INT_OR_STRING)
    switch (def.type) {
      case 'string':
        return { type: 'string' }
      case 'number':
        if (def.format === 'int32') return { type: 'integer', format: 'int32' }
        if (def.format === 'safeint' || def.format === 'int64') return { type: 'integer', format: 'int64' }
        return { type: 'number', format: 'double' }
      case 'boolean':
        return { type: 'boolean' }
      case 'union': {
        const types = (def.options ?? []).map((o) => unwrapOptional(o)._zod.def.type)
        if (types.includes('string') && types.includes('number')) return refProperty(QUANTITY)
        return {}
      }
      case 'array':
        return { type: 'array', items: this.valueSchema(def.element!, place) }
      case 'record': {
        const value = unwrapOptional(def.valueType!)
        const named = FIELD_TYPES[place]
        if (value._zod.def.type === 'unknown' && named !== undefined) return this.named(named, s)
        if (value._zod.def.type === 'unknown') return { type: 'object' }
        return { type: 'object', additionalProperties: this.valueSchema(value, place) }
      }
      case 'object': {
        const name = FIELD_TYPES[place] ?? this.instanceNames.get(s)
        if (name !== undefined) return this.named(name, s)
        return this.objectSchema(place, s)
      }
      default:
        return {}
    }
  }

  private named(name: string, s: ZodLike): OpenAPISchema {
    if (!this.instanceNames.has(s)) this.instanceNames.set(s, name)
    this.buildObject(name, s)
    return refProperty(name)
  }
}

function withDescription(schema: OpenAPISchema, description: string | undefined): OpenAPISchema {
  return description === undefined ? schema : { description, ...schema }
}

/** Names of the components a schema refers to. */
export function refsIn(schema: unknown): string[] {
  const out: string[] = []
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x)
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') out.push(x.slice(x.lastIndexOf('/') + 1))
        else walk(x)
      }
    }
  }
  walk(schema)
  return out
}
