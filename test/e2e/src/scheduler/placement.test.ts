/**
 * Placement by a real hakube-scheduler (`--leader-elect=false`) on nodes simulated by real
 * hakube-node-sim processes, all against a real hakube-apiserver (memory storage). Goal and method:
 * 1. 100 pods with cpu/memory requests, a third selecting `disk=ssd`, a third `disk=hdd`, land only
 *    on nodes that match their selector, and no node gets more requests than it has allocatable.
 * 2. Pods no node fits get `PodScheduled=False`, reason `Unschedulable`, kube's message
 *    (`0/6 nodes are available: 6 node(s) didn't match Pod's node affinity/selector.`) and a
 *    Warning Event FailedScheduling from `default-scheduler`; once a node simulator adds a fitting
 *    node they are bound to it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiClient, type Event, type Node } from '@hakube/api'
import { milliValue, wholeValue } from '@hakube/scheduler'
import { sleep, waitFor } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiServerProcess } from '../apiserver.js'
import {
  cleanup,
  createPod,
  listPods,
  NodeSimProcess,
  SchedulerProcess,
  startApiServer,
  waitBound,
} from './harness.js'

const NODES = { group: '', version: 'v1', plural: 'nodes', namespaced: false }
const EVENTS = { group: '', version: 'v1', plural: 'events', namespaced: true }

describe('hakube-scheduler places pods on hakube-node-sim nodes', () => {
  let api: ApiServerProcess
  let client: ApiClient
  let scheduler: SchedulerProcess
  const sims: NodeSimProcess[] = []
  let dir: string | undefined
  const describeAll = () =>
    `${scheduler?.output()}\n${sims.map((s) => s.logs()).join('\n')}\n--- api-server ---\n${api.logs().slice(-3000)}`

  async function readyNodes(): Promise<Node[]> {
    const nodes = (await client.resource<Node>(NODES).list()).items
    return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
  }

  function nodeSim(host: string, args: string[]): NodeSimProcess {
    const s = new NodeSimProcess(host, api.base, ['--port=10250', '--node-memory=8Gi', ...args])
    sims.push(s)
    return s
  }

  beforeAll(async () => {
    api = await startApiServer()
    client = new ApiClient({ baseUrl: api.base })
    nodeSim('127.0.2.41', ['--nodes=3', '--node-name-prefix=ssd', '--node-cpu=2', '--node-labels=disk=ssd'])
    nodeSim('127.0.2.42', ['--nodes=3', '--node-name-prefix=hdd', '--node-cpu=4', '--node-labels=disk=hdd'])
    await waitFor(async () => ((await readyNodes()).length === 6 ? true : undefined), 30_000, describeAll)
    // Connected through a kubeconfig file (the election tests use --master).
    dir = mkdtempSync(join(tmpdir(), 'hakube-scheduler-e2e-'))
    const kubeconfig = join(dir, 'kubeconfig')
    const yaml = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: hakube',
      '  cluster:',
      `    server: ${api.base}`,
      'contexts:',
      '- name: hakube',
      '  context:',
      '    cluster: hakube',
      '    user: scheduler',
      'current-context: hakube',
      'users:',
      '- name: scheduler',
      '  user: {}',
    ]
    writeFileSync(kubeconfig, `${yaml.join('\n')}\n`)
    scheduler = new SchedulerProcess('placement', '127.0.2.31', { kubeconfig }, ['--leader-elect=false'])
  })

  afterAll(async () => {
    cleanup()
    await client?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('binds 100 pods with requests and node selectors only to nodes that fit', async () => {
    const names: string[] = []
    for (let i = 0; i < 100; i++) {
      const name = `web-${i}`
      const disk = i % 3 === 0 ? 'ssd' : i % 3 === 1 ? 'hdd' : undefined
      await createPod(client, {
        name,
        cpu: disk === 'ssd' ? '150m' : disk === 'hdd' ? '300m' : '50m',
        memory: '128Mi',
        ...(disk !== undefined ? { nodeSelector: { disk } } : {}),
      })
      names.push(name)
    }
    await waitBound(client, names, 30_000, describeAll)
    const nodes = new Map((await readyNodes()).map((n) => [n.metadata?.name ?? '', n]))
    const used = new Map<string, { cpu: number; memory: number; pods: number }>()
    for (const pod of await listPods(client)) {
      const nodeName = pod.spec?.nodeName ?? ''
      const node = nodes.get(nodeName)
      expect(node, `${pod.metadata?.name} on ${nodeName}`).toBeDefined()
      for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {}))
        expect(node?.metadata?.labels?.[k], `${pod.metadata?.name} selects ${k}=${v}`).toBe(v)
      const requests = pod.spec?.containers?.[0]?.resources?.requests ?? {}
      const u = used.get(nodeName) ?? { cpu: 0, memory: 0, pods: 0 }
      u.cpu += milliValue(requests['cpu'] ?? '0')
      u.memory += wholeValue(requests['memory'] ?? '0')
      u.pods++
      used.set(nodeName, u)
    }
    for (const [name, u] of used) {
      const alloc = nodes.get(name)?.status?.allocatable ?? {}
      expect(u.cpu, `cpu on ${name}`).toBeLessThanOrEqual(milliValue(alloc['cpu'] ?? '0'))
      expect(u.memory, `memory on ${name}`).toBeLessThanOrEqual(wholeValue(alloc['memory'] ?? '0'))
    }
    // Least allocated: every node got some of the unselective pods' share, none was left empty.
    expect(used.size).toBe(6)
    expect(await scheduler.waitBoundLogged(100)).toHaveLength(100)
  })

  it('marks pods no node fits Unschedulable with kube message and Event, and binds them once a node fits', async () => {
    await createPod(client, { name: 'gpu-job', cpu: '500m', nodeSelector: { accelerator: 'gpu' } })
    await createPod(client, { name: 'huge', cpu: '6' })
    const expected = {
      'gpu-job': "0/6 nodes are available: 6 node(s) didn't match Pod's node affinity/selector.",
      huge: '0/6 nodes are available: 6 Insufficient cpu.',
    }
    for (const [name, message] of Object.entries(expected)) {
      const condition = await waitFor(
        async () => {
          const pod = (await listPods(client)).find((p) => p.metadata?.name === name)
          const c = pod?.status?.conditions?.find((x) => x.type === 'PodScheduled')
          return c?.status === 'False' ? c : undefined
        },
        20_000,
        describeAll,
      )
      expect(condition).toMatchObject({ reason: 'Unschedulable', message })
      const event = await waitFor(
        async () =>
          (await client.resource<Event>(EVENTS).namespace('default').list()).items.find(
            (e) => e.reason === 'FailedScheduling' && e.involvedObject.name === name,
          ),
        20_000,
        describeAll,
      )
      expect(event).toMatchObject({ type: 'Warning', message, source: { component: 'default-scheduler' } })
    }
    // Still pending a while later: parked, not bound anywhere.
    await sleep(1000)
    for (const p of await listPods(client))
      if (p.metadata?.name === 'gpu-job' || p.metadata?.name === 'huge')
        expect(p.spec?.nodeName).toBeUndefined()
    nodeSim('127.0.2.43', [
      '--nodes=1',
      '--node-name-prefix=gpu',
      '--node-cpu=16',
      '--node-labels=accelerator=gpu',
    ])
    const bound = await waitBound(client, ['gpu-job', 'huge'], 30_000, describeAll)
    expect(bound.get('gpu-job')).toBe('gpu-1')
    expect(bound.get('huge')).toBe('gpu-1')
  })
})
