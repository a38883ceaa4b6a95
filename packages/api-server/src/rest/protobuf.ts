/**
 * Request bodies in the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`), which
 * typed client-go commands send from kubectl 1.32 on (`kubectl create namespace|configmap|secret|
 * deployment|service|serviceaccount`) with no fallback to JSON after a 415.
 *
 * The wire format (apimachinery runtime/serializer/protobuf): the 4-byte magic `k8s\0`, then a
 * runtime.Unknown {typeMeta{apiVersion, kind} = 1, raw = 2, contentEncoding = 3, contentType = 4}
 * whose `raw` is the generated-protobuf encoding of the object (field table: protobuf-messages.ts).
 *
 * Guarantee: the result is the JSON a JSON client would have sent for the same Go object (camelCase
 * names; zero values of `omitempty` non-pointer fields dropped, as gogo-protobuf writes them and
 * encoding/json omits them; Time as RFC 3339 seconds, MicroTime with microseconds; IntOrString as a
 * number or string; Quantity as its string; bytes as base64), so it then takes the JSON path
 * (unknown-field checks, defaulting, validation). Bad bytes and kinds without a table entry are 400
 * BadRequest with kube-apiserver's texts (handlers/rest.go transformDecodeError); nothing throws
 * anything else.
 *
 * Not done: protobuf responses (kubectl accepts JSON), fields outside the table (skipped, as protobuf
 * has no strict mode), `contentEncoding` other than none.
 */
import { StatusError, statusErrors } from '@hakube/api'
import protobuf from 'protobufjs'
import { MESSAGES } from './protobuf-messages.js'

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf'
/** `k8s\0`, the prefix of every Kubernetes protobuf message. */
export const PROTOBUF_MAGIC: Buffer = Buffer.from([0x6b, 0x38, 0x73, 0x00])

/** The message of each kind a protobuf body may carry, by `apiVersion/kind`. */
const KIND_MESSAGES: Readonly<Record<string, string>> = {
  'v1/Namespace': 'Namespace',
  'v1/Node': 'Node',
  'v1/Pod': 'Pod',
  'v1/Service': 'Service',
  'v1/Endpoints': 'Endpoints',
  'v1/Event': 'Event',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Binding': 'Binding',
  'apps/v1/Deployment': 'Deployment',
  'apps/v1/ReplicaSet': 'ReplicaSet',
  'coordination.k8s.io/v1/Lease': 'Lease',
  'autoscaling/v1/Scale': 'Scale',
}

type Scalar = 's' | 'b' | 'i32' | 'i64' | 'f64' | 'by' | 'T' | 'MT' | 'Q' | 'IOS' | 'FV'

interface FieldSpec {
  /** The JSON (and proto) field name. */
  readonly name: string
  readonly id: number
  /** A scalar code, or a message name of the table. */
  readonly type: string
  readonly map: boolean
  readonly repeated: boolean
  readonly pointer: boolean
  readonly omitEmpty: boolean
  readonly inline: boolean
}

const SCALAR_PROTO_TYPES: Readonly<Record<Scalar, string>> = {
  s: 'string',
  b: 'bool',
  i32: 'int32',
  i64: 'int64',
  f64: 'double',
  by: 'bytes',
  T: 'Time',
  MT: 'Time',
  Q: 'Quantity',
  IOS: 'IntOrString',
  FV: 'FieldsV1',
}

function isScalar(type: string): type is Scalar {
  return Object.hasOwn(SCALAR_PROTO_TYPES, type)
}

const FIELD_PATTERN = /^(\w*):(\d+):(\{\w+\}|[\w$]+)(\[\])?(\*)?(\?)?(\^)?$/

/** Parses one message's field list (notation: protobuf-messages.ts). */
export function parseFieldSpecs(text: string): FieldSpec[] {
  return text.split(' ').map((token) => {
    const m = FIELD_PATTERN.exec(token)
    if (m === null) throw new Error(`protobuf-messages: bad field ${JSON.stringify(token)}`)
    const [, name = '', id = '', type = '', repeated, pointer, omitEmpty, inline] = m
    const map = type.startsWith('{')
    return {
      name,
      id: Number(id),
      type: map ? type.slice(1, -1) : type,
      map,
      repeated: repeated !== undefined,
      pointer: pointer !== undefined,
      omitEmpty: omitEmpty !== undefined,
      inline: inline !== undefined,
    }
  })
}

interface Schema {
  readonly root: protobuf.Root
  readonly specs: ReadonlyMap<string, readonly FieldSpec[]>
}

let schema: Schema | undefined

