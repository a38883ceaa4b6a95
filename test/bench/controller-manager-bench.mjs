import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client, Pool } from 'undici'
import { call, installExitHandlers, startProc, stopProc } from './process-guard.mjs'

const main = (pkg) => fileURLToPath(new URL(`../../packages/${pkg}/dist/main.js`, import.meta.url))
const MAINS = {
  store: main('store'),
  apiserver: main('api-server'),
  scheduler: main('scheduler'),
  controllerManager: main('controller-manager'),
  nodeSim: main('node-sim'),
}
const API = 'http://127.0.2.210:6443'
const STORE_HOSTS = ['127.0.2.211', '127.0.2.212', '127.0.2.213']
const SCHEDULER_HOST = '127.0.2.214'
const CM = { host: '127.0.2.215', port: 10257 }
const SIM = { host: '127.0.2.216', port: 10250 }
const CLOCK_TICKS_PER_S = 100
/** kube-controller-manager's default client limits (--kube-api-qps, --kube-api-burst). */
const KUBE_QPS = 20
const KUBE_BURST = 30

export const CM_CASE = (quick) => (quick ? { replicas: 100, nodes: 10 } : { replicas: 1000, nodes: 100 })

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const fmt = (n) => Math.round(n).toLocaleString('en-US')
const fmt1 = (n) => (n === undefined ? '—' : n.toFixed(1))

async function waitUntil(what, probe, timeoutMs, tails) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await probe().catch(() => false)) return
    if (Date.now() > deadline)
      throw new Error(`controller-manager bench: ${what}: not within ${timeoutMs} ms\n${tails()}`)
    await sleep(200)
  }
}

/**
 * A watch on a collection, as an informer keeps one: listed, then watched from the list's
 * resourceVersion on a connection of its own; a stream that ends (a stalled api-server, an ERROR
 * event) is followed by a new list, whose differences are handed on as events, and a new watch. Every
 * event goes to `onEvent` with its arrival time. `restarts()` counts the new lists; `close()` ends it.
 */
async function openWatch(path, onEvent) {
  const client = new Client(API, { bodyTimeout: 0, headersTimeout: 60_000 })
  const abort = new AbortController()
  let known = new Set()
  let restarts = 0
  const relist = async () => {
    const list = JSON.parse(await call(client, 'GET', path, undefined, 200))
    const now = performance.now()
    const names = new Set(list.items.map((o) => o.metadata.name))
    for (const name of known)
      if (!names.has(name)) onEvent({ type: 'DELETED', object: { metadata: { name } } }, now)
    for (const o of list.items)
      onEvent({ type: known.has(o.metadata.name) ? 'MODIFIED' : 'ADDED', object: o }, now)
    known = names
    return list.metadata.resourceVersion
  }
  const stream = async (rv) => {
    const res = await client.request({
      method: 'GET',
      path: `${path}?watch=true&resourceVersion=${rv}`,
      signal: abort.signal,
    })
    if (res.statusCode !== 200) throw new Error(`watch ${path}: HTTP ${res.statusCode}`)
    let buf = ''
    for await (const chunk of res.body) {
      const now = performance.now()
      buf += chunk.toString()
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim()
        buf = buf.slice(nl + 1)
        if (line === '') continue
        const ev = JSON.parse(line)
        if (ev.type === 'ERROR') return
        const name = ev.object?.metadata?.name
        if (ev.type === 'DELETED') known.delete(name)
        else known.add(name)
        onEvent(ev, now)
      }
    }
  }
  let rv = await relist()
  const done = (async () => {
    while (!abort.signal.aborted) {
      await stream(rv).catch(() => {})
      if (abort.signal.aborted) return
      restarts++
      await sleep(500)
      rv = await relist().catch(() => rv)
    }
  })()
  return {
    restarts: () => restarts,
    close: async () => {
      abort.abort()
      await done
      await client.destroy().catch(() => {})
    },
  }
}

