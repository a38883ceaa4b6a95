import { randomInt } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { MvccStore } from './kv-store.js'
import {
  ALL_KEYS,
  avoidEtcdPanic,
  b64,
  bin,
  call,
  type Etcd,
  type EtcdWatch,
  encDelete,
  encPut,
  encTxn,
  Gen,
  GRANTED_LEASE,
  type Json,
  REGRESSION_SEEDS,
  renderKv,
  renderResult,
  setIf,
  show,
  startEtcd,
  stopAllEtcds,
  stopEtcd,
  unwrap,
} from './testing/etcd-differential.js'
import type { MvccEvent } from './types.js'
import { WATCH_BATCH_MAX_REVS, type WatchCreateRequest, WatchHub, type WatchResponse } from './watch-hub.js'

/** Opens etcd's streaming `/v3/watch` (newline-delimited `{"result": WatchResponse}`), waits for `created`. */
async function openEtcdWatch(etcd: Etcd, req: WatchCreateRequest): Promise<EtcdWatch> {
  const create: Json = { key: b64(req.key) }
  if (req.rangeEnd !== undefined) create['range_end'] = b64(req.rangeEnd)
  setIf(create, 'start_revision', req.startRevision?.toString(), '0')
  setIf(create, 'prev_kv', req.prevKv, false)
  if (req.filters?.length) create['filters'] = req.filters
  const ac = new AbortController()
  const res = await fetch(`${etcd.url}/v3/watch`, {
    method: 'POST',
    body: JSON.stringify({ create_request: create }),
    signal: ac.signal,
  })
  const results: Json[] = []
  let wake: () => void = () => {}
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  void (async () => {
    let buf = ''
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        buf += Buffer.from(value).toString('utf8')
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl).trim()
          buf = buf.slice(nl + 1)
          if (line !== '') results.push((JSON.parse(line) as { result: Json }).result)
          wake()
        }
      }
    } catch {
      // aborted
    }
  })()
  const w: EtcdWatch = {
    results,
    waitFor: async (pred) => {
      const deadline = Date.now() + 5000
      while (!pred(results)) {
        if (Date.now() > deadline) return
        await new Promise<void>((r) => {
          wake = r
          setTimeout(r, 50)
        })
      }
    },
    close: () => ac.abort(),
  }
  await w.waitFor((rs) => rs.some((r) => r['created'] === true))
  return w
}

function renderEvent(ev: MvccEvent): Json {
  const o: Json = { kv: renderKv(ev.kv) }
  if (ev.type === 'DELETE') o['type'] = 'DELETE'
  if (ev.prevKv !== undefined) o['prev_kv'] = renderKv(ev.prevKv)
  return o
}

const etcdEvents = (rs: Json[]): Json[] => rs.flatMap((r) => (r['events'] as Json[] | undefined) ?? [])
const endOf = (rs: Json[]): Json | undefined =>
  rs.find((r) => r['canceled'] === true || r['compact_revision'])

