/**
 * Goal: the kubelet API answers as the kubelet does for the simulated pods: which run a log request
 * reads (current, terminated, previous), the plain-text 400s for a container still waiting or without
 * a previous run, and the admin endpoint's JSON answers. Method: the server on 127.0.2.53 over a
 * stand-in backend with fixed pod states and a fixed clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type KubeletBackend, KubeletServer, pickRun } from './kubelet-server.js'
import type { PodView } from './pod-runner.js'
import { acceptPod, advancePod, type PodFacts } from './pod-state.js'

const T0 = Date.UTC(2026, 11, 7, 17, 0, 0)
const t = { podStartDelayMs: 1000, crashBackoffMs: 10_000, crashBackoffMsMax: 40_000 }
const facts = (name: string, over: Partial<PodFacts> = {}): PodFacts => ({
  uid: name,
  namespace: 'default',
  name,
  containers: [{ name: 'c', image: 'busybox' }],
  initContainers: [],
  restartPolicy: 'Always',
  runTimeMs: undefined,
  exitCode: 0,
  qosClass: 'BestEffort',
  deleting: false,
  ...over,
})
const view = (f: PodFacts, nowMs: number): PodView => ({
  pod: { metadata: { name: f.name, namespace: 'default' } },
  node: 'n1',
  facts: f,
  sim: advancePod(acceptPod(T0, t), f, nowMs, t),
  status: {},
})

const NOW = T0 + 4500
const pods: Record<string, PodView> = {
  pending: view(facts('pending'), T0 + 500),
  running: view(facts('running'), NOW),
  // Crashes 2 s into each run: started +1 s, crashed +3 s, restarted at once.
  crashed: view(facts('crashed', { runTimeMs: 2000, exitCode: 1 }), NOW),
}
const failed: string[] = []
const backend: KubeletBackend = {
  views: () => Object.values(pods),
  view: (_ns, name) => pods[name],
  nodes: () => [
    { name: 'n1', heartbeating: !failed.includes('n1'), registered: true, lastRenewTime: null, pods: 3 },
  ],
  fail: (name) => name === 'n1' && failed.push(name) > 0,
  recover: (name) => name === 'n1',
  stats: () => ({ renewals: 0 }),
  resetStats: () => {},
  metrics: async () => 'hakube_node_sim_nodes 1\n',
  logIntervalMs: 1000,
  now: () => NOW,
}

let server: KubeletServer
let base = ''
beforeAll(async () => {
  server = new KubeletServer(backend)
  base = `http://127.0.2.53:${await server.listen('127.0.2.53', 0)}`
})
afterAll(() => server.close())

const get = async (path: string, init?: RequestInit) => {
  const r = await fetch(`${base}${path}`, init)
  return [r.status, await r.text()] as const
}

describe('kubelet API', () => {
  it('picks the run a log request reads, as validateContainerLogStatus', () => {
    expect(pickRun(pods['pending'] as PodView, 'c', 'busybox', false)).toBe(
      'container "c" in pod "pending" is waiting to start: ContainerCreating',
    )
    expect(pickRun(pods['running'] as PodView, 'c', 'busybox', true)).toBe(
      'previous terminated container "c" in pod "running" not found',
    )
    expect(pickRun(pods['crashed'] as PodView, 'c', 'busybox', true)).toMatchObject({
      startMs: T0 + 1000,
      end: { ms: T0 + 3000, exitCode: 1 },
      restartCount: 0,
    })
    expect(pickRun(pods['crashed'] as PodView, 'c', 'busybox', false)).toMatchObject({
      startMs: T0 + 3000,
      end: undefined,
    })
  })

  it("serves logs and the kubelet's errors as plain text", async () => {
    expect(await get('/healthz')).toEqual([200, 'ok'])
    expect(await get('/metrics')).toEqual([200, 'hakube_node_sim_nodes 1\n'])
    expect(await get('/containerLogs/default/pending/c')).toEqual([
      400,
      'container "c" in pod "pending" is waiting to start: ContainerCreating',
    ])
    const [code, text] = await get('/containerLogs/default/running/c')
    expect(code).toBe(200)
    expect(text.trim().split('\n')).toHaveLength(4) // start line and 3 ticks (+1 s .. +4.5 s)
    const [pcode, previous] = await get('/containerLogs/default/crashed/c?previous=true')
    expect(pcode).toBe(200)
    expect(previous.trim().split('\n').at(-1)).toBe('hakube-node-sim: container c exited with code 1')
    expect((await get('/containerLogs/default/running/c?limitBytes=10'))[1]).toHaveLength(10)
    expect(await get('/containerLogs/default/running/x')).toEqual([
      400,
      'container "x" not found in pod "running"',
    ])
    expect((await get('/containerLogs/default/running/c?tailLines=x'))[0]).toBe(400)
    expect((await get('/containerLogs/default/nope/c'))[0]).toBe(404)
  })

  it('admin endpoint: JSON answers, 404 for an unknown node, 405 for a GET of an action', async () => {
    const [code, body] = await get('/admin/nodes/n1/fail', { method: 'POST' })
    expect(code).toBe(200)
    expect(JSON.parse(body)).toMatchObject({ name: 'n1', heartbeating: false })
    expect((await get('/admin/nodes/zz/fail', { method: 'POST' }))[0]).toBe(404)
    expect((await get('/admin/nodes/n1/fail'))[0]).toBe(405)
    expect(JSON.parse((await get('/admin/nodes'))[1])).toHaveLength(1)
    expect(JSON.parse((await get('/pods'))[1])).toMatchObject({ kind: 'PodList', items: [{}, {}, {}] })
  })
})
