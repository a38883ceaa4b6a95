/**
 * The storage contract: ONE suite every backend setup runs unchanged (memory; etcd3 over hakube-store;
 * etcd3 over a real etcd 3.4). Goal: pin down every operation and error of the Storage interface as
 * the api-server relies on it. Method: each test works under its own key prefix on one shared
 * storage, so tests are independent without restarting clusters; setups with real clusters add the
 * failover tests in their own files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isStorageError, type Storage, StorageError, type WatchEvent } from '../src/index.js'

export interface ContractSetup {
  /** The storage under test (created once, closed by the suite). */
  storage: Storage
  /** A second, independent client of the same store (for close() and cross-client tests). */
  newStorage(): Storage
  /** Whether a tiny timeout can make calls time out (false for the synchronous memory backend). */
  canTimeout: boolean
}

let seq = 0
/** A fresh resource name per test: `/registry/<res>/...`. */
export function freshResource(tag: string): string {
  seq++
  return `t${Date.now().toString(36)}${seq}${tag}`
}

export async function expectError(p: Promise<unknown>, code: StorageError['code']): Promise<StorageError> {
  try {
    await p
  } catch (err) {
    if (!isStorageError(err)) throw err
    expect(err.code, err.message).toBe(code)
    return err
  }
  throw new Error(`expected a ${code} StorageError, got success`)
}

/** Collects watch events; `until(n)` waits for at least n. */
export class EventLog<T = unknown> {
  readonly events: WatchEvent<T>[] = []
  readonly handler = (ev: WatchEvent<T>): void => {
    this.events.push(ev)
  }

  async until(n: number, timeoutMs = 20_000): Promise<WatchEvent<T>[]> {
    const deadline = Date.now() + timeoutMs
    while (this.events.length < n) {
      if (Date.now() > deadline) {
        throw new Error(`got ${this.events.length} of ${n} events: ${JSON.stringify(this.summary())}`)
      }
      await new Promise((r) => setTimeout(r, 20))
    }
    return this.events
  }

  summary(): string[] {
    return this.events.map((e) =>
      e.type === 'ERROR'
        ? `ERROR ${e.error.code}`
        : e.type === 'BOOKMARK'
          ? `BOOKMARK ${e.revision}`
          : `${e.type} ${e.object.key}@${e.revision}`,
    )
  }
}

interface Pod {
  name: string
  n: number
}

