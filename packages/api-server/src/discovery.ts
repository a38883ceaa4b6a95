/**
 * API discovery, generated from the resource registry (`RESOURCES` of @hakube/api) plus the resources
 * that are never stored (SelfSubjectReview, authentication.ts), as kube-apiserver 1.32 serves it
 * (k8s.io/apiserver pkg/endpoints/discovery):
 *
 * - legacy documents: `/api` (APIVersions), `/apis` (APIGroupList), `/apis/<group>` (APIGroup),
 *   `/api/v1` and `/apis/<group>/<version>` (APIResourceList, subresources as `pods/status`);
 * - aggregated discovery (discovery/aggregated): `/api` and `/apis` answer an APIGroupDiscoveryList
 *   (apidiscovery.k8s.io v2 or v2beta1) when the Accept header asks for one. kubectl recognises it
 *   only by the response Content-Type (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`),
 *   so that header is set exactly; see ../shared/reference/kubectl-wire.md §2.2.
 *
 * Content negotiation follows handlers/negotiation (NegotiateMediaTypeOptions with
 * DiscoveryEndpointRestrictions): Accept clauses are tried by q-value, then in the order sent; the
 * first JSON clause (`application/json`, `application/*`, `*` `/` `*`) that is plain, or that names an
 * aggregated discovery kind where one is served, wins; an empty Accept means JSON. When nothing
 * matches the answer is 406 NotAcceptable, as kube answers Accept headers it has no serializer for.
 *
 * Non-guarantees: JSON only. kube-apiserver also serves YAML and protobuf here; hakube answers those
 * with 406 (kubectl always offers JSON for discovery, §1.3). No `pretty` output.
 */
import { createHash } from 'node:crypto'
import { apiVersionOf, RESOURCES, type ResourceInfo, StatusError, statusErrors } from '@hakube/api'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { acceptsJson, parseAccept } from './accept.js'
import { AUTHENTICATION_GROUP } from './authentication.js'

/** apidiscovery.k8s.io, the group of the aggregated discovery documents. */
const DISCOVERY_GROUP = 'apidiscovery.k8s.io'
const DISCOVERY_KIND = 'APIGroupDiscoveryList'
/** Aggregated discovery versions served, newest first (1.30+ ask for v2, 1.27–1.29 for v2beta1). */
export const AGGREGATED_DISCOVERY_VERSIONS = ['v2', 'v2beta1'] as const
export type AggregatedDiscoveryVersion = (typeof AGGREGATED_DISCOVERY_VERSIONS)[number]

/** The media types hakube serializes discovery in (the 406 message lists them, as kube does). */
const SERIALIZED_MEDIA_TYPES = ['application/json'] as const

/** The Content-Type of an aggregated discovery answer: how kubectl tells it apart from APIVersions. */
export function aggregatedContentType(version: AggregatedDiscoveryVersion): string {
  return `application/json;g=${DISCOVERY_GROUP};v=${version};as=${DISCOVERY_KIND}`
}

// ---------------------------------------------------------------------------------------------
// Document shapes (field order as Go's encoding/json writes the apimachinery structs).

interface GroupVersionForDiscovery {
  groupVersion: string
  version: string
}

export interface APIVersions {
  kind: 'APIVersions'
  versions: string[]
  serverAddressByClientCIDRs: Array<{ clientCIDR: string; serverAddress: string }>
}

export interface APIGroup {
  name: string
  versions: GroupVersionForDiscovery[]
  preferredVersion: GroupVersionForDiscovery
}

export interface APIGroupList {
  kind: 'APIGroupList'
  apiVersion: 'v1'
  groups: APIGroup[]
}

export interface APIResource {
  name: string
  singularName: string
  namespaced: boolean
  /** Only when the (sub)resource's kind lives in another group-version (`deployments/scale`). */
  group?: string
  version?: string
  kind: string
  verbs: string[]
  shortNames?: string[]
  categories?: string[]
  storageVersionHash?: string
}

export interface APIResourceList {
  kind: 'APIResourceList'
  apiVersion: 'v1'
  groupVersion: string
  resources: APIResource[]
}

interface DiscoveryGVK {
  group: string
  version: string
  kind: string
}

export interface APISubresourceDiscovery {
  subresource: string
  responseKind: DiscoveryGVK
  verbs: string[]
}

export interface APIResourceDiscovery {
  resource: string
  responseKind: DiscoveryGVK
  scope: 'Namespaced' | 'Cluster'
  singularResource: string
  verbs: string[]
  shortNames?: string[]
  categories?: string[]
  subresources?: APISubresourceDiscovery[]
}

