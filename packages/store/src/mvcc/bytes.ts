/**
 * Byte helpers. Keys are indexed as "binary strings" (one UTF-16 code unit per byte, 0..255), so that
 * JS string order is exactly etcd's bytewise key order and strings can key a Map.
 */

export function bytesToKey(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode(...bytes.subarray(i, i + 4096))
  }
  return out
}

export function keyToBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length)
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i)
  return out
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * etcd's interpretation of `range_end` (etcdserver/apply.go `mkGteRange` + mvcc key index):
 * `undefined` = the single key; `null` = no upper bound (range_end "\0"); otherwise the exclusive end.
 */
export function rangeEndOf(rangeEnd: Uint8Array | undefined): string | null | undefined {
  if (rangeEnd === undefined || rangeEnd.length === 0) return undefined
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return null
  return bytesToKey(rangeEnd)
}

/** The prefix range end as etcd clients compute it (clientv3 `GetPrefixRangeEnd`). */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1
      return end.subarray(0, i + 1)
    }
  }
  return Uint8Array.of(0)
}

/** Index of the first element >= key in a sorted array. */
export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as string) < key) lo = mid + 1
    else hi = mid
  }
  return lo
}
