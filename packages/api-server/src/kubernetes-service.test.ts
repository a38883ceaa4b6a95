/**
 * Goal: several api-servers sharing one store keep `default/kubernetes` and its Endpoints as kube's
 * lease reconciler does: every live one listed, a dead one (its store client gone, so its lease is no
 * longer refreshed) dropped within TTL + interval, a stopping one removed at once, the last one never
 * erased. Method: controllers on clients of one in-process memory store, with a 1 s TTL.
 */
import { createMemoryStorage, type MemoryStorage, type Storage } from '@hakube/storage'
import { afterEach, describe, expect, it } from 'vitest'
import { startSystemNamespaces } from './bootstrap.js'
import { type KubernetesServiceController, startKubernetesService } from './kubernetes-service.js'
import { firstServiceIp, parseServiceCidr, ServiceIpAllocator } from './rest/service-ips.js'

const cidr = parseServiceCidr('10.96.0.0/12') as NonNullable<ReturnType<typeof parseServiceCidr>>
let store: MemoryStorage | undefined
const running: Array<{ ctl: KubernetesServiceController; client: Storage }> = []

afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.ctl.stop()
    await r.client.close()
  }
  await store?.close()
})

async function until<T>(what: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await what()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out; last error: ${String(last)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function apiserver(ip: string, reconciler: 'lease' | 'none' = 'lease') {
  const client = (store as MemoryStorage).client()
  const ctl = startKubernetesService({
    storage: client,
    serviceIps: new ServiceIpAllocator(client, cidr),
    clusterIp: firstServiceIp(cidr),
    publicIp: ip,
    securePort: 6443,
    endpointReconciler: reconciler,
    leaseTtlSeconds: 1,
    intervalMs: 300,
    retryMs: 100,
  })
  const entry = { ctl, client }
  running.push(entry)
  return entry
}

async function addresses(): Promise<string[]> {
  const ep = await (store as MemoryStorage).get<{ subsets: Array<{ addresses: Array<{ ip: string }> }> }>(
    '/registry/endpoints/default/kubernetes',
  )
  return ep.value.subsets[0]?.addresses.map((a) => a.ip) ?? []
}

const exactly = (want: string[]) => async () => {
  const got = await addresses()
  return JSON.stringify(got) === JSON.stringify(want) ? got : undefined
}

describe('the kubernetes Service and its Endpoints (lease reconciler)', () => {
  it('lists every live api-server; a dead one goes within the TTL, a stopped one at once, the last stays', async () => {
    store = createMemoryStorage()
    const ns = startSystemNamespaces(store)
    await ns.ready
    ns.stop()
    const a = apiserver('127.0.1.170')
    const b = apiserver('127.0.1.171')
    const c = apiserver('127.0.1.172')
    await Promise.all([a.ctl.ready, b.ctl.ready, c.ctl.ready])
    await until(exactly(['127.0.1.170', '127.0.1.171', '127.0.1.172']), 5_000)

    const svc = await store.get<Record<string, unknown>>('/registry/services/default/kubernetes')
    expect(svc.value).toMatchObject({
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: {
        type: 'ClusterIP',
        clusterIP: '10.96.0.1',
        clusterIPs: ['10.96.0.1'],
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      },
    })
    // The address is taken from the allocator: nobody else can be given it.
    await store.get('/registry/ipaddresses/10.96.0.1')

    // "Killed": its store client is gone, its lease is no longer refreshed.
    const killedAt = Date.now()
    await b.client.close()
    await until(exactly(['127.0.1.170', '127.0.1.172']), 5_000)
    // TTL 1 s + one 300 ms interval, with slack for timers.
    expect(Date.now() - killedAt).toBeLessThan(2_500)

    // Stopped (SIGTERM): gone as soon as stop() resolves.
    await a.ctl.stop()
    expect(await addresses()).toEqual(['127.0.1.172'])

    // The last one stopping leaves its own address: kube refuses to erase every endpoint.
    await c.ctl.stop()
    expect(await addresses()).toEqual(['127.0.1.172'])
    await expect(store.get('/registry/masterleases/127.0.1.172')).rejects.toMatchObject({ code: 'NotFound' })

    // A restarted api-server is back in the list.
    const a2 = apiserver('127.0.1.170')
    await a2.ctl.ready
    await until(exactly(['127.0.1.170']), 5_000)
  }, 20_000)

  it('recreates a deleted Service; with the none reconciler the Service is kept but no Endpoints written', async () => {
    store = createMemoryStorage()
    const ns = startSystemNamespaces(store)
    await ns.ready
    ns.stop()
    const a = apiserver('127.0.1.173', 'none')
    await a.ctl.ready
    const first = await store.get('/registry/services/default/kubernetes')
    await store.delete('/registry/services/default/kubernetes')
    await store.delete('/registry/ipaddresses/10.96.0.1')
    const again = await until(async () => store?.get('/registry/services/default/kubernetes'), 5_000)
    expect(again.modRevision).toBeGreaterThan(first.modRevision)
    await expect(store.get('/registry/endpoints/default/kubernetes')).rejects.toMatchObject({
      code: 'NotFound',
    })
    expect((await store.list({ prefix: '/registry/masterleases/' })).items).toEqual([])
  }, 10_000)
})
