/**
 * Goal: the simulator against a real in-process api-server (memory storage) does what a kubelet does
 * for its nodes: registers them Ready with capacity and addresses, renews their Leases, runs bound
 * pods to Running with IPs and conditions, restarts crashing containers per restartPolicy, completes
 * run-once pods, deletes gracefully deleted pods with grace 0, and on a simulated failure stops
 * renewing the Lease while leaving the pods as they were. Method: short intervals (lease renewed every
 * 1 s), polling the api-server with plain HTTP; every wait is bounded (≤ 15 s).
 */
import { call, type Json, startTestServer, stopTestServers } from '@hakube/api-server/testing'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { parseNodeSimFlags } from './config.js'
import { NodeSimulator } from './simulator.js'

const sims: NodeSimulator[] = []

afterEach(async () => {
  for (const s of sims.splice(0)) await s.stop()
  await stopTestServers()
})

async function startSim(base: string, flags: string[]): Promise<NodeSimulator> {
  const r = parseNodeSimFlags([
    `--master=${base}`,
    '--bind-address=127.0.2.50',
    '--port=0',
    '--node-lease-duration=4s',
    '--node-lease-renew-interval=1s',
    '--node-status-update-frequency=1s',
    '--pod-start-delay=300ms',
    '--crash-backoff=1s',
    '--container-log-interval=1s',
    ...flags,
  ])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  const { config } = r
  const sim = new NodeSimulator({ baseUrl: base }, config.groups ?? [], config, pino({ level: 'silent' }))
  sims.push(sim)
  await sim.start()
  return sim
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < end) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`)
}

const get = async (url: string): Promise<Json> => {
  const r = await call('GET', url)
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

function pod(name: string, node: string, extra: Json = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations: extra['annotations'] ?? {} },
    spec: {
      nodeName: node,
      restartPolicy: extra['restartPolicy'] ?? 'Always',
      containers: [{ name: 'main', image: 'nginx:1.27', resources: extra['resources'] ?? {} }],
    },
  }
}

describe('NodeSimulator against an in-process api-server', () => {
  it('registers Ready nodes and renews their Leases', async () => {
    const t = await startTestServer({ namespaces: ['default', 'kube-node-lease'] })
    const sim = await startSim(t.base, [
      '--nodes=3',
      '--node-name-prefix=w',
      '--node-labels=disk=ssd',
      '--node-taints=gpu=yes:NoSchedule',
    ])
    const nodes = await until('3 nodes', async () => {
      const l = await get(`${t.base}/api/v1/nodes`)
      return l['items'].length === 3 && l['items'].every((n: Json) => n['status']?.['conditions'])
        ? l['items']
        : undefined
    })
    expect(nodes.map((n: Json) => n['metadata']['name']).sort()).toEqual(['w-1', 'w-2', 'w-3'])
    const n1 = nodes.find((n: Json) => n['metadata']['name'] === 'w-1')
    expect(n1['metadata']['labels']).toMatchObject({ disk: 'ssd', 'kubernetes.io/hostname': 'w-1' })
    expect(n1['spec']['taints']).toEqual([{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }])
    expect(n1['status']['capacity']).toMatchObject({ cpu: '32', memory: '256Gi', pods: '110' })
    expect(n1['status']['addresses']).toContainEqual({ type: 'InternalIP', address: '127.0.2.50' })
    expect(n1['status']['daemonEndpoints']).toEqual({ kubeletEndpoint: { Port: sim.kubeletPort } })
    expect(n1['status']['nodeInfo']['kubeletVersion']).toBe('v1.33.0-hakube')
    const ready = n1['status']['conditions'].find((c: Json) => c['type'] === 'Ready')
    expect(ready).toMatchObject({ status: 'True', reason: 'KubeletReady' })
    const leaseUrl = `${t.base}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/w-2`
    const first = await until('lease', async () => (await get(leaseUrl))['spec'])
    expect(first).toMatchObject({ holderIdentity: 'w-2', leaseDurationSeconds: 4 })
    const renewed = await until('a renewal', async () => {
      const s = (await get(leaseUrl))['spec']
      return s['renewTime'] !== first['renewTime'] ? s : undefined
    })
    expect(Date.parse(renewed['renewTime'])).toBeGreaterThan(Date.parse(first['renewTime']))
    const metrics = await (await fetch(`http://127.0.2.50:${sim.kubeletPort}/metrics`)).text()
    expect(metrics).toMatch(/^hakube_node_sim_nodes 3$/m)
    expect(Number(/^hakube_node_sim_lease_renewals_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0)
    expect(metrics).toMatch(/^hakube_node_sim_lease_renewal_lateness_seconds_count \d+$/m)
    // A deleted Node comes back, as a kubelet registers its node again.
    const uid = n1['metadata']['uid']
    expect((await call('DELETE', `${t.base}/api/v1/nodes/w-1`)).status).toBe(200)
    const back = await until('w-1 registered again', async () => {
      const r = await call('GET', `${t.base}/api/v1/nodes/w-1`)
      return r.status === 200 && r.body['metadata']['uid'] !== uid && r.body['status']?.['conditions']
        ? r.body
        : undefined
    })
    expect(back['status']['conditions']).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'True' }),
    )
  }, 30_000)

  it('runs a pod to Running, restarts a crashing one, completes a run-once one', async () => {
    const t = await startTestServer({ namespaces: ['default', 'kube-node-lease'] })
    const sim = await startSim(t.base, ['--node-name=solo'])
    const pods = `${t.base}/api/v1/namespaces/default/pods`
    for (const p of [
      pod('web', 'solo', {
        resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
      }),
      pod('crash', 'solo', { annotations: { 'hakube.io/crash-after': '500ms' } }),
      pod('once', 'solo', { restartPolicy: 'Never', annotations: { 'hakube.io/run-time': '1s' } }),
      pod('fails', 'solo', {
        restartPolicy: 'Never',
        annotations: { 'hakube.io/run-time': '500ms', 'hakube.io/exit-code': '3' },
      }),
    ])
      expect((await call('POST', pods, p)).status).toBe(201)
    const web = await until('web Running', async () => {
      const p = await get(`${pods}/web`)
      return p['status']?.['phase'] === 'Running' ? p : undefined
    })
    expect(web['status']).toMatchObject({ hostIP: '127.0.2.50', qosClass: 'Guaranteed' })
    expect(web['status']['podIP']).toMatch(/^10\.(1[2-9]\d|2[0-5]\d)\.\d+\.\d+$/)
    const cs = web['status']['containerStatuses'][0]
    expect(cs).toMatchObject({
      name: 'main',
      ready: true,
      started: true,
      restartCount: 0,
      image: 'nginx:1.27',
    })
    expect(cs['state']['running']['startedAt']).toBeTypeOf('string')
    const conds = Object.fromEntries(web['status']['conditions'].map((c: Json) => [c['type'], c['status']]))
    expect(conds).toMatchObject({
      Initialized: 'True',
      ContainersReady: 'True',
      Ready: 'True',
      PodScheduled: 'True',
    })
    const crashed = await until('restarts', async () => {
      const p = await get(`${pods}/crash`)
      return (p['status']?.['containerStatuses']?.[0]?.['restartCount'] ?? 0) >= 2 ? p : undefined
    })
    const c = crashed['status']['containerStatuses'][0]
    expect(c['lastState']['terminated']).toMatchObject({ exitCode: 1, reason: 'Error' })
    expect(crashed['status']['phase']).toBe('Running')
    const once = await until('once Succeeded', async () => {
      const p = await get(`${pods}/once`)
      return p['status']?.['phase'] === 'Succeeded' ? p : undefined
    })
    expect(once['status']['containerStatuses'][0]['state']['terminated']).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    })
    const fails = await until('fails Failed', async () => {
      const p = await get(`${pods}/fails`)
      return p['status']?.['phase'] === 'Failed' ? p : undefined
    })
    expect(fails['status']['containerStatuses'][0]['state']['terminated']['exitCode']).toBe(3)
    // Logs through the kubelet API.
    const logs = await fetch(
      `http://127.0.2.50:${sim.kubeletPort}/containerLogs/default/web/main?tailLines=1`,
    )
    expect(logs.status).toBe(200)
    expect((await logs.text()).trim().split('\n')).toHaveLength(1)
  }, 40_000)

  it('deletes a gracefully deleted pod with grace 0 after stopping it', async () => {
    const t = await startTestServer({ namespaces: ['default', 'kube-node-lease'] })
    await startSim(t.base, ['--node-name=solo'])
    const pods = `${t.base}/api/v1/namespaces/default/pods`
    expect((await call('POST', pods, pod('web', 'solo'))).status).toBe(201)
    await until('Running', async () =>
      (await get(`${pods}/web`))['status']?.['phase'] === 'Running' ? true : undefined,
    )
    const del = await call('DELETE', `${pods}/web`, { gracePeriodSeconds: 30 })
    expect(del.status).toBe(200)
    expect(del.body['metadata']['deletionTimestamp']).toBeTypeOf('string')
    await until(
      'gone',
      async () => ((await call('GET', `${pods}/web`)).status === 404 ? true : undefined),
      10_000,
    )
  }, 30_000)

  it("sets a pod Ready again when someone else marked it not Ready (the status manager's reconcile)", async () => {
    const t = await startTestServer({ namespaces: ['default', 'kube-node-lease'] })
    await startSim(t.base, ['--node-name=solo'])
    const pods = `${t.base}/api/v1/namespaces/default/pods`
    expect((await call('POST', pods, pod('web', 'solo'))).status).toBe(201)
    const readyOf = (p: Json) =>
      p['status']?.['conditions']?.find((c: Json) => c['type'] === 'Ready')?.['status']
    const running = await until('Ready', async () => {
      const p = await get(`${pods}/web`)
      return readyOf(p) === 'True' ? p : undefined
    })
    // What the node lifecycle controller does to the pods of a node it lost.
    const conditions = running['status']['conditions'].map((c: Json) =>
      c['type'] === 'Ready' ? { ...c, status: 'False' } : c,
    )
    const marked = await call('PUT', `${pods}/web/status`, {
      ...running,
      status: { ...running['status'], conditions },
    })
    expect(marked.status).toBe(200)
    expect(readyOf(marked.body)).toBe('False')
    await until(
      'Ready again',
      async () => (readyOf(await get(`${pods}/web`)) === 'True' ? true : undefined),
      10_000,
    )
  }, 30_000)

  it('a failed node stops renewing its Lease, its pods stay as they were; recover resumes', async () => {
    const t = await startTestServer({ namespaces: ['default', 'kube-node-lease'] })
    const sim = await startSim(t.base, ['--nodes=2', '--node-name-prefix=n'])
    const pods = `${t.base}/api/v1/namespaces/default/pods`
    expect((await call('POST', pods, pod('p1', 'n-1'))).status).toBe(201)
    const running = await until('Running', async () => {
      const p = await get(`${pods}/p1`)
      return p['status']?.['phase'] === 'Running' ? p : undefined
    })
    const leaseUrl = `${t.base}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n-1`
    const admin = `http://127.0.2.50:${sim.kubeletPort}/admin/nodes`
    const failed = await fetch(`${admin}/n-1/fail`, { method: 'POST' })
    expect(failed.status).toBe(200)
    expect(await failed.json()).toMatchObject({ name: 'n-1', heartbeating: false })
    await new Promise((r) => setTimeout(r, 500))
    const frozen = (await get(leaseUrl))['spec']['renewTime']
    await new Promise((r) => setTimeout(r, 2500))
    expect((await get(leaseUrl))['spec']['renewTime']).toBe(frozen)
    const other = `${t.base}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n-2`
    expect(Date.now() - Date.parse((await get(other))['spec']['renewTime'])).toBeLessThan(2500)
    const after = await get(`${pods}/p1`)
    expect(after['status']).toEqual(running['status'])
    expect(after['metadata']['resourceVersion']).toBe(running['metadata']['resourceVersion'])
    const list = (await (await fetch(admin)).json()) as Json[]
    expect(list.find((n) => n['name'] === 'n-1')).toMatchObject({ heartbeating: false, pods: 1 })
    expect((await fetch(`${admin}/nope/fail`, { method: 'POST' })).status).toBe(404)
    // A pod bound while the node is down is not started (its kubelet hears nothing)...
    expect((await call('POST', pods, pod('late', 'n-1'))).status).toBe(201)
    await new Promise((r) => setTimeout(r, 1000))
    expect((await get(`${pods}/late`))['status']).toEqual({ phase: 'Pending' })
    expect((await fetch(`${admin}/n-1/recover`, { method: 'POST' })).status).toBe(200)
    await until(
      'renewed again',
      async () => ((await get(leaseUrl))['spec']['renewTime'] !== frozen ? true : undefined),
      5000,
    )
    // ... until it recovers and catches up.
    await until(
      'late Running',
      async () => ((await get(`${pods}/late`))['status']?.['phase'] === 'Running' ? true : undefined),
      5000,
    )
  }, 30_000)

  it('--fail-nodes: those nodes register once, then stay silent until recovered', async () => {
    const t = await startTestServer({ namespaces: ['default', 'kube-node-lease'] })
    const sim = await startSim(t.base, ['--nodes=2', '--node-name-prefix=f', '--fail-nodes=f-2'])
    const leaseUrl = `${t.base}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/f-2`
    const first = await until('f-2 Lease', async () => (await get(leaseUrl))['spec']['renewTime'] as string)
    const node = await get(`${t.base}/api/v1/nodes/f-2`)
    expect(node['status']['conditions']).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'True' }),
    )
    await new Promise((r) => setTimeout(r, 2500))
    expect((await get(leaseUrl))['spec']['renewTime']).toBe(first)
    expect(sim.nodes().map((n) => [n.name, n.heartbeating])).toEqual([
      ['f-1', true],
      ['f-2', false],
    ])
    expect(sim.recover('f-2')).toBe(true)
    await until(
      'renewed',
      async () => ((await get(leaseUrl))['spec']['renewTime'] !== first ? true : undefined),
      5000,
    )
  }, 30_000)
})
