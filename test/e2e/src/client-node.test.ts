import { memberLogs, StoreProcessCluster, waitFor } from '@hakube/store/testing'
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  ListWatch,
  makeInformer,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiServerProcess } from './apiserver.js'

// Goal: a client nobody here wrote, the official JavaScript client @kubernetes/client-node, creates,
// lists (with label selectors), watches from a resourceVersion and runs an informer (list, then watch
// from the list's revision, with a local cache) against hakube-apiserver, over both storage backends.
// Method: the hakube-apiserver binary as a real process (memory backend on 127.0.1.210; etcd3 backend
// on 127.0.1.211 over a 3-member hakube-store on 127.0.1.212-214), driven only through client-node
// with a KubeConfig built in code (plain HTTP, no auth). The same suite runs against each backend.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }
const NS = 'client-node'
const POD_PATH = `/api/v1/namespaces/${NS}/pods`

function kubeConfig(host: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    // client-node 1.x refuses a plain-HTTP server unless skipTLSVerify is set (there is no TLS to verify).
    clusters: [{ name: 'hakube', server: `http://${host}:6443`, skipTLSVerify: true }],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'hakube', cluster: 'hakube', user: 'anonymous' }],
    currentContext: 'hakube',
  })
  return kc
}

function pod(name: string, labels: Record<string, string>): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.9' }] },
  }
}

const names = (items: readonly KubernetesObject[]): string[] =>
  items.map((o) => o.metadata?.name ?? '').sort()
const rv = (o: KubernetesObject | undefined): number => Number(o?.metadata?.resourceVersion)

interface WatchEvent {
  type: string
  object: KubernetesObject
}

/**
 * The suite, against the api-server `setup` starts (it returns the host and a log dump for failures).
 * Each test builds on the previous one's objects, in order.
 */