export function storageContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`storage contract: ${name}`, () => {
    let s: Storage
    let ctx: ContractSetup

    beforeAll(async () => {
      ctx = await setup()
      s = ctx.storage
    }, 120_000)

    afterAll(async () => {
      await s?.close()
    })

    it('create then get returns the object with its revisions; create of an existing key is AlreadyExists', async () => {
      const key = `/registry/${freshResource('pods')}/default/a`
      const before = await s.currentRevision()
      const created = await s.create<Pod>(key, { name: 'a', n: 1 })
      expect(created).toEqual({
        key,
        value: { name: 'a', n: 1 },
        modRevision: before + 1,
        createRevision: before + 1,
      })
      expect(await s.get<Pod>(key)).toEqual(created)
      expect(await s.get<Pod>(key, { consistent: false })).toEqual(created)
      expect(await s.currentRevision()).toBe(before + 1)
      const err = await expectError(s.create(key, { name: 'a', n: 2 }), 'AlreadyExists')
      expect(err.key).toBe(key)
      expect((await s.get<Pod>(key)).value.n).toBe(1)
      expect(await s.currentRevision()).toBe(before + 1)
    })

    it('get of a missing key is NotFound with the key and the store revision', async () => {
      const key = `/registry/${freshResource('pods')}/default/missing`
      const rev = await s.currentRevision()
      const err = await expectError(s.get(key), 'NotFound')
      expect(err.key).toBe(key)
      expect(err.revision).toBeGreaterThanOrEqual(rev)
    })

    it('get of a missing key that sorts before stored keys is NotFound, not the next key', async () => {
      // etcd 3.4 reads an empty-but-present range_end as "from here on": a client that always sends
      // one gets the following key back instead of nothing.
      const res = freshResource('namespaces')
      await s.create(`/registry/${res}/b-present`, { n: 1 })
      await expectError(s.get(`/registry/${res}/a-missing`), 'NotFound')
      await expectError(s.delete(`/registry/${res}/a-missing`), 'NotFound')
      await expectError(s.update(`/registry/${res}/a-missing`, { n: 2 }, 1), 'NotFound')
      expect((await s.get<{ n: number }>(`/registry/${res}/b-present`)).value.n).toBe(1)
    })

    it('get at an exact revision sees that revision; a future revision is refused', async () => {
      const key = `/registry/${freshResource('cm')}/ns/x`
      const v1 = await s.create(key, { v: 1 })
      const v2 = await s.update(key, { v: 2 }, v1.modRevision)
      expect((await s.get(key, { revision: v1.modRevision })).value).toEqual({ v: 1 })
      expect((await s.get(key, { revision: v2.modRevision })).value).toEqual({ v: 2 })
      await expectError(s.get(key, { revision: v1.modRevision - 1 }), 'NotFound')
      await expectError(s.get(key, { revision: v2.modRevision + 1_000_000 }), 'Timeout')
    })

    it('update guarded by the mod revision: success bumps it; stale is Conflict; missing is NotFound', async () => {
      const key = `/registry/${freshResource('deployments')}/ns/d`
      const c = await s.create(key, { v: 1 })
      const u = await s.update(key, { v: 2 }, c.modRevision)
      expect(u.modRevision).toBeGreaterThan(c.modRevision)
      expect(u.createRevision).toBe(c.modRevision)
      expect(u.value).toEqual({ v: 2 })
      expect(await s.get(key)).toEqual(u)
      const conflict = await expectError(s.update(key, { v: 3 }, c.modRevision), 'Conflict')
      expect(conflict.key).toBe(key)
      expect(conflict.revision).toBe(u.modRevision)
      expect((await s.get(key)).value).toEqual({ v: 2 })
      await expectError(s.update(`${key}-missing`, { v: 1 }, c.modRevision), 'NotFound')
    })

    it('delete returns the deleted object; preconditions give Conflict; missing is NotFound', async () => {
      const key = `/registry/${freshResource('secrets')}/ns/s`
      const c = await s.create(key, { v: 1 })
      const u = await s.update(key, { v: 2 }, c.modRevision)
      const conflict = await expectError(s.delete(key, { expectedModRevision: c.modRevision }), 'Conflict')
      expect(conflict.revision).toBe(u.modRevision)
      const deleted = await s.delete(key, { expectedModRevision: u.modRevision })
      expect(deleted).toEqual(u)
      await expectError(s.get(key), 'NotFound')
      await expectError(s.delete(key), 'NotFound')
      await expectError(s.delete(key, { expectedModRevision: u.modRevision }), 'NotFound')
      // Unconditional delete; re-create gets a new createRevision.
      const again = await s.create(key, { v: 3 })
      expect(again.createRevision).toBeGreaterThan(u.modRevision)
      expect((await s.delete(key)).value).toEqual({ v: 3 })
    })

    it('bad input is InvalidObject and never reaches the store', async () => {
      const key = `/registry/${freshResource('pods')}/ns/bad`
      const circular: Record<string, unknown> = {}
      circular['self'] = circular
      const rev = await s.currentRevision()
      await expectError(s.create(key, circular), 'InvalidObject')
      await expectError(s.create(key, undefined), 'InvalidObject')
      await expectError(s.create(key, { n: 1n }), 'InvalidObject')
      await expectError(s.create('', { a: 1 }), 'InvalidObject')
      await expectError(s.update(key, { a: 1 }, 0), 'InvalidObject')
      await expectError(s.list({ prefix: '' }), 'InvalidObject')
      await expectError(s.list({ prefix: '/registry/a/', continueAfter: '/registry/b/x' }), 'InvalidObject')
      await expectError(
        s.watch({ afterRevision: 0 }, () => {}),
        'InvalidObject',
      )
      await expectError(
        s.watch({ key, prefix: key, afterRevision: 0 }, () => {}),
        'InvalidObject',
      )
      expect(await s.currentRevision()).toBe(rev)
    })

    it('list: prefix scoping (namespaced and cluster-wide), key order, count', async () => {
      const res = freshResource('pods')
      const keys = [`/registry/${res}/a/p1`, `/registry/${res}/a/p2`, `/registry/${res}/b/p1`]
      for (const k of [...keys].reverse()) await s.create(k, { k })
      // A sibling resource sharing the name as a prefix must not leak into the list.
      await s.create(`/registry/${res}x/a/p1`, { k: 'other' })
      const all = await s.list({ prefix: `/registry/${res}/` })
      expect(all.items.map((i) => i.key)).toEqual(keys)
      expect(all.continueAfter).toBeUndefined()
      expect(all.remainingItemCount).toBeUndefined()
      expect(all.revision).toBe(await s.currentRevision())
      const ns = await s.list({ prefix: `/registry/${res}/a/`, consistency: 'any' })
      expect(ns.items.map((i) => i.value)).toEqual([{ k: keys[0] }, { k: keys[1] }])
      expect(await s.count(`/registry/${res}/`)).toBe(3)
      expect(await s.count(`/registry/${res}/b/`)).toBe(1)
      expect(await s.count(`/registry/${res}/zzz/`)).toBe(0)
      expect((await s.list({ prefix: `/registry/${res}/zzz/` })).items).toEqual([])
    })

    it('list pagination: every page at the first page revision, with remaining counts', async () => {
      const res = freshResource('configmaps')
      const prefix = `/registry/${res}/ns/`
      const created = []
      for (let i = 0; i < 7; i++) created.push(await s.create(`${prefix}c${i}`, { i }))
      const p1 = await s.list<{ i: number }>({ prefix, limit: 3 })
      expect(p1.items.map((x) => x.value.i)).toEqual([0, 1, 2])
      expect(p1.continueAfter).toBe(`${prefix}c2`)
      expect(p1.remainingItemCount).toBe(4)
      // Changes after the first page must not show in the next pages.
      await s.delete(`${prefix}c3`)
      await s.update(`${prefix}c4`, { i: 40 }, created[4]!.modRevision)
      await s.create(`${prefix}c35`, { i: 35 })
      const p2 = await s.list<{ i: number }>({
        prefix,
        limit: 3,
        revision: p1.revision,
        continueAfter: p1.continueAfter,
      })
      expect(p2.revision).toBe(p1.revision)
      expect(p2.items.map((x) => x.value.i)).toEqual([3, 4, 5])
      expect(p2.remainingItemCount).toBe(1)
      const p3 = await s.list<{ i: number }>({
        prefix,
        limit: 3,
        revision: p1.revision,
        continueAfter: p2.continueAfter,
      })
      expect(p3.items.map((x) => x.value.i)).toEqual([6])
      expect(p3.continueAfter).toBeUndefined()
      // The latest state, for comparison.
      const now = await s.list<{ i: number }>({ prefix })
      expect(now.items.map((x) => x.value.i)).toEqual([0, 1, 2, 35, 40, 5, 6])
      expect(now.revision).toBeGreaterThan(p1.revision)
      // A list at an exact older revision.
      const old = await s.list<{ i: number }>({ prefix, revision: created[2]!.modRevision })
      expect(old.items.map((x) => x.value.i)).toEqual([0, 1, 2])
      expect(old.revision).toBe(created[2]!.modRevision)
    })

    it('watch replays history after afterRevision, then live events, in order (ADDED/MODIFIED/DELETED)', async () => {
      const res = freshResource('pods')
      const prefix = `/registry/${res}/`
      const start = await s.currentRevision()
      const a = await s.create(`${prefix}ns/a`, { v: 1 })
      const a2 = await s.update(`${prefix}ns/a`, { v: 2 }, a.modRevision)
      const b = await s.create(`${prefix}ns/b`, { v: 1 })
      await s.create(`/registry/${res}x/ns/a`, { v: 'sibling' })
      const log = new EventLog()
      const w = await s.watch({ prefix, afterRevision: start, prevKv: true }, log.handler)
      await log.until(3)
      const del = await s.delete(`${prefix}ns/a`)
      const c = await s.create(`${prefix}other/c`, { v: 1 })
      const evs = await log.until(5)
      w.close()
      expect(log.summary()).toEqual([
        `ADDED ${prefix}ns/a@${a.modRevision}`,
        `MODIFIED ${prefix}ns/a@${a2.modRevision}`,
        `ADDED ${prefix}ns/b@${b.modRevision}`,
        `DELETED ${prefix}ns/a@${c.modRevision - 1}`,
        `ADDED ${prefix}other/c@${c.modRevision}`,
      ])
      expect(evs[0]).toEqual({ type: 'ADDED', object: a, revision: a.modRevision })
      expect(evs[1]).toEqual({ type: 'MODIFIED', object: a2, prevObject: a, revision: a2.modRevision })
      const d = evs[3]
      expect(d?.type).toBe('DELETED')
      if (d?.type === 'DELETED') {
        expect(d.prevObject).toEqual(del)
        expect(d.object).toEqual({ ...del, modRevision: d.revision })
      }
      // Nothing after close.
      await s.create(`${prefix}ns/after-close`, {})
      await new Promise((r) => setTimeout(r, 300))
      expect(log.events).toHaveLength(5)
    })

    it('watch of one key; afterRevision 0 delivers only later changes; MODIFIED without prevKv', async () => {
      const res = freshResource('nodes')
      const key = `/registry/${res}/n1`
      const c = await s.create(key, { v: 1 })
      await s.create(`${key}0`, { v: 'longer key, same prefix' })
      const log = new EventLog()
      const w = await s.watch({ key, afterRevision: 0 }, log.handler)
      const u = await s.update(key, { v: 2 }, c.modRevision)
      await s.update(`${key}0`, { v: 'x' }, (await s.get(`${key}0`)).modRevision)
      const u2 = await s.update(key, { v: 3 }, u.modRevision)
      const evs = await log.until(2)
      await new Promise((r) => setTimeout(r, 200))
      w.close()
      expect(evs).toEqual([
        { type: 'MODIFIED', object: u, revision: u.modRevision },
        { type: 'MODIFIED', object: u2, revision: u2.modRevision },
      ])
    })

    it('putWithTtl: the key lives while rewritten and is deleted (a DELETED event) once its TTL passes', async () => {
      // kube's master leases: written every 10 s with a 15 s TTL; scaled down to 2 s here (etcd's
      // minimum TTL with a 1 s election timeout is 1.5 s, rounded up).
      const key = `/registry/${freshResource('masterleases')}/127.0.0.1`
      const log = new EventLog<Pod>()
      const w = await s.watch<Pod>({ key, afterRevision: 0 }, log.handler)
      const first = await s.putWithTtl<Pod>(key, { name: 'a', n: 1 }, 2)
      expect(first.value).toEqual({ name: 'a', n: 1 })
      expect(first.createRevision).toBe(first.modRevision)
      const t0 = Date.now()
      // Rewritten before the first lease expires: still there after it would have.
      await new Promise((r) => setTimeout(r, 1_000))
      const second = await s.putWithTtl<Pod>(key, { name: 'a', n: 2 }, 2)
      expect(second.createRevision).toBe(first.createRevision)
      await new Promise((r) => setTimeout(r, 1_500))
      expect((await s.get<Pod>(key)).value.n).toBe(2)
      const evs = await log.until(3, 15_000)
      expect(evs.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED'])
      // Not before the second write's TTL (1 s of slack for timer and lessor granularity).
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000)
      await expectError(s.get(key), 'NotFound')
      await expectError(s.putWithTtl(key, {}, 0), 'InvalidObject')
      w.close()
    }, 30_000)

    it('exactly one of N concurrent conflicting updates wins', async () => {
      const key = `/registry/${freshResource('leases')}/kube-system/lock`
      const c = await s.create(key, { holder: 'none' })
      const n = 8
      const other = ctx.newStorage()
      try {
        const results = await Promise.allSettled(
          Array.from({ length: n }, (_, i) =>
            (i % 2 === 0 ? s : other).update(key, { holder: `h${i}` }, c.modRevision),
          ),
        )
        const won = results.filter((r) => r.status === 'fulfilled')
        const lost = results.filter((r) => r.status === 'rejected')
        expect(won).toHaveLength(1)
        for (const r of lost) expect(isStorageError(r.reason, 'Conflict'), String(r.reason)).toBe(true)
        const winner = (won[0] as PromiseFulfilledResult<{ value: unknown; modRevision: number }>).value
        const now = await s.get(key)
        expect(now.value).toEqual(winner.value)
        expect(now.modRevision).toBe(winner.modRevision)
        expect(winner.modRevision).toBe(c.modRevision + 1)
      } finally {
        await other.close()
      }
    })

    it('compaction: reads, continued lists and watches from compacted revisions are TooOld', async () => {
      const res = freshResource('events')
      const prefix = `/registry/${res}/ns/`
      const a = await s.create(`${prefix}a`, { v: 1 })
      await s.create(`${prefix}b`, { v: 1 })
      const page = await s.list({ prefix, limit: 1 })
      const u = await s.update(`${prefix}a`, { v: 2 }, a.modRevision)
      await s.compact(u.modRevision)
      await s.compact(u.modRevision) // again: a no-op
      await s.compact(a.modRevision) // older: a no-op
      const tooOld = await expectError(s.get(`${prefix}a`, { revision: a.modRevision }), 'TooOld')
      expect(tooOld.code).toBe('TooOld')
      await expectError(
        s.list({ prefix, revision: page.revision, continueAfter: page.continueAfter }),
        'TooOld',
      )
      // Current state is intact.
      expect((await s.get(`${prefix}a`)).value).toEqual({ v: 2 })
      expect((await s.get(`${prefix}a`, { revision: u.modRevision })).value).toEqual({ v: 2 })
      const log = new EventLog()
      await s.watch({ prefix, afterRevision: a.modRevision - 1 }, log.handler)
      const [ev] = await log.until(1)
      expect(ev?.type).toBe('ERROR')
      if (ev?.type === 'ERROR') {
        expect(ev.error.code).toBe('TooOld')
        expect(ev.error.revision).toBe(u.modRevision)
      }
      // The ERROR is terminal.
      await s.create(`${prefix}c`, {})
      await new Promise((r) => setTimeout(r, 300))
      expect(log.events).toHaveLength(1)
      // A watch from the compacted revision itself still works (it needs only revisions >= it).
      const ok = new EventLog()
      const w = await s.watch({ prefix, afterRevision: u.modRevision - 1 }, ok.handler)
      await ok.until(2)
      w.close()
      expect(ok.summary()[0]).toBe(`MODIFIED ${prefix}a@${u.modRevision}`)
      await expectError(s.compact((await s.currentRevision()) + 100), 'InvalidObject')
    })

    it('readiness is ok; after close() calls fail Unavailable and readiness says why', async () => {
      expect(await s.readiness()).toEqual({ ok: true })
      const other = ctx.newStorage()
      expect(await other.readiness()).toEqual({ ok: true })
      const log = new EventLog()
      await other.watch({ prefix: `/registry/${freshResource('x')}/`, afterRevision: 0 }, log.handler)
      await other.close()
      await expectError(other.get('/registry/x/y'), 'Unavailable')
      await expectError(other.create('/registry/x/y', {}), 'Unavailable')
      const r = await other.readiness()
      expect(r.ok).toBe(false)
      expect(r.ok ? '' : r.reason).toMatch(/closed/)
      expect(log.events).toEqual([]) // closing ends watches without an ERROR event
    })

    it('a call that cannot finish within its timeout fails with Timeout', async () => {
      if (!ctx.canTimeout) {
        // The memory backend is synchronous: even a 0 ms budget completes.
        expect((await s.list({ prefix: '/registry/', timeoutMs: 0 })).revision).toBeGreaterThan(0)
        return
      }
      const key = `/registry/${freshResource('pods')}/ns/t`
      await expectError(s.get(key, { timeoutMs: 0 }), 'Timeout')
      const err = await expectError(s.create(key, {}, { timeoutMs: 0 }), 'Timeout')
      expect(err).toBeInstanceOf(StorageError)
      // The storage is still usable.
      await expectError(s.get(key, { timeoutMs: 10_000 }), 'NotFound')
    })
  })
}
