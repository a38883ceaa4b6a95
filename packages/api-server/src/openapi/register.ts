/**
 * Serves the OpenAPI documents (k8s.io/kube-openapi pkg/handler and pkg/handler3):
 *
 * - `GET /openapi/v3`: `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=<HEX>"}, ...}}`;
 * - `GET /openapi/v3/<group-version>` (the `hash` query is optional): the OpenAPI 3.0 document, JSON;
 * - `GET /openapi/v2`: the Swagger 2.0 document, protobuf (gnostic) when the Accept header names
 *   `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` (kubectl 1.27–1.28 send only
 *   that, and reject JSON), JSON otherwise.
 *
 * Every document is generated and serialized once, at registration (the registry is frozen);
 * requests only pick bytes. Each answer carries an ETag (the uppercase hex SHA-512 of its bytes,
 * as kube's hash) and `If-None-Match` on it gets 304. Non-guarantees: no protobuf for v3, no
 * redirect when the `hash` query is stale (the current document is served), no `/swagger.json`.
 */

import { createHash } from 'node:crypto'
import { statusErrors } from '@hakube/api'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parseAccept } from '../accept.js'
import { KUBERNETES_VERSION } from '../options.js'
import { SchemaModel } from './model.js'
import { buildSwagger, encodeSwagger } from './v2.js'
import { buildV3Documents } from './v3.js'

/** The media type kubectl asks the v2 protobuf document with. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf'
/**
 * The Content-Type of the answer, and a second spelling accepted in Accept: `@` is not a token
 * character (RFC 9110), so the header uses the dotted form, as kube-openapi's handler does.
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'

interface Served {
  body: Buffer
  contentType: string
  etag: string
  hash: string
}

function served(body: Buffer | Uint8Array | string, contentType: string): Served {
  const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body)
  const hash = createHash('sha512').update(bytes).digest('hex').toUpperCase()
  return { body: bytes, contentType, etag: `"${hash}"`, hash }
}

/** Every document, ready to send. */
export interface OpenAPIDocuments {
  v3Root: Served
  v3: Map<string, Served>
  v2Json: Served
  v2Protobuf: Served
  /** Milliseconds spent generating and encoding. */
  buildMs: number
}

export interface OpenAPIOptions {
  /**
   * Whether the write operations list the `fieldValidation` parameter (default true, as every
   * kube-apiserver since 1.25). Without it the documents are those of a server that cannot validate
   * fields itself, and kubectl validates manifests against `/openapi/v2` on the client: tests use
   * this to check that the v2 schemas are complete enough for kubectl's own validation.
   */
  serverSideFieldValidation?: boolean
}

/** Generates and serializes every document once. */
export function buildOpenAPIDocuments(options: OpenAPIOptions = {}): OpenAPIDocuments {
  const started = performance.now()
  const version = KUBERNETES_VERSION.gitVersion
  const model = new SchemaModel()
  const v3Docs = buildV3Documents(model, version)
  if (options.serverSideFieldValidation === false)
    for (const doc of v3Docs.values())
      for (const item of Object.values(doc.paths ?? {}))
        for (const op of Object.values(
          item as unknown as Record<string, { parameters?: Array<{ name?: string }> }>,
        ))
          if (Array.isArray(op?.parameters))
            op.parameters = op.parameters.filter((p) => p.name !== 'fieldValidation')
  const v3 = new Map<string, Served>()
  for (const [key, doc] of v3Docs) v3.set(key, served(JSON.stringify(doc), 'application/json'))
  const paths: Record<string, { serverRelativeURL: string }> = {}
  for (const [key, s] of v3) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${s.hash}` }
  const swagger = buildSwagger(v3Docs.values(), version)
  const v2Protobuf = served(encodeSwagger(swagger), OPENAPI_V2_PROTOBUF_CONTENT_TYPE)
  return {
    v3Root: served(JSON.stringify({ paths }), 'application/json'),
    v3,
    v2Json: served(JSON.stringify(swagger), 'application/json'),
    v2Protobuf,
    buildMs: performance.now() - started,
  }
}

/** Whether the Accept header asks for the v2 protobuf form (any clause not weighted q=0). */
export function wantsV2Protobuf(accept: string | undefined): boolean {
  return parseAccept(accept).some(
    (c) =>
      c.q > 0 && [OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_CONTENT_TYPE].includes(`${c.type}/${c.subtype}`),
  )
}

function send(req: FastifyRequest, reply: FastifyReply, doc: Served): FastifyReply {
  reply.header('etag', doc.etag).header('vary', 'Accept')
  if (req.headers['if-none-match'] === doc.etag) return reply.code(304).send()
  return reply.code(200).header('content-type', doc.contentType).send(doc.body)
}

function notFound(reply: FastifyReply): FastifyReply {
  const err = statusErrors.notFoundResource()
  return reply.code(err.code).header('content-type', 'application/json').send(JSON.stringify(err.toJSON()))
}

/** Serves `/openapi/v3`, `/openapi/v3/<gv>` and `/openapi/v2` on `app`; returns the documents. */
export function registerOpenAPI(app: FastifyInstance, options: OpenAPIOptions = {}): OpenAPIDocuments {
  const docs = buildOpenAPIDocuments(options)
  app.get('/openapi/v3', async (req, reply) => send(req, reply, docs.v3Root))
  app.get('/openapi/v3/*', async (req, reply) => {
    const key = (req.params as { '*': string })['*'].replace(/\/+$/, '')
    const doc = docs.v3.get(key)
    return doc === undefined ? notFound(reply) : send(req, reply, doc)
  })
  app.get('/openapi/v2', async (req, reply) =>
    send(req, reply, wantsV2Protobuf(req.headers.accept) ? docs.v2Protobuf : docs.v2Json),
  )
  return docs
}
