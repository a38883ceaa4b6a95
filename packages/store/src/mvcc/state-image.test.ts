import { describe, expect, it } from 'vitest'
import { StoreError } from '../errors.js'
import { MvccStore } from './kv-store.js'
import { deserialize, hashKV, imageDigest, serialize } from './state-image.js'
import type { Result } from './types.js'

const b = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'))

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error
  return r.response
}

function build(): MvccStore {
  const st = new MvccStore({ leaseExists: () => true })
  unwrap(st.put({ key: b('a'), value: b('1'), lease: -5n }))
  unwrap(st.put({ key: b('\x00\xff'), value: b('\x00') }))
  unwrap(st.put({ key: b('a'), value: b('2'), lease: 2n ** 62n }))
  unwrap(st.deleteRange({ key: b('\x00\xff') }))
  unwrap(st.put({ key: b('c'), value: new Uint8Array(300).fill(7) }))
  unwrap(st.compact(3))
  unwrap(
    st.txn({
      success: [
        { op: 'put', request: { key: b('d') } },
        { op: 'put', request: { key: b('e') } },
      ],
    }),
  )
  return st
}

describe('state image', () => {
  it('round-trips the whole state deterministically, history and leases included', () => {
    const image = serialize(build())
    expect(serialize(build())).toEqual(image)
    const copy = deserialize(image, { leaseExists: () => true })
    expect(serialize(copy)).toEqual(image)
    expect([copy.revision, copy.compactRevision]).toEqual([7, 3])
    expect(unwrap(copy.range({ key: b('a'), revision: 3 })).kvs[0]?.lease).toBe(-5n)
    expect(copy.leaseKeys(2n ** 62n)).toEqual([b('a')])
    expect(copy.range({ key: b('a'), revision: 2 }).ok).toBe(false)
    // the copy continues exactly like the original
    const orig = build()
    for (const st of [orig, copy]) unwrap(st.put({ key: b('a'), value: b('3') }))
    expect(serialize(copy)).toEqual(serialize(orig))
    expect(imageDigest(image)).toHaveLength(32)
  })

  it('rejects corrupt images with MVCC_ERR_CORRUPT_SNAPSHOT', () => {
    const image = serialize(build())
    const bad = [image.subarray(0, image.length - 1), Uint8Array.of(...image, 0), Uint8Array.of(0, ...image)]
    for (const img of bad) {
      expect(() => deserialize(img)).toThrow(StoreError)
      try {
        deserialize(img)
      } catch (err) {
        expect((err as StoreError).code).toBe('MVCC_ERR_CORRUPT_SNAPSHOT')
      }
    }
  })
})

describe('hashKV', () => {
  it('agrees for equal histories, differs otherwise, and checks the revision', () => {
    const a = build()
    const c = build()
    const h = unwrap(hashKV(a))
    expect(h).toEqual(unwrap(hashKV(c)))
    expect(h.revision).toBe(7)
    expect(h.compactRevision).toBe(3)
    expect(unwrap(hashKV(a, 5)).hash).not.toBe(h.hash)
    unwrap(c.put({ key: b('x') }))
    expect(unwrap(hashKV(c, 7)).hash).toBe(h.hash) // hashing up to a revision ignores later writes
    expect(unwrap(hashKV(c)).hash).not.toBe(h.hash)
    expect(unwrap(hashKV(deserialize(serialize(a))))).toEqual(h)
    expect(hashKV(a, 2).ok).toBe(false)
    expect(hashKV(a, 8).ok).toBe(false)
  })
})
