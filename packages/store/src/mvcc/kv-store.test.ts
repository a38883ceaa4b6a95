import { describe, expect, it } from 'vitest'
import type { StoreError } from '../errors.js'
import { bytesToKey, prefixRangeEnd } from './bytes.js'
import { MvccStore } from './kv-store.js'
import type { KeyValue, Result } from './types.js'
import { checkRequestBytes, checkTxnRequest, DEFAULT_MAX_REQUEST_BYTES } from './validate.js'

const b = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'))
const s = (u: Uint8Array): string => bytesToKey(u)
const ALL = { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) }

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error
  return r.response
}

function errOf<T>(r: Result<T>): StoreError {
  if (r.ok) throw new Error('expected an error')
  return r.error
}

function keys(kvs: KeyValue[]): string[] {
  return kvs.map((kv) => s(kv.key))
}

function seeded(): MvccStore {
  const st = new MvccStore({ leaseExists: (id) => id === 7n || id === 8n })
  for (const k of ['a', 'a/1', 'a/2', 'b', 'c']) unwrap(st.put({ key: b(k), value: b(`v-${k}`) }))
  return st // revisions 2..6
}

describe('revisions and data model', () => {
  it('starts at revision 1; the first write produces 2', () => {
    const st = new MvccStore()
    expect(unwrap(st.range({ key: b('x') })).header.revision).toBe(1)
    const put = unwrap(st.put({ key: b('x'), value: b('1') }))
    expect(put.header.revision).toBe(2)
    unwrap(st.put({ key: b('x'), value: b('2') }))
    const kv = unwrap(st.range({ key: b('x') })).kvs[0]
    expect(kv).toEqual({
      key: b('x'),
      value: b('2'),
      createRevision: 2,
      modRevision: 3,
      version: 2,
      lease: 0n,
    })
  })

  it('a delete ends a generation; the next put starts a new one', () => {
    const st = new MvccStore()
    unwrap(st.put({ key: b('k'), value: b('1') }))
    unwrap(st.deleteRange({ key: b('k') }))
    unwrap(st.put({ key: b('k'), value: b('2') }))
    expect(unwrap(st.range({ key: b('k') })).kvs[0]).toMatchObject({
      createRevision: 4,
      modRevision: 4,
      version: 1,
    })
    expect(unwrap(st.range({ key: b('k'), revision: 3 })).kvs).toEqual([])
    expect(s(unwrap(st.range({ key: b('k'), revision: 2 })).kvs[0]?.value as Uint8Array)).toBe('1')
  })

  it('keys and values are binary-safe and ordered bytewise', () => {
    const st = new MvccStore()
    for (const k of ['\xff', '\x00', 'a', '\x7f\x80']) unwrap(st.put({ key: b(k), value: b(`\x00${k}`) }))
    const r = unwrap(st.range(ALL))
    expect(keys(r.kvs)).toEqual(['\x00', 'a', '\x7f\x80', '\xff'])
    expect(s(r.kvs[3]?.value as Uint8Array)).toBe('\x00\xff')
  })
})

