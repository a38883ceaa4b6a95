import { randomInt } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { MvccStore } from './kv-store.js'
import {
  avoidEtcdPanic,
  call,
  encDelete,
  encPut,
  encRange,
  encTxn,
  Gen,
  GRANTED_LEASE,
  type Json,
  OPS_PER_SEED,
  REGRESSION_SEEDS,
  renderResult,
  show,
  startEtcd,
  stopAllEtcds,
  stopEtcd,
} from './testing/etcd-differential.js'
import type { ResponseOp } from './types.js'

// ---------------------------------------------------------------- the differential run

async function runSeed(seed: number): Promise<void> {
  const etcd = await startEtcd()
  let lastRequest: unknown
  try {
    const granted = await call(etcd, '/v3/lease/grant', { TTL: '3600', ID: GRANTED_LEASE.toString() })
    expect(granted['ID']).toBe(GRANTED_LEASE.toString())
    const store = new MvccStore({ leaseExists: (id) => id === GRANTED_LEASE })
    const gen = new Gen(seed, store)
    const counts: Record<string, number> = {}
    for (let step = 0; step < OPS_PER_SEED; step++) {
      const p = gen.rnd()
      let kind: ResponseOp['op'] | 'compact'
      let want: Json
      let got: Json
      let request: unknown
      if (p < 0.3) {
        const r = gen.range()
        kind = 'range'
        request = r
        want = await call(etcd, '/v3/kv/range', encRange(r))
        got = renderResult('range', store.range(r))
      } else if (p < 0.6) {
        const r = gen.put()
        kind = 'put'
        request = r
        want = await call(etcd, '/v3/kv/put', encPut(r))
        got = renderResult('put', store.put(r))
      } else if (p < 0.7) {
        const r = gen.deleteRange()
        kind = 'deleteRange'
        request = r
        want = await call(etcd, '/v3/kv/deleterange', encDelete(r))
        got = renderResult('deleteRange', store.deleteRange(r))
      } else if (p < 0.98) {
        const r = avoidEtcdPanic(gen.txn())
        kind = 'txn'
        request = r
        lastRequest = r
        want = await call(etcd, '/v3/kv/txn', encTxn(r))
        got = renderResult('txn', store.txn(r))
      } else {
        const rev = gen.rev()
        kind = 'compact'
        request = { revision: rev }
        want = await call(etcd, '/v3/kv/compaction', { revision: String(rev), physical: true })
        got = renderResult('compact', store.compact(rev))
      }
      const outcome = 'error' in got ? `${kind}:error` : kind
      counts[outcome] = (counts[outcome] ?? 0) + 1
      try {
        expect(got).toEqual(want)
      } catch (err) {
        console.error(
          `MVCC_SEED=${seed} step ${step} ${kind} diverged from etcd\nrequest: ${JSON.stringify(
            request,
            (_k, v) =>
              typeof v === 'bigint'
                ? `${v}n`
                : v instanceof Uint8Array
                  ? `bytes(${Buffer.from(v).toString('latin1')})`
                  : v,
          )}`,
        )
        throw err
      }
    }
    // Every kind of outcome must have been exercised, or the test proves little.
    for (const k of [
      'range',
      'put',
      'deleteRange',
      'txn',
      'compact',
      'put:error',
      'txn:error',
      'range:error',
    ]) {
      expect(counts[k] ?? 0, `outcome ${k} in ${JSON.stringify(counts)}`).toBeGreaterThan(0)
    }
  } catch (err) {
    console.error(`last txn: ${show(lastRequest)}`)
    throw err
  } finally {
    await stopEtcd(etcd)
  }
}

const envSeed = process.env['MVCC_SEED']
const seeds = envSeed !== undefined ? [Number(envSeed)] : [...REGRESSION_SEEDS, randomInt(1, 2 ** 31)]

afterAll(stopAllEtcds)

describe('MvccStore against etcd 3.4 (JSON gateway)', () => {
  for (const seed of seeds) {
    it(`matches etcd for MVCC_SEED=${seed}`, { timeout: 20_000 }, async () => {
      console.log(`MVCC_SEED=${seed}`)
      await runSeed(seed)
    })
  }
})
