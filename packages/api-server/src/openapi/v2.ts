/**
 * The Swagger 2.0 document kube-apiserver serves at `/openapi/v2`, derived from the v3 documents:
 * one document for every group-version, `definitions` instead of `components.schemas`, references
 * written `{$ref, description}` (kube's v2 form) instead of `allOf`, IntOrString and Quantity as
 * `type: string`, request bodies as `in: body` parameters, `consumes`/`produces` on operations.
 *
 * kubectl 1.27 and 1.28 fetch it as protobuf (gnostic.ts) before every create and apply, build
 * their explain and validation models from it (gopkg.in/yaml.v2 decoding the extensions) and look
 * for `fieldValidation` on the PATCH operation of the object's GVK; `toGnostic` writes the
 * extensions as YAML text in `NamedAny` entries, as kube-openapi does.
 */
import { stringify } from 'yaml'
import { encodeGnosticDocument } from './gnostic.js'
import type { OpenAPISchema } from './model.js'
import type { OpenAPIV3Document, Operation, Parameter, PathItem } from './v3.js'

export interface SwaggerDocument {
  swagger: '2.0'
  info: { title: string; version: string }
  paths: Record<string, Record<string, unknown>>
  definitions: Record<string, OpenAPISchema>
}

const V3_REF = '#/components/schemas/'
const V2_REF = '#/definitions/'
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

/** A v3 schema in v2 form. */
export function schemaToV2(s: OpenAPISchema): OpenAPISchema {
  const out: OpenAPISchema = {}
  for (const [k, v] of Object.entries(s)) {
    if (k === 'allOf' && Array.isArray(v) && v.length === 1) {
      Object.assign(out, schemaToV2(v[0] as OpenAPISchema))
    } else if (k === '$ref' && typeof v === 'string') {
      out['$ref'] = V2_REF + v.slice(V3_REF.length)
    } else if (k === 'oneOf') {
      out['type'] = 'string'
    } else if (k === 'default') {
      // kube's v2 carries no defaults for built-in types
    } else if (k === 'properties' && v !== null && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v).map(([n, p]) => [n, schemaToV2(p as OpenAPISchema)]))
    } else if ((k === 'items' || k === 'additionalProperties') && v !== null && typeof v === 'object') {
      out[k] = schemaToV2(v as OpenAPISchema)
    } else {
      out[k] = v
    }
  }
  return out
}

function parameterToV2(p: Parameter): Record<string, unknown> {
  return {
    description: p.description,
    in: p.in,
    name: p.name,
    ...(p.required === true && { required: true }),
    type: p.schema.type,
    uniqueItems: true,
  }
}

function operationToV2(op: Operation): Record<string, unknown> {
  const params: Array<Record<string, unknown>> = []
  let consumes: string[] = ['*/*']
  if (op.requestBody !== undefined) {
    const types = Object.keys(op.requestBody.content)
    consumes = op['x-kubernetes-action'] === 'patch' ? types : ['*/*']
    const schema = op.requestBody.content[types[0]!]!.schema
    params.push({ in: 'body', name: 'body', required: true, schema: schemaToV2(schema) })
  }
  for (const p of op.parameters ?? []) params.push(parameterToV2(p))
  const responses: Record<string, unknown> = {}
  for (const [code, r] of Object.entries(op.responses)) {
    const schema = r.content?.['application/json']?.schema
    responses[code] = {
      description: r.description,
      ...(schema !== undefined && { schema: schemaToV2(schema) }),
    }
  }
  return {
    consumes,
    description: op.description,
    operationId: op.operationId,
    ...(params.length > 0 && { parameters: params }),
    produces: ['application/json', 'application/yaml'],
    responses,
    schemes: ['https'],
    tags: op.tags,
    'x-kubernetes-action': op['x-kubernetes-action'],
    'x-kubernetes-group-version-kind': op['x-kubernetes-group-version-kind'],
  }
}

function pathToV2(item: PathItem): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const m of METHODS) {
    const op = item[m]
    if (op !== undefined) out[m] = operationToV2(op)
  }
  out['parameters'] = item.parameters.map(parameterToV2)
  return out
}