describe('range', () => {
  it('selects a single key, [key, end), prefix, from-key and all keys', () => {
    const st = seeded()
    expect(keys(unwrap(st.range({ key: b('a') })).kvs)).toEqual(['a'])
    expect(keys(unwrap(st.range({ key: b('a/1'), rangeEnd: b('b') })).kvs)).toEqual(['a/1', 'a/2'])
    expect(keys(unwrap(st.range({ key: b('a/'), rangeEnd: prefixRangeEnd(b('a/')) })).kvs)).toEqual([
      'a/1',
      'a/2',
    ])
    expect(keys(unwrap(st.range({ key: b('b'), rangeEnd: Uint8Array.of(0) })).kvs)).toEqual(['b', 'c'])
    expect(keys(unwrap(st.range(ALL)).kvs)).toEqual(['a', 'a/1', 'a/2', 'b', 'c'])
    expect(unwrap(st.range({ key: b('c'), rangeEnd: b('a') })).kvs).toEqual([])
    expect(prefixRangeEnd(b('a\xff\xff'))).toEqual(b('b'))
    expect(prefixRangeEnd(b('\xff'))).toEqual(Uint8Array.of(0))
  })

  it('limit sets more; count is the total before the limit', () => {
    const st = seeded()
    const r = unwrap(st.range({ ...ALL, limit: 2 }))
    expect(keys(r.kvs)).toEqual(['a', 'a/1'])
    expect(r.more).toBe(true)
    expect(r.count).toBe(5)
    expect(unwrap(st.range({ ...ALL, limit: 5 })).more).toBe(false)
  })

  it('reads at a historical revision; errors below compaction and above current', () => {
    const st = seeded()
    const r = unwrap(st.range({ ...ALL, revision: 3 }))
    expect(keys(r.kvs)).toEqual(['a', 'a/1'])
    expect(r.header.revision).toBe(6)
    expect(errOf(st.range({ ...ALL, revision: 7 })).code).toBe('MVCC_ERR_FUTURE_REV')
    unwrap(st.compact(4))
    expect(keys(unwrap(st.range({ ...ALL, revision: 4 })).kvs)).toEqual(['a', 'a/1', 'a/2'])
    const e = errOf(st.range({ ...ALL, revision: 3 }))
    expect(e.code).toBe('MVCC_ERR_COMPACTED')
    expect(e.message).toBe('etcdserver: mvcc: required revision has been compacted')
    expect(e.grpcCode).toBe(11)
  })

  it('keys_only and count_only', () => {
    const st = seeded()
    expect(unwrap(st.range({ key: b('a'), keysOnly: true })).kvs[0]?.value).toEqual(new Uint8Array(0))
    const c = unwrap(st.range({ ...ALL, countOnly: true }))
    expect(c.kvs).toEqual([])
    expect(c.count).toBe(5)
  })

  it('sorts like etcd: NONE+KEY unsorted (key order), NONE+other ascending, DESCEND', () => {
    const st = seeded()
    unwrap(st.put({ key: b('a'), value: b('zz') })) // a: version 2, mod 7
    expect(keys(unwrap(st.range({ ...ALL, sortTarget: 'MOD' })).kvs)).toEqual(['a/1', 'a/2', 'b', 'c', 'a'])
    expect(keys(unwrap(st.range({ ...ALL, sortOrder: 'DESCEND' })).kvs)).toEqual([
      'c',
      'b',
      'a/2',
      'a/1',
      'a',
    ])
    expect(keys(unwrap(st.range({ ...ALL, sortOrder: 'DESCEND', sortTarget: 'VERSION' })).kvs)).toEqual([
      'a',
      'a/1',
      'a/2',
      'b',
      'c',
    ])
    expect(keys(unwrap(st.range({ ...ALL, sortOrder: 'ASCEND', sortTarget: 'VALUE' })).kvs)[4]).toBe('a')
    expect(
      keys(unwrap(st.range({ ...ALL, sortOrder: 'DESCEND', sortTarget: 'CREATE', limit: 2 })).kvs),
    ).toEqual(['c', 'b'])
  })

  it('NONE with a non-KEY target and a limit sorts only the first limit+1 keys (etcd quirk)', () => {
    const st = seeded()
    unwrap(st.put({ key: b('a'), value: b('zz') }))
    const r = unwrap(st.range({ ...ALL, sortTarget: 'MOD', limit: 2 }))
    expect(keys(r.kvs)).toEqual(['a/1', 'a/2'])
    expect(r.more).toBe(true)
  })

  it('filters on min/max mod and create revision; count ignores filters', () => {
    const st = seeded()
    const r = unwrap(st.range({ ...ALL, minModRevision: 3, maxModRevision: 5 }))
    expect(keys(r.kvs)).toEqual(['a/1', 'a/2', 'b'])
    expect(r.count).toBe(5)
    expect(keys(unwrap(st.range({ ...ALL, minCreateRevision: 5 })).kvs)).toEqual(['b', 'c'])
    expect(keys(unwrap(st.range({ ...ALL, maxCreateRevision: 2 })).kvs)).toEqual(['a'])
    const lim = unwrap(st.range({ ...ALL, minModRevision: 3, limit: 1 }))
    expect(keys(lim.kvs)).toEqual(['a/1'])
    expect(lim.more).toBe(true)
  })

  it('rejects an empty key', () => {
    const e = errOf(new MvccStore().range({ key: new Uint8Array(0) }))
    expect([e.code, e.message, e.grpcCode]).toEqual([
      'STORE_ERR_EMPTY_KEY',
      'etcdserver: key is not provided',
      3,
    ])
  })
})