/** utime + stime of a process, in seconds (0 once it is gone). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S
  } catch {
    return 0
  }
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : 0
  } catch {
    return 0
  }
}

/**
 * CPU and peak RSS per component. `components` maps a name to a function giving the component's
 * current pids (a supervised process gets a new pid when restarted; the store has three members,
 * whose CPU is summed and whose RSS is the largest member's); `null`: this benchmark process itself.
 * Every pid seen is sampled every 0.5 s; its CPU counts from its first sample to its last.
 */
function startSampler(components) {
  const cpuOf = (pid) => {
    if (pid !== null) return cpuSeconds(pid)
    const u = process.cpuUsage()
    return (u.user + u.system) / 1e6
  }
  const rssOf = (pid) => (pid === null ? process.memoryUsage().rss / 2 ** 20 : rssMiB(pid))
  const t0 = performance.now()
  const seen = Object.fromEntries(Object.keys(components).map((k) => [k, new Map()]))
  const peak = Object.fromEntries(Object.keys(components).map((k) => [k, 0]))
  const sample = () => {
    for (const [k, pids] of Object.entries(components)) {
      let rss = 0
      for (const pid of pids()) {
        const cpu = cpuOf(pid)
        const prev = seen[k].get(pid)
        // A pid's CPU reads 0 once the process is gone: its last reading stands.
        if (prev === undefined) seen[k].set(pid, { first: cpu, last: cpu })
        else if (cpu > 0) prev.last = cpu
        rss = Math.max(rss, rssOf(pid))
      }
      peak[k] = Math.max(peak[k], rss)
    }
  }
  sample()
  const timer = setInterval(sample, 500)
  return {
    /** CPU seconds and % of one core per component since the start, and the peak RSS. */
    stop() {
      clearInterval(timer)
      sample()
      const s = (performance.now() - t0) / 1000
      const out = {}
      for (const k of Object.keys(components)) {
        const cpuS = [...seen[k].values()].reduce((a, x) => a + x.last - x.first, 0)
        out[k] = { cpuS, cpuPct: (cpuS / s) * 100, rssMiB: peak[k] }
      }
      return out
    },
  }
}

function startStore(root) {
  const initialCluster = STORE_HOSTS.map((h, i) => `m${i + 1}=http://${h}:2380`).join(',')
  return STORE_HOSTS.map((host, i) =>
    startProc(`store m${i + 1}`, [
      MAINS.store,
      `--name=m${i + 1}`,
      `--data-dir=${join(root, `m${i + 1}`)}`,
      `--listen-peer-urls=http://${host}:2380`,
      `--initial-advertise-peer-urls=http://${host}:2380`,
      `--listen-client-urls=http://${host}:2379`,
      `--advertise-client-urls=http://${host}:2379`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-state=new',
      '--heartbeat-interval=100',
      '--election-timeout=1000',
    ]),
  )
}

/** After an exit, a supervised component is started again this long after (`hakube up`'s first step). */
const RESTART_DELAY_MS = 1000

/**
 * A component with leader election, supervised as `hakube up` (or a kubelet's static pod) does: when it
 * exits (it does when it loses its lease: kube's `leaderelection lost`), it is started again after
 * RESTART_DELAY_MS. Counts the restarts and the leases lost (`stopped leading` lines).
 */
function startSupervised(name, args) {
  const c = { name, restarts: 0, leasesLost: 0, stopping: false, leading: false, exits: [] }
  const launch = () => {
    c.leading = false
    c.current = startProc(name, args, (line) => {
      if (line.includes('"successfully acquired lease"')) c.leading = true
      else if (line.includes('"stopped leading"')) c.leasesLost++
    })
    const proc = c.current
    proc.exited.then((how) => {
      if (c.stopping) return
      c.exits.push({ how, tail: proc.tail() })
      setTimeout(() => {
        if (c.stopping) return
        c.restarts++
        launch()
      }, RESTART_DELAY_MS)
    })
  }
  launch()
  c.pids = () => [c.current.proc.pid]
  c.tail = () => `${c.current.tail()}${c.exits.length > 0 ? `\n(${c.exits.length} exit(s) before)` : ''}`
  c.stop = async () => {
    c.stopping = true
    await stopProc(c.current)
  }
  return c
}

/**
 * Every second, the time a merge patch of an Endpoints object in kube-system takes (the write a lock
 * renewal makes, one at a time): the latency the elections see while the burst runs.
 */