export interface APIGroupDiscovery {
  metadata: { name?: string }
  versions: Array<{ version: string; resources: APIResourceDiscovery[]; freshness: 'Current' }>
}

export interface APIGroupDiscoveryList {
  kind: typeof DISCOVERY_KIND
  apiVersion: `${typeof DISCOVERY_GROUP}/${AggregatedDiscoveryVersion}`
  metadata: Record<string, never>
  items: APIGroupDiscovery[]
}

// ---------------------------------------------------------------------------------------------
// Documents, built from the registry.

/** What discovery tells of a resource; `persisted: false` ones have no storageVersionHash. */
export type DiscoveredResource = Pick<
  ResourceInfo,
  | 'group'
  | 'version'
  | 'kind'
  | 'plural'
  | 'singular'
  | 'shortNames'
  | 'namespaced'
  | 'verbs'
  | 'categories'
  | 'subresources'
> & { readonly persisted?: false }

/** authentication.k8s.io/v1 selfsubjectreviews (create only, cluster scoped, never stored). */
const SELF_SUBJECT_REVIEWS: DiscoveredResource = {
  group: AUTHENTICATION_GROUP,
  version: 'v1',
  kind: 'SelfSubjectReview',
  plural: 'selfsubjectreviews',
  singular: 'selfsubjectreview',
  shortNames: [],
  namespaced: false,
  verbs: ['create'],
  categories: [],
  subresources: [],
  persisted: false,
}

/**
 * Every resource served, in kube's group order: authentication.k8s.io comes right after apps (and
 * before the groups kube orders after it), as kube-apiserver's group priorities place it.
 */
export const SERVED_RESOURCES: readonly DiscoveredResource[] = (() => {
  const list: DiscoveredResource[] = [...RESOURCES]
  let at = list.length
  for (let i = list.length - 1; i >= 0; i--)
    if (list[i]?.group === '' || list[i]?.group === 'apps') {
      at = i + 1
      break
    }
  list.splice(at, 0, SELF_SUBJECT_REVIEWS)
  return list
})()

/** A served group-version and its resources. Invariant: `resources` is non-empty. */
interface ServedGroupVersion {
  readonly group: string
  readonly version: string
  readonly resources: readonly DiscoveredResource[]
}

/** Groups in registry order (core first), each with its versions in registry order. */
function servedGroups(
  resources: readonly DiscoveredResource[],
): Array<{ group: string; versions: ServedGroupVersion[] }> {
  const groups: Array<{ group: string; versions: ServedGroupVersion[] }> = []
  for (const r of resources) {
    let g = groups.find((x) => x.group === r.group)
    if (g === undefined) {
      g = { group: r.group, versions: [] }
      groups.push(g)
    }
    let gv = g.versions.find((v) => v.version === r.version)
    if (gv === undefined) {
      gv = { group: r.group, version: r.version, resources: [] }
      g.versions.push(gv)
    }
    ;(gv.resources as DiscoveredResource[]).push(r)
  }
  return groups
}

/**
 * discovery.StorageVersionHash: base64 of the first 8 bytes of sha256(`group/version/kind`) of the
 * storage version, so the values equal a real kube-apiserver's (pods: `xPOwRZ+Yhw8=`).
 */
export function storageVersionHash(group: string, version: string, kind: string): string {
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64')
}

const byName =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
const gvOf = (group: string, version: string): GroupVersionForDiscovery => ({
  groupVersion: apiVersionOf({ group, version }),
  version,
})

/** `GET /api`. serverAddress is the address the client reached this server at. */
export function apiVersionsDocument(serverAddress: string): APIVersions {
  const core = servedGroups(SERVED_RESOURCES).find((g) => g.group === '')
  return {
    kind: 'APIVersions',
    versions: (core?.versions ?? []).map((v) => v.version),
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  }
}

function apiGroupOf(g: { group: string; versions: ServedGroupVersion[] }): APIGroup {
  const versions = g.versions.map((v) => gvOf(v.group, v.version))
  // The first version registered is the preferred one (kube: the group's priority order).
  return { name: g.group, versions, preferredVersion: versions[0]! }
}

/** `GET /apis`: every named group (the core group is only under /api). */
export function apiGroupListDocument(): APIGroupList {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: servedGroups(SERVED_RESOURCES)
      .filter((g) => g.group !== '')
      .map(apiGroupOf),
  }
}