describe('put', () => {
  it('returns prev_kv when asked', () => {
    const st = seeded()
    expect(unwrap(st.put({ key: b('new'), prevKv: true })).prevKv).toBeUndefined()
    expect(s(unwrap(st.put({ key: b('a'), value: b('x'), prevKv: true })).prevKv?.value as Uint8Array)).toBe(
      'v-a',
    )
  })

  it('ignore_value and ignore_lease keep the previous ones; fail on a missing key', () => {
    const st = seeded()
    unwrap(st.put({ key: b('a'), value: b('x'), lease: 7n }))
    unwrap(st.put({ key: b('a'), ignoreValue: true, lease: 8n }))
    expect(unwrap(st.range({ key: b('a') })).kvs[0]).toMatchObject({ value: b('x'), lease: 8n, version: 3 })
    unwrap(st.put({ key: b('a'), value: b('y'), ignoreLease: true }))
    expect(unwrap(st.range({ key: b('a') })).kvs[0]).toMatchObject({ value: b('y'), lease: 8n })
    const e = errOf(st.put({ key: b('missing'), ignoreValue: true }))
    expect([e.code, e.message, e.grpcCode]).toEqual([
      'STORE_ERR_KEY_NOT_FOUND',
      'etcdserver: key not found',
      3,
    ])
    expect(errOf(st.put({ key: b('missing'), ignoreLease: true })).code).toBe('STORE_ERR_KEY_NOT_FOUND')
    expect(st.revision).toBe(9)
  })

  it('rejects a value with ignore_value and a lease with ignore_lease', () => {
    const st = seeded()
    expect(errOf(st.put({ key: b('a'), ignoreValue: true, value: b('v') })).message).toBe(
      'etcdserver: value is provided',
    )
    expect(errOf(st.put({ key: b('a'), ignoreLease: true, lease: 7n })).message).toBe(
      'etcdserver: lease is provided',
    )
  })

  it('fails with lease not found when the caller says the lease does not exist', () => {
    const e = errOf(seeded().put({ key: b('a'), lease: 99n }))
    expect([e.code, e.message, e.grpcCode]).toEqual([
      'STORE_ERR_LEASE_NOT_FOUND',
      'etcdserver: requested lease not found',
      5,
    ])
  })
})

describe('leases', () => {
  it('tracks keys per lease and revokes them all in one revision', () => {
    const st = seeded()
    unwrap(st.put({ key: b('b'), value: b('1'), lease: 7n }))
    unwrap(st.put({ key: b('a'), value: b('1'), lease: 7n }))
    unwrap(st.put({ key: b('c'), value: b('1'), lease: 8n }))
    unwrap(st.put({ key: b('c'), value: b('2'), lease: 7n })) // moves c from lease 8 to 7
    unwrap(st.put({ key: b('b'), value: b('2') })) // detaches b
    expect(st.leaseKeys(7n).map(s)).toEqual(['a', 'c'])
    expect(st.leaseKeys(8n)).toEqual([])
    const before = st.revision
    expect(st.revokeLease(7n)).toEqual({ revision: before + 1, deleted: 2 })
    expect(keys(unwrap(st.range(ALL)).kvs)).toEqual(['a/1', 'a/2', 'b'])
    expect(st.revokeLease(7n)).toEqual({ revision: before + 1, deleted: 0 })
  })
})

