// The controller-manager benchmark used by `npm run bench` (section `controller-manager`): a Deployment
// of 1,000 replicas (--quick: 100) on 100 simulated nodes (--quick: 10), timed from its create until all
// its pods are Running and until the Deployment is Available and complete, with the whole control plane
// as real processes: one hakube-apiserver (127.0.2.210:6443) with the memory backend, or with the etcd3
// backend over a 3-member hakube-store (127.0.2.211-213, etcd's ports and flags, fresh data dirs); one
// hakube-node-sim (127.0.2.216:10250); one hakube-scheduler (127.0.2.214) and one
// hakube-controller-manager (127.0.2.215:10257), both with their default flags (leader election on the
// endpoints lock, info logs). Every run starts every process afresh, waits for the nodes to be Ready and
// for both components to hold their locks, then creates the Deployment and follows its pods through a
// watch (created, bound, Running) and the Deployment through another; then it deletes the Deployment
// (background propagation, kubectl's default) and times the garbage collector until no pod is left.
// Each process's CPU (/proc/PID/stat) over the create-to-Running window and its largest RSS are taken.
// Every process started here is killed on every way out (process-guard.mjs).
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client, Pool } from 'undici'
import { installExitHandlers, liveProcs } from './process-guard.mjs'

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

/** A child process; `onLine` sees every stderr line (pino JSON), `out` keeps a tail for errors. */
function startProc(name, args, onLine) {
  const out = []
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  liveProcs.add(proc)
  const keep = (b) => {
    out.push(b.toString())
    if (out.length > 200) out.shift()
  }
  proc.stdout.on('data', keep)
  let partial = ''
  proc.stderr.on('data', (b) => {
    keep(b)
    if (onLine === undefined) return
    const parts = (partial + b.toString()).split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) onLine(line)
  })
  const exited = new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      liveProcs.delete(proc)
      resolve(signal ?? code)
    }),
  )
  return { name, proc, out, exited, tail: () => `--- ${name} ---\n${out.join('').slice(-3000)}` }
}

async function stopProc(p) {
  if (p === undefined) return
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL')
  await Promise.race([p.exited, sleep(5000)])
}

