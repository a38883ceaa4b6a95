import type { Msg } from './client.js'
import { type Ctx, prefixEnd, type Scenario } from './runner.js'

/**
 * The conformance scenarios: each a fixed sequence of requests under its own key prefix. Requests that
 * need a revision or a lease id take it relative to the scenario (`c.rev(n)`, `c.lease('L1')`), so the
 * same scenario means the same thing on both clusters.
 */

const v = (s: string): Buffer => Buffer.from(s)
const b64 = (s: string): string => Buffer.from(s).toString('base64')
const put = (c: Ctx, k: string, val: string, extra: Msg = {}): Msg => ({
  key: c.k(k),
  value: v(val),
  ...extra,
})
const opPut = (c: Ctx, k: string, val: string, extra: Msg = {}): Msg => ({
  request_put: put(c, k, val, extra),
})
const opRange = (c: Ctx, k: string, extra: Msg = {}): Msg => ({ request_range: { key: c.k(k), ...extra } })
const opDel = (c: Ctx, k: string, extra: Msg = {}): Msg => ({
  request_delete_range: { key: c.k(k), ...extra },
})
const cmp = (c: Ctx, k: string, target: string, result: string, field: Msg): Msg => ({
  key: c.k(k),
  target,
  result,
  ...field,
})

async function seed(c: Ctx, pairs: Array<[string, string]>): Promise<void> {
  for (const [k, val] of pairs) await c.kv(`put ${k}=${val}`, 'Put', put(c, k, val))
}

async function kvBasics(c: Ctx): Promise<void> {
  await c.kv('put a', 'Put', put(c, 'a', '1'))
  await c.kv('put b prev_kv (none)', 'Put', put(c, 'b', '2', { prev_kv: true }))
  await c.kv('put c', 'Put', put(c, 'c', '3'))
  await c.kv('put a again prev_kv', 'Put', put(c, 'a', '1b', { prev_kv: true }))
  await c.kv('put sub/x', 'Put', put(c, 'sub/x', 'x'))
  await c.kv('range a', 'Range', { key: c.k('a') })
  await c.kv('range missing', 'Range', { key: c.k('zz') })
  await c.kv('range [a,c)', 'Range', { key: c.k('a'), range_end: c.k('c') })
  await c.kv('range prefix', 'Range', { key: c.k(), range_end: prefixEnd(c.k()) })
  await c.kv('range prefix sub/', 'Range', { key: c.k('sub/'), range_end: prefixEnd(c.k('sub/')) })
  await c.kv('range from-key b', 'Range', { key: c.k('b'), range_end: Buffer.from([0]) })
  await c.kv('range limit 2', 'Range', { key: c.k(), range_end: prefixEnd(c.k()), limit: 2 })
  await c.kv('range limit = count', 'Range', { key: c.k(), range_end: prefixEnd(c.k()), limit: 4 })
  await c.kv('range count_only', 'Range', { key: c.k(), range_end: prefixEnd(c.k()), count_only: true })
  await c.kv('range keys_only', 'Range', { key: c.k(), range_end: prefixEnd(c.k()), keys_only: true })
  await c.kv('range keys_only+limit', 'Range', {
    key: c.k(),
    range_end: prefixEnd(c.k()),
    keys_only: true,
    limit: 1,
  })
  await c.kv('range at @1', 'Range', { key: c.k(), range_end: prefixEnd(c.k()), revision: c.rev(1) })
  await c.kv('range a at @3', 'Range', { key: c.k('a'), revision: c.rev(3) })
  await c.kv('range at current', 'Range', { key: c.k('a'), revision: c.rev(5) })
  await c.kv('range future revision', 'Range', { key: c.k('a'), revision: c.rev(1000) })
  await c.kv('range serializable', 'Range', { key: c.k(), range_end: prefixEnd(c.k()), serializable: true })
  await c.kv('range range_end < key', 'Range', { key: c.k('c'), range_end: c.k('a') })
  await c.kv('range empty key', 'Range', { key: Buffer.alloc(0) })
  await c.kv('range negative limit', 'Range', { key: c.k(), range_end: prefixEnd(c.k()), limit: -1 })
}

const SORT_TARGETS = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const
const SORT_ORDERS = ['NONE', 'ASCEND', 'DESCEND'] as const

async function rangeSortFilters(c: Ctx): Promise<void> {
  // Versions, create and mod revisions and values all in different orders from the keys.
  await seed(c, [
    ['k3', 'b'],
    ['k1', 'c'],
    ['k2', 'a'],
    ['k1', 'd'],
    ['k3', 'e'],
    ['k3', 'a'],
    ['k4', 'z'],
  ])
  const all = { key: c.k(), range_end: prefixEnd(c.k()) }
  for (const target of SORT_TARGETS) {
    for (const order of SORT_ORDERS) {
      await c.kv(`sort ${target} ${order}`, 'Range', {
        ...all,
        sort_target: target,
        sort_order: order,
        keys_only: true,
      })
    }
  }
  await c.kv('sort MOD DESCEND limit 2', 'Range', {
    ...all,
    sort_target: 'MOD',
    sort_order: 'DESCEND',
    limit: 2,
  })
  await c.kv('sort VALUE ASCEND limit 1', 'Range', {
    ...all,
    sort_target: 'VALUE',
    sort_order: 'ASCEND',
    limit: 1,
  })
  await c.kv('min_mod_revision @5', 'Range', { ...all, min_mod_revision: c.rev(5) })
  await c.kv('max_mod_revision @4', 'Range', { ...all, max_mod_revision: c.rev(4) })
  await c.kv('min_create_revision @3', 'Range', { ...all, min_create_revision: c.rev(3) })
  await c.kv('max_create_revision @2', 'Range', { ...all, max_create_revision: c.rev(2) })
  await c.kv('min+max mod, limit 1', 'Range', {
    ...all,
    min_mod_revision: c.rev(3),
    max_mod_revision: c.rev(6),
    limit: 1,
  })
  await c.kv('min_mod filter + count_only', 'Range', { ...all, min_mod_revision: c.rev(6), count_only: true })
  await c.kv('filters at an old revision', 'Range', {
    ...all,
    revision: c.rev(4),
    min_create_revision: c.rev(2),
  })
}

