/**
 * The etcd3 backend against a real 3-member cluster (hakube-store or etcd 3.4): the shared contract,
 * directly and through the watch cache (CachedStorage), then failover. Goal of the failover tests: losing the member the client talks to (made the leader,
 * so the cluster also elects anew) costs a bounded pause, loses no acknowledged write, and a watch
 * resumes on another member without losing or repeating events; losing quorum gives clear errors
 * within the timeout and a not-ready reason.
 */

import { StoreProcessCluster, waitFor } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Etcd3Client } from '../src/etcd3-client.js'
import { createEtcd3Storage, type Etcd3Storage } from '../src/etcd3-entry.js'
import { CachedStorage, isStorageError, type StorageError } from '../src/index.js'
import { EventLog, expectError, freshResource, storageContract } from './contract.js'

const TIMING = { heartbeatMs: 100, electionMs: 1000 }

/** The endpoint (host:port) whose member is the leader, per Maintenance.Status. */
async function findLeader(cluster: StoreProcessCluster): Promise<string | undefined> {
  const client = new Etcd3Client({ endpoints: cluster.clientUrls })
  try {
    for (let i = 0; i < client.endpoints.length; i++) {
      try {
        const s = await client.unaryOn(i, 'Maintenance', 'Status', {}, Date.now() + 2_000)
        const self = (s['header'] as Record<string, unknown>)['member_id']
        if (self !== undefined && self === s['leader']) return client.endpoints[i]
      } catch {
        // unreachable: try the next one
      }
    }
    return undefined
  } finally {
    client.close()
  }
}