/** Builds the protobufjs reflection types from the table once, on first use. */
function loadSchema(): Schema {
  if (schema !== undefined) return schema
  const root = new protobuf.Root()
  const { Type, Field, MapField } = protobuf
  // meta/v1 Timestamp (Time and MicroTime), resource.Quantity, intstr.IntOrString, FieldsV1,
  // runtime.TypeMeta and runtime.Unknown.
  root.add(new Type('Time').add(new Field('seconds', 1, 'int64')).add(new Field('nanos', 2, 'int32')))
  root.add(new Type('Quantity').add(new Field('string', 1, 'string')))
  root.add(
    new Type('IntOrString')
      .add(new Field('type', 1, 'int64'))
      .add(new Field('intVal', 2, 'int32'))
      .add(new Field('strVal', 3, 'string')),
  )
  root.add(new Type('FieldsV1').add(new Field('Raw', 1, 'bytes')))
  root.add(new Type('TypeMeta').add(new Field('apiVersion', 1, 'string')).add(new Field('kind', 2, 'string')))
  root.add(
    new Type('Unknown')
      .add(new Field('typeMeta', 1, 'TypeMeta'))
      .add(new Field('raw', 2, 'bytes'))
      .add(new Field('contentEncoding', 3, 'string'))
      .add(new Field('contentType', 4, 'string')),
  )
  const specs = new Map<string, FieldSpec[]>()
  for (const [name, text] of Object.entries(MESSAGES)) {
    const fields = parseFieldSpecs(text)
    specs.set(name, fields)
    const type = new Type(protoName(name))
    for (const f of fields) {
      const protoType = isScalar(f.type) ? SCALAR_PROTO_TYPES[f.type] : protoName(f.type)
      if (f.map) type.add(new MapField(f.name, f.id, 'string', protoType))
      else type.add(new Field(f.name, f.id, protoType, f.repeated ? 'repeated' : 'optional'))
    }
    root.add(type)
  }
  root.resolveAll()
  schema = { root, specs }
  return schema
}

/** `$` is not allowed in protobufjs names. */
function protoName(name: string): string {
  return name.replace('$', '_')
}

/** The kinds (`apiVersion/kind`) a protobuf body may carry. */
export function protobufKinds(): string[] {
  return Object.keys(KIND_MESSAGES)
}

/**
 * The protobufjs types (message `X$all` is named `X_all`), plus `Unknown`, `TypeMeta`, `Time`,
 * `Quantity`, `IntOrString` and `FieldsV1`; tests encode bodies with them.
 */
export function protobufRoot(): protobuf.Root {
  return loadSchema().root
}

/**
 * Decodes a Kubernetes protobuf request body into the JSON object a JSON client would send;
 * throws a 400 StatusError for anything it cannot decode.
 */
export function decodeProtobufObject(raw: unknown): Record<string, unknown> {
  const data = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0)
  if (data.length === 0) throw unrecognized(data, 'empty data')
  if (data.length < PROTOBUF_MAGIC.length || !data.subarray(0, PROTOBUF_MAGIC.length).equals(PROTOBUF_MAGIC))
    throw unrecognized(
      data,
      `provided data does not appear to be a protobuf message, expected prefix [${[...PROTOBUF_MAGIC].join(' ')}]`,
    )
  const { root, specs } = loadSchema()
  let unknown: {
    typeMeta?: { apiVersion?: string; kind?: string }
    raw?: Uint8Array
    contentEncoding?: string
  }
  try {
    unknown = root
      .lookupType('Unknown')
      .decode(data.subarray(PROTOBUF_MAGIC.length)) as unknown as typeof unknown
  } catch (err) {
    throw unrecognized(data, errorText(err))
  }
  const apiVersion = unknown.typeMeta?.apiVersion ?? ''
  const kind = unknown.typeMeta?.kind ?? ''
  const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion
  const cannotHandle = (reason: string): StatusError =>
    statusErrors.badRequest(
      `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${kind}: ${reason}`,
    )
  if (kind === '') throw unrecognized(data, "Object 'Kind' is missing in protobuf message")
  const message = KIND_MESSAGES[`${apiVersion}/${kind}`]
  if (message === undefined)
    throw cannotHandle(
      `no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)} in scheme "pkg/api/legacyscheme/scheme.go:30"`,
    )
  if ((unknown.contentEncoding ?? '') !== '')
    throw cannotHandle(`unsupported content encoding ${JSON.stringify(unknown.contentEncoding)}`)
  try {
    const decoded = root.lookupType(protoName(message)).decode(unknown.raw ?? new Uint8Array(0))
    return { apiVersion, kind, ...toJson(specs, message, decoded as unknown as Record<string, unknown>) }
  } catch (err) {
    if (err instanceof StatusError) throw err
    throw cannotHandle(errorText(err))
  }
}

