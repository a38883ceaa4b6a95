/**
 * The watch cache's state (src/cache/state.ts): a chunked sorted key index.
 * Goal: ranges (prefix, start key, limit, remaining count) are exactly a sorted array's, across chunk
 * splits and emptied chunks. Method: a seeded random mix of puts and deletes over thousands of keys in
 * a few namespaces, checked after every batch against a plain sorted model for random ranges.
 */
import { describe, expect, it } from 'vitest'
import { CacheState } from '../src/cache/state.js'
import type { StoredObject } from '../src/index.js'

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('CacheState', () => {
  it('ranges equal a sorted model through splits and emptied chunks', () => {
    const rnd = mulberry32(20261207)
    const state = new CacheState()
    const model = new Map<string, StoredObject>()
    const key = () => `/registry/pods/ns${Math.floor(rnd() * 4)}/p${Math.floor(rnd() * 3000)}`
    const prefixes = [
      '/registry/pods/',
      '/registry/pods/ns0/',
      '/registry/pods/ns3/',
      '/registry/pods/ns1/p1',
    ]
    let rev = 1
    for (let round = 0; round < 40; round++) {
      const deleting = round % 10 >= 6 // phases of mostly deletes empty whole chunks
      for (let n = 0; n < 400; n++) {
        const k = key()
        if (deleting ? rnd() < 0.9 : rnd() < 0.2) {
          state.delete(k)
          model.delete(k)
        } else {
          const obj = { key: k, value: { rev }, modRevision: rev, createRevision: rev }
          rev++
          state.put(obj)
          model.set(k, obj)
        }
      }
      expect(state.size).toBe(model.size)
      const sorted = [...model.keys()].sort()
      for (let q = 0; q < 20; q++) {
        const prefix = prefixes[Math.floor(rnd() * prefixes.length)] as string
        const under = sorted.filter((k) => k.startsWith(prefix))
        const after = rnd() < 0.5 && under.length > 0 ? under[Math.floor(rnd() * under.length)] : undefined
        const limit = rnd() < 0.3 ? 0 : 1 + Math.floor(rnd() * 700)
        const rest = after === undefined ? under : under.filter((k) => k > after)
        const page = limit > 0 ? rest.slice(0, limit) : rest
        const got = state.range(prefix, after, limit)
        expect(got.items.map((o) => o.key)).toEqual(page)
        expect(got.items.every((o) => o === model.get(o.key))).toBe(true)
        expect(got.remaining).toBe(rest.length - page.length)
      }
    }
    // A whole namespace deleted: every chunk holding only its keys empties and goes away.
    const ns0 = [...model.keys()].filter((k) => k.startsWith('/registry/pods/ns0/'))
    expect(ns0.length).toBeGreaterThan(2 * 400) // more than one chunk (512 at most, split in halves)
    for (const k of ns0) state.delete(k)
    expect(state.range('/registry/pods/ns0/', undefined, 0)).toEqual({ items: [], remaining: 0 })
    const all = state.range('/registry/pods/', undefined, 0).items.map((o) => o.key)
    expect(all).toEqual([...model.keys()].filter((k) => !k.startsWith('/registry/pods/ns0/')).sort())
    expect(state.size).toBe(all.length)
  })
})
