/**
 * The scheduler against a real api-server in process (memory storage): Nodes and Pods created
 * through the API, the Scheduler's informers, bindings, status patches and Events over HTTP.
 * Goal: pods land only on nodes that fit; a pod no node fits gets PodScheduled=False with kube's
 * message and a FailedScheduling Event, and is bound once a fitting node appears; nothing binds
 * after the leading signal aborts.
 */
import { ApiClient, type Event, EventRecorder, type Node, type Pod } from '@hakube/api'
import { startTestServer, stopTestServers, type TestServer } from '@hakube/api-server/testing'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, onTestFailed } from 'vitest'
import { milliValue } from './resources.js'
import { Scheduler } from './scheduler.js'
import { makeNode, makePod, seededRandom, testSeed } from './testing/objects.js'

const NODES = { group: '', version: 'v1', plural: 'nodes', namespaced: false }
const PODS = { group: '', version: 'v1', plural: 'pods', namespaced: true }
const EVENTS = { group: '', version: 'v1', plural: 'events', namespaced: true }

let server: TestServer
let client: ApiClient
let scheduler: Scheduler | undefined
let leading: AbortController | undefined

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function createNode(node: Node): Promise<void> {
  const created = await client.resource<Node>(NODES).create(node)
  // Whatever create kept of the status, the kubelet's status write sets it.
  await client.resource<Node>(NODES).updateStatus({ ...created, status: node.status })
}

async function listPods(): Promise<Pod[]> {
  return (await client.resource<Pod>(PODS).namespace('default').list()).items
}

function startScheduler(seed: number): Scheduler {
  const s = new Scheduler({
    client,
    log: pino({ level: 'silent' }),
    identity: 'test-scheduler',
    random: seededRandom(seed),
    podInitialBackoffMs: 100,
    podMaxBackoffMs: 500,
  })
  s.start()
  leading = new AbortController()
  void s.runLeading(leading.signal)
  scheduler = s
  return s
}

beforeEach(async () => {
  server = await startTestServer({ namespaces: ['default'] })
  client = new ApiClient({ baseUrl: server.base })
})

afterEach(async () => {
  leading?.abort()
  await scheduler?.stop()
  scheduler = undefined
  await client.close()
  await stopTestServers()
})