describe('deleteRange', () => {
  it('deletes a range with prev_kvs; a no-op delete does not bump the revision', () => {
    const st = seeded()
    const r = unwrap(st.deleteRange({ key: b('a/'), rangeEnd: prefixRangeEnd(b('a/')), prevKv: true }))
    expect(r.deleted).toBe(2)
    expect(keys(r.prevKvs)).toEqual(['a/1', 'a/2'])
    expect(r.header.revision).toBe(7)
    const none = unwrap(st.deleteRange({ key: b('a/'), rangeEnd: prefixRangeEnd(b('a/')) }))
    expect([none.deleted, none.header.revision, st.revision]).toEqual([0, 7, 7])
    expect(unwrap(st.deleteRange({ key: b('b'), rangeEnd: Uint8Array.of(0) })).deleted).toBe(2)
  })
})

describe('txn', () => {
  it('compares VERSION, CREATE, MOD, VALUE, LEASE with each result', () => {
    const st = seeded()
    unwrap(st.put({ key: b('a'), value: b('x'), lease: 7n })) // a: create 2, mod 7, version 2
    const t = (c: Parameters<MvccStore['txn']>[0]['compare']): boolean =>
      unwrap(st.txn({ compare: c })).succeeded
    const key = b('a')
    expect(t([{ key, target: 'VERSION', result: 'EQUAL', version: 2 }])).toBe(true)
    expect(t([{ key, target: 'CREATE', result: 'LESS', createRevision: 3 }])).toBe(true)
    expect(t([{ key, target: 'MOD', result: 'GREATER', modRevision: 7 }])).toBe(false)
    expect(t([{ key, target: 'VALUE', result: 'NOT_EQUAL', value: b('x') }])).toBe(false)
    expect(t([{ key, target: 'LEASE', result: 'EQUAL', lease: 7n }])).toBe(true)
    expect(t([{ key: b('none'), target: 'VERSION', result: 'EQUAL', version: 0 }])).toBe(true)
    expect(t([{ key: b('none'), target: 'VALUE', result: 'NOT_EQUAL', value: b('x') }])).toBe(false)
    // range compares: every key in range must satisfy it
    expect(t([{ key: b('a/'), rangeEnd: b('a0'), target: 'VERSION', result: 'EQUAL', version: 1 }])).toBe(
      true,
    )
    expect(
      t([{ key: b('a'), rangeEnd: Uint8Array.of(0), target: 'VERSION', result: 'EQUAL', version: 1 }]),
    ).toBe(false)
  })

  it('applies all writes at one revision; ops see earlier ops; read-only txn does not bump', () => {
    const st = seeded()
    const r = unwrap(
      st.txn({
        compare: [{ key: b('a'), target: 'VALUE', result: 'EQUAL', value: b('v-a') }],
        success: [
          { op: 'put', request: { key: b('x'), value: b('1') } },
          { op: 'range', request: { key: b('x') } },
          { op: 'deleteRange', request: { key: b('b'), prevKv: true } },
          { op: 'put', request: { key: b('y'), value: b('2') } },
        ],
      }),
    )
    expect(r.succeeded).toBe(true)
    expect(r.header.revision).toBe(7)
    const inner = r.responses[1]
    expect(inner?.op === 'range' && keys(inner.response.kvs)).toEqual(['x'])
    expect(unwrap(st.range({ key: b('y') })).kvs[0]?.modRevision).toBe(7)
    const ro = unwrap(st.txn({ success: [{ op: 'range', request: { key: b('a') } }] }))
    expect([ro.header.revision, st.revision]).toEqual([7, 7])
  })

  it('runs the failure branch and nested txns whose compares see the pre-txn state', () => {
    const st = seeded()
    const r = unwrap(
      st.txn({
        compare: [{ key: b('a'), target: 'VERSION', result: 'GREATER', version: 5 }],
        failure: [
          { op: 'put', request: { key: b('n'), value: b('1') } },
          {
            op: 'txn',
            request: {
              compare: [{ key: b('n'), target: 'VERSION', result: 'EQUAL', version: 0 }],
              success: [{ op: 'put', request: { key: b('m'), value: b('1') } }],
            },
          },
        ],
      }),
    )
    expect(r.succeeded).toBe(false)
    const nested = r.responses[1]
    expect(nested?.op === 'txn' && nested.response.succeeded).toBe(true)
    expect(nested?.op === 'txn' && nested.response.header.revision).toBe(0)
    expect(keys(unwrap(st.range({ key: b('m'), rangeEnd: b('o') })).kvs)).toEqual(['m', 'n'])
  })

  it('rejects duplicate puts and put+delete of one key, but not across branches', () => {
    const put = (k: string) => ({ op: 'put' as const, request: { key: b(k) } })
    const e = checkTxnRequest({ success: [put('a'), put('a')] })
    expect([e?.code, e?.message, e?.grpcCode]).toEqual([
      'STORE_ERR_DUPLICATE_KEY',
      'etcdserver: duplicate key given in txn request',
      3,
    ])
    expect(
      checkTxnRequest({
        success: [put('a/1'), { op: 'deleteRange', request: { key: b('a'), rangeEnd: b('b') } }],
      })?.code,
    ).toBe('STORE_ERR_DUPLICATE_KEY')
    expect(checkTxnRequest({ success: [put('a')], failure: [put('a')] })).toBeUndefined()
    expect(
      checkTxnRequest({ success: [{ op: 'txn', request: { success: [put('a')], failure: [put('a')] } }] }),
    ).toBeUndefined()
    expect(
      checkTxnRequest({ success: [put('a'), { op: 'txn', request: { success: [put('a')] } }] })?.code,
    ).toBe('STORE_ERR_DUPLICATE_KEY')
    expect(seeded().txn({ success: [put('a'), put('a')] }).ok).toBe(false)
  })

  it('checks ops on the chosen path before applying anything', () => {
    const st = seeded()
    const e = errOf(
      st.txn({
        success: [
          { op: 'put', request: { key: b('x') } },
          { op: 'put', request: { key: b('nope'), ignoreValue: true } },
        ],
      }),
    )
    expect(e.code).toBe('STORE_ERR_KEY_NOT_FOUND')
    expect(errOf(st.txn({ success: [{ op: 'put', request: { key: b('x'), lease: 1n } }] })).code).toBe(
      'STORE_ERR_LEASE_NOT_FOUND',
    )
    expect(errOf(st.txn({ success: [{ op: 'range', request: { key: b('x'), revision: 99 } }] })).code).toBe(
      'MVCC_ERR_FUTURE_REV',
    )
    expect(st.revision).toBe(6)
    expect(unwrap(st.range({ key: b('x') })).kvs).toEqual([])
  })

  it('a from-key delete then an ignore_value put of the same key writes an empty value (etcd 3.4 panics)', () => {
    const st = seeded()
    const r = st.txn({
      success: [
        { op: 'deleteRange', request: { key: b('a'), rangeEnd: Uint8Array.of(0) } },
        { op: 'put', request: { key: b('a'), ignoreValue: true, ignoreLease: true } },
      ],
    })
    expect(r.ok).toBe(true)
    expect(unwrap(st.range({ key: b('a') })).kvs[0]).toMatchObject({
      value: new Uint8Array(0),
      version: 1,
      lease: 0n,
    })
  })

  it('enforces max txn ops and non-empty keys', () => {
    const ops = Array.from({ length: 129 }, (_, i) => ({ op: 'put' as const, request: { key: b(`k${i}`) } }))
    const e = checkTxnRequest({ success: ops })
    expect([e?.message, e?.grpcCode]).toEqual(['etcdserver: too many operations in txn request', 3])
    expect(checkTxnRequest({ success: ops.slice(0, 128) })).toBeUndefined()
    expect(checkTxnRequest({ success: ops.slice(0, 3) }, 2)?.code).toBe('STORE_ERR_TOO_MANY_OPS')
    expect(new MvccStore().txn({ success: ops }).ok).toBe(false)
    expect(
      checkTxnRequest({ compare: [{ key: new Uint8Array(0), target: 'VERSION', result: 'EQUAL' }] })?.code,
    ).toBe('STORE_ERR_EMPTY_KEY')
  })
})

