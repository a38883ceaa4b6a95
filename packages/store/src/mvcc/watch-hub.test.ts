import { describe, expect, it } from 'vitest'
import { bytesToKey, prefixRangeEnd } from './bytes.js'
import { MvccStore } from './kv-store.js'
import type { Result } from './types.js'
import { WATCH_BATCH_MAX_REVS, type WatchCreateRequest, WatchHub, type WatchResponse } from './watch-hub.js'

const b = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'))

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error
  return r.response
}

function setup() {
  const store = new MvccStore({ leaseExists: () => true })
  const hub = new WatchHub(store)
  return { store, hub }
}

function collect(hub: WatchHub, req: WatchCreateRequest, accept: () => boolean = () => true) {
  const got: WatchResponse[] = []
  const id = unwrap(
    hub.watch(req, (r) => {
      if (!accept()) return false
      got.push(r)
      return true
    }),
  ).watchId
  return { id, got }
}

/** "PUT k@rev" / "DELETE k@rev" per event, one string per response. */
function summary(rs: WatchResponse[]): string[] {
  return rs
    .filter((r) => r.events.length > 0)
    .map((r) => r.events.map((e) => `${e.type} ${bytesToKey(e.kv.key)}@${e.kv.modRevision}`).join(','))
}

describe('WatchHub', () => {
  it('starts with a created response and, from revision 0, only future events', () => {
    const { store, hub } = setup()
    unwrap(store.put({ key: b('a'), value: b('1') }))
    const w = collect(hub, { key: b('a') })
    expect(w.got[0]).toEqual({ watchId: w.id, header: { revision: 2 }, created: true, events: [] })
    unwrap(store.put({ key: b('a'), value: b('2') }))
    unwrap(store.put({ key: b('b'), value: b('2') }))
    unwrap(store.deleteRange({ key: b('a') }))
    expect(summary(w.got)).toEqual(['PUT a@3', 'DELETE a@5'])
    expect(w.got[2]?.events[0]?.kv).toEqual({
      key: b('a'),
      createRevision: 0,
      modRevision: 5,
      version: 0,
      value: new Uint8Array(0),
      lease: 0n,
    })
  })

  it('delivers a txn atomically: all its events in one response', () => {
    const { store, hub } = setup()
    const w = collect(hub, { key: b('k'), rangeEnd: prefixRangeEnd(b('k')) })
    unwrap(
      store.txn({
        success: [
          { op: 'put', request: { key: b('k1'), value: b('x') } },
          { op: 'put', request: { key: b('k2'), value: b('y') } },
          { op: 'deleteRange', request: { key: b('k0') } },
        ],
      }),
    )
    expect(summary(w.got)).toEqual(['PUT k1@2,PUT k2@2'])
    expect(w.got[1]?.header.revision).toBe(2)
  })

  it('replays retained history from the start revision in one response, then continues live, with no gap or duplicate', () => {
    const { store, hub } = setup()
    for (let i = 0; i < 5; i++) unwrap(store.put({ key: b(i % 2 ? 'a' : 'b'), value: b(String(i)) }))
    const w = collect(hub, { key: b('a'), rangeEnd: Uint8Array.of(0), startRevision: 3 })
    // As etcd's syncWatchers: the whole replay in one response, header = the current revision.
    expect(summary(w.got)).toEqual(['PUT a@3,PUT b@4,PUT a@5,PUT b@6'])
    expect(w.got[1]?.header.revision).toBe(6)
    unwrap(store.put({ key: b('a'), value: b('z') }))
    expect(summary(w.got)).toEqual(['PUT a@3,PUT b@4,PUT a@5,PUT b@6', 'PUT a@7'])
  })

  it(`replays at most ${WATCH_BATCH_MAX_REVS} revisions per response, never splitting a txn`, () => {
    const { store, hub } = setup()
    for (let i = 0; i < WATCH_BATCH_MAX_REVS - 1; i++) unwrap(store.put({ key: b('a'), value: b(String(i)) }))
    const twoKeys = (v: string) => ({
      success: [
        { op: 'put' as const, request: { key: b('a'), value: b(v) } },
        { op: 'put' as const, request: { key: b('b'), value: b(v) } },
      ],
    })
    unwrap(store.txn(twoKeys('t1'))) // revision WATCH_BATCH_MAX_REVS + 1: the 1000th replayed
    unwrap(store.txn(twoKeys('t2')))
    unwrap(store.put({ key: b('a'), value: b('last') }))
    const w = collect(hub, { key: b('a'), rangeEnd: b('c'), startRevision: 2 })
    const replies = w.got.filter((r) => r.events.length > 0)
    expect(replies.map((r) => r.events.length)).toEqual([WATCH_BATCH_MAX_REVS + 1, 3])
    expect(replies[0]?.events.at(-1)?.kv.modRevision).toBe(WATCH_BATCH_MAX_REVS + 1)
    expect(replies.map((r) => r.header.revision)).toEqual([store.revision, store.revision])
  })

  it('retries a refused replay batch whole, from its first revision', () => {
    const { store, hub } = setup()
    for (const k of ['a1', 'a2', 'a3']) unwrap(store.put({ key: b(k) }))
    let open = false
    const w = collect(hub, { key: b('a'), rangeEnd: b('b'), startRevision: 2 }, () => open)
    expect(hub.stats.victims).toBe(1)
    open = true
    hub.retryVictims()
    expect(summary(w.got)).toEqual(['PUT a1@2,PUT a2@3,PUT a3@4'])
  })

  it('watches single keys, ranges, prefixes and from-key', () => {
    const { store, hub } = setup()
    const single = collect(hub, { key: b('a/1') })
    const range = collect(hub, { key: b('a/1'), rangeEnd: b('a/3') })
    const prefix = collect(hub, { key: b('a/'), rangeEnd: prefixRangeEnd(b('a/')) })
    const fromKey = collect(hub, { key: b('a/2'), rangeEnd: Uint8Array.of(0) })
    for (const k of ['a', 'a/1', 'a/2', 'a/3', 'b']) unwrap(store.put({ key: b(k) }))
    expect(summary(single.got)).toEqual(['PUT a/1@3'])
    expect(summary(range.got)).toEqual(['PUT a/1@3', 'PUT a/2@4'])
    expect(summary(prefix.got)).toEqual(['PUT a/1@3', 'PUT a/2@4', 'PUT a/3@5'])
    expect(summary(fromKey.got)).toEqual(['PUT a/2@4', 'PUT a/3@5', 'PUT b@6'])
  })

  it('adds prev_kv (the key at mod_revision - 1) and applies NOPUT / NODELETE filters', () => {
    const { store, hub } = setup()
    const prev = collect(hub, { key: b('a'), prevKv: true })
    const noPut = collect(hub, { key: b('a'), filters: ['NOPUT'] })
    const noDelete = collect(hub, { key: b('a'), filters: ['NODELETE'] })
    unwrap(store.put({ key: b('a'), value: b('1') }))
    unwrap(store.put({ key: b('a'), value: b('2') }))
    unwrap(store.deleteRange({ key: b('a') }))
    const evs = prev.got.flatMap((r) => r.events)
    expect(evs[0]?.prevKv).toBeUndefined()
    expect(evs[1]?.prevKv?.value).toEqual(b('1'))
    expect(evs[2]?.prevKv?.value).toEqual(b('2'))
    expect(summary(noPut.got)).toEqual(['DELETE a@4'])
    expect(summary(noDelete.got)).toEqual(['PUT a@2', 'PUT a@3'])
    expect(noPut.got.flatMap((r) => r.events)[0]?.prevKv).toBeUndefined()
  })

  it('gives no prev_kv to a create event, even when the same txn deleted the key first (as etcd)', () => {
    const { store, hub } = setup()
    unwrap(store.put({ key: b('a'), value: b('1') }))
    const w = collect(hub, { key: b('a'), prevKv: true })
    unwrap(
      store.txn({
        success: [
          { op: 'deleteRange', request: { key: b('a'), rangeEnd: Uint8Array.of(0) } },
          { op: 'put', request: { key: b('a'), value: b('2') } },
        ],
      }),
    )
    const [del, put] = w.got[1]?.events ?? []
    expect(del?.prevKv?.value).toEqual(b('1'))
    expect(put?.kv).toMatchObject({ createRevision: 3, modRevision: 3, version: 1 })
    expect(put?.prevKv).toBeUndefined()
  })

  it('cancels a watch from a compacted revision with compact_revision', () => {
    const { store, hub } = setup()
    for (let i = 0; i < 4; i++) unwrap(store.put({ key: b('a'), value: b(String(i)) }))
    unwrap(store.compact(4))
    const w = collect(hub, { key: b('a'), startRevision: 3 })
    expect(w.got).toEqual([
      { watchId: w.id, header: { revision: 5 }, created: true, events: [] },
      // etcd's compacted response carries no revision (header revision 0).
      { watchId: w.id, header: { revision: 0 }, canceled: true, compactRevision: 4, events: [] },
    ])
    expect(hub.stats.watchers).toBe(0)
    const ok = collect(hub, { key: b('a'), startRevision: 4 })
    expect(summary(ok.got)).toEqual(['PUT a@4,PUT a@5'])
  })

  it('assigns ids, honours requested ones, rejects duplicates, and stops after cancel', () => {
    const { store, hub } = setup()
    const w0 = collect(hub, { key: b('a') })
    const w7 = collect(hub, { key: b('a'), watchId: 7 })
    expect([w0.id, w7.id]).toEqual([0, 7])
    const dup = hub.watch({ key: b('a'), watchId: 7 }, () => true)
    expect(!dup.ok && dup.error.code).toBe('MVCC_ERR_WATCH_ID_EXISTS')
    expect(hub.cancel(7)).toBe(true)
    expect(hub.cancel(7)).toBe(false)
    unwrap(store.put({ key: b('a') }))
    expect(summary(w7.got)).toEqual([])
    expect(summary(w0.got)).toEqual(['PUT a@2'])
  })

  it('accepts an empty key as etcd 3.4 does: alone it matches nothing, with range end [0] every key', () => {
    const { store, hub } = setup()
    const empty = collect(hub, { key: new Uint8Array(0) })
    const all = collect(hub, { key: new Uint8Array(0), rangeEnd: Uint8Array.of(0) })
    unwrap(store.put({ key: b('a') }))
    unwrap(store.put({ key: b('\x00') }))
    expect(empty.got).toHaveLength(1)
    expect(summary(all.got)).toEqual(['PUT a@2', 'PUT \x00@3'])
  })

  it('refuses a key at or after its range end as etcd does (mvcc: watcher range is empty)', () => {
    const { hub } = setup()
    for (const [key, rangeEnd] of [
      ['b', 'a'],
      ['a', 'a'],
    ] as const) {
      const r = hub.watch({ key: b(key), rangeEnd: b(rangeEnd) }, () => true)
      expect(!r.ok && r.error.message).toBe('mvcc: watcher range is empty')
    }
    expect(hub.watch({ key: b('a'), rangeEnd: b('a\x00') }, () => true).ok).toBe(true)
    expect(hub.watch({ key: b('z'), rangeEnd: Uint8Array.of(0) }, () => true).ok).toBe(true)
    expect(hub.watch({ key: b('z'), rangeEnd: new Uint8Array(0) }, () => true).ok).toBe(true)
    expect(hub.stats.watchers).toBe(3)
  })

  it('answers progress requests for synced watchers with the current revision', () => {
    const { store, hub } = setup()
    const w = collect(hub, { key: b('a'), progressNotify: true })
    const other = collect(hub, { key: b('b') })
    unwrap(store.put({ key: b('zzz') }))
    expect(hub.requestProgress(w.id)).toBe(true)
    expect(w.got.at(-1)).toEqual({ watchId: w.id, header: { revision: 2 }, events: [] })
    expect(hub.notifyProgress()).toBe(1)
    expect(other.got).toHaveLength(1)
    expect(hub.requestProgress(99)).toBe(false)
  })

  it('turns a refusing consumer into a victim and resumes it from history without loss', () => {
    const { store, hub } = setup()
    let open = true
    const w = collect(hub, { key: b('a'), rangeEnd: b('b') }, () => open)
    unwrap(store.put({ key: b('a1') }))
    open = false
    unwrap(store.put({ key: b('a2') }))
    unwrap(store.put({ key: b('a3') }))
    expect(hub.stats.victims).toBe(1)
    expect(hub.requestProgress(w.id)).toBe(false)
    open = true
    hub.retryVictims()
    expect(hub.stats.victims).toBe(0)
    unwrap(store.put({ key: b('a4') }))
    // The missed revisions come back as one replay response (etcd's victim batch), then live again.
    expect(summary(w.got)).toEqual(['PUT a1@2', 'PUT a2@3,PUT a3@4', 'PUT a4@5'])
  })

  it('cancels a victim whose missed revisions were compacted meanwhile', () => {
    const { store, hub } = setup()
    let open = false
    const w = collect(hub, { key: b('a') }, () => open)
    unwrap(store.put({ key: b('a') }))
    unwrap(store.put({ key: b('a') }))
    unwrap(store.compact(3))
    open = true
    hub.resume(w.id)
    expect(w.got.at(-1)).toMatchObject({ canceled: true, compactRevision: 3 })
    expect(hub.stats.watchers).toBe(0)
  })

  it('routes a put past 10,000 unrelated exact-key and range watchers examining O(log n) of them', () => {
    const { store, hub } = setup()
    for (let i = 0; i < 10_000; i++) hub.watch({ key: b(`key-${i}`) }, () => true)
    for (let i = 0; i < 10_000; i++) {
      const start = `r-${String(i).padStart(5, '0')}`
      hub.watch({ key: b(start), rangeEnd: b(`${start}~`) }, () => true)
    }
    const hit = collect(hub, { key: b('r-05000/x') })
    const before = hub.stats.watchersExamined
    unwrap(store.put({ key: b('unrelated') }))
    const unrelated = hub.stats.watchersExamined - before
    unwrap(store.put({ key: b('r-05000/x') }))
    const related = hub.stats.watchersExamined - before - unrelated
    expect(unrelated).toBeLessThan(100)
    expect(related).toBeLessThan(100)
    expect(summary(hit.got)).toEqual(['PUT r-05000/x@3'])
  })
})
