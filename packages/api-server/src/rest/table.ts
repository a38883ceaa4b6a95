/**
 * Output conversions of GET, LIST and WATCH as kube-apiserver negotiates them
 * (k8s.io/apiserver pkg/endpoints/handlers/negotiation and response.go):
 *
 * - Accept clauses are tried in order. A clause with `as=Table|PartialObjectMetadata|
 *   PartialObjectMetadataList;g=meta.k8s.io;v=v1|v1beta1` on application/json selects that conversion;
 *   a clause naming any other conversion (or Table as YAML/protobuf, which hakube does not encode) is
 *   skipped; a clause without `as` is the plain object. Only when every clause asks for an unknown
 *   conversion is the answer 406 NotAcceptable.
 * - Table: the kind's printer (table-printers.ts) run at response time, so AGE is relative to now;
 *   `metadata.resourceVersion`/`continue`/`remainingItemCount` from the list (or the object's
 *   resourceVersion); `includeObject=None|Metadata|Object` (default Metadata: each row's object is a
 *   PartialObjectMetadata). A single GET is a one-row Table. The Content-Type names the conversion
 *   (`application/json;g=meta.k8s.io;v=v1;as=Table`, writers.go generateMediaTypeWithGVK).
 * - PartialObjectMetadata(List): the objects' metadata only; asking for the list form of one object or
 *   the single form of a list is 406, as kube answers it.
 * - Watch: each event's object converted alone; a Table event carries columnDefinitions only in the
 *   first event (kube sets TableOptions.NoHeaders after it, handlers/rest.go), later ones have
 *   `columnDefinitions: null`. ERROR events keep their Status; a BOOKMARK becomes a rowless Table.
 *
 * Non-guarantee: cells are computed from the stored v1 object, not kube's internal version; see
 * table-printers.ts.
 */
import { type ResourceInfo, StatusError, statusErrors } from '@hakube/api'
import type { FastifyReply } from 'fastify'
import { acceptsJson, parseAccept } from '../accept.js'
import type { Obj } from './objects.js'
import { type Query, queryParam } from './query.js'
import type { PrintedRow, TableColumnDefinition } from './table-cells.js'
import { printerFor } from './table-printers.js'

const META_GROUP = 'meta.k8s.io'
const META_VERSIONS = new Set(['v1', 'v1beta1'])
type ConversionKind = 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList'
const CONVERSION_KINDS = new Set<string>(['Table', 'PartialObjectMetadata', 'PartialObjectMetadataList'])

/** What the response is converted to; `undefined` means the object (or list) as stored. */
export interface OutputConversion {
  kind: ConversionKind
  /** meta.k8s.io version: `v1` or `v1beta1`. */
  version: string
}

/** The media types the REST endpoints serve, as kube lists them in a 406 (JSON, YAML, protobuf). */
const ACCEPTED_MEDIA_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']

function notAcceptable(message: string): StatusError {
  return new StatusError({ code: 406, reason: 'NotAcceptable', message })
}

/**
 * negotiation.NegotiateOutputMediaType, reduced to what decides the body: the conversion of the first
 * acceptable clause. Throws 406 when the clauses only name conversions hakube cannot serve.
 */
export function negotiateOutput(accept: string | string[] | undefined): OutputConversion | undefined {
  const ranges = parseAccept(accept).filter((r) => r.q > 0)
  if (ranges.length === 0) return undefined
  for (const r of ranges) {
    const as = r.params.get('as')
    if (as === undefined) return undefined
    if (
      acceptsJson(r) &&
      CONVERSION_KINDS.has(as) &&
      r.params.get('g') === META_GROUP &&
      META_VERSIONS.has(r.params.get('v') ?? '')
    )
      return { kind: as as ConversionKind, version: r.params.get('v') ?? 'v1' }
  }
  throw notAcceptable(`only the following media types are accepted: ${ACCEPTED_MEDIA_TYPES.join(', ')}`)
}

/** The response Content-Type for a conversion (writers.go generateMediaTypeWithGVK). */
export function conversionContentType(conv: OutputConversion): string {
  return `application/json;g=${META_GROUP};v=${conv.version};as=${conv.kind}`
}

type IncludeObject = 'None' | 'Metadata' | 'Object'

/** TableOptions.includeObject; 400 with kube's text for anything else. */
export function parseIncludeObject(query: Query): IncludeObject {
  const v = queryParam(query, 'includeObject') ?? ''
  if (v === '' || v === 'Metadata') return 'Metadata'
  if (v === 'None' || v === 'Object') return v
  throw statusErrors.badRequest(`unrecognized includeObject value: ${JSON.stringify(v)}`)
}

/** metav1.Table as it goes on the wire. */
export interface Table {
  kind: 'Table'
  apiVersion: string
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number }
  columnDefinitions: TableColumnDefinition[] | null
  rows: Array<PrintedRow & { object: unknown }>
}

/** The list metadata a Table (or PartialObjectMetadataList) copies. */
export interface ListMetaLike {
  resourceVersion?: string
  continue?: string
  remainingItemCount?: number
}

function partialObjectMetadata(obj: Obj, version: string): Obj {
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: `${META_GROUP}/${version}`,
    metadata: obj.metadata ?? {},
  }
}

export interface TableOptions {
  version: string
  includeObject: IncludeObject
  /** Leave out columnDefinitions (watch events after the first). */
  noHeaders?: boolean
  nowMs: number
}

