/**
 * Which protobuf bytes etcd 3.4 refuses, and in which words: its messages are decoded by gogoproto's
 * generated `Unmarshal` methods, whose errors grpc-go passes on ("grpc: error unmarshalling request:
 * proto: wrong wireType = 7 for field Key"). protobufjs is laxer (it reads a known field whatever its
 * wire type) and words its faults differently, so a request is first walked here the way gogoproto
 * walks it, over the same descriptors proto-loader gives the services.
 *
 * The walk follows the generated code's order of checks: the key varint (overflow, EOF), end-group and
 * tag 0, the field's expected wire type, lengths (negative, past the end), nested messages, and
 * skipping unknown fields (`skipRpc`, including groups).
 */
import type { PackageDefinition } from '@grpc/proto-loader'

interface FieldDescriptor {
  name: string
  number: number
  label: string
  type: string
  typeName: string
}

class GogoError extends Error {}

const EOF = (): GogoError => new GogoError('unexpected EOF')
const OVERFLOW = (): GogoError => new GogoError('proto: integer overflow')
const NEGATIVE = (): GogoError => new GogoError('proto: negative length found during unmarshaling')

/** The wire type gogoproto expects for a field of this protobuf type. */
function wireTypeOf(type: string): number {
  switch (type) {
    case 'TYPE_FIXED64':
    case 'TYPE_SFIXED64':
    case 'TYPE_DOUBLE':
      return 1
    case 'TYPE_STRING':
    case 'TYPE_BYTES':
    case 'TYPE_MESSAGE':
      return 2
    case 'TYPE_FIXED32':
    case 'TYPE_SFIXED32':
    case 'TYPE_FLOAT':
      return 5
    default:
      return 0
  }
}

/** gogoproto's Go field name: CamelCase of the proto name (`range_end` → `RangeEnd`, `ID` → `ID`). */
function goFieldName(name: string): string {
  const camel = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
  return camel.charAt(0).toUpperCase() + camel.slice(1)
}

export class GogoUnmarshal {
  /** Per message: its fields by number, and the resolved full names of its message-typed fields. */
  private readonly layouts = new Map<string, Map<number, FieldDescriptor & { full?: string }>>()

  constructor(private readonly defs: PackageDefinition) {}

  private layout(full: string): Map<number, FieldDescriptor & { full?: string }> {
    let l = this.layouts.get(full)
    if (l === undefined) {
      l = new Map(
        this.fields(full).map((f) => [
          f.number,
          f.type === 'TYPE_MESSAGE' ? { ...f, full: this.resolve(full, f.typeName) } : f,
        ]),
      )
      this.layouts.set(full, l)
    }
    return l
  }

  /** The error message etcd 3.4 gives for `bytes` as a `full` message, or undefined if it decodes. */
  check(full: string, bytes: Uint8Array): string | undefined {
    try {
      this.message(full, bytes, 0, bytes.length)
      return undefined
    } catch (err) {
      if (err instanceof GogoError) return err.message
      throw err
    }
  }

  /**
   * `bytes` (which {@link check} accepted) re-encoded with only the fields gogoproto keeps: unknown
   * fields dropped (etcd's messages keep no unrecognized bytes), keys in their shortest form, nested
   * messages re-encoded the same way with their lengths recomputed. protobufjs reads keys as 32-bit
   * varints, so a key gogoproto reads as a longer varint (accepted by Go, its field number truncated)
   * would make protobufjs misread what etcd decodes: hand it this form instead.
   */
  canonical(full: string, bytes: Uint8Array): Uint8Array {
    return Uint8Array.from(this.reencode(full, bytes, 0, bytes.length))
  }

  private reencode(full: string, b: Uint8Array, from: number, l: number): number[] {
    const byNumber = this.layout(full)
    const out: number[] = []
    let i = from
    const varint = (): bigint => {
      let v = 0n
      for (let shift = 0n; i < l; shift += 7n) {
        const c = b[i++] as number
        v |= BigInt(c & 0x7f) << shift
        if (c < 0x80) break
      }
      return BigInt.asUintN(64, v)
    }
    const put = (v: bigint): void => {
      let x = BigInt.asUintN(64, v)
      while (x >= 0x80n) {
        out.push(Number(x & 0x7fn) | 0x80)
        x >>= 7n
      }
      out.push(Number(x))
    }
    while (i < l) {
      const pre = i
      const wire = varint()
      const fieldNum = Number(BigInt.asIntN(32, wire >> 3n))
      const wireType = Number(wire & 7n)
      const f = byNumber.get(fieldNum)
      if (f === undefined) {
        i = pre + skip(b, pre, l)
        continue
      }
      const start = i
      if (wireType === 0) varint()
      else if (wireType === 1 || wireType === 5) i += wireType === 1 ? 8 : 4
      else {
        const n = Number(BigInt.asIntN(64, varint()))
        if (f.full !== undefined) {
          const inner = this.reencode(f.full, b, i, i + n)
          put(BigInt((fieldNum << 3) | 2))
          put(BigInt(inner.length))
          for (const x of inner) out.push(x)
          i += n
          continue
        }
        i += n
      }
      put(BigInt(fieldNum) * 8n + BigInt(wireType))
      for (let k = start; k < i; k++) out.push(b[k] as number)
    }
    return out
  }