async function putOptions(c: Ctx): Promise<void> {
  const g = await c.call('grant', 'Lease', 'LeaseGrant', { TTL: 600 })
  if (!g.ok) return
  const l1 = c.lease('L1')
  await c.kv('put with lease', 'Put', put(c, 'leased', 'v1', { lease: l1 }))
  await c.kv('range leased', 'Range', { key: c.k('leased') })
  await c.kv('ignore_value', 'Put', { key: c.k('leased'), ignore_value: true, prev_kv: true })
  await c.kv('range after ignore_value', 'Range', { key: c.k('leased') })
  await c.kv(
    'ignore_lease keeps the lease',
    'Put',
    put(c, 'leased', 'v2', { ignore_lease: true, prev_kv: true }),
  )
  await c.kv('range after ignore_lease', 'Range', { key: c.k('leased') })
  await c.kv('plain put drops the lease', 'Put', put(c, 'leased', 'v3', { prev_kv: true }))
  await c.kv('both ignores', 'Put', {
    key: c.k('leased'),
    ignore_value: true,
    ignore_lease: true,
    prev_kv: true,
  })
  await c.kv('range after both ignores', 'Range', { key: c.k('leased') })
  await c.kv('ignore_value on a missing key', 'Put', { key: c.k('missing'), ignore_value: true })
  await c.kv('ignore_lease on a missing key', 'Put', put(c, 'missing', 'x', { ignore_lease: true }))
  await c.kv('ignore_value with a value', 'Put', put(c, 'leased', 'x', { ignore_value: true }))
  await c.kv('ignore_lease with a lease', 'Put', put(c, 'leased', 'x', { ignore_lease: true, lease: l1 }))
  await c.kv('lease not found', 'Put', put(c, 'nolease', 'x', { lease: '12345678' }))
  await c.kv('empty key', 'Put', { key: Buffer.alloc(0), value: v('x') })
  await c.kv('empty value', 'Put', { key: c.k('empty'), value: Buffer.alloc(0), prev_kv: true })
  await c.kv('range empty value', 'Range', { key: c.k('empty') })
  await c.kv('binary key and value', 'Put', {
    key: Buffer.concat([c.k('bin'), Buffer.from([0, 0xff, 0x80])]),
    value: Buffer.from([0, 1, 2, 0xfe]),
  })
  await c.kv('range binary', 'Range', { key: c.k('bin'), range_end: prefixEnd(c.k('bin')) })
  await c.kv('missing key after failures', 'Range', { key: c.k('missing') })
}

async function deleteRange(c: Ctx): Promise<void> {
  await seed(c, [
    ['a', '1'],
    ['b', '2'],
    ['c', '3'],
    ['d/1', '4'],
    ['d/2', '5'],
    ['e', '6'],
    ['f', '7'],
  ])
  await c.kv('delete a prev_kv', 'DeleteRange', { key: c.k('a'), prev_kv: true })
  await c.kv('delete a again', 'DeleteRange', { key: c.k('a'), prev_kv: true })
  await c.kv('revision unchanged after no-op delete', 'Range', { key: c.k('a') })
  await c.kv('delete [b,d)', 'DeleteRange', { key: c.k('b'), range_end: c.k('d') })
  await c.kv('delete prefix d/ prev_kv', 'DeleteRange', {
    key: c.k('d/'),
    range_end: prefixEnd(c.k('d/')),
    prev_kv: true,
  })
  await c.kv('range all', 'Range', { key: c.k(), range_end: prefixEnd(c.k()) })
  await c.kv('delete from-key f', 'DeleteRange', {
    key: c.k('f'),
    range_end: Buffer.from([0]),
    prev_kv: true,
  })
  await c.kv('delete empty key', 'DeleteRange', { key: Buffer.alloc(0) })
  await c.kv('recreate a: version restarts', 'Put', put(c, 'a', 'again', { prev_kv: true }))
  await c.kv('range a', 'Range', { key: c.k('a') })
  await c.kv('range a before delete', 'Range', { key: c.k('a'), revision: c.rev(7) })
  await c.kv('range all at @8', 'Range', { key: c.k(), range_end: prefixEnd(c.k()), revision: c.rev(8) })
}

const TARGET_FIELD: Record<string, (c: Ctx, x: number) => Msg> = {
  VERSION: (_c, x) => ({ version: x }),
  CREATE: (c, x) => ({ create_revision: c.rev(x) }),
  MOD: (c, x) => ({ mod_revision: c.rev(x) }),
}