function startWriteProbe(pool) {
  const path = '/api/v1/namespaces/kube-system/endpoints/bench-probe'
  const latencies = []
  let stopped = false
  const done = (async () => {
    await call(pool, 'POST', '/api/v1/namespaces/kube-system/endpoints', {
      metadata: { name: 'bench-probe' },
    })
    for (let i = 0; !stopped; i++) {
      const t = performance.now()
      const r = await pool
        .request({
          method: 'PATCH',
          path,
          headers: { 'content-type': 'application/merge-patch+json' },
          body: JSON.stringify({ metadata: { annotations: { 'bench/probe': String(i) } } }),
          headersTimeout: 120_000,
          bodyTimeout: 120_000,
        })
        .then(async (res) => {
          await res.body.text()
          return res.statusCode
        })
        .catch(() => 0)
      latencies.push({ ms: performance.now() - t, ok: r === 200 })
      await sleep(Math.max(0, 1000 - (performance.now() - t)))
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await done.catch(() => {})
      const ms = latencies.map((l) => l.ms)
      return {
        samples: ms.length,
        p50: ms.length > 0 ? median(ms) : 0,
        max: ms.length > 0 ? Math.max(...ms) : 0,
        over10s: ms.filter((x) => x > 10_000).length,
        failed: latencies.filter((l) => !l.ok).length,
      }
    },
  }
}

function deploymentOf(replicas) {
  const labels = { app: 'bench' }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bench' },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'pause',
              image: 'registry.k8s.io/pause:3.9',
              resources: { requests: { cpu: '10m', memory: '16Mi' } },
            },
          ],
        },
      },
    },
  }
}

/**
 * The api-server's `apiserver_request_total`, summed per `verb resource` (watches apart: they stay
 * open), with the answers of 409 (conflicts) counted under `conflicts`.
 */
async function apiRequests(pool) {
  const text = await call(pool, 'GET', '/metrics', undefined, 200)
  const out = { conflicts: 0, tooMany: 0, serverErrors: 0 }
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    const n = Number(line.slice(line.lastIndexOf(' ') + 1))
    // Watches stay open; requests outside the API (/metrics, /readyz) have no resource.
    if (labels.verb === 'WATCH' || !labels.resource) continue
    const key = `${labels.verb} ${labels.resource}`
    out[key] = (out[key] ?? 0) + n
    if (labels.code === '409') out.conflicts += n
    else if (labels.code === '429') out.tooMany += n
    else if (labels.code.startsWith('5')) out.serverErrors += n
  }
  return out
}

/** The answer counts apiRequests keeps beside the `verb resource` keys. */
const ANSWERS = ['conflicts', 'tooMany', 'serverErrors']
const delta = (after, before) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([k, v]) => v > 0 || ANSWERS.includes(k)),
  )

/** The replicaset controller's pod creates, from the controller-manager's /metrics. */
async function podCreatesCounted() {
  const r = await fetch(`http://${CM.host}:${CM.port}/metrics`)
  const m =
    /hakube_controller_actions_total\{[^}]*controller="replicaset"[^}]*verb="create"[^}]*\} (\d+)/.exec(
      await r.text(),
    )
  return m === null ? 0 : Number(m[1])
}