/** handlers/rest.go transformDecodeError without a kind: the body summarized as hex. */
function unrecognized(data: Buffer, reason: string): StatusError {
  const summary =
    data.length === 0
      ? '<empty>'
      : data.length > 30
        ? `${data.subarray(0, 30).toString('hex')} ...`
        : data.toString('hex')
  return statusErrors.badRequest(`the object provided is unrecognized (${summary}: ${reason})`)
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

type Decoded = Record<string, unknown>

function has(msg: Decoded, name: string): boolean {
  return Object.hasOwn(msg, name) && msg[name] !== undefined && msg[name] !== null
}

/** One decoded message as JSON, following the Go JSON encoding of the same struct. */
function toJson(specs: ReadonlyMap<string, readonly FieldSpec[]>, message: string, msg: Decoded): Decoded {
  const fields = specs.get(message)
  if (fields === undefined) throw new Error(`protobuf-messages: no message ${message}`)
  const out: Decoded = {}
  for (const f of fields) {
    if (!has(msg, f.name)) continue
    const v = msg[f.name]
    if (f.inline) {
      Object.assign(out, toJson(specs, f.type, v as Decoded))
      continue
    }
    if (f.map) {
      const entries = Object.entries(v as Record<string, unknown>)
      if (entries.length === 0) continue
      out[f.name] = Object.fromEntries(entries.map(([k, x]) => [k, valueJson(specs, f.type, x)]))
      continue
    }
    if (f.repeated) {
      const items = v as unknown[]
      if (items.length === 0) continue
      out[f.name] = items.map((x) => valueJson(specs, f.type, x))
      continue
    }
    const j = valueJson(specs, f.type, v)
    if (j === undefined) continue
    if (!f.pointer && f.omitEmpty && isZero(f.type, j)) continue
    out[f.name] = j
  }
  return out
}

/** Zero values of non-pointer scalars, which `omitempty` drops (structs are never dropped). */
function isZero(type: string, j: unknown): boolean {
  if (type === 's' || type === 'by') return j === ''
  if (type === 'b') return j === false
  if (type === 'i32' || type === 'i64' || type === 'f64') return j === 0
  return false
}

/** One value; undefined for a zero Time (JSON `null`, which an absent field means too). */
function valueJson(specs: ReadonlyMap<string, readonly FieldSpec[]>, type: string, v: unknown): unknown {
  switch (type) {
    case 's':
    case 'b':
    case 'f64':
    case 'i32':
      return v
    case 'i64':
      return int64(v)
    case 'by':
      return Buffer.from(v as Uint8Array).toString('base64')
    case 'T':
    case 'MT': {
      const t = v as Decoded
      // metav1.Time marshals the zero time as no bytes at all; Unmarshal drops the nanos of a Time.
      if (!has(t, 'seconds') && !has(t, 'nanos')) return undefined
      return formatTime(int64(t['seconds'] ?? 0), type === 'MT' ? Number(t['nanos'] ?? 0) : 0, type === 'MT')
    }
    case 'Q': {
      const q = v as Decoded
      return typeof q['string'] === 'string' && q['string'] !== '' ? q['string'] : '0'
    }
    case 'IOS': {
      const x = v as Decoded
      return int64(x['type'] ?? 0) === 1 ? String(x['strVal'] ?? '') : Number(x['intVal'] ?? 0)
    }
    case 'FV': {
      const raw = (v as Decoded)['Raw']
      if (!(raw instanceof Uint8Array) || raw.length === 0) return undefined
      return JSON.parse(Buffer.from(raw).toString('utf8'))
    }
    default:
      return toJson(specs, type, v as Decoded)
  }
}

/** protobufjs gives int64 as a Long when the `long` package is installed, else as a number. */
function int64(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'object' && v !== null && 'toNumber' in v) return (v as { toNumber(): number }).toNumber()
  return Number(v)
}

/** RFC 3339 in UTC, as metav1.Time (seconds) and metav1.MicroTime (microseconds) marshal to JSON. */
function formatTime(seconds: number, nanos: number, micro: boolean): string {
  const ms = seconds * 1000
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new Error(`time out of range: ${seconds}s`)
  const base = new Date(ms).toISOString().slice(0, 19)
  if (!micro) return `${base}Z`
  const micros = Math.trunc(nanos / 1000)
  return `${base}.${String(micros).padStart(6, '0')}Z`
}
