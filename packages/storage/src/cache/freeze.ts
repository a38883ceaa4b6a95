/**
 * How the cache shares objects safely: every object that enters it (from the inner list or the inner
 * watch) is deep-frozen once, then the same instance is handed to every list answer and every watcher.
 *
 * Why freeze rather than copy: a watch cache exists so that N watchers of a resource cost one decode,
 * not N; copying per watcher (or per list item) would give that back. The Storage interface says
 * returned values "may be mutated by callers"; through the cache they may not: a mutation throws a
 * TypeError (ES modules are strict mode) instead of silently corrupting what other watchers see. The
 * api-server's `toWire` copies before it changes anything, so it is unaffected.
 *
 * Cost: one walk of each object when it enters the cache. test/cache-freeze.test.ts measures it on a
 * pod of 1.4 KB of JSON: about 2-8 µs to freeze, against 20-70 µs to parse it (which the inner store
 * already pays) and 40-120 µs for one structuredClone (what a copy per watcher would cost, each time).
 */
import type { StoredObject } from '../interface.js'

export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value
  // Children first, with plain loops: about 10x faster than Object.values + freeze-first on V8.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i])
  } else {
    const obj = value as Record<string, unknown>
    for (const key in obj) deepFreeze(obj[key])
  }
  return Object.freeze(value)
}

/** Freezes a stored object and its value in place, and returns it. */
export function freezeStored<T>(obj: StoredObject<T>): StoredObject<T> {
  deepFreeze(obj.value)
  return Object.freeze(obj)
}
