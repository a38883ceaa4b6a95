/**
 * The protobuf form of a Swagger 2.0 document that kubectl 1.27–1.28 require at `/openapi/v2`:
 * the `openapi.v2.Document` message of google/gnostic (openapiv2/OpenAPIv2.proto), which
 * kube-openapi serves for `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`.
 *
 * Only the subset of messages and fields a Kubernetes document uses is declared, as protobufjs
 * reflection JSON; names here are camelCase, the field numbers are gnostic's (they are all that
 * reaches the wire). Vendor extensions are `NamedAny` with the value as YAML text (`Any.yaml`),
 * which kubectl decodes with gopkg.in/yaml.v2. `Any.value` (a google.protobuf.Any) is never set
 * and so not declared.
 */
import protobuf from 'protobufjs'

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>

const f = (id: number, type: string): { type: string; id: number } => ({ type, id })
const rep = (id: number, type: string): { type: string; id: number; rule: 'repeated' } => ({
  type,
  id,
  rule: 'repeated',
})
const msg = (fields: Fields, oneof?: string[]) =>
  oneof === undefined ? { fields } : { fields, oneofs: { oneof: { oneof } } }

/** The subset of gnostic's OpenAPIv2.proto, package `openapi.v2`. */
const GNOSTIC_OPENAPI_V2 = {
  nested: {
    openapi: {
      nested: {
        v2: {
          nested: {
            Any: msg({ yaml: f(2, 'string') }),
            NamedAny: msg({ name: f(1, 'string'), value: f(2, 'Any') }),
            Info: msg({ title: f(1, 'string'), version: f(2, 'string'), description: f(3, 'string') }),
            Document: msg({
              swagger: f(1, 'string'),
              info: f(2, 'Info'),
              host: f(3, 'string'),
              basePath: f(4, 'string'),
              schemes: rep(5, 'string'),
              consumes: rep(6, 'string'),
              produces: rep(7, 'string'),
              paths: f(8, 'Paths'),
              definitions: f(9, 'Definitions'),
              vendorExtension: rep(16, 'NamedAny'),
            }),
            Paths: msg({ vendorExtension: rep(1, 'NamedAny'), path: rep(2, 'NamedPathItem') }),
            NamedPathItem: msg({ name: f(1, 'string'), value: f(2, 'PathItem') }),
            PathItem: msg({
              ref: f(1, 'string'),
              get: f(2, 'Operation'),
              put: f(3, 'Operation'),
              post: f(4, 'Operation'),
              delete: f(5, 'Operation'),
              options: f(6, 'Operation'),
              head: f(7, 'Operation'),
              patch: f(8, 'Operation'),
              parameters: rep(9, 'ParametersItem'),
              vendorExtension: rep(10, 'NamedAny'),
            }),
            Operation: msg({
              tags: rep(1, 'string'),
              summary: f(2, 'string'),
              description: f(3, 'string'),
              operationId: f(5, 'string'),
              produces: rep(6, 'string'),
              consumes: rep(7, 'string'),
              parameters: rep(8, 'ParametersItem'),
              responses: f(9, 'Responses'),
              schemes: rep(10, 'string'),
              deprecated: f(11, 'bool'),
              vendorExtension: rep(13, 'NamedAny'),
            }),
            ParametersItem: msg({ parameter: f(1, 'Parameter'), jsonReference: f(2, 'JsonReference') }, [
              'parameter',
              'jsonReference',
            ]),
            JsonReference: msg({ ref: f(1, 'string'), description: f(2, 'string') }),
            Parameter: msg(
              { bodyParameter: f(1, 'BodyParameter'), nonBodyParameter: f(2, 'NonBodyParameter') },
              ['bodyParameter', 'nonBodyParameter'],
            ),
            BodyParameter: msg({
              description: f(1, 'string'),
              name: f(2, 'string'),
              in: f(3, 'string'),
              required: f(4, 'bool'),
              schema: f(5, 'Schema'),
              vendorExtension: rep(6, 'NamedAny'),
            }),
            NonBodyParameter: msg(
              {
                queryParameterSubSchema: f(3, 'QueryParameterSubSchema'),
                pathParameterSubSchema: f(4, 'PathParameterSubSchema'),
              },
              ['queryParameterSubSchema', 'pathParameterSubSchema'],
            ),
            // QueryParameterSubSchema and PathParameterSubSchema number their first fields alike
            // up to `name`; from `type` on, the query form has allow_empty_value (5) in between.
            QueryParameterSubSchema: msg({
              required: f(1, 'bool'),
              in: f(2, 'string'),
              description: f(3, 'string'),
              name: f(4, 'string'),
              type: f(6, 'string'),
              format: f(7, 'string'),
              uniqueItems: f(20, 'bool'),
              vendorExtension: rep(23, 'NamedAny'),
            }),
            PathParameterSubSchema: msg({
              required: f(1, 'bool'),
              in: f(2, 'string'),
              description: f(3, 'string'),
              name: f(4, 'string'),
              type: f(5, 'string'),
              format: f(6, 'string'),
              uniqueItems: f(19, 'bool'),
              vendorExtension: rep(22, 'NamedAny'),
            }),
            Responses: msg({
              responseCode: rep(1, 'NamedResponseValue'),
              vendorExtension: rep(2, 'NamedAny'),
            }),
            NamedResponseValue: msg({ name: f(1, 'string'), value: f(2, 'ResponseValue') }),
            ResponseValue: msg({ response: f(1, 'Response'), jsonReference: f(2, 'JsonReference') }, [
              'response',
              'jsonReference',
            ]),
            Response: msg({
              description: f(1, 'string'),
              schema: f(2, 'SchemaItem'),
              vendorExtension: rep(5, 'NamedAny'),
            }),
            SchemaItem: msg({ schema: f(1, 'Schema') }, ['schema']),
            Definitions: msg({ additionalProperties: rep(1, 'NamedSchema') }),
            NamedSchema: msg({ name: f(1, 'string'), value: f(2, 'Schema') }),
            Properties: msg({ additionalProperties: rep(1, 'NamedSchema') }),
            TypeItem: msg({ value: rep(1, 'string') }),
            ItemsItem: msg({ schema: rep(1, 'Schema') }),
            AdditionalPropertiesItem: msg({ schema: f(1, 'Schema'), boolean: f(2, 'bool') }, [
              'schema',
              'boolean',
            ]),
            Schema: msg({
              ref: f(1, 'string'),
              format: f(2, 'string'),
              title: f(3, 'string'),
              description: f(4, 'string'),
              uniqueItems: f(16, 'bool'),
              required: rep(19, 'string'),
              enum: rep(20, 'Any'),
              additionalProperties: f(21, 'AdditionalPropertiesItem'),
              type: f(22, 'TypeItem'),
              items: f(23, 'ItemsItem'),
              allOf: rep(24, 'Schema'),
              properties: f(25, 'Properties'),
              readOnly: f(27, 'bool'),
              vendorExtension: rep(31, 'NamedAny'),
            }),
          },
        },
      },
    },
  },
}

const root = protobuf.Root.fromJSON(GNOSTIC_OPENAPI_V2)
const DocumentType = root.lookupType('openapi.v2.Document')

/** Encodes a gnostic `Document` given as a plain object with the camelCase field names above. */
export function encodeGnosticDocument(doc: Record<string, unknown>): Uint8Array {
  const err = DocumentType.verify(doc)
  if (err !== null) throw new Error(`openapi v2 protobuf: ${err}`)
  return DocumentType.encode(DocumentType.fromObject(doc)).finish()
}

/** Decodes a gnostic `Document` (tests read back what was served). */
export function decodeGnosticDocument(bytes: Uint8Array): Record<string, unknown> {
  return DocumentType.toObject(DocumentType.decode(bytes), { defaults: false }) as Record<string, unknown>
}
