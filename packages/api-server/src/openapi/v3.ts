/**
 * OpenAPI v3 documents as kube-apiserver 1.32 serves them (k8s.io/kube-openapi pkg/handler3): a
 * root `/openapi/v3` listing one document per group-version, and per group-version an OpenAPI 3.0
 * document with the resource paths and the component schemas they reach.
 *
 * What kubectl reads (kubectl-wire.md §4.2): kubectl 1.29+ decides whether the server validates
 * fields by finding the PATCH operation carrying the object's `x-kubernetes-group-version-kind`
 * and a `fieldValidation` parameter listed on that operation (path-level parameters are not looked
 * at, and `$ref` parameters are not resolved), so every operation lists its query parameters
 * inline. `kubectl explain` (1.28+) reads `components.schemas` by `x-kubernetes-group-version-kind`.
 *
 * Paths per resource (namespaced form; cluster-scoped kinds drop `namespaces/{namespace}/`): the
 * collection (list, create, deletecollection), the cross-namespace list, the object (read,
 * replace, delete, patch) and each subresource. Non-guarantees: no `/watch/` paths (deprecated
 * in kube), no protobuf media types, parameter descriptions are short.
 */
import { apiVersionOf, RESOURCES, type ResourceInfo, type SubresourceInfo } from '@hakube/api'
import {
  DELETE_OPTIONS,
  definitionName,
  definitionPackage,
  type GVK,
  type OpenAPISchema,
  PATCH,
  refsIn,
  type SchemaModel,
  STATUS,
} from './model.js'

/** The media types kube lists for PATCH bodies, in kube's order. */
export const PATCH_CONTENT_TYPES = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const

/** Media types of request and response bodies (kube also lists protobuf; hakube does not serve it). */
const BODY_MEDIA_TYPES = ['application/json', 'application/yaml'] as const

export interface Parameter {
  name: string
  in: 'query' | 'path'
  description: string
  required?: boolean
  schema: { type: 'string' | 'integer' | 'boolean'; uniqueItems: true }
}

const query = (
  name: string,
  description: string,
  type: Parameter['schema']['type'] = 'string',
): Parameter => ({
  description,
  in: 'query',
  name,
  schema: { type, uniqueItems: true },
})

/** Query parameters, with short descriptions written for hakube. */
export const PARAMETERS = {
  dryRun: query('dryRun', 'When All, the request is processed in full but nothing is persisted.'),
  fieldManager: query('fieldManager', 'Name of the actor making the change, recorded in managedFields.'),
  fieldValidation: query(
    'fieldValidation',
    'What the server does with unknown or duplicate fields: Ignore drops them, Warn (the default) drops them with a warning, Strict rejects the request.',
  ),
  force: query('force', 'For apply patches: take ownership of fields owned by other managers.', 'boolean'),
  pretty: query('pretty', 'When true, the output is indented.'),
  gracePeriodSeconds: query('gracePeriodSeconds', 'Seconds before the object is deleted.', 'integer'),
  ignoreStoreReadErrorWithClusterBreakingPotential: query(
    'ignoreStoreReadErrorWithClusterBreakingPotential',
    'Delete an object whose stored form cannot be read.',
    'boolean',
  ),
  orphanDependents: query('orphanDependents', 'Deprecated: use propagationPolicy.', 'boolean'),
  propagationPolicy: query(
    'propagationPolicy',
    'Garbage collection of dependents: Orphan, Background or Foreground.',
  ),
  allowWatchBookmarks: query('allowWatchBookmarks', 'Ask for BOOKMARK events in a watch.', 'boolean'),
  continue: query('continue', 'The continue token of the previous page.'),
  fieldSelector: query('fieldSelector', 'Restrict the results by field values.'),
  labelSelector: query('labelSelector', 'Restrict the results by labels.'),
  limit: query('limit', 'The most items to return in one page.', 'integer'),
  resourceVersion: query('resourceVersion', 'The resource version the read must be at least as new as.'),
  resourceVersionMatch: query(
    'resourceVersionMatch',
    'How resourceVersion is applied: Exact or NotOlderThan.',
  ),
  sendInitialEvents: query(
    'sendInitialEvents',
    'Start a watch with the current objects as ADDED events.',
    'boolean',
  ),
  timeoutSeconds: query('timeoutSeconds', 'How long the list or watch call may take.', 'integer'),
  watch: query('watch', 'Watch for changes instead of listing.', 'boolean'),
} as const satisfies Record<string, Parameter>

const P = PARAMETERS
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation]
const LIST_PARAMS = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
  P.watch,
]
const DELETE_PARAMS = [
  P.dryRun,
  P.gracePeriodSeconds,
  P.ignoreStoreReadErrorWithClusterBreakingPotential,
  P.orphanDependents,
  P.propagationPolicy,
]

const pathParam = (name: string, description: string): Parameter => ({
  description,
  in: 'path',
  name,
  required: true,
  schema: { type: 'string', uniqueItems: true },
})

