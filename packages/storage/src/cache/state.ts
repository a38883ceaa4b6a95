/**
 * The cache's current state of one resource: key → stored object, with the keys kept sorted so that a
 * list (a prefix, a start key, a limit) is a binary search and a walk, as etcd's range is.
 *
 * Guarantees: `range` returns the objects in key order, exactly those under the prefix and strictly
 * after `after`; objects are the frozen, shared instances the cache holds (see freeze.ts).
 * Non-guarantees: keys compare as JavaScript strings (UTF-16 code units), which is etcd's byte order
 * for every key Kubernetes writes (ASCII) but not for every Unicode key.
 */
import type { StoredObject } from '../interface.js'

/** The first index in sorted `keys` whose key is >= `key` (or > it, with `strict`). */
function lowerBound(keys: readonly string[], key: string, strict: boolean): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const k = keys[mid] as string
    if (k < key || (strict && k === key)) lo = mid + 1
    else hi = mid
  }
  return lo
}

export interface RangeResult {
  items: StoredObject[]
  /** How many objects under the prefix follow the page (0 when the page is the rest). */
  remaining: number
}

export class CacheState {
  private readonly objects = new Map<string, StoredObject>()
  private readonly keys: string[] = []

  get size(): number {
    return this.objects.size
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key)
  }

  put(obj: StoredObject): void {
    if (!this.objects.has(obj.key)) this.keys.splice(lowerBound(this.keys, obj.key, false), 0, obj.key)
    this.objects.set(obj.key, obj)
  }

  delete(key: string): void {
    if (!this.objects.delete(key)) return
    const i = lowerBound(this.keys, key, false)
    if (this.keys[i] === key) this.keys.splice(i, 1)
  }

  /** The objects under `prefix`, strictly after `after` if given, at most `limit` (0: all). */
  range(prefix: string, after: string | undefined, limit: number): RangeResult {
    const start =
      after === undefined ? lowerBound(this.keys, prefix, false) : lowerBound(this.keys, after, true)
    const items: StoredObject[] = []
    let i = start
    for (; i < this.keys.length; i++) {
      const key = this.keys[i] as string
      if (!key.startsWith(prefix)) break
      if (limit > 0 && items.length === limit) break
      items.push(this.objects.get(key) as StoredObject)
    }
    let remaining = 0
    if (limit > 0 && items.length === limit) {
      // Count the rest under the prefix: the prefix's keys are contiguous, so find where they end.
      const end = lowerBound(this.keys, prefixEnd(prefix), false)
      remaining = Math.max(0, end - i)
    }
    return { items, remaining }
  }
}

/** The smallest string greater than every string starting with `prefix` (prefixes here end in '/'). */
function prefixEnd(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1)
  return prefix.slice(0, -1) + String.fromCharCode(last + 1)
}
