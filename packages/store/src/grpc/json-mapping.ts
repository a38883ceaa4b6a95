/**
 * Protobuf JSON mapping as etcd 3.4's grpc-gateway uses it (`JSONPb{OrigName: true}`): output keys are
 * the proto field names, default values are omitted, bytes are base64, 64-bit integers are strings,
 * enums are names. Input accepts proto names and lowerCamelCase names. Driven by the message
 * descriptors proto-loader produced, so it follows the .proto files.
 */
import type { PackageDefinition } from '@grpc/proto-loader'
import { goJsonSyntaxError } from './go-json-syntax.js'

interface FieldDescriptor {
  name: string
  label: string
  type: string
  typeName: string
}
interface MessageDescriptor {
  field: FieldDescriptor[]
}
interface EnumDescriptor {
  value: Array<{ name: string; number: number }>
}

const lowerCamel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
const INT64 = new Set(['TYPE_INT64', 'TYPE_UINT64', 'TYPE_SINT64', 'TYPE_FIXED64', 'TYPE_SFIXED64'])
/** Go's type (and range) for each protobuf integer type, as encoding/json names it in errors. */
const GO_INT: Record<string, string> = {
  TYPE_INT64: 'int64',
  TYPE_SINT64: 'int64',
  TYPE_SFIXED64: 'int64',
  TYPE_UINT64: 'uint64',
  TYPE_FIXED64: 'uint64',
  TYPE_INT32: 'int32',
  TYPE_SINT32: 'int32',
  TYPE_SFIXED32: 'int32',
  TYPE_UINT32: 'uint32',
  TYPE_FIXED32: 'uint32',
}
const RANGES: Record<string, [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
}

/** A request body the gateway cannot decode (gRPC InvalidArgument, Go's message as etcd's gateway). */
export class JsonMappingError extends Error {
  override readonly name = 'JsonMappingError'
}

/** A JSON number with its exact text (int64s beyond 2^53 survive; `1e2` stays distinguishable). */
export class JsonNumber {
  constructor(readonly text: string) {}
}

const NUMBER_MARK = '\u0000json-number:'

/**
 * JSON.parse with every number kept as a {@link JsonNumber} (exact text), as Go's decoder keeps it
 * until it knows the target type. Throws {@link JsonMappingError} with Go's message on malformed JSON.
 */
export function parseGatewayJson(text: string): unknown {
  // Go's words for a syntax fault (etcd's gateway answers with them), before V8 finds it in its own.
  const syntax = goJsonSyntaxError(text)
  if (syntax !== undefined) throw new JsonMappingError(syntax)
  let marked = ''
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      marked += text.slice(i, j + 1)
      i = j + 1
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1
      while (j < text.length && /[0-9eE+\-.]/.test(text[j] as string)) j++
      marked += JSON.stringify(NUMBER_MARK + text.slice(i, j))
      i = j
    } else {
      marked += c
      i++
    }
  }
  return JSON.parse(marked, (_k, v: unknown) => {
    if (typeof v !== 'string' || !v.startsWith(NUMBER_MARK)) return v
    const raw = v.slice(NUMBER_MARK.length)
    if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) {
      throw new SyntaxError(`invalid number literal ${raw}`)
    }
    return new JsonNumber(raw)
  })
}

function kindOf(v: unknown): string {
  if (v instanceof JsonNumber || typeof v === 'number') return 'number'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'string' || typeof v === 'boolean') return v === true || v === false ? 'bool' : 'string'
  return 'object'
}

const cannot = (kind: string, goType: string): JsonMappingError =>
  new JsonMappingError(`json: cannot unmarshal ${kind} into Go value of type ${goType}`)

/**
 * An integer as jsonpb decodes it into a Go integer type: a number, or a string holding one (jsonpb drops
 * the quotes and decodes the rest as JSON). Returns the decimal text.
 */
