/**
 * The OpenAPI documents, generated and serialized: every v3 group-version document, the v3 root listing
 * them, and the Swagger 2.0 document as JSON and as gnostic protobuf. Each carries its ETag (the uppercase
 * hex SHA-512 of its bytes, as kube's hash).
 *
 * A module of its own so the server loads it (with the schema model, protobufjs and yaml) only when a
 * client first asks for a document (register.ts): generating them all costs a few hundred milliseconds of
 * CPU, which a start would otherwise spend before listening.
 */

import { createHash } from 'node:crypto'
import { KUBERNETES_VERSION } from '../options.js'
import { OPENAPI_V2_PROTOBUF_CONTENT_TYPE } from './media-types.js'
import { SchemaModel } from './model.js'
import { buildSwagger, encodeSwagger } from './v2.js'
import { buildV3Documents } from './v3.js'

export interface Served {
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
