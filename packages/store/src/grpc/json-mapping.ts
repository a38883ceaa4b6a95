/**
 * Protobuf JSON mapping as etcd 3.4's grpc-gateway uses it (`JSONPb{OrigName: true}`): output keys are
 * the proto field names, default values are omitted, bytes are base64, 64-bit integers are strings,
 * enums are names. Input accepts proto names and lowerCamelCase names. Driven by the message
 * descriptors proto-loader produced, so it follows the .proto files.
 */
import type { PackageDefinition } from '@grpc/proto-loader'

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

  private message(full: string): MessageDescriptor {
    return this.descriptor(full)?.type as MessageDescriptor
  }

  /** A JSON request body as a wire message of type `full` (bytes decoded from base64). */
  fromJson(full: string, json: unknown): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    if (json === null || typeof json !== 'object') return out
    const src = json as Record<string, unknown>
    for (const f of this.message(full).field) {
      const v = src[f.name] ?? src[lowerCamel(f.name)]
      if (v === undefined || v === null) continue
      const one = (x: unknown): unknown => {
        if (f.type === 'TYPE_BYTES') return Buffer.from(String(x), 'base64')
        if (f.type === 'TYPE_MESSAGE') return this.fromJson(this.resolve(full, f.typeName), x)
        return x
      }
      out[f.name] = f.label === 'LABEL_REPEATED' && Array.isArray(v) ? v.map(one) : one(v)
    }
    return out
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
        const e = this.descriptor(this.resolve(scope, f.typeName))?.type as EnumDescriptor
        const zero = e.value.find((x) => x.number === 0)?.name
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
