import { Kubectl } from '@hakube/api-server/testing'
import { memberLogs, StoreProcessCluster, sleep, waitFor } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiServerProcess } from './apiserver.js'

// Goal (issue 11 §2): `kubectl get endpoints kubernetes` lists exactly the live api-servers, as with
// kube-apiserver's lease endpoint reconciler, through SIGKILL (gone within the master lease TTL plus
// one reconcile interval), SIGTERM (gone at once) and restart; `kubectl get svc,endpoints kubernetes`
// print what kube prints. Method: a real 3-member hakube-store (127.0.1.171-173), three
// hakube-apiserver processes (127.0.1.181-183) with a 3 s master lease TTL (reconciling every 2 s),
// the real kubectl (the version dispatcher) against a survivor.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }
const HOSTS = ['127.0.1.181', '127.0.1.182', '127.0.1.183']
const TTL_S = 3
const INTERVAL_MS = 2_000

describe('the kubernetes Service lists the live api-servers', () => {
  let store: StoreProcessCluster
  const apis = new Map<string, ApiServerProcess>()
  let kubectl: Kubectl

  const start = (host: string): ApiServerProcess => {
    const p = new ApiServerProcess(host, [
      `--etcd-servers=${store.clientUrls.join(',')}`,
      `--endpoint-reconciler-lease-ttl=${TTL_S}s`,
    ])
    apis.set(host, p)
    return p
  }
  const logs = () => `${[...apis.values()].map((a) => a.logs()).join('\n')}\n${memberLogs(store)}`

  /** The ENDPOINTS cell of `kubectl get endpoints kubernetes` (through the first live server given). */
  const endpointsCell = async (via: string): Promise<string> => {
    const k = new Kubectl(`http://${via}:6443`)
    const out = await k.ok(['get', 'endpoints', 'kubernetes'])
    const row = out
      .split('\n')[1]
      ?.trim()
      .split(/\s{2,}/)
    return row?.[1] ?? ''
  }
  const listed = (hosts: string[]) =>
    hosts
      .slice()
      .sort()
      .map((h) => `${h}:6443`)
      .join(',')
  const waitListed = async (via: string, hosts: string[], timeoutMs: number): Promise<number> => {
    const t0 = Date.now()
    let last = ''
    await waitFor(
      async () => {
        last = await endpointsCell(via).catch((e: unknown) => String(e))
        return last === listed(hosts) ? true : undefined
      },
      timeoutMs,
      () => `endpoints: ${last}, wanted ${listed(hosts)}\n${logs()}`,
      200,
    )
    return Date.now() - t0
  }

  beforeAll(async () => {
    store = new StoreProcessCluster(3, 170, TIMING)
    store.startAll()
    for (const h of HOSTS) start(h)
    for (const p of apis.values()) await p.ready(60_000, () => memberLogs(store))
    kubectl = new Kubectl(`http://${HOSTS[0]}:6443`)
  }, 90_000)

  afterAll(() => {
    for (const p of apis.values()) p.stop()
    store?.destroy()
  })

  it('kubectl get svc,endpoints kubernetes print what kube prints', async () => {
    await waitListed(HOSTS[0] as string, HOSTS, 20_000)
    const svc = await kubectl.ok(['get', 'svc', 'kubernetes'])
    const [header, row] = svc.trimEnd().split('\n')
    expect(header?.split(/\s{2,}/)).toEqual(['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'])
    expect(row?.split(/\s{2,}/).slice(0, 5)).toEqual([
      'kubernetes',
      'ClusterIP',
      '10.96.0.1',
      '<none>',
      '443/TCP',
    ])
    const ep = await kubectl.ok(['get', 'endpoints', 'kubernetes'])
    expect(ep).toMatch(
      /^NAME {9}ENDPOINTS {44}AGE\nkubernetes {3}127\.0\.1\.181:6443,127\.0\.1\.182:6443,127\.0\.1\.183:6443 {3}\d+s\n$/,
    )
    const yaml = await kubectl.ok(['get', 'endpoints', 'kubernetes', '-o', 'jsonpath={.subsets}'])
    expect(JSON.parse(yaml)).toEqual([
      {
        addresses: HOSTS.map((ip) => ({ ip })),
        ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
      },
    ])
    const svcJson = JSON.parse(await kubectl.ok(['get', 'svc', 'kubernetes', '-o', 'json']))
    expect(svcJson.metadata.labels).toEqual({ component: 'apiserver', provider: 'kubernetes' })
    expect(svcJson.spec).toMatchObject({
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      sessionAffinity: 'None',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
    })
    expect(svcJson.spec.selector).toBeUndefined()
    // The services/proxy subresource reaches an api-server through the Service's `https` port (over
    // plain HTTP, as these api-servers serve without --tls-cert-file).
    const version = JSON.parse(
      await kubectl.ok(['get', '--raw', '/api/v1/namespaces/default/services/kubernetes:443/proxy/version']),
    )
    expect(version.gitVersion).toBe('v1.32.0-hakube')
  }, 60_000)

  it('a SIGKILLed api-server is gone within the TTL; a SIGTERMed one at once; a restarted one is back', async () => {
    const [a, b, c] = HOSTS as [string, string, string]
    await waitListed(a, HOSTS, 20_000)

    ;(apis.get(b) as ApiServerProcess).stop()
    const killMs = await waitListed(a, [a, c], 20_000)
    // The lease expires TTL_S after its last refresh (at most one interval before the kill), and the
    // next reconcile of a survivor (at most one interval later) removes it.
    expect(killMs, logs()).toBeLessThan(TTL_S * 1000 + INTERVAL_MS + 2_000)

    const term = apis.get(c) as ApiServerProcess
    const exited = new Promise<number | null>((resolve) => term.proc.once('exit', (code) => resolve(code)))
    term.proc.kill('SIGTERM')
    expect(await exited).toBe(0)
    // Removed during shutdown, before the process exited: no reconcile interval to wait for.
    expect(await endpointsCell(a)).toBe(listed([a]))

    start(b)
    await (apis.get(b) as ApiServerProcess).ready(30_000, logs)
    await waitListed(a, [a, b], 10_000)
    // And it stays that way over more than a TTL (the leases keep being refreshed).
    await sleep(TTL_S * 1000 + 500)
    expect(await endpointsCell(b)).toBe(listed([a, b]))
  }, 120_000)
})