export type Action = 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection'

export interface Operation {
  description: string
  operationId: string
  parameters?: Parameter[]
  requestBody?: { content: Record<string, { schema: OpenAPISchema }>; required: true }
  responses: Record<string, { description: string; content?: Record<string, { schema: OpenAPISchema }> }>
  tags: string[]
  'x-kubernetes-action': Action
  'x-kubernetes-group-version-kind': GVK
}

export interface PathItem {
  get?: Operation
  put?: Operation
  post?: Operation
  delete?: Operation
  patch?: Operation
  parameters: Parameter[]
}

const schemaRef = (name: string): OpenAPISchema => ({ $ref: `#/components/schemas/${name}` })

function content(schema: OpenAPISchema, types: readonly string[] = BODY_MEDIA_TYPES) {
  return Object.fromEntries(types.map((t) => [t, { schema }]))
}

function responses(codes: Record<string, string>, schema: OpenAPISchema): Operation['responses'] {
  const out: Operation['responses'] = {}
  for (const [code, description] of Object.entries(codes))
    out[code] = { content: content(schema), description }
  out['401'] = { description: 'Unauthorized' }
  return out
}

/** `apps` → `Apps`, `coordination.k8s.io` → `Coordination`, core → `Core` (kube's operation ids). */
function groupWord(group: string): string {
  const first = group === '' ? 'core' : (group.split('.')[0] ?? group)
  return first.charAt(0).toUpperCase() + first.slice(1)
}

/** `core_v1`, `apps_v1`, `coordination_v1`: the tag kube gives a group-version's operations. */
function tagOf(group: string, version: string): string {
  return `${group === '' ? 'core' : (group.split('.')[0] ?? group)}_${version}`
}