function defineClientNodeSuite(setup: () => Promise<{ host: string; logs: () => string }>): void {
  let kc: KubeConfig
  let core: CoreV1Api
  let logs: () => string = () => ''

  beforeAll(async () => {
    const s = await setup()
    logs = s.logs
    kc = kubeConfig(s.host)
    core = kc.makeApiClient(CoreV1Api)
  })

  it('creates a namespace and pods with CoreV1Api, and reads them back', async () => {
    const ns = await core.createNamespace({ body: { metadata: { name: NS } } })
    expect(ns.metadata?.name).toBe(NS)
    expect(ns.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/)
    expect(rv(ns)).toBeGreaterThan(0)
    expect(ns.status?.phase).toBe('Active')

    const created: V1Pod[] = []
    for (const [name, app] of [
      ['web-1', 'web'],
      ['web-2', 'web'],
      ['db-1', 'db'],
    ] as const) {
      created.push(
        await core.createNamespacedPod({ namespace: NS, body: pod(name, { app, tier: 'backend' }) }),
      )
    }
    for (const p of created) {
      expect(p.kind).toBe('Pod')
      expect(p.apiVersion).toBe('v1')
      expect(p.metadata?.namespace).toBe(NS)
      expect(p.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/)
      expect(p.metadata?.creationTimestamp).toBeInstanceOf(Date)
      expect(rv(p)).toBeGreaterThan(rv(ns))
      // Defaulting, deserialized by client-node's ObjectSerializer into its typed model.
      expect(p.spec?.restartPolicy).toBe('Always')
      expect(p.spec?.containers[0]?.imagePullPolicy).toBe('IfNotPresent')
    }
    // Each create is its own store revision.
    expect(new Set(created.map(rv)).size).toBe(3)

    const read = await core.readNamespacedPod({ namespace: NS, name: 'web-1' })
    expect(read.metadata?.uid).toBe(created[0]?.metadata?.uid)
    expect(read.metadata?.resourceVersion).toBe(created[0]?.metadata?.resourceVersion)
  })

  it('surfaces errors as ApiException with the Status the server sent', async () => {
    const err = await core.createNamespacedPod({ namespace: NS, body: pod('web-1', { app: 'web' }) }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ApiException)
    const apiErr = err as ApiException<unknown>
    expect(apiErr.code).toBe(409)
    const status = JSON.parse(String(apiErr.body)) as { kind: string; reason: string; code: number }
    expect(status).toMatchObject({ kind: 'Status', reason: 'AlreadyExists', code: 409 })

    const missing = await core.readNamespacedPod({ namespace: NS, name: 'nope' }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(missing).toBeInstanceOf(ApiException)
    expect((missing as ApiException<unknown>).code).toBe(404)
  })

  it('lists namespaces and pods, with a list resourceVersion at or past every item', async () => {
    const nsList = await core.listNamespace()
    expect(nsList.kind).toBe('NamespaceList')
    expect(names(nsList.items)).toContain(NS)

    const list = await core.listNamespacedPod({ namespace: NS })
    expect(list.kind).toBe('PodList')
    expect(list.apiVersion).toBe('v1')
    expect(names(list.items)).toEqual(['db-1', 'web-1', 'web-2'])
    const listRv = Number(list.metadata?.resourceVersion)
    expect(Number.isInteger(listRv)).toBe(true)
    for (const item of list.items) {
      expect(rv(item)).toBeGreaterThan(0)
      expect(rv(item)).toBeLessThanOrEqual(listRv)
      expect(item.metadata?.namespace).toBe(NS)
    }

    const all = await core.listPodForAllNamespaces()
    expect(names(all.items.filter((p) => p.metadata?.namespace === NS))).toEqual(['db-1', 'web-1', 'web-2'])

    // limit/continue as client-node passes them.
    const page1 = await core.listNamespacedPod({ namespace: NS, limit: 2 })
    expect(page1.items).toHaveLength(2)
    expect(page1.metadata?._continue).toBeTruthy()
    const page2 = await core.listNamespacedPod({
      namespace: NS,
      limit: 2,
      _continue: page1.metadata?._continue,
    })
    expect(page2.items).toHaveLength(1)
    expect(page2.metadata?._continue ?? '').toBe('')
    expect(names([...page1.items, ...page2.items])).toEqual(['db-1', 'web-1', 'web-2'])
  })

  it('lists with label selectors (equality and set-based)', async () => {
    const web = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' })
    expect(names(web.items)).toEqual(['web-1', 'web-2'])
    const notWeb = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app!=web' })
    expect(names(notWeb.items)).toEqual(['db-1'])
    const inSet = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app in (db),tier=backend' })
    expect(names(inSet.items)).toEqual(['db-1'])
    const none = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=cache' })
    expect(none.items).toEqual([])
    const everywhere = await core.listPodForAllNamespaces({ labelSelector: 'app=web' })
    expect(names(everywhere.items)).toEqual(['web-1', 'web-2'])
    const byField = await core.listNamespacedPod({ namespace: NS, fieldSelector: 'metadata.name=web-2' })
    expect(names(byField.items)).toEqual(['web-2'])
  })

  it('watches pods from a resourceVersion with Watch: ADDED, MODIFIED, DELETED for later changes only', async () => {
    const list = await core.listNamespacedPod({ namespace: NS })
    const from = list.metadata?.resourceVersion ?? ''
    expect(from).not.toBe('')

    const events: WatchEvent[] = []
    let doneErr: unknown = 'not done'
    const watch = new Watch(kc)
    const controller = await watch.watch(
      POD_PATH,
      { resourceVersion: from },
      (type: string, object: KubernetesObject) => events.push({ type, object }),
      (err: unknown) => {
        doneErr = err
      },
    )
    try {
      // Nothing from before `from` is replayed.
      await new Promise((r) => setTimeout(r, 300))
      expect(events).toEqual([])
      expect(doneErr).toBe('not done')

      const created = await core.createNamespacedPod({
        namespace: NS,
        body: pod('watched', { app: 'watched' }),
      })
      const patched = await core.patchNamespacedPod({
        namespace: NS,
        name: 'watched',
        body: [{ op: 'add', path: '/metadata/labels/step', value: 'two' }],
      })
      expect(patched.metadata?.labels).toEqual({ app: 'watched', step: 'two' })
      expect(rv(patched)).toBeGreaterThan(rv(created))
      await core.deleteNamespacedPod({ namespace: NS, name: 'watched' })

      await waitFor(
        async () => (events.some((e) => e.type === 'DELETED') ? true : undefined),
        20_000,
        () => `events: ${JSON.stringify(events.map((e) => e.type))}, done: ${String(doneErr)}\n${logs()}`,
      )
      // Deleting an unbound pod writes its deletion fields (grace 0) before removing it, as kube does.
      expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED'])
      expect(events[2]?.object.metadata?.deletionGracePeriodSeconds).toBe(0)
      for (const e of events) {
        expect(e.object.kind).toBe('Pod')
        expect(e.object.apiVersion).toBe('v1')
        expect(e.object.metadata?.name).toBe('watched')
        expect(e.object.metadata?.namespace).toBe(NS)
        expect(e.object.metadata?.uid).toBe(created.metadata?.uid)
      }
      expect(events[0]?.object.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion)
      expect(events[1]?.object.metadata?.resourceVersion).toBe(patched.metadata?.resourceVersion)
      expect((events[1]?.object as V1Pod | undefined)?.metadata?.labels?.['step']).toBe('two')
      const rvs = events.map((e) => rv(e.object))
      expect(rvs[2]).toBeGreaterThan(rvs[1] ?? Number.POSITIVE_INFINITY)
      expect(doneErr).toBe('not done')
    } finally {
      controller.abort()
    }
    await waitFor(
      async () => (doneErr !== 'not done' ? true : undefined),
      5_000,
      () => 'the watch did not finish after abort',
    )
  })

  it('watches with a label selector and sees only matching pods', async () => {
    const from = (await core.listNamespacedPod({ namespace: NS })).metadata?.resourceVersion ?? ''
    const events: WatchEvent[] = []
    const controller = await new Watch(kc).watch(
      POD_PATH,
      { resourceVersion: from, labelSelector: 'app=selected' },
      (type: string, object: KubernetesObject) => events.push({ type, object }),
      () => {},
    )
    try {
      await core.createNamespacedPod({ namespace: NS, body: pod('other', { app: 'other' }) })
      await core.createNamespacedPod({ namespace: NS, body: pod('selected', { app: 'selected' }) })
      await waitFor(
        async () => (events.length > 0 ? true : undefined),
        20_000,
        () => `no event for the selected pod\n${logs()}`,
      )
      await new Promise((r) => setTimeout(r, 300))
      expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual(['ADDED selected'])
    } finally {
      controller.abort()
    }
    await core.deleteNamespacedPod({ namespace: NS, name: 'other' })
    await core.deleteNamespacedPod({ namespace: NS, name: 'selected' })
  })

  it('runs an informer: initial list fires add, then add/update/delete from the watch, cache matches', async () => {
    const informer = makeInformer<V1Pod>(kc, POD_PATH, () => core.listNamespacedPod({ namespace: NS }))
    const added: string[] = []
    const updated: V1Pod[] = []
    const deleted: string[] = []
    const errors: unknown[] = []
    informer.on('add', (p) => added.push(p.metadata?.name ?? ''))
    informer.on('update', (p) => updated.push(p))
    informer.on('delete', (p) => deleted.push(p.metadata?.name ?? ''))
    informer.on('error', (e) => errors.push(e))
    const dump = () =>
      `added ${JSON.stringify(added)} updated ${JSON.stringify(updated.map((p) => p.metadata?.name))} ` +
      `deleted ${JSON.stringify(deleted)} errors ${String(errors)}\n${logs()}`

    // makeInformer's informer is client-node's ListWatch, which also reports the revision it watches from.
    expect(informer).toBeInstanceOf(ListWatch)
    const listWatch = informer as ListWatch<V1Pod>

    await informer.start()
    try {
      expect(added.sort()).toEqual(['db-1', 'web-1', 'web-2'])
      expect(names(informer.list(NS))).toEqual(['db-1', 'web-1', 'web-2'])
      const listedRv = Number(listWatch.latestResourceVersion())
      expect(listedRv).toBeGreaterThan(0)

      const created = await core.createNamespacedPod({
        namespace: NS,
        body: pod('informed', { app: 'informed' }),
      })
      await waitFor(async () => (added.includes('informed') ? true : undefined), 20_000, dump)
      expect(informer.get('informed', NS)?.metadata?.uid).toBe(created.metadata?.uid)

      // An update through replace (read, modify, PUT with the read resourceVersion).
      const current = await core.readNamespacedPod({ namespace: NS, name: 'informed' })
      current.metadata = { ...current.metadata, labels: { app: 'informed', version: 'v2' } }
      const replaced = await core.replaceNamespacedPod({ namespace: NS, name: 'informed', body: current })
      expect(rv(replaced)).toBeGreaterThan(rv(created))
      await waitFor(
        async () => (updated.some((p) => p.metadata?.labels?.['version'] === 'v2') ? true : undefined),
        20_000,
        dump,
      )
      expect(informer.get('informed', NS)?.metadata?.resourceVersion).toBe(replaced.metadata?.resourceVersion)

      await core.deleteNamespacedPod({ namespace: NS, name: 'web-2' })
      await waitFor(async () => (deleted.includes('web-2') ? true : undefined), 20_000, dump)
      expect(informer.get('web-2', NS)).toBeUndefined()

      // The cache now matches what the server lists, object for object.
      const server = await core.listNamespacedPod({ namespace: NS })
      expect(names(informer.list(NS))).toEqual(names(server.items))
      expect(names(server.items)).toEqual(['db-1', 'informed', 'web-1'])
      for (const p of server.items) {
        const cached = informer.get(p.metadata?.name ?? '', NS)
        expect(cached?.metadata?.uid).toBe(p.metadata?.uid)
        expect(cached?.metadata?.resourceVersion).toBe(p.metadata?.resourceVersion)
      }
      expect(Number(listWatch.latestResourceVersion())).toBeGreaterThan(listedRv)
      expect(errors).toEqual([])
    } finally {
      await informer.stop()
    }
  })

  it('runs an informer with a label selector', async () => {
    const informer = makeInformer<V1Pod>(
      kc,
      POD_PATH,
      () => core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' }),
      'app=web',
    )
    const added: string[] = []
    const deleted: string[] = []
    const errors: unknown[] = []
    informer.on('add', (p) => added.push(p.metadata?.name ?? ''))
    informer.on('delete', (p) => deleted.push(p.metadata?.name ?? ''))
    informer.on('error', (e) => errors.push(e))
    await informer.start()
    try {
      expect(added).toEqual(['web-1'])
      await core.createNamespacedPod({ namespace: NS, body: pod('db-2', { app: 'db' }) })
      await core.createNamespacedPod({ namespace: NS, body: pod('web-3', { app: 'web' }) })
      await waitFor(
        async () => (added.includes('web-3') ? true : undefined),
        20_000,
        () => `added ${added}\n${logs()}`,
      )
      await core.deleteNamespacedPod({ namespace: NS, name: 'web-3' })
      await waitFor(
        async () => (deleted.includes('web-3') ? true : undefined),
        20_000,
        () => `deleted ${deleted}`,
      )
      expect(added).toEqual(['web-1', 'web-3'])
      expect(deleted).toEqual(['web-3'])
      expect(names(informer.list(NS))).toEqual(['web-1'])
      expect(errors).toEqual([])
    } finally {
      await informer.stop()
    }
  })
}

describe('@kubernetes/client-node against hakube-apiserver, memory backend (127.0.1.210)', () => {
  const HOST = '127.0.1.210'
  let api: ApiServerProcess | undefined
  afterAll(() => {
    api?.stop()
  })
  defineClientNodeSuite(async () => {
    const a = new ApiServerProcess(HOST, ['--storage-backend=memory'])
    api = a
    const logs = () => a.logs().slice(-4000)
    await a.ready(30_000)
    return { host: HOST, logs }
  })
})

describe('@kubernetes/client-node against hakube-apiserver, etcd3 backend over a 3-member hakube-store (127.0.1.211; store 127.0.1.212-214)', () => {
  const HOST = '127.0.1.211'
  let store: StoreProcessCluster | undefined
  let api: ApiServerProcess | undefined
  afterAll(() => {
    api?.stop()
    store?.destroy()
  })
  defineClientNodeSuite(async () => {
    store = new StoreProcessCluster(3, 211, TIMING)
    store.startAll()
    const a = new ApiServerProcess(HOST, [
      '--storage-backend=etcd3',
      `--etcd-servers=${store.clientUrls.join(',')}`,
    ])
    api = a
    const s = store
    const logs = () => `${a.logs().slice(-4000)}\n${memberLogs(s)}`
    await a.ready(30_000, () => memberLogs(s))
    return { host: HOST, logs }
  })
})