function goInteger(v: unknown, range: string, goType: string): string {
  let text: string
  if (v instanceof JsonNumber) text = v.text
  else if (typeof v === 'number') text = String(v)
  else if (typeof v === 'string') {
    const t = v.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '')
    if (t === '') throw new JsonMappingError('unexpected end of JSON input')
    if (t === 'true' || t === 'false') throw cannot('bool', goType)
    if (t === 'null') return '0'
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(t)
    if (m === null || m[0] === '-') {
      const bad = t[m === null ? 0 : 1] ?? ''
      throw new JsonMappingError(`invalid character '${bad}' looking for beginning of value`)
    }
    if (m[0].length < t.length) {
      throw new JsonMappingError(`invalid character '${t[m[0].length]}' after top-level value`)
    }
    text = m[0]
  } else throw cannot(kindOf(v), goType)
  const [lo, hi] = RANGES[range] ?? [0n, 0n]
  if (!/^-?\d+$/.test(text) || BigInt(text) < lo || BigInt(text) > hi) {
    throw new JsonMappingError(`json: cannot unmarshal number ${text} into Go value of type ${goType}`)
  }
  return BigInt(text).toString()
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B64_VALUE = new Map([...B64].map((c, i) => [c.charCodeAt(0), i]))

/**
 * Go's `base64.StdEncoding.Decode` (encoding/json's decoding of []byte): padding required, CR and LF
 * skipped, anything else outside the alphabet an error at Go's byte offset.
 */
export function decodeStdBase64(s: string): Buffer {
  const src = Buffer.from(s, 'utf8')
  const out: number[] = []
  const bad = (at: number): JsonMappingError =>
    new JsonMappingError(`illegal base64 data at input byte ${at}`)
  const isNl = (c: number | undefined): boolean => c === 0x0a || c === 0x0d
  let si = 0
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0]
    let dlen = 4
    let trailing: number | undefined
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Buffer.from(out)
        throw bad(si - j)
      }
      const c = src[si] as number
      si++
      const val = B64_VALUE.get(c)
      if (val !== undefined) {
        dbuf[j] = val
        continue
      }
      if (isNl(c)) {
        j--
        continue
      }
      if (c !== 0x3d) throw bad(si - 1)
      if (j < 2) throw bad(si - 1)
      if (j === 2) {
        while (si < src.length && isNl(src[si])) si++
        if (si === src.length) throw bad(src.length)
        if (src[si] !== 0x3d) throw bad(si - 1)
        si++
      }
      while (si < src.length && isNl(src[si])) si++
      if (si < src.length) trailing = si
      dlen = j
      break
    }
    const v =
      ((dbuf[0] as number) << 18) |
      ((dbuf[1] as number) << 12) |
      ((dbuf[2] as number) << 6) |
      (dbuf[3] as number)
    const bytes = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]
    out.push(...bytes.slice(0, dlen - 1))
    if (trailing !== undefined) throw bad(trailing)
  }
  return Buffer.from(out)
}

export class JsonMapping {
  constructor(private readonly defs: PackageDefinition) {}

  private descriptor(full: string): { type: unknown; format: string } | undefined {
    const d = this.defs[full] as { type?: unknown; format?: string } | undefined
    return d?.type === undefined ? undefined : { type: d.type, format: d.format ?? '' }
  }

  /** Resolves a (possibly relative) type name as protobuf scoping does, from inside `scope`. */
  private resolve(scope: string, typeName: string): string {
    const name = typeName.startsWith('.') ? typeName.slice(1) : typeName
    const parts = scope.split('.')
    for (let i = parts.length; i >= 0; i--) {
      const full = [...parts.slice(0, i), name].join('.')
      if (this.descriptor(full) !== undefined) return full
    }
    throw new Error(`json mapping: cannot resolve type ${typeName} from ${scope}`)
  }

  /**
   * An enum by (possibly relative) name from inside `scope`: top-level enums are package definition
   * entries, nested ones live in their message's descriptor (`enumType`).
   */
  private enumOf(scope: string, typeName: string): { full: string; values: EnumDescriptor['value'] } {
    const name = typeName.startsWith('.') ? typeName.slice(1) : typeName
    const parts = scope.split('.')
    for (let i = parts.length; i >= 0; i--) {
      const full = [...parts.slice(0, i), name].join('.')
      const top = this.descriptor(full)
      if (top?.format.includes('EnumDescriptorProto')) {
        return { full, values: (top.type as EnumDescriptor).value }
      }
      const dot = full.lastIndexOf('.')
      const parent = dot < 0 ? undefined : this.descriptor(full.slice(0, dot))
      const nested = (parent?.type as { enumType?: Array<EnumDescriptor & { name: string }> } | undefined)
        ?.enumType
      const e = nested?.find((x) => x.name === full.slice(dot + 1))
      if (e !== undefined) return { full, values: e.value }
    }
    throw new Error(`json mapping: cannot resolve enum ${typeName} from ${scope}`)
  }