/** `GET /apis/<group>`, undefined for a group not served. */
export function apiGroupDocument(
  group: string,
): ({ kind: 'APIGroup'; apiVersion: 'v1' } & APIGroup) | undefined {
  const g = servedGroups(SERVED_RESOURCES).find((x) => x.group === group && group !== '')
  return g === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...apiGroupOf(g) }
}

/**
 * `GET /api/v1`, `GET /apis/<group>/<version>`: one entry per resource and per subresource, sorted by
 * name as the installer registers them; undefined for a group-version not served.
 */
export function apiResourceListDocument(group: string, version: string): APIResourceList | undefined {
  const gv = servedGroups(SERVED_RESOURCES)
    .find((g) => g.group === group)
    ?.versions.find((v) => v.version === version)
  if (gv === undefined) return undefined
  const entries: APIResource[] = []
  for (const r of gv.resources) {
    entries.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...r.verbs].sort(),
      ...(r.shortNames.length > 0 && { shortNames: [...r.shortNames] }),
      ...(r.categories.length > 0 && { categories: [...r.categories] }),
      ...(r.persisted !== false && { storageVersionHash: storageVersionHash(r.group, r.version, r.kind) }),
    })
    for (const s of r.subresources) {
      const foreign = s.responseKind.group !== r.group || s.responseKind.version !== r.version
      entries.push({
        name: `${r.plural}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(foreign && { group: s.responseKind.group, version: s.responseKind.version }),
        kind: s.responseKind.kind,
        verbs: [...s.verbs].sort(),
      })
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(gv),
    resources: entries.sort(byName((e) => e.name)),
  }
}

function resourceDiscovery(r: DiscoveredResource): APIResourceDiscovery {
  const subresources = r.subresources
    .map(
      (s): APISubresourceDiscovery => ({
        subresource: s.name,
        responseKind: {
          group: s.responseKind.group,
          version: s.responseKind.version,
          kind: s.responseKind.kind,
        },
        verbs: [...s.verbs].sort(),
      }),
    )
    .sort(byName((s) => s.subresource))
  return {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: [...r.verbs].sort(),
    ...(r.shortNames.length > 0 && { shortNames: [...r.shortNames] }),
    ...(r.categories.length > 0 && { categories: [...r.categories] }),
    ...(subresources.length > 0 && { subresources }),
  }
}

/**
 * The aggregated document for `/api` (`core`: the legacy group alone, with empty item metadata) or
 * `/apis` (every named group). v2 and v2beta1 differ only in apiVersion.
 */
export function aggregatedDocument(
  root: 'api' | 'apis',
  version: AggregatedDiscoveryVersion,
): APIGroupDiscoveryList {
  return {
    kind: DISCOVERY_KIND,
    apiVersion: `${DISCOVERY_GROUP}/${version}`,
    metadata: {},
    items: servedGroups(SERVED_RESOURCES)
      .filter((g) => (root === 'api' ? g.group === '' : g.group !== ''))
      .map((g) => ({
        metadata: g.group === '' ? {} : { name: g.group },
        versions: g.versions.map((v) => ({
          version: v.version,
          resources: v.resources.map(resourceDiscovery).sort(byName((d) => d.resource)),
          freshness: 'Current' as const,
        })),
      })),
  }
}

// ---------------------------------------------------------------------------------------------
// Content negotiation.

export type DiscoveryFormat = { kind: 'legacy' } | { kind: 'aggregated'; version: AggregatedDiscoveryVersion }

/**
 * Which discovery document an Accept header gets; undefined when none is acceptable (406).
 * `aggregated`: whether the endpoint serves aggregated discovery (`/api` and `/apis` only).
 */
export function negotiateDiscovery(
  accept: string | undefined,
  aggregated: boolean,
): DiscoveryFormat | undefined {
  if (accept === undefined || accept.trim() === '') return { kind: 'legacy' }
  for (const c of parseAccept(accept)) {
    // RFC 9110 §12.4.2: q=0 means "not acceptable".
    if (c.q <= 0) continue
    if (!acceptsJson(c)) continue
    // Discovery has no stream serializer (DiscoveryEndpointRestrictions.AllowsStreamSchema is false).
    if ((c.params.get('stream') ?? '') !== '') continue
    const g = c.params.get('g')
    const v = c.params.get('v')
    const as = c.params.get('as')
    if (g === undefined && v === undefined && as === undefined) return { kind: 'legacy' }
    const version = AGGREGATED_DISCOVERY_VERSIONS.find((x) => x === v)
    if (aggregated && g === DISCOVERY_GROUP && as === DISCOVERY_KIND && version !== undefined)
      return { kind: 'aggregated', version }
    // Any other conversion (as=Table, an unknown discovery version) is not served here: next clause.
  }
  return undefined
}

/** 406, negotiation's errNotAcceptable: `only the following media types are accepted: ...`. */
export function notAcceptable(): StatusError {
  return new StatusError({
    code: 406,
    reason: 'NotAcceptable',
    message: `only the following media types are accepted: ${SERIALIZED_MEDIA_TYPES.join(', ')}`,
  })
}

// ---------------------------------------------------------------------------------------------
// Routes.

/** A serialized aggregated document and its ETag (aggregated/etag.go: quoted upper-hex sha512). */
interface Prepared {
  readonly body: string
  readonly etag: string
}

function prepare(doc: unknown): Prepared {
  const body = JSON.stringify(doc)
  return { body, etag: `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"` }
}

/**
 * The address the client reached this server at (`host:port`), from the Host header, else the
 * socket's local address.
 */
function serverAddressOf(req: FastifyRequest): string {
  const local = req.socket.localAddress ?? '127.0.0.1'
  const localPort = req.socket.localPort ?? 0
  const fallback = `${local.includes(':') ? `[${local}]` : local}:${localPort}`
  const host = req.headers.host
  if (host === undefined || host === '') return fallback
  try {
    const url = new URL(`http://${host}`)
    return `${url.hostname}:${url.port === '' ? localPort : url.port}`
  } catch {
    return fallback
  }
}

/**
 * Sends bytes under exactly `contentType`: fastify rewrites the Content-Type of string payloads
 * (quoting parameters, adding charset), and kubectl matches the aggregated one by its parameters.
 */
function sendBytes(reply: FastifyReply, code: number, contentType: string, body: string): FastifyReply {
  return reply.code(code).header('content-type', contentType).send(Buffer.from(body))
}

function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return sendBytes(reply.header('vary', 'Accept'), 200, 'application/json', JSON.stringify(body))
}

function sendStatus(reply: FastifyReply, err: StatusError): FastifyReply {
  return sendBytes(reply, err.code, 'application/json', JSON.stringify(err.toJSON()))
}

/**
 * Serves discovery on `app`: `/api`, `/apis` (legacy or aggregated by Accept), `/apis/<group>`,
 * `/api/v1` and `/apis/<group>/<version>`; unknown groups and versions get a 404 Status.
 * Documents are built once: the registry is frozen.
 */
export function registerDiscovery(app: FastifyInstance): void {
  const aggregated = {
    api: new Map(AGGREGATED_DISCOVERY_VERSIONS.map((v) => [v, prepare(aggregatedDocument('api', v))])),
    apis: new Map(AGGREGATED_DISCOVERY_VERSIONS.map((v) => [v, prepare(aggregatedDocument('apis', v))])),
  }
  const groupList = apiGroupListDocument()

  const root =
    (which: 'api' | 'apis') =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const format = negotiateDiscovery(req.headers.accept, true)
      if (format === undefined) return sendStatus(reply, notAcceptable())
      if (format.kind === 'legacy')
        return sendJson(reply, which === 'api' ? apiVersionsDocument(serverAddressOf(req)) : groupList)
      const doc = aggregated[which].get(format.version)!
      reply.header('vary', 'Accept').header('etag', doc.etag)
      if (req.headers['if-none-match'] === doc.etag) return reply.code(304).send()
      return sendBytes(reply, 200, aggregatedContentType(format.version), doc.body)
    }

  const legacyOnly =
    (build: (req: FastifyRequest) => unknown) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const doc = build(req)
      if (doc === undefined) return sendStatus(reply, statusErrors.notFoundResource())
      if (negotiateDiscovery(req.headers.accept, false) === undefined)
        return sendStatus(reply, notAcceptable())
      return sendJson(reply, doc)
    }

  app.get('/api', root('api'))
  app.get('/apis', root('apis'))
  app.get(
    '/api/:version',
    legacyOnly((req) => apiResourceListDocument('', (req.params as { version: string }).version)),
  )
  app.get(
    '/apis/:group',
    legacyOnly((req) => apiGroupDocument((req.params as { group: string }).group)),
  )
  app.get(
    '/apis/:group/:version',
    legacyOnly((req) => {
      const p = req.params as { group: string; version: string }
      return apiResourceListDocument(p.group, p.version)
    }),
  )
}