  private fields(full: string): FieldDescriptor[] {
    const d = this.defs[full] as { type?: { field?: FieldDescriptor[] } } | undefined
    return d?.type?.field ?? []
  }

  private resolve(scope: string, typeName: string): string {
    const name = typeName.startsWith('.') ? typeName.slice(1) : typeName
    const parts = scope.split('.')
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), name].join('.')
      if (this.defs[candidate] !== undefined) return candidate
    }
    return name
  }

  private message(full: string, b: Uint8Array, from: number, l: number): void {
    const simple = full.slice(full.lastIndexOf('.') + 1)
    const byNumber = this.layout(full)
    let i = from
    const varint = (): bigint => {
      let v = 0n
      for (let shift = 0n; ; shift += 7n) {
        if (shift >= 64n) throw OVERFLOW()
        if (i >= l) throw EOF()
        const c = b[i++] as number
        v |= BigInt(c & 0x7f) << shift
        if (c < 0x80) return BigInt.asUintN(64, v)
      }
    }
    /** A length as Go's `int` holds it: negative past 2^63. */
    const length = (): number => {
      const n = BigInt.asIntN(64, varint())
      if (n < 0n) throw NEGATIVE()
      return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n)
    }
    while (i < l) {
      const pre = i
      const wire = varint()
      const fieldNum = Number(BigInt.asIntN(32, wire >> 3n))
      const wireType = Number(wire & 7n)
      if (wireType === 4) throw new GogoError(`proto: ${simple}: wiretype end group for non-group`)
      if (fieldNum <= 0) throw new GogoError(`proto: ${simple}: illegal tag ${fieldNum} (wire type ${wire})`)
      const f = byNumber.get(fieldNum)
      if (f === undefined) {
        const skippy = skip(b, pre, l)
        if (pre + skippy > l) throw EOF()
        i = pre + skippy
        continue
      }
      const expected = wireTypeOf(f.type)
      const packable = f.label === 'LABEL_REPEATED' && expected !== 2
      if (wireType !== expected && !(packable && wireType === 2))
        throw new GogoError(`proto: wrong wireType = ${wireType} for field ${goFieldName(f.name)}`)
      if (wireType === 0) varint()
      else if (wireType === 1 || wireType === 5) {
        const size = wireType === 1 ? 8 : 4
        if (i + size > l) throw EOF()
        i += size
      } else {
        const n = length()
        const post = i + n
        if (post > l) throw EOF()
        if (f.full !== undefined) this.message(f.full, b, i, post)
        else if (packable) {
          const end = l
          l = post
          while (i < post) {
            if (expected === 0) varint()
            else i += expected === 1 ? 8 : 4
          }
          l = end
        }
        i = post
      }
    }
    if (i > l) throw EOF()
  }
}

/** gogoproto's `skipRpc`: the bytes of the field starting at `from` (its key included). */
function skip(b: Uint8Array, from: number, l: number): number {
  let i = from
  const varint = (): bigint => {
    let v = 0n
    for (let shift = 0n; ; shift += 7n) {
      if (shift >= 64n) throw OVERFLOW()
      if (i >= l) throw EOF()
      const c = b[i++] as number
      v |= BigInt(c & 0x7f) << shift
      if (c < 0x80) return v
    }
  }
  const wireType = Number(varint() & 7n)
  switch (wireType) {
    case 0:
      varint()
      return i - from
    case 1:
      return i + 8 - from
    case 2: {
      const n = BigInt.asIntN(64, varint())
      if (n < 0n) throw NEGATIVE()
      return i - from + (n > BigInt(l) ? l + 1 : Number(n))
    }
    case 3:
      for (;;) {
        const start = i
        const inner = Number(varint() & 7n)
        if (inner === 4) return i - from
        i = start + skip(b, start, l)
      }
    case 4:
      return i - from
    case 5:
      return i + 4 - from
    default:
      throw new GogoError(`proto: illegal wireType ${wireType}`)
  }
}
