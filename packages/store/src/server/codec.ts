/**
 * JSON with bytes and bigints, for what the server puts in Raft entries, snapshots and peer calls:
 * `Uint8Array` becomes `{"$b": base64}` and `bigint` becomes `{"$n": decimal}`. Not compact, but
 * self-describing and deterministic (the same value always encodes to the same bytes).
 */

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function replacer(this: unknown, key: string, value: unknown): unknown {
  // A Buffer has toJSON, which runs before the replacer: look at the holder's original value instead.
  const raw = (this as Record<string, unknown>)[key]
  if (raw instanceof Uint8Array)
    return { $b: Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('base64') }
  if (typeof raw === 'bigint') return { $n: raw.toString() }
  return value
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>
    const b = o['$b']
    if (typeof b === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(b, 'base64'))
    const n = o['$n']
    if (typeof n === 'string' && Object.keys(o).length === 1) return BigInt(n)
  }
  return value
}

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value, replacer))
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes), reviver) as T
}

/**
 * About the protobuf size of a request: byte fields count their length, every other leaf a few bytes
 * (tag and varint). Used for etcd's --max-request-bytes check.
 */
export function approxRequestBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.length + 2
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + approxRequestBytes(v), 2)
  if (value !== null && typeof value === 'object') {
    let n = 2
    for (const v of Object.values(value)) n += approxRequestBytes(v)
    return n
  }
  return typeof value === 'string' ? value.length + 2 : 4
}
