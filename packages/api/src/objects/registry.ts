/**
 * The resource registry: every kind hakube serves with the group, version, names, scope, verbs,
 * categories and subresources the real kube-apiserver 1.32 advertises in discovery
 * (`kubectl api-resources -o wide` against a kind cluster), and its zod schema.
 *
 * Invariant: (group, plural) and (group, kind) are unique; every short name is unique.
 */
import type { z } from 'zod'
import { Deployment, Lease, ReplicaSet, Scale } from './apps-schema.js'
import {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  Node,
  Secret,
  Service,
  ServiceAccount,
} from './core-schema.js'
import { Binding, Pod } from './pod-schema.js'

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection'
export type SubresourceName = 'status' | 'binding' | 'scale' | 'log'

export interface GroupVersionKind {
  readonly group: string
  readonly version: string
  readonly kind: string
}

export interface SubresourceInfo {
  readonly name: SubresourceName
  readonly verbs: readonly Verb[]
  /** Kind read and written through the subresource (Scale is autoscaling/v1). */
  readonly responseKind: GroupVersionKind
}

export interface ResourceInfo extends GroupVersionKind {
  readonly listKind: string
  readonly plural: string
  readonly singular: string
  readonly shortNames: readonly string[]
  readonly namespaced: boolean
  readonly verbs: readonly Verb[]
  readonly categories: readonly string[]
  readonly subresources: readonly SubresourceInfo[]
  readonly schema: z.ZodType
}

/** Verbs of every resource here (the api-server's standard REST storage). */
export const ALL_VERBS: readonly Verb[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
]
/** Namespaces have no deletecollection in Kubernetes. */
const NAMESPACE_VERBS: readonly Verb[] = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']
const SUB_VERBS: readonly Verb[] = ['get', 'patch', 'update']

const status = (gvk: GroupVersionKind): SubresourceInfo => ({
  name: 'status',
  verbs: SUB_VERBS,
  responseKind: gvk,
})
const scale: SubresourceInfo = {
  name: 'scale',
  verbs: SUB_VERBS,
  responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
}
const binding: SubresourceInfo = {
  name: 'binding',
  verbs: ['create'],
  responseKind: { group: '', version: 'v1', kind: 'Binding' },
}
/** `pods/log`: text streamed from the node's kubelet (the api-server's rest/pod-log.ts). */
const log = (gvk: GroupVersionKind): SubresourceInfo => ({ name: 'log', verbs: ['get'], responseKind: gvk })

function define(
  group: string,
  kind: string,
  plural: string,
  opts: {
    shortNames?: string[]
    namespaced?: boolean
    verbs?: readonly Verb[]
    categories?: string[]
    subresources?: (gvk: GroupVersionKind) => SubresourceInfo[]
    schema: z.ZodType
  },
): ResourceInfo {
  const gvk = { group, version: 'v1', kind }
  return Object.freeze({
    ...gvk,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    shortNames: opts.shortNames ?? [],
    namespaced: opts.namespaced ?? true,
    verbs: opts.verbs ?? ALL_VERBS,
    categories: opts.categories ?? [],
    subresources: opts.subresources?.(gvk) ?? [],
    schema: opts.schema,
  })
}

/** Every resource, in discovery order (core first, then apps, then coordination.k8s.io). */
export const RESOURCES: readonly ResourceInfo[] = Object.freeze([
  define('', 'ConfigMap', 'configmaps', { shortNames: ['cm'], schema: ConfigMap }),
  define('', 'Endpoints', 'endpoints', { shortNames: ['ep'], schema: Endpoints }),
  define('', 'Event', 'events', { shortNames: ['ev'], schema: Event }),
  define('', 'Namespace', 'namespaces', {
    shortNames: ['ns'],
    namespaced: false,
    verbs: NAMESPACE_VERBS,
    subresources: (gvk) => [status(gvk)],
    schema: Namespace,
  }),
  define('', 'Node', 'nodes', {
    shortNames: ['no'],
    namespaced: false,
    subresources: (gvk) => [status(gvk)],
    schema: Node,
  }),
  define('', 'Pod', 'pods', {
    shortNames: ['po'],
    categories: ['all'],
    subresources: (gvk) => [binding, log(gvk), status(gvk)],
    schema: Pod,
  }),
  define('', 'Secret', 'secrets', { schema: Secret }),
  define('', 'ServiceAccount', 'serviceaccounts', { shortNames: ['sa'], schema: ServiceAccount }),
  define('', 'Service', 'services', {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: (gvk) => [status(gvk)],
    schema: Service,
  }),
  define('apps', 'Deployment', 'deployments', {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: (gvk) => [scale, status(gvk)],
    schema: Deployment,
  }),
  define('apps', 'ReplicaSet', 'replicasets', {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: (gvk) => [scale, status(gvk)],
    schema: ReplicaSet,
  }),
  define('coordination.k8s.io', 'Lease', 'leases', { schema: Lease }),
])

/** Schemas of kinds that only travel through subresources. */
export const SUBRESOURCE_SCHEMAS = Object.freeze({ Binding, Scale })

/** `apps/v1` or `v1` for the core group. */
export function apiVersionOf(gv: { group: string; version: string }): string {
  return gv.group === '' ? gv.version : `${gv.group}/${gv.version}`
}

/** Splits `apps/v1` into group and version (`v1` → core group). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/')
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) }
}

/** `schema.GroupResource.String()`: `pods`, `deployments.apps`. Used in Status messages. */
export function qualifiedResource(r: { group: string; plural: string }): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`
}

/** `schema.GroupKind.String()`: `Pod`, `Deployment.apps`. Used in Invalid messages. */
export function qualifiedKind(r: { group: string; kind: string }): string {
  return r.group === '' ? r.kind : `${r.kind}.${r.group}`
}

/** The resource at `/api(s)/<group>/<version>/.../<plural>`, if served. */
export function lookupResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural)
}

/** The resource for an object's `apiVersion` and `kind`, if served. */
export function lookupKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const { group, version } = parseApiVersion(apiVersion)
  return RESOURCES.find((r) => r.group === group && r.version === version && r.kind === kind)
}

/**
 * Resolves what a user types (`po`, `pod`, `pods`, `deployments.apps`, `Deployment`) the way
 * kubectl's RESTMapper does for served resources; undefined when nothing matches.
 */
export function resolveResource(name: string): ResourceInfo | undefined {
  const lower = name.toLowerCase()
  const dot = lower.indexOf('.')
  const base = dot < 0 ? lower : lower.slice(0, dot)
  const group = dot < 0 ? undefined : lower.slice(dot + 1)
  return RESOURCES.find(
    (r) =>
      (group === undefined || r.group === group) &&
      (r.plural === base || r.singular === base || r.shortNames.includes(base)),
  )
}

/** Resources in a category (`kubectl get all`). */
export function resourcesInCategory(category: string): ResourceInfo[] {
  return RESOURCES.filter((r) => r.categories.includes(category))
}