async function runWatchSeed(seed: number): Promise<void> {
  const etcd = await startEtcd()
  const open: EtcdWatch[] = []
  try {
    await call(etcd, '/v3/lease/grant', { TTL: '3600', ID: GRANTED_LEASE.toString() })
    const store = new MvccStore({ leaseExists: (id) => id === GRANTED_LEASE })
    const hub = new WatchHub(store)
    const gen = new Gen(seed, store)
    const shapes: WatchCreateRequest[] = [
      { ...ALL_KEYS, prevKv: true },
      { key: bin('a/'), rangeEnd: bin('a0') },
      { key: bin('a'), filters: ['NOPUT'], prevKv: true },
      { key: bin('b'), rangeEnd: bin('d'), filters: ['NODELETE'] },
      { key: bin('ab'), rangeEnd: Uint8Array.of(0), prevKv: true },
    ]
    const ours = (req: WatchCreateRequest): WatchResponse[] => {
      const got: WatchResponse[] = []
      hub.watch(req, (r) => got.push(r) > 0)
      return got
    }
    const compare = async (req: WatchCreateRequest, w: EtcdWatch, got: WatchResponse[]) => {
      // Live responses hold one revision; replays batch up to WATCH_BATCH_MAX_REVS (as etcd's).
      for (const r of got) {
        expect(new Set(r.events.map((e) => e.kv.modRevision)).size).toBeLessThanOrEqual(WATCH_BATCH_MAX_REVS)
      }
      const want = got.flatMap((r) => r.events.map(renderEvent))
      const end = got.find((r) => r.canceled)
      await w.waitFor(
        (rs) => etcdEvents(rs).length >= want.length && (end === undefined || endOf(rs) !== undefined),
      )
      const theirs = etcdEvents(w.results)
      const at = want.findIndex((e, i) => !isDeepStrictEqual(e, theirs[i]))
      if (at >= 0) {
        console.error(
          `watch ${show(req)} differs at event ${at}: ours ${JSON.stringify(want.slice(Math.max(0, at - 2), at + 2))} etcd ${JSON.stringify(theirs.slice(Math.max(0, at - 2), at + 2))}`,
        )
      }
      expect({ req: show(req), events: theirs }).toEqual({ req: show(req), events: want })
      const etcdEnd = endOf(w.results)
      expect(etcdEnd && { compact: etcdEnd['compact_revision'], canceled: etcdEnd['canceled'] }).toEqual(
        end && { compact: String(end.compactRevision), canceled: true },
      )
    }
    const writes = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const p = gen.rnd()
        if (p < 0.5) {
          const r = gen.put()
          expect(renderResult('put', store.put(r))).toEqual(await call(etcd, '/v3/kv/put', encPut(r)))
        } else if (p < 0.65) {
          const r = gen.deleteRange()
          expect(renderResult('deleteRange', store.deleteRange(r))).toEqual(
            await call(etcd, '/v3/kv/deleterange', encDelete(r)),
          )
        } else {
          const r = avoidEtcdPanic(gen.txn())
          expect(renderResult('txn', store.txn(r))).toEqual(await call(etcd, '/v3/kv/txn', encTxn(r)))
        }
      }
    }
    // Live watchers from "now" (start revision 0), then writes.
    const live = await Promise.all(shapes.map((req) => openEtcdWatch(etcd, req)))
    open.push(...live)
    const liveOurs = shapes.map(ours)
    await writes(150)
    for (const [i, req] of shapes.entries())
      await compare(req, live[i] as EtcdWatch, liveOurs[i] as WatchResponse[])
    // Replay from a past revision, then compaction: from below it (canceled) and from exactly it.
    const compactAt = 2 + gen.int(store.revision - 2)
    const replays: WatchCreateRequest[] = shapes.map((req) => ({
      ...req,
      startRevision: 2 + gen.int(store.revision),
    }))
    await call(etcd, '/v3/kv/compaction', { revision: String(compactAt), physical: true })
    unwrap(store.compact(compactAt))
    replays.push(
      { ...ALL_KEYS, startRevision: compactAt - 1 },
      { ...ALL_KEYS, startRevision: compactAt, prevKv: true },
    )
    for (const req of replays) {
      const w = await openEtcdWatch(etcd, req)
      open.push(w)
      await compare(req, w, ours(req))
    }
  } finally {
    for (const w of open) w.close()
    await stopEtcd(etcd)
  }
}

const envSeed = process.env['MVCC_SEED']
const seeds = envSeed !== undefined ? [Number(envSeed)] : [...REGRESSION_SEEDS, randomInt(1, 2 ** 31)]

afterAll(stopAllEtcds)

describe('WatchHub against etcd 3.4 (JSON gateway watch)', () => {
  for (const seed of seeds) {
    it(`matches etcd watches for MVCC_SEED=${seed}`, { timeout: 20_000 }, async () => {
      console.log(`MVCC_SEED=${seed}`)
      await runWatchSeed(seed)
    })
  }
})