describe('request size', () => {
  it('rejects requests above max request bytes (1.5 MiB by default)', () => {
    expect(DEFAULT_MAX_REQUEST_BYTES).toBe(1572864)
    expect(checkRequestBytes(1572864)).toBeUndefined()
    const e = checkRequestBytes(1572865)
    expect([e?.code, e?.message, e?.grpcCode]).toEqual([
      'STORE_ERR_REQUEST_TOO_LARGE',
      'etcdserver: request is too large',
      3,
    ])
    expect(checkRequestBytes(11, 10)?.code).toBe('STORE_ERR_REQUEST_TOO_LARGE')
  })
})

describe('compact', () => {
  it('rejects compacting at or below the compacted revision, and above current', () => {
    const st = seeded()
    expect(errOf(st.compact(7)).code).toBe('MVCC_ERR_FUTURE_REV')
    expect(unwrap(st.compact(3)).header.revision).toBe(6)
    expect(errOf(st.compact(3)).code).toBe('MVCC_ERR_COMPACTED')
    expect(errOf(st.compact(2)).code).toBe('MVCC_ERR_COMPACTED')
    expect(st.compactRevision).toBe(3)
  })

  it('drops versions no retained revision needs (memory bounded)', () => {
    const st = new MvccStore()
    for (let i = 0; i < 100; i++) unwrap(st.put({ key: b('k'), value: b(String(i)) }))
    unwrap(st.put({ key: b('gone'), value: b('x') }))
    unwrap(st.deleteRange({ key: b('gone') }))
    const records = () => st.histories().reduce((n, h) => n + h.records.length, 0)
    expect(records()).toBe(102)
    unwrap(st.compact(st.revision))
    expect(records()).toBe(1)
    expect(st.histories().map((h) => s(h.key))).toEqual(['k'])
    expect(s(unwrap(st.range({ key: b('k') })).kvs[0]?.value as Uint8Array)).toBe('99')
  })
})

describe('size accounting (sizeBytes)', () => {
  it('grows with every retained revision, shrinks on compaction, and survives a state image', async () => {
    const { serialize, deserialize } = await import('./state-image.js')
    const st = new MvccStore()
    expect(st.sizeBytes).toBe(0)
    st.put({ key: b('a'), value: new Uint8Array(100) })
    const one = st.sizeBytes
    expect(one).toBeGreaterThan(100)
    st.put({ key: b('a'), value: new Uint8Array(100) })
    expect(st.sizeBytes).toBe(2 * one)
    st.deleteRange({ key: b('a') })
    const withTomb = st.sizeBytes
    expect(withTomb).toBeGreaterThan(2 * one)
    st.put({ key: b('b'), value: new Uint8Array(10) })
    const beforeCompact = st.sizeBytes
    // Compacting at the last revision drops a's whole history (ending in a tombstone), keeps b.
    expect(st.compact(st.revision).ok).toBe(true)
    expect(st.sizeBytes).toBeLessThan(beforeCompact)
    expect(st.sizeBytes).toBe(beforeCompact - withTomb)
    expect(deserialize(serialize(st)).sizeBytes).toBe(st.sizeBytes)
  })
})
