/**
 * Goal: the kubernetes Service controller over the etcd3 backend, where the master leases are real
 * etcd leases of a 3-member hakube-store (127.0.1.174-176): three api-servers (each its own etcd3
 * client) are listed; one whose client is gone (its lease no longer refreshed, as after a SIGKILL)
 * is dropped once the store expires its lease; a stopped one is removed at once.
 * (test/e2e/src/kubernetes-endpoints.test.ts does the same with real processes and kubectl.)
 */
import type { Storage } from '@hakube/storage'
import { createEtcd3Storage } from '@hakube/storage/etcd3'
import { StoreProcessCluster, waitFor } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSystemNamespaces } from '../../src/bootstrap.js'
import { type KubernetesServiceController, startKubernetesService } from '../../src/kubernetes-service.js'
import { firstServiceIp, parseServiceCidr, ServiceIpAllocator } from '../../src/rest/service-ips.js'

const TIMING = { heartbeatMs: 100, electionMs: 1000 }
const cidr = parseServiceCidr('10.96.0.0/12') as NonNullable<ReturnType<typeof parseServiceCidr>>

describe('the kubernetes Endpoints over etcd leases (3-member hakube-store)', () => {
  let cluster: StoreProcessCluster
  let reader: Storage
  const running: Array<{ ctl: KubernetesServiceController; client: Storage }> = []

  beforeAll(async () => {
    cluster = new StoreProcessCluster(3, 173, TIMING)
    cluster.startAll()
    reader = createEtcd3Storage({ endpoints: cluster.clientUrls })
    await waitFor(
      async () => ((await reader.readiness()).ok ? true : undefined),
      60_000,
      () => cluster.logs(),
      200,
    )
    const ns = startSystemNamespaces(reader)
    await ns.ready
    ns.stop()
  }, 90_000)

  afterAll(async () => {
    for (const r of running) {
      await r.ctl.stop()
      await r.client.close()
    }
    await reader?.close()
    cluster?.destroy()
  })

  const apiserver = (ip: string) => {
    const client = createEtcd3Storage({ endpoints: cluster.clientUrls })
    const ctl = startKubernetesService({
      storage: client,
      serviceIps: new ServiceIpAllocator(client, cidr),
      clusterIp: firstServiceIp(cidr),
      publicIp: ip,
      securePort: 6443,
      endpointReconciler: 'lease',
      leaseTtlSeconds: 2,
      intervalMs: 500,
      retryMs: 200,
    })
    const entry = { ctl, client }
    running.push(entry)
    return entry
  }

  const addresses = async (): Promise<string> => {
    const ep = await reader.get<{ subsets: Array<{ addresses: Array<{ ip: string }> }> }>(
      '/registry/endpoints/default/kubernetes',
    )
    return (ep.value.subsets[0]?.addresses ?? []).map((a) => a.ip).join(',')
  }
  const waitFor3 = (want: string, timeoutMs: number) =>
    waitFor(
      async () => ((await addresses().catch(() => '')) === want ? true : undefined),
      timeoutMs,
      () => `endpoints never became ${want}`,
      100,
    )

  it('lists the live api-servers; a dead one goes once its etcd lease expires, a stopped one at once', async () => {
    const a = apiserver('127.0.1.177')
    const b = apiserver('127.0.1.178')
    const c = apiserver('127.0.1.179')
    await Promise.all([a.ctl.ready, b.ctl.ready, c.ctl.ready])
    await waitFor3('127.0.1.177,127.0.1.178,127.0.1.179', 10_000)
    const lease = await reader.get('/registry/masterleases/127.0.1.178')
    expect(lease.value).toEqual({
      kind: 'Endpoints',
      apiVersion: 'v1',
      metadata: { name: '127.0.1.178' },
      subsets: [{ addresses: [{ ip: '127.0.1.178' }] }],
    })
    const svc = await reader.get<{ spec: unknown }>('/registry/services/default/kubernetes')
    expect(svc.value.spec).toMatchObject({ clusterIP: '10.96.0.1', type: 'ClusterIP' })

    const t0 = Date.now()
    await b.ctl.stop()
    expect(await addresses()).toBe('127.0.1.177,127.0.1.179')
    expect(Date.now() - t0).toBeLessThan(2_000)

    // Its client gone (a SIGKILL): the etcd lease expires (TTL 2 s after the last refresh, which was
    // at most one interval ago), and a survivor's next round (0.5 s) drops it.
    const killedAt = Date.now()
    await c.client.close()
    await waitFor3('127.0.1.177', 10_000)
    expect(Date.now() - killedAt).toBeLessThan(2_000 + 500 + 1_500)
    await expect(reader.get('/registry/masterleases/127.0.1.179')).rejects.toMatchObject({ code: 'NotFound' })

    // Restarted: listed again.
    const c2 = apiserver('127.0.1.179')
    await c2.ctl.ready
    await waitFor3('127.0.1.177,127.0.1.179', 10_000)
  }, 60_000)
})