async function call(pool, method, path, body, expect) {
  const r = await pool.request({
    method,
    path,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await r.body.text()
  if (expect !== undefined && r.statusCode !== expect)
    throw new Error(`${method} ${path}: HTTP ${r.statusCode} (expected ${expect}): ${text.slice(0, 300)}`)
  return text
}

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
 * A watch on a collection from its current resourceVersion, on a connection of its own; every event is
 * handed to `onEvent` with its arrival time. Resolves once the watch is open; `close()` ends it.
 */
async function openWatch(path, onEvent) {
  const client = new Client(API, { bodyTimeout: 0, headersTimeout: 30_000 })
  const list = JSON.parse(await call(client, 'GET', path, undefined, 200))
  for (const item of list.items) onEvent({ type: 'ADDED', object: item }, performance.now())
  const abort = new AbortController()
  const res = await client.request({
    method: 'GET',
    path: `${path}?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
    signal: abort.signal,
  })
  if (res.statusCode !== 200) throw new Error(`watch ${path}: HTTP ${res.statusCode}`)
  const done = (async () => {
    let buf = ''
    for await (const chunk of res.body) {
      const now = performance.now()
      buf += chunk.toString()
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim()
        buf = buf.slice(nl + 1)
        if (line !== '') onEvent(JSON.parse(line), now)
        nl = buf.indexOf('\n')
      }
    }
  })().catch(() => {})
  return {
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
 * CPU and peak RSS per component (a component may be several processes: the store's members, whose
 * CPU is summed and whose RSS is the largest member's). `null` pid: this benchmark process itself.
 */
function startSampler(components) {
  const cpuOf = (pids) =>
    pids.reduce(
      (s, pid) =>
        s +
        (pid === null ? process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 : cpuSeconds(pid)),
      0,
    )
  const rssOf = (pids) =>
    Math.max(...pids.map((pid) => (pid === null ? process.memoryUsage().rss / 2 ** 20 : rssMiB(pid))))
  const t0 = performance.now()
  const cpu0 = Object.fromEntries(Object.entries(components).map(([k, pids]) => [k, cpuOf(pids)]))
  const peak = Object.fromEntries(Object.keys(components).map((k) => [k, 0]))
  const sample = () => {
    for (const [k, pids] of Object.entries(components)) peak[k] = Math.max(peak[k], rssOf(pids))
  }
  sample()
  const timer = setInterval(sample, 500)
  return {
    /** CPU % of one core per component since the start, and the peak RSS so far. */
    stop() {
      clearInterval(timer)
      sample()
      const s = (performance.now() - t0) / 1000
      const out = {}
      for (const [k, pids] of Object.entries(components)) {
        const cpuS = cpuOf(pids) - cpu0[k]
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

/** A component that logs `successfully acquired lease` once it leads. */
function startLeader(name, args) {
  let leading = false
  const p = startProc(name, args, (line) => {
    if (line.includes('"successfully acquired lease"')) leading = true
  })
  p.leading = () => leading
  return p
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
  const out = { conflicts: 0 }
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    const n = Number(line.slice(line.lastIndexOf(' ') + 1))
    // Watches stay open; requests outside the API (/metrics, /readyz) have no resource.
    if (labels.verb === 'WATCH' || !labels.resource) continue
    const key = `${labels.verb} ${labels.resource}`
    out[key] = (out[key] ?? 0) + n
    if (labels.code === '409') out.conflicts += n
  }
  return out
}

const delta = (after, before) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([k, v]) => v > 0 || k === 'conflicts'),
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
    procs.scheduler = [
      startLeader('hakube-scheduler', [
        MAINS.scheduler,
        `--master=${API}`,
        `--bind-address=${SCHEDULER_HOST}`,
      ]),
    ]
    procs.controllerManager = [
      startLeader('hakube-controller-manager', [
        MAINS.controllerManager,
        `--master=${API}`,
        `--bind-address=${CM.host}`,
        `--port=${CM.port}`,
      ]),
    ]
    await waitUntil(
      'the scheduler and the controller-manager leading, its informers synced',
      async () =>
        procs.scheduler[0].leading() &&
        procs.controllerManager[0].leading() &&
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
      apiserver: procs.apiserver.map((p) => p.proc.pid),
      ...(procs.store ? { store: procs.store.map((p) => p.proc.pid) } : {}),
      scheduler: procs.scheduler.map((p) => p.proc.pid),
      controllerManager: procs.controllerManager.map((p) => p.proc.pid),
      nodeSim: procs.nodeSim.map((p) => p.proc.pid),
      bench: [null],
    })
    const load0 = os.loadavg()[0]
    const requests0 = await apiRequests(pool)
    t0 = performance.now()
    await call(pool, 'POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deploymentOf(replicas), 201)
    await waitUntil(
      `${replicas} pods Running and the Deployment complete`,
      async () => at.running !== undefined && at.complete !== undefined,
      600_000,
      tails,
    )
    const usage = sampler.stop()
    const windowS = (performance.now() - t0) / 1000
    const load1 = os.loadavg()[0]
    const requests = delta(await apiRequests(pool), requests0)

    // Exactly `replicas` pods, all Running, and as many creates counted by the controller-manager.
    const pods = JSON.parse(await call(pool, 'GET', `/api/v1/namespaces/${ns}/pods`, undefined, 200)).items
    const runningNow = pods.filter((p) => p.status?.phase === 'Running').length
    if (pods.length !== replicas || runningNow !== replicas)
      throw new Error(`${pods.length} pods, ${runningNow} Running (expected ${replicas} of each)\n${tails()}`)
    const creates = await podCreatesCounted()
    if (creates !== replicas)
      throw new Error(`the controller-manager counted ${creates} pod creates for ${replicas} pods`)

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
      load: [load0, load1],
    }
    const cpu = Object.entries(usage).map(([k, u]) => `${k} ${Math.round(u.cpuPct)}`)
    const top = Object.entries(requests)
      .filter(([k]) => k !== 'conflicts')
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
    log(
      `controller-manager (${backend}): ${replicas} pods on ${nodes} nodes: first pod ${fmt1(at.firstCreated)} s, ` +
        `all created ${fmt1(at.created)} s (${fmt(r.createRate)} pods/s), bound ${fmt1(at.bound)} s, Running ` +
        `${fmt1(at.running)} s; Available ${fmt1(at.available)} s, complete ${fmt1(at.complete)} s; deleted in ` +
        `${fmt1(goneS)} s; load ${load0.toFixed(1)} → ${load1.toFixed(1)}; CPU % ${cpu.join(', ')}; ` +
        `api-server requests: ${top.join(', ')} (409: ${requests.conflicts})`,
    )
    return r
  } finally {
    for (const w of watches) await w.close()
    await pool.destroy().catch(() => {})
    for (const p of all().reverse()) await stopProc(p)
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
    .filter((k) => k !== 'conflicts')
    .map((k) => ({ k, v: Object.values(per).map((rs) => perPodReq(rs, k)) }))
    .filter((x) => x.v.some((v) => v >= 0.01))
    .sort((a, b) => b.v[0] - a.v[0])
    .map(({ k, v }) => `| ${k} | ${v.map((x) => x.toFixed(2)).join(' | ')} |`)
  const total = (rs, mutating) =>
    m(rs, (r) =>
      Object.entries(r.requests)
        .filter(([k]) => k !== 'conflicts' && (!mutating || !/^(GET|LIST) /.test(k)))
        .reduce((a, [, v]) => a + v / replicas, 0),
    )
  const backends = Object.values(per)
  const loads = Object.values(per)
    .flat()
    .flatMap((r) => r.load)
  const memRunning = m(per.memory, (r) => r.running)
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
    `then hold exactly ${fmt(replicas)} pods, all Running, and the controller-manager's`,
    '`hakube_controller_actions_total{controller="replicaset",verb="create"}` must count as many creates.',
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
    'creates and the bindings, `PUT pods` the status writes, `PUT replicasets` and `PUT deployments` theirs:',
    '',
    '| verb resource | memory | etcd3 |',
    '|---|---:|---:|',
    ...requestRows,
    `| all requests | ${backends.map((rs) => total(rs, false).toFixed(2)).join(' | ')} |`,
    `| of which writes (not GET) | ${backends.map((rs) => total(rs, true).toFixed(2)).join(' | ')} |`,
    `| answered 409 Conflict | ${backends.map((rs) => m(rs, (r) => r.requests.conflicts / replicas).toFixed(2)).join(' | ')} |`,
    '',
    `Client limits: hakube's clients (\`@hakube/api\` ApiClient, an undici pool without a connection cap) have no`,
    `client-side QPS or burst limit, and hakube-controller-manager has no \`--kube-api-qps\`/\`--kube-api-burst\`.`,
    `kube-controller-manager's defaults (QPS ${KUBE_QPS}, burst ${KUBE_BURST}) alone would hold ${fmt(replicas)} pod creates to`,
    `(${fmt(replicas)} − ${KUBE_BURST}) / ${KUBE_QPS} ≈ ${fmt(kubeFloorS)} s, before any status write or Event; here all ${fmt(replicas)} Running took`,
    `${fmt1(memRunning)} s (memory). What shapes creation instead is the replicaset controller itself, as kube's: slow-start`,
    "batches of 1, 2, 4, ... creates in parallel (at most 500 per sync, kube's burstReplicas), each sync waiting",
    "for its creates to be observed in the informer (expectations) before the next, and the api-server's",
    'own limits (400 reads / 200 mutations in flight, far from reached here). The scheduler and node-sim',
    'have no client limit either (node-sim caps its own requests in flight at 64).',
    '',
    `Noise: every process, the benchmark and the other work on this machine share its ${os.cpus().length} cores; the`,
    `1-minute load average read ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} around the measured windows, so read medians, not single runs.`,
    '',
  ].join('\n')
}