async function txnCompares(c: Ctx): Promise<void> {
  await seed(c, [
    ['a', 'm'],
    ['b', 'x'],
    ['a', 'n'],
  ])
  // a: version 2, create @1, mod @3, value n; b: version 1, create @2, mod @2; z missing.
  const results = ['EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS']
  for (const target of ['VERSION', 'CREATE', 'MOD'] as const) {
    const field = TARGET_FIELD[target]
    if (field === undefined) continue
    for (const result of results) {
      for (const x of [1, 2, 3]) {
        await c.kv(`${target} ${result} ${x}`, 'Txn', {
          compare: [cmp(c, 'a', target, result, field(c, x))],
          success: [opRange(c, 'a', { keys_only: true })],
          failure: [opRange(c, 'b', { keys_only: true })],
        })
      }
    }
  }
  for (const result of results) {
    for (const val of ['m', 'n', 'o']) {
      await c.kv(`VALUE ${result} ${val}`, 'Txn', {
        compare: [cmp(c, 'a', 'VALUE', result, { value: v(val) })],
      })
    }
    await c.kv(`VALUE ${result} on a missing key`, 'Txn', {
      compare: [cmp(c, 'z', 'VALUE', result, { value: v('') })],
    })
    await c.kv(`VERSION ${result} 0 on a missing key`, 'Txn', {
      compare: [cmp(c, 'z', 'VERSION', result, { version: 0 })],
    })
  }
  const g = await c.call('grant', 'Lease', 'LeaseGrant', { TTL: 600 })
  if (g.ok) {
    const l1 = c.lease('L1')
    await c.kv('put b with lease', 'Put', put(c, 'b', 'y', { lease: l1 }))
    for (const result of results) {
      await c.kv(`LEASE ${result} L1`, 'Txn', { compare: [cmp(c, 'b', 'LEASE', result, { lease: l1 })] })
      await c.kv(`LEASE ${result} 0 on a key without lease`, 'Txn', {
        compare: [cmp(c, 'a', 'LEASE', result, { lease: 0 })],
      })
      await c.kv(`LEASE ${result} 0 on a missing key`, 'Txn', {
        compare: [cmp(c, 'z', 'LEASE', result, { lease: 0 })],
      })
    }
  }
  // Compares over a range: every key in [a, c) must satisfy it.
  await c.kv('range compare: all versions > 0', 'Txn', {
    compare: [{ ...cmp(c, 'a', 'VERSION', 'GREATER', { version: 0 }), range_end: c.k('c') }],
  })
  await c.kv('range compare: all versions = 2', 'Txn', {
    compare: [{ ...cmp(c, 'a', 'VERSION', 'EQUAL', { version: 2 }), range_end: c.k('c') }],
  })
  await c.kv('range compare over nothing', 'Txn', {
    compare: [{ ...cmp(c, 'q', 'VERSION', 'EQUAL', { version: 5 }), range_end: c.k('r') }],
  })
  await c.kv('several compares, one false', 'Txn', {
    compare: [
      cmp(c, 'a', 'VERSION', 'EQUAL', { version: 2 }),
      cmp(c, 'b', 'VALUE', 'EQUAL', { value: v('nope') }),
    ],
    success: [opPut(c, 'never', '1')],
    failure: [opPut(c, 'failed', '1', { prev_kv: true }), opDel(c, 'a', { prev_kv: true }), opRange(c, 'a')],
  })
  await c.kv('empty txn', 'Txn', {})
  await c.kv('success branch writes', 'Txn', {
    compare: [cmp(c, 'failed', 'VERSION', 'EQUAL', { version: 1 })],
    success: [
      opPut(c, 's1', 'v', { prev_kv: true }),
      opPut(c, 'failed', 'v2', { prev_kv: true }),
      opRange(c, '', { range_end: prefixEnd(c.k()), keys_only: true }),
      opDel(c, 'b', { prev_kv: true }),
      opRange(c, '', { range_end: prefixEnd(c.k()), count_only: true }),
    ],
  })
  await c.kv('read-only txn keeps the revision', 'Txn', { success: [opRange(c, 's1')] })
  await c.kv('nested txn', 'Txn', {
    compare: [cmp(c, 's1', 'VERSION', 'EQUAL', { version: 1 })],
    success: [
      opPut(c, 'outer', 'o'),
      {
        request_txn: {
          compare: [cmp(c, 'outer', 'VERSION', 'EQUAL', { version: 0 })],
          success: [opPut(c, 'inner-s', 'i')],
          failure: [opPut(c, 'inner-f', 'i'), opRange(c, 'outer')],
        },
      },
      opRange(c, 'inner-f'),
    ],
  })
  await c.kv('after nested', 'Range', { key: c.k(), range_end: prefixEnd(c.k()) })
}

async function txnErrors(c: Ctx): Promise<void> {
  const many = (n: number): Msg[] => Array.from({ length: n }, (_, i) => opPut(c, `many/${i}`, 'v'))
  await c.kv('129 ops', 'Txn', { success: many(129) })
  await c.kv('129 ops in failure', 'Txn', { failure: many(129) })
  await c.kv('128 ops', 'Txn', { success: many(128) })
  await c.kv('count after 128 ops', 'Range', {
    key: c.k('many/'),
    range_end: prefixEnd(c.k('many/')),
    count_only: true,
  })
  await c.kv('129 compares', 'Txn', {
    compare: Array.from({ length: 129 }, (_, i) => cmp(c, `many/${i}`, 'VERSION', 'EQUAL', { version: 1 })),
  })
  await c.kv('duplicate put', 'Txn', { success: [opPut(c, 'd', '1'), opPut(c, 'd', '2')] })
  await c.kv('duplicate put in failure', 'Txn', { failure: [opPut(c, 'd', '1'), opPut(c, 'd', '2')] })
  await c.kv('put in both branches is fine', 'Txn', {
    success: [opPut(c, 'd', '1')],
    failure: [opPut(c, 'd', '2')],
  })
  await c.kv('delete overlapping put', 'Txn', {
    success: [opPut(c, 'e/1', '1'), opDel(c, 'e/', { range_end: prefixEnd(c.k('e/')) })],
  })
  await c.kv('put then delete same key', 'Txn', { success: [opDel(c, 'f'), opPut(c, 'f', '1')] })
  await c.kv('two deletes of one key', 'Txn', { success: [opDel(c, 'g'), opDel(c, 'g')] })
  await c.kv('nested duplicate of an outer put', 'Txn', {
    success: [opPut(c, 'h', '1'), { request_txn: { success: [opPut(c, 'h', '2')] } }],
  })
  await c.kv('duplicate across nested branches', 'Txn', {
    success: [
      { request_txn: { success: [opPut(c, 'i', '1')], failure: [opPut(c, 'i', '2')] } },
      opPut(c, 'j', '1'),
    ],
  })
  await c.kv('empty key in txn put', 'Txn', {
    success: [{ request_put: { key: Buffer.alloc(0), value: v('x') } }],
  })
  await c.kv('empty key in txn range', 'Txn', { success: [{ request_range: { key: Buffer.alloc(0) } }] })
  await c.kv('empty key in a compare', 'Txn', {
    compare: [{ key: Buffer.alloc(0), target: 'VERSION', version: 0 }],
  })
  await c.kv('unknown lease in txn put', 'Txn', { success: [opPut(c, 'k', '1', { lease: '987654321' })] })
  await c.kv('ignore_value on a missing key in txn', 'Txn', {
    success: [{ request_put: { key: c.k('nokey'), ignore_value: true } }],
  })
  await c.kv('compacted revision in txn range', 'Txn', { success: [opRange(c, 'a', { revision: 1 })] })
  await c.kv('future revision in txn range', 'Txn', { success: [opRange(c, 'a', { revision: c.rev(1000) })] })
  await c.kv('nothing written by failures', 'Range', {
    key: c.k(),
    range_end: prefixEnd(c.k()),
    count_only: true,
  })
}