/** The path prefix of a group-version: `/api/v1`, `/apis/apps/v1`. */
export function groupVersionPath(gv: { group: string; version: string }): string {
  return gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.group}/${gv.version}`
}

/** The paths of one resource, keyed by URL template. */
function resourcePaths(r: ResourceInfo): Record<string, PathItem> {
  const gvk: GVK = { group: r.group, version: r.version, kind: r.kind }
  const kindRef = schemaRef(definitionName(gvk))
  const listRef = schemaRef(`${definitionPackage(r.group, r.version)}.${r.listKind}`)
  const idBase = `${groupWord(r.group)}${r.version.charAt(0).toUpperCase()}${r.version.slice(1)}`
  const scope = r.namespaced ? 'Namespaced' : ''
  const tags = [tagOf(r.group, r.version)]
  const prefix = `${groupVersionPath(r)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`
  const nsParams = r.namespaced
    ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')]
    : []
  const nameParam = pathParam('name', `name of the ${r.kind}`)
  const op = (
    action: Action,
    verbWord: string,
    description: string,
    extra: Partial<Operation>,
    kind: GVK = gvk,
    suffix = '',
  ): Operation => ({
    description,
    operationId: `${verbWord}${idBase}${scope}${r.kind}${suffix}`,
    ...extra,
    responses: extra.responses ?? {},
    tags,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': kind,
  })
  const has = (v: string) => (r.verbs as readonly string[]).includes(v)
  const paths: Record<string, PathItem> = {}

  const collection: PathItem = { parameters: [...nsParams, P.pretty] }
  if (has('list'))
    collection.get = op('list', 'list', `list or watch objects of kind ${r.kind}`, {
      parameters: LIST_PARAMS,
      responses: responses({ '200': 'OK' }, listRef),
    })
  if (has('create'))
    collection.post = op('post', 'create', `create a ${r.kind}`, {
      parameters: WRITE_PARAMS,
      requestBody: { content: content(kindRef), required: true },
      responses: responses({ '200': 'OK', '201': 'Created', '202': 'Accepted' }, kindRef),
    })
  if (has('deletecollection'))
    collection.delete = op('deletecollection', 'deleteCollection', `delete collection of ${r.kind}`, {
      parameters: [
        ...LIST_PARAMS.filter((p) => p.name !== 'watch' && p.name !== 'allowWatchBookmarks'),
        ...DELETE_PARAMS,
      ],
      requestBody: { content: content(schemaRef(DELETE_OPTIONS)), required: true },
      responses: responses({ '200': 'OK' }, schemaRef(STATUS)),
    })
  paths[prefix] = collection

  if (r.namespaced && has('list')) {
    paths[`${groupVersionPath(r)}/${r.plural}`] = {
      parameters: [P.pretty],
      get: {
        ...op('list', 'list', `list or watch objects of kind ${r.kind}`, {
          parameters: LIST_PARAMS,
          responses: responses({ '200': 'OK' }, listRef),
        }),
        operationId: `list${idBase}${r.kind}ForAllNamespaces`,
      },
    }
  }

  const object: PathItem = { parameters: [nameParam, ...nsParams, P.pretty] }
  if (has('get'))
    object.get = op('get', 'read', `read the specified ${r.kind}`, {
      responses: responses({ '200': 'OK' }, kindRef),
    })
  if (has('update'))
    object.put = op('put', 'replace', `replace the specified ${r.kind}`, {
      parameters: WRITE_PARAMS,
      requestBody: { content: content(kindRef), required: true },
      responses: responses({ '200': 'OK', '201': 'Created' }, kindRef),
    })
  if (has('delete'))
    object.delete = op('delete', 'delete', `delete a ${r.kind}`, {
      parameters: DELETE_PARAMS,
      requestBody: { content: content(schemaRef(DELETE_OPTIONS)), required: true },
      responses: responses({ '200': 'OK', '202': 'Accepted' }, schemaRef(STATUS)),
    })
  if (has('patch')) object.patch = patchOperation(op, `partially update the specified ${r.kind}`, kindRef)
  paths[`${prefix}/{name}`] = object

  for (const sub of r.subresources)
    paths[`${prefix}/{name}/${sub.name}`] = subresourcePath(r, sub, op, [nameParam, ...nsParams, P.pretty])
  return paths
}

type OpFactory = (
  action: Action,
  verbWord: string,
  description: string,
  extra: Partial<Operation>,
  kind?: GVK,
  suffix?: string,
) => Operation

function patchOperation(
  op: OpFactory,
  description: string,
  ref: OpenAPISchema,
  kind?: GVK,
  suffix?: string,
): Operation {
  return op(
    'patch',
    'patch',
    description,
    {
      parameters: [...WRITE_PARAMS, P.force],
      requestBody: { content: content(schemaRef(PATCH), PATCH_CONTENT_TYPES), required: true },
      responses: responses({ '200': 'OK', '201': 'Created' }, ref),
    },
    kind,
    suffix,
  )
}

function subresourcePath(
  r: ResourceInfo,
  sub: SubresourceInfo,
  op: OpFactory,
  parameters: Parameter[],
): PathItem {
  const kind: GVK = { ...sub.responseKind }
  const ref = schemaRef(definitionName(kind))
  const word = sub.name.charAt(0).toUpperCase() + sub.name.slice(1)
  const item: PathItem = { parameters }
  const verbs = sub.verbs as readonly string[]
  if (verbs.includes('get'))
    item.get = op(
      'get',
      'read',
      `read ${sub.name} of the specified ${r.kind}`,
      { responses: responses({ '200': 'OK' }, ref) },
      kind,
      word,
    )
  if (verbs.includes('update'))
    item.put = op(
      'put',
      'replace',
      `replace ${sub.name} of the specified ${r.kind}`,
      {
        parameters: WRITE_PARAMS,
        requestBody: { content: content(ref), required: true },
        responses: responses({ '200': 'OK', '201': 'Created' }, ref),
      },
      kind,
      word,
    )
  if (verbs.includes('patch'))
    item.patch = patchOperation(
      op,
      `partially update ${sub.name} of the specified ${r.kind}`,
      ref,
      kind,
      word,
    )
  if (verbs.includes('create'))
    item.post = op(
      'post',
      'create',
      `create ${sub.name} of a ${r.kind}`,
      {
        parameters: WRITE_PARAMS,
        requestBody: { content: content(ref), required: true },
        responses: responses({ '200': 'OK', '201': 'Created', '202': 'Accepted' }, ref),
      },
      kind,
      word,
    )
  return item
}

/** An OpenAPI 3.0 document of one group-version. */
export interface OpenAPIV3Document {
  openapi: '3.0.0'
  info: { title: string; version: string }
  paths: Record<string, PathItem>
  components: { schemas: Record<string, OpenAPISchema> }
}

/** The group-versions served, in discovery order, with their document key (`api/v1`, `apis/apps/v1`). */
export function servedGroupVersions(): Array<{ group: string; version: string; key: string }> {
  const seen = new Map<string, { group: string; version: string; key: string }>()
  for (const r of RESOURCES) {
    const key = groupVersionPath(r).slice(1)
    if (!seen.has(apiVersionOf(r))) seen.set(apiVersionOf(r), { group: r.group, version: r.version, key })
  }
  return [...seen.values()]
}

/** Builds every group-version document from one schema model; keyed as in the v3 root. */
export function buildV3Documents(model: SchemaModel, version: string): Map<string, OpenAPIV3Document> {
  const docs = new Map<string, OpenAPIV3Document>()
  for (const gv of servedGroupVersions()) {
    const paths: Record<string, PathItem> = {}
    for (const r of RESOURCES.filter((x) => x.group === gv.group && x.version === gv.version))
      Object.assign(paths, resourcePaths(r))
    const sorted = Object.fromEntries(
      Object.keys(paths)
        .sort()
        .map((k) => [k, paths[k]!]),
    )
    docs.set(gv.key, {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version },
      paths: sorted,
      components: { schemas: model.reachable(refsIn(sorted)) },
    })
  }
  return docs
}
