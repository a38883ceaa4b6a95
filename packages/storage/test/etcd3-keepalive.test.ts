/**
 * Goal: the etcd3 client's gRPC keepalive is one a real etcd accepts: no GOAWAY "too_many_pings"
 * (grpc-js logs "rejected by server because of excess pings"), which a long-running api-server saw 22
 * times in 23 minutes with pings every 10 s on idle connections.
 * Method: a 1-member etcd 3.4 (127.0.1.146) with its enforcement policy scaled down 25x
 * (--grpc-keepalive-min-time 200ms instead of 5 s; PermitWithoutStream is always false in etcd), and
 * clients pinging 25x as often as in production (1.2 s instead of 30 s). First a control: a plain
 * grpc-js channel with the old settings (pings while idle) must be thrown out, which shows the policy
 * is enforced and the detector sees it. Then the storage client: idle, a quiet open watch, idle again,
 * several ping periods each, and not one rejection.
 */

import {
  ChannelCredentials,
  Client,
  Metadata,
  type MethodDefinition,
  setLogger,
  setLogVerbosity,
  status,
} from '@grpc/grpc-js'
import { loadEtcdProto } from '@hakube/store/grpc-proto'
import { StoreProcessCluster, waitFor } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  channelOptions,
  DEFAULT_KEEPALIVE_TIME_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
} from '../src/etcd3-client.js'
import { createEtcd3Storage } from '../src/etcd3-entry.js'
import { EventLog } from './contract.js'

const SCALE = 25
const MIN_TIME_MS = 5_000 / SCALE
const PING_MS = DEFAULT_KEEPALIVE_TIME_MS / SCALE
const EXCESS = /excess pings/

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Everything grpc-js logs (it logs the rejection at ERROR, its default verbosity). */
const grpcLog: string[] = []

describe('etcd3 client keepalive against a real etcd 3.4', () => {
  let cluster: StoreProcessCluster
  let endpoint: string

  beforeAll(async () => {
    setLogVerbosity(2) // LogVerbosity.ERROR
    setLogger({
      error: (...args: unknown[]) => grpcLog.push(args.map(String).join(' ')),
      info: () => {},
      debug: () => {},
    } as unknown as Console)
    cluster = new StoreProcessCluster(
      1,
      145,
      { heartbeatMs: 100, electionMs: 1000 },
      [`--grpc-keepalive-min-time=${MIN_TIME_MS}ms`, '--initial-cluster-token=hakube-keepalive-test'],
      'etcd',
    )
    cluster.startAll()
    endpoint = cluster.clientUrls[0] as string
    const probe = createEtcd3Storage({ endpoints: [endpoint] })
    try {
      await waitFor(
        async () => ((await probe.readiness()).ok ? true : undefined),
        60_000,
        () => `etcd not ready:\n${cluster.logs()}`,
        200,
      )
    } finally {
      await probe.close()
    }
  }, 90_000)

  afterAll(() => {
    cluster?.destroy()
    setLogger(console)
  })

  it('defaults are kube-apiserver’s: 30 s / 10 s, and no pings on an idle connection', () => {
    const o = channelOptions({})
    expect(o['grpc.keepalive_time_ms']).toBe(30_000)
    expect(o['grpc.keepalive_timeout_ms']).toBe(10_000)
    expect(DEFAULT_KEEPALIVE_TIMEOUT_MS).toBe(10_000)
    expect(o['grpc.keepalive_permit_without_calls']).toBe(0)
    // etcd's default --grpc-keepalive-min-time is 5 s: our interval must not be shorter.
    expect(o['grpc.keepalive_time_ms']).toBeGreaterThanOrEqual(5_000)
  })

  it('control: pinging an idle connection (the old settings) gets GOAWAY too_many_pings', async () => {
    grpcLog.length = 0
    const old = new Client(endpoint.replace('http://', ''), ChannelCredentials.createInsecure(), {
      'grpc.keepalive_time_ms': PING_MS,
      'grpc.keepalive_timeout_ms': 2_000,
      'grpc.keepalive_permit_without_calls': 1,
    })
    try {
      const def = loadEtcdProto().services['Maintenance']['Status'] as MethodDefinition<object, object>
      await new Promise<void>((resolve, reject) =>
        old.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          {},
          new Metadata(),
          { deadline: Date.now() + 5_000 },
          (err) => (err && err.code !== status.OK ? reject(err) : resolve()),
        ),
      )
      // etcd allows two strikes; the third idle ping ends the connection.
      await waitFor(
        async () => (grpcLog.some((l) => EXCESS.test(l)) ? true : undefined),
        8 * PING_MS,
        () => `no rejection seen; grpc logged: ${JSON.stringify(grpcLog)}`,
        100,
      )
      console.log(`control: ${grpcLog.find((l) => EXCESS.test(l))}`)
    } finally {
      old.close()
    }
  }, 30_000)

  it('the storage client: idle, a quiet watch, idle again — never rejected, still working', async () => {
    grpcLog.length = 0
    const st = createEtcd3Storage({
      endpoints: [endpoint],
      keepaliveTimeMs: PING_MS,
      keepaliveTimeoutMs: 2_000,
    })
    try {
      const a = await st.create('/registry/configmaps/ns/keepalive', { n: 1 })
      await sleep(5 * PING_MS) // idle: the control was thrown out within 4 periods
      const log = new EventLog()
      const w = await st.watch({ prefix: '/registry/secrets/', afterRevision: a.modRevision }, log.handler)
      await sleep(5 * PING_MS) // an open, silent watch: pings every period, each >= min time apart
      expect(log.events).toEqual([])
      w.close()
      await sleep(3 * PING_MS)
      expect((await st.get('/registry/configmaps/ns/keepalive')).value).toEqual({ n: 1 })
      expect(grpcLog.filter((l) => EXCESS.test(l))).toEqual([])
      expect(cluster.logs()).not.toMatch(/too_many_pings|too many pings/)
    } finally {
      await st.close()
    }
  }, 60_000)
})