async function requestSize(c: Ctx): Promise<void> {
  const MiB = 1024 * 1024
  await c.kv('put 1.5 MiB value', 'Put', { key: c.k('big'), value: Buffer.alloc(1.5 * MiB, 'x') })
  await c.kv('txn with 1.5 MiB value', 'Txn', {
    success: [{ request_put: { key: c.k('big'), value: Buffer.alloc(1.5 * MiB, 'x') } }],
  })
  await c.kv('put 1.4 MiB value', 'Put', { key: c.k('big'), value: Buffer.alloc(1.4 * MiB, 'y') })
  await c.kv('range big count', 'Range', { key: c.k('big'), count_only: true })
  await c.kv('put 1 MiB key', 'Put', {
    key: Buffer.concat([c.k('bigkey/'), Buffer.alloc(MiB, 'k')]),
    value: v('v'),
  })
  const hugeKey = Buffer.concat([c.k('huge/'), Buffer.alloc(1.6 * MiB, 'k')])
  await c.kv('range a 1.6 MiB key (not a raft request)', 'Range', { key: hugeKey })
  await c.kv('delete a 1.6 MiB key', 'DeleteRange', { key: hugeKey })
  await c.kv('range big key count', 'Range', {
    key: c.k('bigkey/'),
    range_end: prefixEnd(c.k('bigkey/')),
    count_only: true,
  })
}

async function compaction(c: Ctx): Promise<void> {
  await seed(c, [
    ['a', '1'],
    ['a', '2'],
    ['b', '1'],
    ['a', '3'],
  ])
  const w = c.watch('watch before compaction')
  w.send({ create_request: { key: c.k('a'), start_revision: c.rev(1) } })
  await w.expect(2, 'created + history')
  w.send({ cancel_request: { watch_id: 0 } })
  await w.expect(1, 'canceled')
  await c.kv('compact @3', 'Compact', { revision: c.rev(3), physical: true })
  await c.kv('range at @2 (compacted)', 'Range', { key: c.k('a'), revision: c.rev(2) })
  await c.kv('range at @3 (the compaction point)', 'Range', { key: c.k('a'), revision: c.rev(3) })
  await c.kv('range at @4', 'Range', { key: c.k(), range_end: prefixEnd(c.k()), revision: c.rev(4) })
  await c.kv('range at 1 (compacted)', 'Range', { key: c.k('a'), revision: 1 })
  await c.kv('compact @2 again (compacted)', 'Compact', { revision: c.rev(2) })
  await c.kv('compact @3 again (compacted)', 'Compact', { revision: c.rev(3) })
  await c.kv('compact future', 'Compact', { revision: c.rev(100) })
  await c.kv('txn range at compacted revision', 'Txn', { success: [opRange(c, 'a', { revision: c.rev(1) })] })
  await c.kv('put after compaction', 'Put', put(c, 'a', '4', { prev_kv: true }))
  const w2 = c.watch('watch below compaction')
  w2.send({ create_request: { key: c.k('a'), start_revision: c.rev(2) } })
  await w2.expect(2, 'created + compacted')
  w2.send({ create_request: { key: c.k('a'), start_revision: c.rev(3) } })
  await w2.expect(2, 'created + history from the compaction point')
  await w2.quiet()
  await c.kv('compact @5 (current, not physical)', 'Compact', { revision: c.rev(5) })
  await c.kv('range current after compacting to it', 'Range', { key: c.k(), range_end: prefixEnd(c.k()) })
}

async function leases(c: Ctx): Promise<void> {
  await c.call('grant TTL 600', 'Lease', 'LeaseGrant', { TTL: 600 })
  const explicit = c.explicitLease(0x7e57_0000_0000_0001n + BigInt(c.prefix.length))
  await c.call('grant with an ID', 'Lease', 'LeaseGrant', { ID: explicit, TTL: 300 })
  await c.call('grant an existing ID', 'Lease', 'LeaseGrant', { ID: explicit, TTL: 300 })
  await c.call('grant TTL 1 (below the minimum)', 'Lease', 'LeaseGrant', { TTL: 1 })
  await c.call('grant TTL 0', 'Lease', 'LeaseGrant', { TTL: 0 })
  await c.call('grant TTL too large', 'Lease', 'LeaseGrant', { TTL: '9000000001' })
  await c.call('grant TTL max', 'Lease', 'LeaseGrant', { TTL: '9000000000' })
  const l1 = c.lease('L1')
  await c.kv('put k1 on L1', 'Put', put(c, 'k1', 'a', { lease: l1 }))
  await c.kv('put k2 on L1', 'Put', put(c, 'k2', 'b', { lease: l1 }))
  await c.kv('put k3 on explicit', 'Put', put(c, 'k3', 'c', { lease: explicit }))
  await c.kv('move k2 to explicit', 'Put', put(c, 'k2', 'b2', { lease: explicit }))
  await c.call('ttl L1 with keys', 'Lease', 'LeaseTimeToLive', { ID: l1, keys: true })
  await c.call('ttl L1 without keys', 'Lease', 'LeaseTimeToLive', { ID: l1 })
  await c.call('ttl explicit with keys', 'Lease', 'LeaseTimeToLive', { ID: explicit, keys: true })
  const unknown = c.explicitLease(4242n)
  await c.call('ttl unknown', 'Lease', 'LeaseTimeToLive', { ID: unknown, keys: true })
  const ka = c.keepAlive('keep-alive')
  ka.send({ ID: l1 })
  await ka.expect(1, 'L1: TTL back to the granted one')
  ka.send({ ID: unknown })
  await ka.expect(1, 'unknown lease: TTL 0')
  ka.send({ ID: explicit })
  await ka.expect(1, 'explicit')
  await ka.quiet()
  await c.call('leases', 'Lease', 'LeaseLeases', {})
  await c.call('revoke explicit', 'Lease', 'LeaseRevoke', { ID: explicit })
  await c.kv('range after revoke', 'Range', { key: c.k(), range_end: prefixEnd(c.k()) })
  await c.call('revoke explicit again', 'Lease', 'LeaseRevoke', { ID: explicit })
  await c.call('revoke unknown', 'Lease', 'LeaseRevoke', { ID: unknown })
  await c.call('ttl revoked', 'Lease', 'LeaseTimeToLive', { ID: explicit, keys: true })
  await c.call('revoke L1 (no keys left)', 'Lease', 'LeaseRevoke', { ID: l1 })
  await c.kv('range after revoking L1', 'Range', { key: c.k(), range_end: prefixEnd(c.k()) })
  await c.call('leases after revokes', 'Lease', 'LeaseLeases', {})
}