export function etcd3Suite(kind: 'hakube-store' | 'etcd', hostBase: number): void {
  let cluster: StoreProcessCluster | undefined
  let started: Promise<StoreProcessCluster> | undefined
  const start = (): Promise<StoreProcessCluster> => {
    started ??= (async () => {
      const c =
        kind === 'etcd'
          ? new StoreProcessCluster(
              3,
              hostBase,
              TIMING,
              ['--initial-cluster-token=hakube-storage-test'],
              'etcd',
            )
          : new StoreProcessCluster(3, hostBase, TIMING)
      cluster = c
      c.startAll()
      const probe = createEtcd3Storage({ endpoints: c.clientUrls })
      try {
        await waitFor(
          async () => ((await probe.readiness()).ok ? true : undefined),
          60_000,
          () => `${kind} cluster not ready:\n${c.logs()}`,
          200,
        )
      } finally {
        await probe.close()
      }
      return c
    })()
    return started
  }

  afterAll(() => {
    cluster?.destroy()
  })

  storageContract(`etcd3 over a 3-member ${kind} cluster`, async () => {
    const c = await start()
    return {
      storage: createEtcd3Storage({ endpoints: c.clientUrls }),
      newStorage: () => createEtcd3Storage({ endpoints: [...c.clientUrls].reverse() }),
      canTimeout: true,
    }
  })

  // The same contract through the watch cache (src/cache/): etcd3 answers watch progress requests,
  // so consistent lists come from the cache too (once it has caught up), as do 'any' lists and watches.
  storageContract(`etcd3 over a 3-member ${kind} cluster through the watch cache`, async () => {
    const c = await start()
    return {
      storage: new CachedStorage(createEtcd3Storage({ endpoints: c.clientUrls })),
      newStorage: () => new CachedStorage(createEtcd3Storage({ endpoints: [...c.clientUrls].reverse() })),
      canTimeout: true,
    }
  })

  describe(`watch progress requests over ${kind}`, () => {
    it('requestWatchProgress: every open watch gets a BOOKMARK at the current revision, without a change', async () => {
      // Goal: what CachedStorage's consistent lists rely on (etcd's WatchProgressRequest, as kube's
      // cacher uses it): a quiet watch learns the store's revision on request.
      const c = await start()
      const s = createEtcd3Storage({ endpoints: c.clientUrls })
      try {
        const prefix = `/registry/${freshResource('progress')}/`
        await s.create(`${prefix}a`, { v: 1 })
        // A later change elsewhere: the BOOKMARKs must carry the store's revision, not the prefix's.
        const other = await s.create(`/registry/${freshResource('other')}/b`, { v: 1 })
        const logs = [new EventLog(), new EventLog()]
        for (const log of logs) await s.watch({ prefix, afterRevision: 0, progressNotify: true }, log.handler)
        const t0 = Date.now()
        s.requestWatchProgress()
        for (const log of logs) {
          const [ev] = await log.until(1, 5_000)
          expect(ev).toEqual({ type: 'BOOKMARK', revision: expect.any(Number) })
          expect((ev as { revision: number }).revision).toBeGreaterThanOrEqual(other.modRevision)
        }
        console.log(`[progress] ${kind}: both watches got their progress in ${Date.now() - t0} ms`)
      } finally {
        await s.close()
      }
    })
  })

  describe(`kube's compactor over ${kind}`, () => {
    it('two api-servers sharing the store: about one compaction per interval in total; old revisions are TooOld', async () => {
      // Goal: compaction as kube-apiserver does it works against this store (the compact_rev_key Txn
      // with a VERSION compare, then Compact), and api-servers sharing it take turns, not all compact.
      const c = await start()
      const intervalMs = 300
      const counts = [0, 0]
      const errors: unknown[] = []
      const storages = counts.map((_, i) =>
        createEtcd3Storage({
          endpoints: i === 0 ? c.clientUrls : [...c.clientUrls].reverse(),
          compactionIntervalMs: intervalMs,
          onCompacted: () => counts[i]!++,
          onCompactionError: (err) => errors.push(err),
        }),
      )
      const [st] = storages as [Etcd3Storage, Etcd3Storage]
      try {
        const key = `/registry/${freshResource('configmaps')}/ns/c`
        const first = await st.create(key, { i: 0 })
        let rev = first.modRevision
        const t0 = Date.now()
        while (Date.now() - t0 < 10 * intervalMs) {
          rev = (await st.update(key, { i: rev }, rev)).modRevision
          await new Promise((r) => setTimeout(r, 20))
        }
        const rounds = (Date.now() - t0) / intervalMs
        const total = counts[0]! + counts[1]!
        console.log(`[${kind}] compactions by 2 compactors over ${rounds.toFixed(1)} intervals: ${counts}`)
        expect(errors).toEqual([])
        expect(total).toBeGreaterThanOrEqual(3)
        expect(total).toBeLessThanOrEqual(Math.ceil(rounds) + 1)
        await expectError(st.get(key, { revision: first.modRevision }), 'TooOld')
        const log = new EventLog()
        await st.watch({ key, afterRevision: first.modRevision }, log.handler)
        const [ev] = await log.until(1, 10_000)
        expect(ev?.type === 'ERROR' && ev.error.code).toBe('TooOld')
        // The latest interval's history is kept.
        expect((await st.get(key, { revision: rev })).value).toEqual({ i: expect.any(Number) })
      } finally {
        for (const s of storages) await s.close()
      }
    }, 60_000)
  })

  describe(`etcd3 failover over ${kind}`, () => {
    let c: StoreProcessCluster
    let storage: Etcd3Storage | undefined
    let leader: string
    beforeAll(async () => {
      c = await start()
      leader = await waitFor(
        () => findLeader(c),
        30_000,
        () => `no leader:\n${c.logs()}`,
      )
    }, 120_000)
    afterAll(async () => {
      await storage?.close()
    })

    it('SIGKILL of the member in use (the leader): bounded pause, no acknowledged write lost, watch resumes exactly', async () => {
      const order = [leader, ...c.members.map((m) => m.endpoint).filter((e) => e !== leader)]
      const st = createEtcd3Storage({
        endpoints: order.map((e) => `http://${e}`),
        requestTimeoutMs: 5_000,
        dialTimeoutMs: 1_000,
        watchReconnectTimeoutMs: 30_000,
      })
      storage = st
      expect(st.activeEndpoint).toBe(leader)
      const prefix = `/registry/${freshResource('pods')}/ns/`
      const log = new EventLog<{ i: number }>()
      const w = await st.watch<{ i: number }>(
        { prefix, afterRevision: await st.currentRevision() },
        log.handler,
      )
      const acked: string[] = []
      const failed: { key: string; code: StorageError['code']; unknown: boolean }[] = []
      let killedAt: number | undefined
      let recoveredMs: number | undefined
      const giveUp = Date.now() + 90_000
      for (let i = 0; acked.length < 60 && Date.now() < giveUp; i++) {
        if (acked.length === 20 && killedAt === undefined) {
          c.kill(c.member(leader))
          killedAt = Date.now()
        }
        const key = `${prefix}p${String(i).padStart(4, '0')}`
        try {
          await st.create(key, { i })
          acked.push(key)
          if (killedAt !== undefined && recoveredMs === undefined) recoveredMs = Date.now() - killedAt
        } catch (err) {
          if (!isStorageError(err)) throw err
          expect(['Unavailable', 'Timeout']).toContain(err.code)
          failed.push({ key, code: err.code, unknown: err.outcomeUnknown })
        }
      }
      console.log(
        `[${kind}] killed leader ${leader}; first write acknowledged ${recoveredMs} ms later; ` +
          `${failed.length} writes failed (${failed.filter((f) => f.unknown).length} with unknown outcome); ` +
          `now using ${st.activeEndpoint}`,
      )
      expect(acked).toHaveLength(60)
      expect(recoveredMs).toBeDefined()
      expect(recoveredMs as number).toBeLessThan(20_000)
      expect(st.activeEndpoint).not.toBe(leader)
      // Reads keep working, and every acknowledged write is there.
      const list = await st.list<{ i: number }>({ prefix })
      const stored = new Set(list.items.map((x) => x.key))
      for (const k of acked) expect(stored.has(k), k).toBe(true)
      // A write refused before it was proposed never applied.
      for (const f of failed) if (!f.unknown) expect(stored.has(f.key), f.key).toBe(false)
      // The watch resumed on another member: every stored key exactly once, in revision order.
      await waitFor(
        async () => (log.events.length >= list.items.length ? true : undefined),
        30_000,
        () => `watch got ${log.events.length} of ${list.items.length}: ${log.summary().slice(-5).join(', ')}`,
      )
      w.close()
      expect(log.events.every((e) => e.type === 'ADDED')).toBe(true)
      expect(log.summary()).toEqual(list.items.map((x) => `ADDED ${x.key}@${x.modRevision}`))
    }, 180_000)

    it('losing quorum: writes fail within their timeout, readiness says why, serializable reads still answer', async () => {
      const st = storage as Etcd3Storage
      const survivor = c.running()[0]
      const victim = c.running()[1]
      expect(survivor).toBeDefined()
      c.kill(victim as NonNullable<typeof victim>)
      const key = `/registry/${freshResource('pods')}/ns/noquorum`
      const t0 = Date.now()
      try {
        await st.create(key, {}, { timeoutMs: 3_000 })
        throw new Error('a write without quorum succeeded')
      } catch (err) {
        if (!isStorageError(err)) throw err
        expect(['Timeout', 'Unavailable']).toContain(err.code)
      }
      expect(Date.now() - t0).toBeLessThan(3_000 + 2_000)
      const r = await st.readiness({ timeoutMs: 2_000 })
      expect(r.ok).toBe(false)
      expect(r.ok ? '' : r.reason).toMatch(/no leader|no quorum|unreachable/)
      console.log(`[${kind}] readiness without quorum: ${r.ok ? 'ok' : r.reason}`)
      const err = await st.get(key, { timeoutMs: 2_000 }).catch((e: unknown) => e)
      expect(isStorageError(err) && ['Timeout', 'Unavailable'].includes(err.code), String(err)).toBe(true)
      const any = await st.list({ prefix: '/registry/', consistency: 'any', limit: 1, timeoutMs: 5_000 })
      expect(any.items).toHaveLength(1)
    }, 60_000)
  })
}