  private message(full: string): MessageDescriptor {
    return this.descriptor(full)?.type as MessageDescriptor
  }

  /**
   * A JSON request body as a wire message of type `full`, decoded as etcd 3.4's gateway decodes it
   * (golang/protobuf jsonpb over encoding/json): both the proto name and the lowerCamelCase name are
   * accepted (the latter wins if both are given), unknown fields and nulls are ignored, 64-bit integers
   * may be numbers or decimal strings, enums names or numbers, bytes strict standard base64. A value of
   * the wrong kind throws {@link JsonMappingError} with Go's message. Numbers should come from
   * {@link parseGatewayJson} (exact text kept); plain JS numbers are accepted too.
   */
  fromJson(full: string, json: unknown): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    if (json === null || json === undefined) return out
    if (kindOf(json) !== 'object') throw cannot(kindOf(json), 'map[string]json.RawMessage')
    const src = json as Record<string, unknown>
    for (const f of this.message(full).field) {
      const camel = lowerCamel(f.name)
      const v = camel in src ? src[camel] : src[f.name]
      if (v === undefined || v === null) continue
      if (f.label === 'LABEL_REPEATED') {
        if (!Array.isArray(v)) throw cannot(kindOf(v), '[]json.RawMessage')
        out[f.name] = v.filter((x) => x !== null).map((x) => this.fieldFromJson(full, f, x))
      } else {
        out[f.name] = this.fieldFromJson(full, f, v)
      }
    }
    return out
  }

  private fieldFromJson(scope: string, f: FieldDescriptor, v: unknown): unknown {
    switch (f.type) {
      case 'TYPE_MESSAGE':
        return this.fromJson(this.resolve(scope, f.typeName), v)
      case 'TYPE_BYTES': {
        if (typeof v !== 'string') throw cannot(kindOf(v), '[]uint8')
        return decodeStdBase64(v)
      }
      case 'TYPE_STRING':
        if (typeof v !== 'string') throw cannot(kindOf(v), 'string')
        return v
      case 'TYPE_BOOL':
        if (typeof v !== 'boolean') throw cannot(kindOf(v), 'bool')
        return v
      case 'TYPE_ENUM': {
        const e = this.enumOf(scope, f.typeName)
        const goType = `${e.full.split('.')[0]}.${e.full.split('.').slice(1).join('_')}`
        if (typeof v === 'string') {
          if (!e.values.some((x) => x.name === v)) {
            throw new JsonMappingError(`unknown value ${JSON.stringify(v)} for enum ${goType}`)
          }
          return v
        }
        const n = Number(goInteger(v, 'int32', goType))
        return e.values.find((x) => x.number === n)?.name ?? n
      }
      default: {
        const goType = GO_INT[f.type]
        if (goType === undefined) return v
        const text = goInteger(v, goType, goType)
        return INT64.has(f.type) ? text : Number(text)
      }
    }
  }

  /** A wire message of type `full` as the gateway's JSON (defaults omitted). */
  toJson(full: string, msg: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const f of this.message(full).field) {
      const v = msg[f.name]
      if (v === undefined || v === null) continue
      if (f.label === 'LABEL_REPEATED') {
        if (!Array.isArray(v) || v.length === 0) continue
        out[f.name] = v.map((x: unknown) => this.scalarOrMessage(full, f, x, true))
        continue
      }
      const x = this.scalarOrMessage(full, f, v, false)
      if (x !== undefined) out[f.name] = x
    }
    return out
  }

  private scalarOrMessage(scope: string, f: FieldDescriptor, v: unknown, keep: boolean): unknown {
    switch (f.type) {
      case 'TYPE_BYTES': {
        const b = Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array)
        return b.length === 0 && !keep ? undefined : b.toString('base64')
      }
      case 'TYPE_MESSAGE':
        return this.toJson(this.resolve(scope, f.typeName), v as Record<string, unknown>)
      case 'TYPE_ENUM': {
        const zero = this.enumOf(scope, f.typeName).values.find((x) => x.number === 0)?.name
        return !keep && (v === zero || v === 0) ? undefined : v
      }
      case 'TYPE_BOOL':
        return v === false && !keep ? undefined : v
      case 'TYPE_STRING':
        return v === '' && !keep ? undefined : v
      default: {
        if (INT64.has(f.type)) {
          const s = String(v)
          return s === '0' && !keep ? undefined : s
        }
        return Number(v) === 0 && !keep ? undefined : Number(v)
      }
    }
  }
}