/** Builds the Table of `items` (asTable in response.go over the kind's TableConvertor). */
export function buildTable(
  kind: string,
  items: readonly Obj[],
  meta: ListMetaLike,
  opts: TableOptions,
): Table {
  const printer = printerFor(kind)
  return {
    kind: 'Table',
    apiVersion: `${META_GROUP}/${opts.version}`,
    metadata: {
      ...(meta.resourceVersion !== undefined && { resourceVersion: meta.resourceVersion }),
      ...(meta.continue !== undefined && meta.continue !== '' && { continue: meta.continue }),
      ...(meta.remainingItemCount !== undefined && { remainingItemCount: meta.remainingItemCount }),
    },
    columnDefinitions: opts.noHeaders === true ? null : printer.columns.map((c) => ({ ...c })),
    rows: items.map((obj) => {
      const row = printer.print(obj, opts.nowMs)
      const object =
        opts.includeObject === 'None'
          ? null
          : opts.includeObject === 'Object'
            ? obj
            : partialObjectMetadata(obj, opts.version)
      return { cells: row.cells, ...(row.conditions !== undefined && { conditions: row.conditions }), object }
    }),
  }
}

/** Go's %T of the internal object kube names in its 406 texts (`*core.PodList`, `*apps.Deployment`). */
function goType(resource: ResourceInfo, list: boolean): string {
  const pkg = resource.group === '' ? 'core' : resource.group.split('.')[0]
  return `*${pkg}.${list ? resource.listKind : resource.kind}`
}

/**
 * The body of a LIST in the negotiated form: `list` is the `<Kind>List` body (listBody in list.ts).
 * Returns undefined when no conversion applies (the caller sends the list itself).
 */
export function convertList(
  resource: ResourceInfo,
  conv: OutputConversion | undefined,
  list: Obj,
  query: Query,
  nowMs: number = Date.now(),
): Obj | Table | undefined {
  if (conv === undefined) return undefined
  const items = (Array.isArray(list['items']) ? list['items'] : []) as Obj[]
  const meta = (list.metadata ?? {}) as ListMetaLike
  switch (conv.kind) {
    case 'Table':
      return buildTable(resource.kind, items, meta, {
        version: conv.version,
        includeObject: parseIncludeObject(query),
        nowMs,
      })
    case 'PartialObjectMetadataList':
      return {
        kind: 'PartialObjectMetadataList',
        apiVersion: `${META_GROUP}/${conv.version}`,
        metadata: list.metadata ?? {},
        items: items.map((o) => partialObjectMetadata(o, conv.version)),
      }
    case 'PartialObjectMetadata':
      throw notAcceptable(
        `you requested PartialObjectMetadata, but the requested object is a list (${goType(resource, true)})`,
      )
  }
}

/** The body of a GET of one object in the negotiated form; undefined when no conversion applies. */
export function convertObject(
  resource: ResourceInfo,
  conv: OutputConversion | undefined,
  obj: Obj,
  query: Query,
  nowMs: number = Date.now(),
): Obj | Table | undefined {
  if (conv === undefined) return undefined
  switch (conv.kind) {
    case 'Table':
      return buildTable(
        resource.kind,
        [obj],
        {
          ...(obj.metadata?.resourceVersion !== undefined && {
            resourceVersion: obj.metadata.resourceVersion,
          }),
        },
        { version: conv.version, includeObject: parseIncludeObject(query), nowMs },
      )
    case 'PartialObjectMetadata':
      return partialObjectMetadata(obj, conv.version)
    case 'PartialObjectMetadataList':
      throw notAcceptable(
        `you requested PartialObjectMetadataList, but the requested object is not a list (${goType(resource, false)})`,
      )
  }
}

/**
 * Sends `body` converted as the request's Accept header asks (used by the GET and LIST paths of
 * index.ts); without a conversion, returns `body` for fastify to send as before.
 */
export function sendNegotiated(
  reply: FastifyReply,
  resource: ResourceInfo,
  conv: OutputConversion | undefined,
  body: Obj,
  query: Query,
  isList: boolean,
): unknown {
  const converted = isList
    ? convertList(resource, conv, body, query)
    : convertObject(resource, conv, body, query)
  if (converted === undefined || conv === undefined) return body
  // A Buffer, so fastify sends the Content-Type as written (it rewrites a string's with a charset).
  return reply
    .header('content-type', conversionContentType(conv))
    .send(Buffer.from(JSON.stringify(converted)))
}

type WatchFrame = { type: string; object: unknown }

/**
 * The watch event encoder for the request's Accept header (the watch side of response.go): identity
 * without a conversion. Throws 406/400 before the stream starts, as kube negotiates first.
 */
export function watchEncoder(
  resource: ResourceInfo,
  accept: string | string[] | undefined,
  query: Query,
  now: () => number = Date.now,
): <F extends WatchFrame>(frame: F) => F {
  const conv = negotiateOutput(accept)
  if (conv === undefined) return (frame) => frame
  const includeObject = conv.kind === 'Table' ? parseIncludeObject(query) : 'Metadata'
  let headersSent = false
  return <F extends WatchFrame>(frame: F): F => {
    if (frame.type === 'ERROR') return frame
    const obj = (frame.object ?? {}) as Obj
    const rv = obj.metadata?.resourceVersion
    if (conv.kind !== 'Table') return { ...frame, object: partialObjectMetadata(obj, conv.version) }
    const meta = rv === undefined ? {} : { resourceVersion: rv }
    if (frame.type === 'BOOKMARK') {
      const bookmark: Table = {
        kind: 'Table',
        apiVersion: `${META_GROUP}/${conv.version}`,
        metadata: meta,
        columnDefinitions: null,
        rows: [],
      }
      return { ...frame, object: bookmark }
    }
    const table = buildTable(resource.kind, [obj], meta, {
      version: conv.version,
      includeObject,
      noHeaders: headersSent,
      nowMs: now(),
    })
    headersSent = true
    return { ...frame, object: table }
  }
}