/** Merges the group-version documents into the one Swagger 2.0 document. */
export function buildSwagger(v3: Iterable<OpenAPIV3Document>, version: string): SwaggerDocument {
  const paths: SwaggerDocument['paths'] = {}
  const definitions: SwaggerDocument['definitions'] = {}
  for (const doc of v3) {
    for (const [p, item] of Object.entries(doc.paths)) paths[p] = pathToV2(item)
    for (const [n, s] of Object.entries(doc.components.schemas)) definitions[n] ??= schemaToV2(s)
  }
  const sortedKeys = <T>(o: Record<string, T>) =>
    Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]!]),
    )
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version },
    paths: sortedKeys(paths),
    definitions: sortedKeys(definitions),
  }
}

// ---------------------------------------------------------------------------------------------
// Swagger JSON → gnostic message objects (field names as declared in gnostic.ts).

type Obj = Record<string, unknown>

function vendorExtensions(o: Obj): Obj[] {
  return Object.entries(o)
    .filter(([k]) => k.startsWith('x-'))
    .map(([name, value]) => ({ name, value: { yaml: stringify(value) } }))
}

function schemaToGnostic(s: Obj): Obj {
  const out: Obj = {}
  if (typeof s['$ref'] === 'string') out['ref'] = s['$ref']
  if (typeof s['format'] === 'string') out['format'] = s['format']
  if (typeof s['description'] === 'string') out['description'] = s['description']
  if (Array.isArray(s['required'])) out['required'] = s['required']
  const ap = s['additionalProperties']
  if (typeof ap === 'boolean') out['additionalProperties'] = { boolean: ap }
  else if (ap !== undefined) out['additionalProperties'] = { schema: schemaToGnostic(ap as Obj) }
  if (typeof s['type'] === 'string') out['type'] = { value: [s['type']] }
  if (s['items'] !== undefined) out['items'] = { schema: [schemaToGnostic(s['items'] as Obj)] }
  if (s['properties'] !== undefined)
    out['properties'] = {
      additionalProperties: Object.entries(s['properties'] as Obj).map(([name, v]) => ({
        name,
        value: schemaToGnostic(v as Obj),
      })),
    }
  const ext = vendorExtensions(s)
  if (ext.length > 0) out['vendorExtension'] = ext
  return out
}

function parameterToGnostic(p: Obj): Obj {
  if (p['in'] === 'body') {
    return {
      parameter: {
        bodyParameter: {
          name: p['name'],
          in: 'body',
          required: p['required'] === true,
          schema: schemaToGnostic(p['schema'] as Obj),
        },
      },
    }
  }
  const sub: Obj = {
    ...(p['required'] === true && { required: true }),
    in: p['in'],
    description: p['description'],
    name: p['name'],
    type: p['type'],
    ...(p['uniqueItems'] === true && { uniqueItems: true }),
  }
  const key = p['in'] === 'path' ? 'pathParameterSubSchema' : 'queryParameterSubSchema'
  return { parameter: { nonBodyParameter: { [key]: sub } } }
}

function operationToGnostic(op: Obj): Obj {
  const responses = Object.entries(op['responses'] as Obj).map(([name, r]) => {
    const resp = r as Obj
    return {
      name,
      value: {
        response: {
          description: resp['description'],
          ...(resp['schema'] !== undefined && { schema: { schema: schemaToGnostic(resp['schema'] as Obj) } }),
        },
      },
    }
  })
  return {
    tags: op['tags'],
    description: op['description'],
    operationId: op['operationId'],
    produces: op['produces'],
    consumes: op['consumes'],
    parameters: ((op['parameters'] as Obj[] | undefined) ?? []).map(parameterToGnostic),
    responses: { responseCode: responses },
    schemes: op['schemes'],
    vendorExtension: vendorExtensions(op),
  }
}

/** The Swagger document as a gnostic `Document` message object. */
export function swaggerToGnostic(doc: SwaggerDocument): Obj {
  return {
    swagger: doc.swagger,
    info: doc.info,
    paths: {
      path: Object.entries(doc.paths).map(([name, item]) => {
        const value: Obj = {}
        for (const m of METHODS) if (item[m] !== undefined) value[m] = operationToGnostic(item[m] as Obj)
        value['parameters'] = ((item['parameters'] as Obj[] | undefined) ?? []).map(parameterToGnostic)
        return { name, value }
      }),
    },
    definitions: {
      additionalProperties: Object.entries(doc.definitions).map(([name, s]) => ({
        name,
        value: schemaToGnostic(s),
      })),
    },
  }
}

/** The protobuf bytes kubectl 1.27–1.28 read. */
export function encodeSwagger(doc: SwaggerDocument): Uint8Array {
  return encodeGnosticDocument(swaggerToGnostic(doc))
}
