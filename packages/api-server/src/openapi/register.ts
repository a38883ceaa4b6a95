/**
 * Serves the OpenAPI documents (k8s.io/kube-openapi pkg/handler and pkg/handler3):
 *
 * - `GET /openapi/v3`: `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=<HEX>"}, ...}}`;
 * - `GET /openapi/v3/<group-version>` (the `hash` query is optional): the OpenAPI 3.0 document, JSON;
 * - `GET /openapi/v2`: the Swagger 2.0 document, protobuf (gnostic) when the Accept header names
 *   `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` (kubectl 1.27–1.28 send only
 *   that, and reject JSON), JSON otherwise.
 *
 * Every document is generated and serialized once (the registry is frozen), on the first request for any
 * of them rather than at registration: generating them costs a few hundred milliseconds of CPU, which the
 * server would otherwise spend before it listens, and many clients never ask. Concurrent first requests
 * share the one build; later requests only pick bytes. The bytes, and so the ETags, do not depend on when
 * they were built. Each answer carries an ETag (the uppercase hex SHA-512 of its bytes, as kube's hash)
 * and `If-None-Match` on it gets 304. Non-guarantees: no protobuf for v3, no redirect when the `hash`
 * query is stale (the current document is served), no `/swagger.json`.
 */

import { statusErrors } from '@hakube/api'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parseAccept } from '../accept.js'
import type { OpenAPIDocuments, OpenAPIOptions, Served } from './documents.js'
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from './media-types.js'

export { buildOpenAPIDocuments, type OpenAPIDocuments, type OpenAPIOptions } from './documents.js'
export { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from './media-types.js'

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

/**
 * Serves `/openapi/v3`, `/openapi/v3/<gv>` and `/openapi/v2` on `app`. Returns the documents' loader: the
 * first call (or request) generates them, every call resolves with the same documents.
 */
export function registerOpenAPI(
  app: FastifyInstance,
  options: OpenAPIOptions = {},
): () => Promise<OpenAPIDocuments> {
  let docs: Promise<OpenAPIDocuments> | undefined
  // The generator's module (with the schema model, protobufjs and yaml) is imported here too, so a bundled
  // server does not even load it before a client asks. A failed build is not memoized: the next request
  // tries again (and answers 500 as any handler error does).
  const documents = (): Promise<OpenAPIDocuments> => {
    docs ??= import('./documents.js')
      .then((m) => m.buildOpenAPIDocuments(options))
      .catch((err: unknown) => {
        docs = undefined
        throw err
      })
    return docs
  }
  app.get('/openapi/v3', async (req, reply) => send(req, reply, (await documents()).v3Root))
  app.get('/openapi/v3/*', async (req, reply) => {
    const key = (req.params as { '*': string })['*'].replace(/\/+$/, '')
    const doc = (await documents()).v3.get(key)
    return doc === undefined ? notFound(reply) : send(req, reply, doc)
  })
  app.get('/openapi/v2', async (req, reply) => {
    const d = await documents()
    return send(req, reply, wantsV2Protobuf(req.headers.accept) ? d.v2Protobuf : d.v2Json)
  })
  return documents
}