async function leaseExpiry(c: Ctx): Promise<void> {
  await c.call('grant TTL 2', 'Lease', 'LeaseGrant', { TTL: 2 })
  const l1 = c.lease('L1')
  await c.kv('put on L1', 'Put', put(c, 'x', '1', { lease: l1 }))
  await c.kv('put on L1 again', 'Put', put(c, 'y', '1', { lease: l1 }))
  const w = c.watch('watch')
  w.send({ create_request: { key: c.k(), range_end: prefixEnd(c.k()), prev_kv: true } })
  await w.expect(1, 'created')
  await w.expect(1, 'expiry deletes both keys in one revision')
  await w.quiet()
  await c.call('ttl after expiry', 'Lease', 'LeaseTimeToLive', { ID: l1 })
  await c.kv('range after expiry', 'Range', { key: c.k(), range_end: prefixEnd(c.k()) })
}

async function watchBasics(c: Ctx): Promise<void> {
  await seed(c, [
    ['a', '1'],
    ['b', '1'],
    ['a', '2'],
  ])
  await c.kv('delete b', 'DeleteRange', { key: c.k('b') })
  const w = c.watch('history')
  w.send({
    create_request: { key: c.k(), range_end: prefixEnd(c.k()), start_revision: c.rev(1), prev_kv: true },
  })
  await w.expect(2, 'created + replay from @1')
  w.send({ create_request: { key: c.k('a'), start_revision: c.rev(3) } })
  await w.expect(2, 'created + replay of a from @3')
  w.send({ create_request: { key: c.k('b') } })
  await w.expect(1, 'created (now)')
  await c.kv('put b', 'Put', put(c, 'b', '2'))
  await w.expect(2, 'live put b on watches 0 and 2')
  await c.kv('txn of three ops', 'Txn', {
    success: [opPut(c, 'a', '3'), opDel(c, 'b'), opPut(c, 'c', '1')],
  })
  await w.expect(3, 'txn: one response per watch')
  w.send({ cancel_request: { watch_id: 1 } })
  await w.expect(1, 'cancel 1')
  await c.kv('put a after cancel', 'Put', put(c, 'a', '4'))
  await w.expect(1, 'only watch 0')
  w.send({ progress_request: {} })
  await w.expect(1, 'progress')
  w.send({ cancel_request: { watch_id: 77 } })
  await w.quiet()
  await c.kv('no-op delete', 'DeleteRange', { key: c.k('none') })
  await c.kv('put c', 'Put', put(c, 'c', '2'))
  await w.expect(1, 'after a no-op delete')
  w.send({ create_request: { key: c.k('a'), start_revision: c.rev(1000) } })
  await w.expect(1, 'created with a future start revision')
  await c.kv('put a', 'Put', put(c, 'a', '5'))
  await w.expect(1, 'watch 0 sees a; the future watch does not yet')
  await w.quiet()
}

async function watchFilters(c: Ctx): Promise<void> {
  const w = c.watch('filters')
  w.send({ create_request: { key: c.k(), range_end: prefixEnd(c.k()), filters: ['NOPUT'] } })
  await w.expect(1, 'created NOPUT')
  w.send({
    create_request: { key: c.k(), range_end: prefixEnd(c.k()), filters: ['NODELETE'], prev_kv: true },
  })
  await w.expect(1, 'created NODELETE prev_kv')
  w.send({ create_request: { key: c.k('x'), range_end: Buffer.from([0]) } })
  await w.expect(1, 'created from-key x')
  w.send({ create_request: { key: c.k('a'), filters: ['NOPUT', 'NODELETE'] } })
  await w.expect(1, 'created both filters')
  w.send({ create_request: { key: c.k('a'), watch_id: 10 } })
  await w.expect(1, 'created with watch_id 10')
  w.send({ create_request: { key: c.k('b'), watch_id: 10 } })
  await w.expect(1, 'duplicate watch_id 10')
  w.send({ create_request: { key: c.k('b') } })
  await w.expect(1, 'created with an automatic id')
  await c.kv('put a', 'Put', put(c, 'a', '1'))
  await w.expect(2, 'put a: NODELETE and id 10')
  await c.kv('put a again', 'Put', put(c, 'a', '2'))
  await w.expect(2, 'put a again')
  await c.kv('delete a', 'DeleteRange', { key: c.k('a') })
  await w.expect(2, 'delete a: NOPUT and id 10')
  await c.kv('put x', 'Put', put(c, 'x', '1'))
  await w.expect(2, 'put x')
  await c.kv('txn put+delete', 'Txn', { success: [opPut(c, 'y', '1'), opDel(c, 'x'), opPut(c, 'b', '1')] })
  await w.expect(4, 'txn split by filters')
  w.send({ create_request: { key: Buffer.alloc(0) } })
  await w.quiet()
}

async function clusterAndStatus(c: Ctx): Promise<void> {
  await c.call('member list', 'Cluster', 'MemberList', {})
  await c.call('status', 'Maintenance', 'Status', {})
  await c.kv('put', 'Put', put(c, 'a', '1'))
  const s = await c.call('status after a put', 'Maintenance', 'Status', {})
  if (s.ok) {
    c.record(
      'status: applied index <= raft index',
      Number(s.res['raftAppliedIndex']) <= Number(s.res['raftIndex']),
    )
  }
}

