/**
 * Goal: a watch closed while it is re-opening its stream (its member gone, the client waiting for an
 * endpoint to connect) ends quietly when the member comes back: the late stream is cancelled without an
 * unhandled 'error' (grpc-js emits CANCELLED as one), which crashed an api-server when its master came
 * back on the network (test/compose master-disconnect).
 * Method: a 1-member hakube-store (127.0.1.148); a watch established, the member killed (the stream
 * breaks, the watch re-opens, waiting for the endpoint), the watch closed, the member started again.
 * An unhandled error fails the run; the watch must have delivered nothing after its close.
 */
import { StoreProcessCluster, waitFor } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEtcd3Storage } from '../src/etcd3-entry.js'
import { EventLog } from './contract.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('etcd3 watch closed while re-opening', () => {
  let cluster: StoreProcessCluster
  beforeAll(() => {
    cluster = new StoreProcessCluster(1, 147, { heartbeatMs: 100, electionMs: 1000 })
    cluster.startAll()
  })
  afterAll(() => cluster?.destroy())

  it('the late stream is cancelled quietly, nothing delivered after close', async () => {
    const storage = createEtcd3Storage({ endpoints: cluster.clientUrls, watchReconnectTimeoutMs: 60_000 })
    const errors: unknown[] = []
    const onError = (err: unknown) => errors.push(err)
    process.on('uncaughtException', onError)
    try {
      await waitFor(
        async () => ((await storage.readiness()).ok ? true : undefined),
        60_000,
        () => `store not ready:\n${cluster.logs()}`,
        200,
      )
      const log = new EventLog()
      const w = await storage.watch({ prefix: '/registry/configmaps/', afterRevision: 0 }, log.handler)
      await storage.create('/registry/configmaps/ns/a', { a: 1 })
      await log.until(1, 10_000)
      const member = cluster.members[0]!
      cluster.kill(member)
      await sleep(1_500) // the stream breaks; the watch is re-opening, waiting for its endpoint
      w.close()
      const seen = log.events.length
      cluster.start(member)
      await waitFor(
        async () => ((await storage.readiness()).ok ? true : undefined),
        60_000,
        () => `store not back:\n${cluster.logs()}`,
        200,
      )
      await storage.create('/registry/configmaps/ns/b', { b: 1 })
      await sleep(1_500)
      expect(log.events.length).toBe(seen)
      expect(errors).toEqual([])
    } finally {
      process.off('uncaughtException', onError)
      await storage.close()
    }
  }, 120_000)
})