/** One run on fresh processes. */
async function runOnce({ backend, replicas, nodes, log }) {
  const root = mkdtempSync(join(tmpdir(), 'hakube-bench-cm-'))
  const procs = {}
  const all = () => Object.values(procs).flat()
  const tails = () =>
    all()
      .map((p) => p.tail())
      .join('\n')
  const pool = new Pool(API, { connections: 16, keepAliveTimeout: 60_000 })
  const watches = []
  try {
    const storage = ['--storage-backend=memory']
    if (backend === 'etcd3') {
      procs.store = startStore(root)
      storage[0] = '--storage-backend=etcd3'
      storage.push(`--etcd-servers=${STORE_HOSTS.map((h) => `http://${h}:2379`).join(',')}`)
    }
    procs.apiserver = [
      startProc('hakube-apiserver', [
        MAINS.apiserver,
        `--bind-address=${new URL(API).hostname}`,
        '--secure-port=6443',
        ...storage,
      ]),
    ]
    await waitUntil(
      'api-server ready',
      async () => {
        const r = await pool.request({ method: 'GET', path: '/readyz' })
        await r.body.text()
        return r.statusCode === 200
      },
      60_000,
      tails,
    )
    procs.nodeSim = [
      startProc('hakube-node-sim', [
        MAINS.nodeSim,
        `--master=${API}`,
        `--bind-address=${SIM.host}`,
        `--port=${SIM.port}`,
        `--nodes=${nodes}`,
        '--node-name-prefix=bench',
        '--log-level=warn',
      ]),
    ]
    await waitUntil(
      `${nodes} nodes Ready`,
      async () => {
        const list = JSON.parse(await call(pool, 'GET', '/api/v1/nodes', undefined, 200))
        const ready = list.items.filter((n) =>
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        )
        return ready.length === nodes
      },
      120_000,
      tails,
    )
    const scheduler = startSupervised('hakube-scheduler', [
      MAINS.scheduler,
      `--master=${API}`,
      `--bind-address=${SCHEDULER_HOST}`,
    ])
    procs.scheduler = [scheduler]
    const cm = startSupervised('hakube-controller-manager', [
      MAINS.controllerManager,
      `--master=${API}`,
      `--bind-address=${CM.host}`,
      `--port=${CM.port}`,
    ])
    procs.controllerManager = [cm]
    await waitUntil(
      'the scheduler and the controller-manager leading, its informers synced',
      async () =>
        scheduler.leading &&
        cm.leading &&
        (await fetch(`http://${CM.host}:${CM.port}/readyz`)).status === 200,
      60_000,
      tails,
    )
    const ns = 'bench'
    await call(pool, 'POST', '/api/v1/namespaces', { metadata: { name: ns } }, 201)

    // The pods' milestones, from a watch opened before the create.
    const created = new Set()
    const bound = new Set()
    const running = new Set()
    const live = new Set()
    const at = {}
    let deletedCount = 0
    let deleting = false
    let t0 = 0
    const since = (now) => (now - t0) / 1000
    watches.push(
      await openWatch(`/api/v1/namespaces/${ns}/pods`, (ev, now) => {
        const pod = ev.object
        const name = pod?.metadata?.name
        if (name === undefined) return
        if (ev.type === 'DELETED') {
          live.delete(name)
          deletedCount++
          if (deleting && live.size === 0 && at.gone === undefined) at.gone = since(now)
          return
        }
        live.add(name)
        if (!created.has(name)) {
          created.add(name)
          if (created.size === 1) at.firstCreated = since(now)
          if (created.size === replicas) at.created = since(now)
        }
        if (pod.spec?.nodeName && !bound.has(name)) {
          bound.add(name)
          if (bound.size === replicas) at.bound = since(now)
        }
        if (pod.status?.phase === 'Running' && !running.has(name)) {
          running.add(name)
          if (running.size === replicas) at.running = since(now)
        }
      }),
    )
    watches.push(
      await openWatch(`/apis/apps/v1/namespaces/${ns}/deployments`, (ev, now) => {
        const d = ev.object
        if (ev.type === 'DELETED' || d?.metadata?.name !== 'bench') return
        const available = d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True')
        if (available && at.available === undefined) at.available = since(now)
        const s = d.status ?? {}
        if (
          at.complete === undefined &&
          (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) &&
          s.updatedReplicas === replicas &&
          s.availableReplicas === replicas &&
          s.replicas === replicas
        )
          at.complete = since(now)
      }),
    )

    const sampler = startSampler({
      apiserver: () => procs.apiserver.map((p) => p.proc.pid),
      ...(procs.store ? { store: () => procs.store.map((p) => p.proc.pid) } : {}),
      scheduler: scheduler.pids,
      controllerManager: cm.pids,
      nodeSim: () => procs.nodeSim.map((p) => p.proc.pid),
      bench: () => [null],
    })
    const probe = startWriteProbe(pool)
    const load0 = os.loadavg()[0]
    const requests0 = await apiRequests(pool)
    t0 = performance.now()
    await call(pool, 'POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deploymentOf(replicas), 201)
    await waitUntil(
      `${replicas} pods Running and the Deployment complete`,
      async () => at.running !== undefined && at.complete !== undefined,
      600_000,
      () =>
        `${created.size} pods created, ${bound.size} bound, ${running.size} Running; restarts: scheduler ` +
        `${scheduler.restarts}, controller-manager ${cm.restarts}\n${tails()}`,
    )
    const usage = sampler.stop()
    const writes = await probe.stop()
    const windowS = (performance.now() - t0) / 1000
    const load1 = os.loadavg()[0]
    const requests = delta(await apiRequests(pool), requests0)

    // Exactly `replicas` pods, all Running, and as many creates counted by the controller-manager.
    const pods = JSON.parse(await call(pool, 'GET', `/api/v1/namespaces/${ns}/pods`, undefined, 200)).items
    const runningNow = pods.filter((p) => p.status?.phase === 'Running').length
    if (pods.length !== replicas || runningNow !== replicas)
      throw new Error(`${pods.length} pods, ${runningNow} Running (expected ${replicas} of each)\n${tails()}`)
    // A restarted controller-manager counts from 0: the check holds for one uninterrupted instance.
    const creates = cm.restarts === 0 ? await podCreatesCounted() : undefined
    const everCreated = created.size

    // Deletion: the garbage collector removes the ReplicaSet, then its pods; node-sim finishes them.
    deleting = true
    const d0 = performance.now()
    await call(
      pool,
      'DELETE',
      `/apis/apps/v1/namespaces/${ns}/deployments/bench`,
      { propagationPolicy: 'Background' },
      200,
    )
    await waitUntil('every pod gone after the delete', async () => at.gone !== undefined, 600_000, tails)
    const goneS = at.gone - (d0 - t0) / 1000
    if (deletedCount !== replicas) throw new Error(`${deletedCount} pods deleted, expected ${replicas}`)
    const r = {
      ...at,
      goneS,
      createRate: replicas / (at.created - at.firstCreated || 1e-3),
      createRateFromStart: replicas / at.created,
      usage,
      windowS,
      requests,
      writes,
      everCreated,
      creates,
      watchRestarts: watches.reduce((a, w) => a + w.restarts(), 0),
      lost: { scheduler: scheduler.leasesLost, controllerManager: cm.leasesLost },
      restarts: { scheduler: scheduler.restarts, controllerManager: cm.restarts },
      load: [load0, load1],
    }
    const cpu = Object.entries(usage).map(([k, u]) => `${k} ${Math.round(u.cpuPct)}`)
    const top = Object.entries(requests)
      .filter(([k]) => !ANSWERS.includes(k))
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
    log(
      `controller-manager (${backend}): ${replicas} pods on ${nodes} nodes: first pod ${fmt1(at.firstCreated)} s, ` +
        `all created ${fmt1(at.created)} s (${fmt(r.createRate)} pods/s), bound ${fmt1(at.bound)} s, Running ` +
        `${fmt1(at.running)} s; Available ${fmt1(at.available)} s, complete ${fmt1(at.complete)} s; deleted in ` +
        `${fmt1(goneS)} s; load ${load0.toFixed(1)} → ${load1.toFixed(1)}; CPU % ${cpu.join(', ')}; ` +
        `api-server requests: ${top.join(', ')} (409: ${requests.conflicts}, 429: ${requests.tooMany}, 5xx: ${requests.serverErrors}; replicaset create attempts ${creates ?? 'n/a'}); probe writes p50 ` +
        `${Math.round(writes.p50)} ms, max ${Math.round(writes.max)} ms, ${writes.over10s} over 10 s; leases lost ` +
        `(restarts): scheduler ${scheduler.leasesLost} (${scheduler.restarts}), controller-manager ` +
        `${cm.leasesLost} (${cm.restarts}); pods ever created ${everCreated}; watches restarted ${r.watchRestarts}`,
    )
    return r
  } finally {
    for (const w of watches) await w.close()
    await pool.destroy().catch(() => {})
    for (const p of all().reverse()) await (p.stop === undefined ? stopProc(p) : p.stop())
    rmSync(root, { recursive: true, force: true })
  }
}

/** Runs `runs` fresh runs on one backend; resolves with every run's figures. */
export async function benchControllerManager({ backend, runs = 1, quick = false, log = console.log }) {
  for (const path of Object.values(MAINS))
    if (!existsSync(path)) throw new Error(`${path} is missing: build first (npm run build)`)
  installExitHandlers()
  const { replicas, nodes } = CM_CASE(quick)
  const results = []
  for (let i = 0; i < runs; i++) results.push(await runOnce({ backend, replicas, nodes, log }))
  return results
}

const COMPONENTS = [
  ['apiserver', 'api-server'],
  ['store', 'store (3 members: CPU summed, RSS of the largest)'],
  ['scheduler', 'scheduler'],
  ['controllerManager', 'controller-manager'],
  ['nodeSim', 'node-sim'],
  ['bench', 'this benchmark (watches, sampling)'],
]

/** The section's Markdown: both backends, `runs` fresh runs each. */
export async function controllerManagerSection({ runs = 1, quick = false, log = console.log } = {}) {
  const { replicas, nodes } = CM_CASE(quick)
  const per = {}
  for (const backend of ['memory', 'etcd3'])
    per[backend] = await benchControllerManager({ backend, runs, quick, log })
  const label = { memory: 'memory', etcd3: 'etcd3, 3-member hakube-store' }
  const m = (rs, f) => median(rs.map(f))
  const timeRows = Object.entries(per).map(
    ([b, rs]) =>
      `| ${label[b]} | ${fmt1(m(rs, (r) => r.firstCreated))} | ${fmt1(m(rs, (r) => r.created))} | ${fmt(m(rs, (r) => r.createRate))} | ` +
      `${fmt1(m(rs, (r) => r.bound))} | **${fmt1(m(rs, (r) => r.running))}** | ${fmt1(Math.min(...rs.map((r) => r.running)))}-${fmt1(Math.max(...rs.map((r) => r.running)))} | ` +
      `${fmt1(m(rs, (r) => r.available))} | **${fmt1(m(rs, (r) => r.complete))}** | ${fmt1(m(rs, (r) => r.goneS))} |`,
  )
  const sum = (rs, f) => rs.reduce((a, r) => a + f(r), 0)
  const healthRows = Object.entries(per).map(
    ([b, rs]) =>
      `| ${label[b]} | ${fmt(m(rs, (r) => r.writes.p50))} | **${fmt(Math.max(...rs.map((r) => r.writes.max)))}** | ` +
      `${sum(rs, (r) => r.writes.over10s)} | ${sum(rs, (r) => r.writes.failed)} | ` +
      `**${sum(rs, (r) => r.lost.scheduler)} / ${sum(rs, (r) => r.lost.controllerManager)}** | ` +
      `${sum(rs, (r) => r.restarts.scheduler)} / ${sum(rs, (r) => r.restarts.controllerManager)} | ` +
      `${fmt(Math.max(...rs.map((r) => r.everCreated)))} | ${sum(rs, (r) => r.watchRestarts)} |`,
  )
  const usageRows = []
  for (const [key, name] of COMPONENTS) {
    const cells = Object.entries(per).map(([, rs]) => {
      if (rs[0].usage[key] === undefined) return '— | — | —'
      const perPod = m(rs, (r) => (r.usage[key].cpuS * 1000) / replicas)
      return `${fmt(m(rs, (r) => r.usage[key].cpuPct))} | ${perPod.toFixed(1)} | ${fmt(m(rs, (r) => r.usage[key].rssMiB))}`
    })
    usageRows.push(`| ${name} | ${cells.join(' | ')} |`)
  }
  // The api-server's requests per pod over the window, by verb and resource (medians), most first.
  const keys = new Set(Object.values(per).flatMap((rs) => rs.flatMap((r) => Object.keys(r.requests))))
  const perPodReq = (rs, k) => m(rs, (r) => (r.requests[k] ?? 0) / replicas)
  const requestRows = [...keys]
    .filter((k) => !ANSWERS.includes(k))
    .map((k) => ({ k, v: Object.values(per).map((rs) => perPodReq(rs, k)) }))
    .filter((x) => x.v.some((v) => v >= 0.01))
    .sort((a, b) => b.v[0] - a.v[0])
    .map(({ k, v }) => `| ${k} | ${v.map((x) => x.toFixed(2)).join(' | ')} |`)
  const total = (rs, mutating) =>
    m(rs, (r) =>
      Object.entries(r.requests)
        .filter(([k]) => !ANSWERS.includes(k) && (!mutating || !/^(GET|LIST) /.test(k)))
        .reduce((a, [, v]) => a + v / replicas, 0),
    )
  const backends = Object.values(per)
  const loads = Object.values(per)
    .flat()
    .flatMap((r) => r.load)
  const memRunning = m(per.memory, (r) => r.running)
  const limited = Object.keys(per).filter((b) => per[b].some((r) => r.requests.tooMany > 0))
  const limitsText =
    limited.length === 0
      ? ['own limits (400 reads / 200 mutations in flight), not reached here (no 429 answer).']
      : [
          `own limits (400 reads / 200 mutations in flight), reached here on ${limited.join(' and ')}: a slow-start batch`,
          "of up to 256 creates next to the scheduler's bindings and node-sim's status writes got 429",
          "TooManyRequests answers (table above). hakube's ApiClient reports a 429 without retrying it (client-go",
          'retries it after its Retry-After), so the replicaset controller takes the batch as failed (FailedCreate',
          'Events, the key requeued with backoff) and creates again later: more create attempts than pods, and',
          'the pods ever created show whether any extra pod resulted.',
        ]
  const kubeFloorS = (replicas - KUBE_BURST) / KUBE_QPS
  const plural = runs === 1 ? '' : 's'
  return [
    `## Controller manager (\`hakube-controller-manager\`, a Deployment of ${fmt(replicas)} on ${fmt(nodes)} nodes)`,
    '',
    'The whole control plane as real processes on this machine: one hakube-apiserver (127.0.2.210:6443) with',
    'the memory backend, and with the etcd3 backend over a 3-member hakube-store (127.0.2.211-213, heartbeat',
    `100 ms, election 1000 ms, fresh data dirs); one hakube-node-sim simulating ${fmt(nodes)} nodes (its defaults:`,
    'pods Pending for 1 s, then Running); one hakube-scheduler and one hakube-controller-manager, both with',
    'their default flags (leader election on the `endpoints` lock, info logs). Each run starts every process',
    'afresh, waits until the nodes are Ready and both components hold their locks (the controller-manager',
    `ready: informers synced), then creates a Deployment of ${fmt(replicas)} replicas (one container, 10m cpu and 16Mi`,
    'each) and follows its pods and the Deployment through two watches opened before the create; times run',
    "from sending the create to the watch event that completes a milestone. The api-server's pod list must",
    `then hold exactly ${fmt(replicas)} pods, all Running (the replicaset controller's create attempts, from its`,
    '`hakube_controller_actions_total{controller="replicaset",verb="create"}`, are in the last table).',
    'Then the Deployment is deleted (background propagation, as `kubectl delete`) and the garbage collector',
    `timed until the last pod is gone. Medians of ${runs} run${plural} per backend` +
      (runs === 1 ? ' (a single run: read the figures as indicative only).' : '.'),
    '',
    '| backend | first pod created s | all created s | pods created/s (first to last) | all bound s | all Running s | Running s, min-max | Deployment Available s | complete s (availableReplicas = replicas) | delete → no pod left s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...timeRows,
    '',
    "Available is kube's condition (MinimumReplicasAvailable: available ≥ replicas − maxUnavailable, 25 %),",
    'so it comes before every replica is; complete is what `kubectl rollout status` waits for.',
    '',
    'Meanwhile, the elections: a probe merge-patches an Endpoints object in kube-system once a second, one',
    "at a time (the write a lock renewal makes; kube's renew deadline is 10 s), and the scheduler and the",
    "controller-manager run supervised as in `hakube up`: one that loses its lease exits (kube's",
    '`leaderelection lost`) and is started again after 1 s, then waits for its old lease to expire (15 s).',
    `Pods ever created counts every pod name the watch saw (${fmt(replicas)} means no extra pod, none replaced);`,
    "the benchmark's own watches list again when their stream ends, as an informer does (last column).",
    '',
    '| backend | probe write p50 ms | worst write ms (all runs) | writes over 10 s | failed writes | leases lost, all runs: scheduler / controller-manager | restarts: scheduler / controller-manager | pods ever created (largest run) | watches re-listed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...healthRows,
    '',
    'CPU (user + system from /proc over the create → all Running and complete window, one core = 100 %) and',
    'largest RSS (sampled every 0.5 s over the same window) per process, medians:',
    '',
    '| process | memory: CPU % | memory: CPU ms per pod | memory: RSS MiB | etcd3: CPU % | etcd3: CPU ms per pod | etcd3: RSS MiB |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...usageRows,
    '',
    "CPU per pod (the process's CPU over the window divided by the replicas) depends less on the machine's",
    'other load than CPU %, which falls when the processes wait for a core.',
    '',
    "The api-server's requests over the same window per pod (`apiserver_request_total`, medians; watches",
    'excluded), by HTTP verb and resource; the metric names no subresource, so `POST pods` counts the',
    'creates and the bindings, `PATCH pods` the status writes (node-sim), `PUT replicasets` and `PUT deployments`',
    "the controllers' status writes, `PUT leases` node-sim's Lease renewals, `PUT endpoints` the elections'",
    'and `PATCH endpoints` the probe:',
    '',
    '| verb resource | memory | etcd3 |',
    '|---|---:|---:|',
    ...requestRows,
    `| all requests | ${backends.map((rs) => total(rs, false).toFixed(2)).join(' | ')} |`,
    `| of which writes (not GET) | ${backends.map((rs) => total(rs, true).toFixed(2)).join(' | ')} |`,
    `| answered 409 Conflict | ${backends.map((rs) => m(rs, (r) => r.requests.conflicts / replicas).toFixed(2)).join(' | ')} |`,
    `| answered 429 TooManyRequests | ${backends.map((rs) => m(rs, (r) => r.requests.tooMany / replicas).toFixed(2)).join(' | ')} |`,
    `| answered 5xx | ${backends.map((rs) => m(rs, (r) => r.requests.serverErrors / replicas).toFixed(2)).join(' | ')} |`,
    `| the replicaset controller's pod creates attempted (its \`hakube_controller_actions_total\`, runs without a restart) | ${backends
      .map((rs) => {
        const c = rs.filter((r) => r.creates !== undefined)
        return c.length === 0 ? 'n/a' : (m(c, (r) => r.creates) / replicas).toFixed(2)
      })
      .join(' | ')} |`,
    '',
    `Client limits: hakube's clients (\`@hakube/api\` ApiClient, an undici pool without a connection cap) have no`,
    `client-side QPS or burst limit, and hakube-controller-manager has no \`--kube-api-qps\`/\`--kube-api-burst\`.`,
    `kube-controller-manager's defaults (QPS ${KUBE_QPS}, burst ${KUBE_BURST}) alone would hold ${fmt(replicas)} pod creates to`,
    `(${fmt(replicas)} − ${KUBE_BURST}) / ${KUBE_QPS} ≈ ${fmt(kubeFloorS)} s, before any status write or Event; here all ${fmt(replicas)} Running took`,
    `${fmt1(memRunning)} s (memory). What shapes creation instead is the replicaset controller itself, as kube's: slow-start`,
    "batches of 1, 2, 4, ... creates in parallel (at most 500 per sync, kube's burstReplicas), each sync waiting",
    "for its creates to be observed in the informer (expectations) before the next, and the api-server's",
    ...limitsText,
    'The scheduler and node-sim have no client limit either (node-sim caps its own requests in flight at 64).',
    '',
    `Noise: every process, the benchmark and the other work on this machine share its ${os.cpus().length} cores; the`,
    `1-minute load average read ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} around the measured windows, so read medians, not single runs.`,
    '',
  ].join('\n')
}