async function kvEdges(c: Ctx): Promise<void> {
  await seed(c, [
    ['a', '1'],
    ['b', '2'],
    ['c', '3'],
  ])
  await c.kv('txn reads its own writes', 'Txn', {
    success: [
      opPut(c, 'a', 'new', { prev_kv: true }),
      opRange(c, 'a'),
      opDel(c, 'b', { prev_kv: true }),
      opRange(c, '', { range_end: prefixEnd(c.k()), count_only: true }),
      opRange(c, 'a', { revision: c.rev(1) }),
    ],
  })
  await c.kv('txn range with limit, sort and filters', 'Txn', {
    success: [
      opRange(c, '', {
        range_end: prefixEnd(c.k()),
        limit: 1,
        sort_order: 'DESCEND',
        sort_target: 'MOD',
        min_mod_revision: c.rev(2),
      }),
    ],
  })
  await c.kv('range negative revision', 'Range', { key: c.k('a'), revision: -1 })
  await c.kv('range from-key DESCEND limit 2', 'Range', {
    key: c.k('a'),
    range_end: Buffer.from([0]),
    sort_order: 'DESCEND',
    limit: 2,
    keys_only: true,
  })
  await c.kv('range key > range_end', 'Range', { key: c.k('z'), range_end: c.k('a') })
  await c.kv('range count_only + limit', 'Range', {
    key: c.k(),
    range_end: prefixEnd(c.k()),
    count_only: true,
    limit: 1,
  })
  await c.kv('range keys_only sort VALUE', 'Range', {
    key: c.k(),
    range_end: prefixEnd(c.k()),
    keys_only: true,
    sort_target: 'VALUE',
    sort_order: 'DESCEND',
  })
  await c.kv('compact revision 0', 'Compact', { revision: 0 })
  await c.kv('compact negative revision', 'Compact', { revision: -1 })
  await c.call('grant TTL -5', 'Lease', 'LeaseGrant', { TTL: -5 })
  await c.call('revoke lease 0', 'Lease', 'LeaseRevoke', { ID: 0 })
  await c.call('ttl lease 0', 'Lease', 'LeaseTimeToLive', { ID: 0 })
  const g = await c.call('grant', 'Lease', 'LeaseGrant', { TTL: 600 })
  if (g.ok) {
    const l = c.lease('L2')
    await c.kv('txn puts on a lease', 'Txn', {
      success: [opPut(c, 'l1', 'x', { lease: l }), opPut(c, 'l2', 'y', { lease: l })],
    })
    await c.kv('delete one leased key', 'DeleteRange', { key: c.k('l1') })
    await c.call('ttl keys after a delete', 'Lease', 'LeaseTimeToLive', { ID: l, keys: true })
    await c.kv('put the key again, no lease', 'Put', put(c, 'l2', 'z'))
    await c.call('ttl keys after detaching', 'Lease', 'LeaseTimeToLive', { ID: l, keys: true })
    await c.call('revoke a lease with no keys', 'Lease', 'LeaseRevoke', { ID: l })
    await c.kv('range after', 'Range', { key: c.k(), range_end: prefixEnd(c.k()) })
  }
}

async function watchEdges(c: Ctx): Promise<void> {
  await seed(c, [
    ['a', '1'],
    ['a', '2'],
    ['b', '1'],
  ])
  await c.kv('delete a', 'DeleteRange', { key: c.k('a') })
  const w = c.watch('edges')
  w.send({ create_request: { key: c.k('z'), range_end: c.k('a') } })
  await w.expect(1, 'created: key > range_end')
  w.send({
    create_request: {
      key: c.k(),
      range_end: prefixEnd(c.k()),
      start_revision: c.rev(2),
      prev_kv: true,
      progress_notify: true,
    },
  })
  await w.expect(2, 'created + replay from @2 with prev_kv')
  w.send({ progress_request: {} })
  await w.expect(1, 'progress')
  w.send({ cancel_request: { watch_id: 0 } })
  await w.expect(1, 'cancel 0')
  w.send({ cancel_request: { watch_id: 0 } })
  w.send({ progress_request: {} })
  await w.expect(1, 'second cancel is silent; progress')
  w.send({ create_request: { key: c.k('a'), start_revision: c.rev(4), filters: ['NODELETE'] } })
  await w.expect(1, 'created; its only replayed event is filtered')
  await c.kv('put a', 'Put', put(c, 'a', '3'))
  await w.expect(1, 'put a')
  await w.quiet()
  // Two 1 MiB values: a replay larger than the request limit, with and without fragmenting.
  const MiB = 1024 * 1024
  await c.kv('put big1', 'Put', { key: c.k('big1'), value: Buffer.alloc(MiB, '1') })
  await c.kv('put big2', 'Put', { key: c.k('big2'), value: Buffer.alloc(MiB, '2') })
  const sizes = async (label: string, fragment: boolean): Promise<void> => {
    const f = c.watch(label)
    f.send({
      create_request: {
        key: c.k('big'),
        range_end: prefixEnd(c.k('big')),
        start_revision: c.rev(6),
        fragment,
      },
    })
    // Until the last piece (events, not a fragment) has arrived, or 15 s.
    const rest: Msg[] = []
    const done = (): boolean =>
      rest.some((r) => ((r['events'] as Msg[]) ?? []).length > 0 && r['fragment'] !== true)
    for (let waited = 0; !done() && waited < 15_000; waited += 100) {
      await c.sleep(100)
      rest.push(...(await f.take()))
    }
    await c.sleep(200)
    rest.push(...(await f.take()))
    c.record(
      `${label}: responses (created, fragment, events, value bytes)`,
      rest.map((r) => [
        r['created'],
        r['fragment'],
        ((r['events'] as Msg[]) ?? []).length,
        ((r['events'] as Msg[]) ?? []).reduce((n, e) => n + ((e['kv'] as Msg)['value'] as Buffer).length, 0),
      ]),
    )
  }
  await sizes('replay of 2 MiB without fragment', false)
  await sizes('replay of 2 MiB with fragment', true)
}