describe('Scheduler against the api-server', () => {
  it('binds 100 pods with requests and node selectors only to nodes that fit', async () => {
    const seed = testSeed()
    onTestFailed(() => console.log(`SEED=${seed}`))
    const random = seededRandom(seed)
    for (let i = 0; i < 6; i++)
      await createNode(
        makeNode({ name: `node-${i}`, cpu: '4', memory: '8Gi', labels: { disk: i < 3 ? 'ssd' : 'hdd' } }),
      )
    await createNode(makeNode({ name: 'cordoned', unschedulable: true, labels: { disk: 'ssd' } }))
    await createNode(makeNode({ name: 'unready', ready: 'False', labels: { disk: 'ssd' } }))
    startScheduler(seed)
    const pods = client.resource<Pod>(PODS).namespace('default')
    for (let i = 0; i < 100; i++) {
      const pod = makePod({
        name: `p-${i}`,
        cpu: `${50 + Math.floor(random() * 150)}m`,
        memory: '64Mi',
        ...(i % 2 === 0 ? { nodeSelector: { disk: 'ssd' } } : {}),
      })
      delete (pod.metadata as { uid?: string }).uid
      await pods.create(pod)
    }
    const bound = await waitFor('100 bound pods', async () => {
      const items = await listPods()
      return items.filter((p) => p.spec?.nodeName).length === 100 ? items : undefined
    })
    const cpuPerNode = new Map<string, number>()
    for (const p of bound) {
      const node = p.spec?.nodeName ?? ''
      expect(node).toMatch(/^node-\d$/)
      if (p.spec?.nodeSelector?.['disk'] === 'ssd') expect(['node-0', 'node-1', 'node-2']).toContain(node)
      const cpu = milliValue(p.spec?.containers?.[0]?.resources?.requests?.['cpu'] ?? 0)
      cpuPerNode.set(node, (cpuPerNode.get(node) ?? 0) + cpu)
      expect(p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True')
    }
    for (const cpu of cpuPerNode.values()) expect(cpu).toBeLessThanOrEqual(4000)
    await scheduler?.events.idle()
    const events = (await client.resource<Event>(EVENTS).namespace('default').list()).items
    const scheduled = events.filter((e) => e.reason === 'Scheduled')
    expect(scheduled).toHaveLength(100)
    const e = scheduled.find((x) => x.involvedObject.name === 'p-0')
    expect(e?.message).toBe(
      `Successfully assigned default/p-0 to ${bound.find((p) => p.metadata?.name === 'p-0')?.spec?.nodeName}`,
    )
    expect(e?.source?.component).toBe('default-scheduler')
    expect(e?.reportingInstance).toBe('test-scheduler')
  })

  it('marks a pod no node fits Unschedulable with kube message and Event, then binds it when a node fits', async () => {
    await createNode(makeNode({ name: 'small-1', cpu: '1', labels: { disk: 'ssd' } }))
    await createNode(makeNode({ name: 'small-2', cpu: '1', labels: { disk: 'ssd' } }))
    await createNode(makeNode({ name: 'other', cpu: '8', labels: { disk: 'hdd' } }))
    startScheduler(1)
    const pod = makePod({ name: 'big', cpu: '2' })
    delete (pod.metadata as { uid?: string }).uid
    const pods = client.resource<Pod>(PODS).namespace('default')
    await pods.create({ ...pod, spec: { ...pod.spec, nodeSelector: {}, affinity: undefined } })
    await pods.create({
      ...makePod({ name: 'picky', cpu: '2', nodeSelector: { disk: 'ssd' } }),
      metadata: { name: 'picky' },
    })
    // 'big' fits 'other' at once; 'picky' fits nowhere.
    const message =
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu."
    const cond = await waitFor('the PodScheduled=False condition', async () => {
      const p = await pods.get('picky')
      const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled')
      return c?.status === 'False' ? c : undefined
    })
    expect(cond).toMatchObject({ reason: 'Unschedulable', message })
    const event = await waitFor('the FailedScheduling Event', async () => {
      const items = (await client.resource<Event>(EVENTS).namespace('default').list()).items
      return items.find((e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'picky')
    })
    expect(event).toMatchObject({ type: 'Warning', message, source: { component: 'default-scheduler' } })
    expect((await pods.get('big')).spec?.nodeName).toBe('other')
    await createNode(makeNode({ name: 'fast', cpu: '4', labels: { disk: 'ssd' } }))
    const bound = await waitFor(
      'picky bound',
      async () => (await pods.get('picky')).spec?.nodeName || undefined,
    )
    expect(bound).toBe('fast')
  })

  it('binds nothing once the leading signal has aborted; informers keep the queue warm', async () => {
    await createNode(makeNode({ name: 'n' }))
    const s = startScheduler(1)
    await waitFor('sync', async () => (s.hasSynced() ? true : undefined))
    leading?.abort()
    const pod = makePod({ name: 'late' })
    delete (pod.metadata as { uid?: string }).uid
    await client.resource<Pod>(PODS).namespace('default').create(pod)
    await waitFor('the pod queued', async () => (s.stats().active === 1 ? true : undefined))
    await new Promise((r) => setTimeout(r, 500))
    expect((await client.resource<Pod>(PODS).namespace('default').get('late')).spec?.nodeName).toBeUndefined()
    expect(s.boundCount).toBe(0)
    // A new leading period picks it up.
    leading = new AbortController()
    void s.runLeading(leading.signal)
    await waitFor('bound', async () =>
      (await client.resource<Pod>(PODS).namespace('default').get('late')).spec?.nodeName ? true : undefined,
    )
  })

  // (Removing the gates is not tested: hakube's api-server does not yet allow that pod update.)
  it('leaves gated pods out of the queue', async () => {
    await createNode(makeNode({ name: 'n' }))
    const s = startScheduler(1)
    const pods = client.resource<Pod>(PODS).namespace('default')
    const pod = makePod({ name: 'gated' })
    delete (pod.metadata as { uid?: string }).uid
    const created = await pods.create({
      ...pod,
      spec: { ...pod.spec, schedulingGates: [{ name: 'example.com/wait' }] },
    })
    await waitFor('sync', async () => (s.hasSynced() ? true : undefined))
    await new Promise((r) => setTimeout(r, 500))
    expect(s.stats()).toMatchObject({ active: 0, backoff: 0, unschedulable: 0 })
    expect((await pods.get('gated')).spec?.nodeName).toBeUndefined()
    expect(s.cache.isAssumed(created.metadata?.uid ?? '')).toBe(false)
  })
})

describe('EventRecorder', () => {
  it('writes one Event per pod, reason and message, counting repeats as client-go does', async () => {
    const recorder = new EventRecorder({
      client,
      instance: 'replica-1',
      clock: { now: () => Date.now() },
      log: pino({ level: 'silent' }),
    })
    const pod = makePod({ name: 'p' })
    recorder.record(
      'default-scheduler',
      { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata },
      'Warning',
      'FailedScheduling',
      '0/1 nodes are available: 1 Insufficient cpu.',
    )
    await recorder.idle()
    recorder.record(
      'default-scheduler',
      { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata },
      'Warning',
      'FailedScheduling',
      '0/1 nodes are available: 1 Insufficient cpu.',
    )
    recorder.record(
      'default-scheduler',
      { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata },
      'Warning',
      'FailedScheduling',
      '0/2 nodes are available: 2 Insufficient cpu.',
    )
    await recorder.idle()
    const events = (await client.resource<Event>(EVENTS).namespace('default').list()).items
    expect(events.map((e) => [e.message, e.count]).sort()).toEqual([
      ['0/1 nodes are available: 1 Insufficient cpu.', 2],
      ['0/2 nodes are available: 2 Insufficient cpu.', 1],
    ])
    expect(events[0]).toMatchObject({
      type: 'Warning',
      reason: 'FailedScheduling',
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'default', uid: 'uid-p' },
      source: { component: 'default-scheduler' },
      reportingComponent: 'default-scheduler',
      reportingInstance: 'replica-1',
    })
    expect(events[0]?.metadata?.name).toMatch(/^p\.[0-9a-f]+$/)
  })
})