async function maintenance(c: Ctx): Promise<void> {
  await c.kv('put', 'Put', put(c, 'a', '1'))
  await c.call('alarm list', 'Maintenance', 'Alarm', { action: 'GET' })
  await c.call('alarm deactivate NOSPACE', 'Maintenance', 'Alarm', { action: 'DEACTIVATE', alarm: 'NOSPACE' })
  await c.call('defragment', 'Maintenance', 'Defragment', {})
  const hkv = await c.call('hashkv at current', 'Maintenance', 'HashKV', { revision: 0 })
  await c.call('hashkv future', 'Maintenance', 'HashKV', { revision: c.rev(1000) })
  await c.call('hashkv compacted', 'Maintenance', 'HashKV', { revision: 1 })
  const h = await c.call('hash', 'Maintenance', 'Hash', {})
  if (hkv.ok && h.ok) c.record('hashes non-zero', [hkv.res['hash'] !== 0, h.res['hash'] !== 0])
  await c.call('move leader to an unknown member', 'Maintenance', 'MoveLeader', { targetID: '1' })
  await c.call('member update of an unknown member', 'Cluster', 'MemberUpdate', {
    ID: '1',
    peerURLs: ['http://127.0.0.1:1'],
  })
  await c.call('member remove of an unknown member', 'Cluster', 'MemberRemove', { ID: '1' })
  await c.call('member promote of an unknown member', 'Cluster', 'MemberPromote', { ID: '1' })
  await c.call('member add of an existing peer URL', 'Cluster', 'MemberAdd', {
    peerURLs: [`http://${c.member.host}:2380`],
  })
  await c.call('member add without URLs', 'Cluster', 'MemberAdd', { peerURLs: [] })
  await c.call('member add with a bad URL', 'Cluster', 'MemberAdd', { peerURLs: ['not a url'] })
}

async function gateway(c: Ctx): Promise<void> {
  await c.gw('put', '/v3/kv/put', { key: c.k64('a'), value: b64('1') })
  await c.gw('put prev_kv', '/v3/kv/put', { key: c.k64('a'), value: b64('2'), prev_kv: true })
  await c.gw('put b', '/v3/kv/put', { key: c.k64('b'), value: b64('') })
  await c.gw('range a', '/v3/kv/range', { key: c.k64('a') })
  await c.gw('range prefix', '/v3/kv/range', { key: c.k64(), range_end: prefixEnd(c.k()).toString('base64') })
  await c.gw('range prefix limit 1, revision as string', '/v3/kv/range', {
    key: c.k64(),
    range_end: prefixEnd(c.k()).toString('base64'),
    limit: '1',
    revision: c.rev(2),
  })
  await c.gw('range camelCase, sort as enum name', '/v3/kv/range', {
    key: c.k64(),
    rangeEnd: prefixEnd(c.k()).toString('base64'),
    sortOrder: 'DESCEND',
    sortTarget: 'KEY',
    keysOnly: true,
  })
  await c.gw('range missing', '/v3/kv/range', { key: c.k64('zz') })
  await c.gw('range count_only', '/v3/kv/range', {
    key: c.k64(),
    range_end: prefixEnd(c.k()).toString('base64'),
    count_only: true,
  })
  // a has version 2, b version 1: ascending by version is b, a (keys ascend a, b).
  await c.gw('range with numeric enums (ASCEND by VERSION)', '/v3/kv/range', {
    key: c.k64(),
    range_end: prefixEnd(c.k()).toString('base64'),
    sort_order: 1,
    sort_target: 1,
    keys_only: true,
  })
  await c.gw('txn', '/v3/kv/txn', {
    compare: [{ key: c.k64('a'), target: 'VERSION', result: 'EQUAL', version: '2' }],
    success: [
      { request_put: { key: c.k64('c'), value: b64('3'), prev_kv: true } },
      { request_range: { key: c.k64('a') } },
    ],
    failure: [{ request_delete_range: { key: c.k64('a') } }],
  })
  await c.gw('txn failure branch', '/v3/kv/txn', {
    compare: [{ key: c.k64('a'), target: 'VALUE', result: 'EQUAL', value: b64('nope') }],
    failure: [{ request_delete_range: { key: c.k64('b'), prev_kv: true } }],
  })
  await c.gw('lease grant', '/v3/lease/grant', { TTL: '600' })
  await c.gw('put on lease', '/v3/kv/put', { key: c.k64('l'), value: b64('x'), lease: c.lease('L1') })
  await c.gw('lease ttl with keys', '/v3/lease/timetolive', { ID: c.lease('L1'), keys: true })
  await c.gw('lease leases', '/v3/lease/leases', {})
  await c.gwStream(
    'lease keepalive (stream)',
    '/v3/lease/keepalive',
    `{"ID":"${c.lease('L1')}"}{"ID":"4243"}`,
    2,
  )
  await c.gwStream(
    'watch from @1 (stream)',
    '/v3/watch',
    `{"create_request":{"key":"${c.k64()}","range_end":"${prefixEnd(c.k()).toString('base64')}","start_revision":"${c.rev(1)}","prev_kv":true}}`,
    2,
  )
  await c.gw('lease revoke', '/v3/lease/revoke', { ID: c.lease('L1') })
  await c.gw('range after revoke', '/v3/kv/range', {
    key: c.k64(),
    range_end: prefixEnd(c.k()).toString('base64'),
  })
  await c.gw('delete range', '/v3/kv/deleterange', { key: c.k64('a'), prev_kv: true })
  await c.gw('error: empty key', '/v3/kv/put', { value: b64('x') })
  await c.gw('error: lease not found', '/v3/kv/put', { key: c.k64('x'), value: b64('x'), lease: '1234' })
  await c.gw('error: compacted', '/v3/kv/range', { key: c.k64('a'), revision: '1' })
  await c.gw('error: duplicate key', '/v3/kv/txn', {
    success: [
      { request_put: { key: c.k64('d'), value: b64('1') } },
      { request_put: { key: c.k64('d'), value: b64('2') } },
    ],
  })
  await c.gw('error: compact future', '/v3/kv/compaction', { revision: c.rev(1000) })
  const id = c.explicitLease(0x6a7e_0000_0000_0000n + BigInt(c.prefix.length))
  await c.gw('lease grant with an ID', '/v3/lease/grant', { ID: id, TTL: '600' })
  await c.gw('error: lease exists (FailedPrecondition)', '/v3/lease/grant', { ID: id, TTL: '600' })
  await c.gw('alarm list', '/v3/maintenance/alarm', { action: 'GET' })
  await c.gw('defragment', '/v3/maintenance/defragment', {})
  await c.gw('transfer leadership to an unknown member', '/v3/maintenance/transfer-leadership', {
    targetID: '1',
  })
  await c.gw('member remove of an unknown member', '/v3/cluster/member/remove', { ID: '1' })
  await c.gw('member promote of an unknown member', '/v3/cluster/member/promote', { ID: '1' })
  await c.gw('member add without URLs', '/v3/cluster/member/add', { peerURLs: [] })
  const k = c.k64('c')
  const padded = ['x', 'xx', 'xxx'].map((x) => c.k64(x)).find((b) => b.endsWith('=')) ?? ''
  for (const [what, body] of [
    ['unpadded base64', `{"key":"${padded.replace(/=+$/, '')}"}`],
    ['URL-safe base64', '{"key":"Y-Q_"}'],
    ['quoted bool', `{"key":"${k}","keys_only":"true"}`],
    ['fractional limit', `{"key":"${k}","limit":1.5}`],
    ['limit 1e2', `{"key":"${k}","limit":1e2}`],
    ['limit out of range', `{"key":"${k}","limit":99999999999999999999}`],
    ['unknown enum name', `{"key":"${k}","sort_order":"descend"}`],
    ['body is an array', '[1]'],
    ['camelCase wins over the proto name', `{"key":"${k}","keysOnly":true,"keys_only":false}`],
  ]) {
    await c.gwRaw(`range: ${what}`, '/v3/kv/range', body as string)
  }
  const bigId = c.explicitLease(0x6a7f_0000_0000_0001n + BigInt(c.prefix.length))
  await c.gwRaw(
    'lease grant with an ID beyond 2^53 as a JSON number',
    '/v3/lease/grant',
    `{"TTL":600,"ID":${bigId}}`,
  )
  await c.gw('member list', '/v3/cluster/member/list', {})
  await c.gw('status', '/v3/maintenance/status', {})
  await c.gw('v3beta alias', '/v3beta/kv/range', { key: c.k64('c') })
}

/** A seeded mix of puts, deletes, ranges and txns on a few keys (seed printed by the suite). */
export function randomOps(seed: number): (c: Ctx) => Promise<void> {
  return async (c) => {
    let s = seed >>> 0
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      return s % n
    }
    const key = (): string => `k${rnd(6)}`
    for (let i = 0; i < 60; i++) {
      const op = rnd(10)
      const k = key()
      if (op < 4) await c.kv(`${i} put ${k}`, 'Put', put(c, k, `v${i}`, { prev_kv: rnd(2) === 0 }))
      else if (op < 5) await c.kv(`${i} delete ${k}`, 'DeleteRange', { key: c.k(k), prev_kv: true })
      else if (op < 6) {
        const k2 = key()
        await c.kv(`${i} delete [${k},${k2})`, 'DeleteRange', { key: c.k(k), range_end: c.k(k2) })
      } else if (op < 8) {
        const rev = rnd(3) === 0 ? c.rev(rnd(i + 1)) : 0
        await c.kv(`${i} range from ${k} rev ${rev === 0 ? 'now' : 'old'}`, 'Range', {
          key: c.k(k),
          range_end: rnd(2) === 0 ? prefixEnd(c.k()) : undefined,
          revision: rev,
          limit: rnd(3),
          sort_order: SORT_ORDERS[rnd(3)],
          sort_target: SORT_TARGETS[rnd(5)],
        })
      } else {
        const k2 = key()
        await c.kv(`${i} txn on ${k}`, 'Txn', {
          compare: [
            cmp(c, k, 'VERSION', ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'][rnd(4)] ?? 'EQUAL', {
              version: rnd(3),
            }),
          ],
          success: [opPut(c, k, `t${i}`, { prev_kv: true }), opRange(c, k2)],
          failure: [
            opDel(c, k2, { prev_kv: true }),
            opRange(c, '', { range_end: prefixEnd(c.k()), count_only: true }),
          ],
        })
      }
    }
    const w = c.watch('history of everything')
    w.send({
      create_request: { key: c.k(), range_end: prefixEnd(c.k()), start_revision: c.rev(1), prev_kv: true },
    })
    await w.expect(2, 'created + replay')
    await w.quiet()
  }
}

export function scenarios(seed: number): Scenario[] {
  return [
    { name: 'kv-basics', target: 'leader', run: kvBasics },
    { name: 'kv-basics-follower', target: 'follower', run: kvBasics },
    { name: 'range-sort-filters', target: 'leader', run: rangeSortFilters },
    { name: 'put-options', target: 'leader', run: putOptions },
    { name: 'delete-range', target: 'follower', run: deleteRange },
    { name: 'txn-compares', target: 'leader', run: txnCompares },
    { name: 'txn-errors', target: 'leader', run: txnErrors },
    { name: 'txn-errors-follower', target: 'follower', run: txnErrors },
    { name: 'request-size', target: 'leader', run: requestSize },
    { name: 'leases', target: 'leader', run: leases },
    { name: 'leases-follower', target: 'follower', run: leases },
    { name: 'lease-expiry', target: 'leader', run: leaseExpiry },
    { name: 'watch', target: 'leader', run: watchBasics },
    { name: 'watch-follower', target: 'follower', run: watchBasics },
    { name: 'watch-filters', target: 'leader', run: watchFilters },
    { name: 'watch-edges', target: 'leader', run: watchEdges },
    { name: 'kv-edges', target: 'leader', run: kvEdges },
    { name: 'compaction', target: 'leader', run: compaction },
    { name: 'cluster-status', target: 'leader', run: clusterAndStatus },
    { name: 'cluster-status-follower', target: 'follower', run: clusterAndStatus },
    { name: 'maintenance', target: 'leader', run: maintenance },
    { name: 'maintenance-follower', target: 'follower', run: maintenance },
    { name: 'gateway', target: 'leader', run: gateway },
    { name: 'gateway-follower', target: 'follower', run: gateway },
    { name: `random-ops-seed-${seed}`, target: 'leader', run: randomOps(seed) },
  ]
}
