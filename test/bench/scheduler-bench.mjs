import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { call, installExitHandlers, startProc, stopProc } from './process-guard.mjs'

const main = (pkg) => fileURLToPath(new URL(`../../packages/${pkg}/dist/main.js`, import.meta.url))
const MAINS = { store: main('store'), apiserver: main('api-server'), scheduler: main('scheduler') }
const API_HOST = '127.0.2.46'
const SCHEDULER_HOST = '127.0.2.45'
const STORE_HOSTS = ['127.0.2.47', '127.0.2.48', '127.0.2.49']
export const SCHEDULER_NODES = 1000
export const SCHEDULER_PODS = (quick) => (quick ? 500 : 3000)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** `clients` workers share items 0..n-1. */
async function parallel(clients, n, op) {
  let next = 0
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < n; i = next++) await op(i)
    }),
  )
}

async function waitUntil(what, probe, timeoutMs, tails) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await probe()) return
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${tails()}`)
    await sleep(100)
  }
}

async function createNodes(pool) {
  const allocatable = { cpu: '32', memory: '256Gi', pods: '110' }
  await parallel(32, SCHEDULER_NODES, async (i) => {
    const name = `node-${i}`
    await call(pool, 'POST', '/api/v1/nodes', { metadata: { name, labels: { group: String(i % 4) } } }, 201)
    await call(
      pool,
      'PUT',
      `/api/v1/nodes/${name}/status`,
      {
        metadata: { name },
        status: {
          capacity: allocatable,
          allocatable,
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
        },
      },
      200,
    )
  })
}

async function createPods(pool, namespace, n) {
  await call(pool, 'POST', '/api/v1/namespaces', { metadata: { name: namespace } }, 201)
  await parallel(32, n, async (i) => {
    const pod = {
      metadata: { name: `pod-${i}`, labels: { app: 'bench' } },
      spec: {
        containers: [
          {
            name: 'pause',
            image: 'registry.k8s.io/pause:3.9',
            resources: { requests: { cpu: '10m', memory: '16Mi' } },
          },
        ],
        ...(i % 3 === 0 ? { nodeSelector: { group: String(i % 4) } } : {}),
      },
    }
    await call(pool, 'POST', `/api/v1/namespaces/${namespace}/pods`, pod, 201)
  })
}

/** One measured run: pods created first, then a fresh scheduler binds them. */
async function schedulerRun(pool, namespace, n, tails) {
  await createPods(pool, namespace, n)
  const sched = startProc('hakube-scheduler', [
    MAINS.scheduler,
    `--master=http://${API_HOST}:6443`,
    `--bind-address=${SCHEDULER_HOST}`,
  ])
  // Only the bound count is kept from the log as it streams (the output buffer keeps a tail).
  let bound = 0
  let startedMs
  let lastBoundMs
  let partial = ''
  sched.proc.stderr.on('data', (b) => {
    const parts = (partial + b.toString()).split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) {
      if (line.includes('"msg":"bound"')) {
        bound++
        lastBoundMs = JSON.parse(line).time
      } else if (line.includes('"msg":"scheduling"')) startedMs = JSON.parse(line).time
    }
  })
  try {
    await waitUntil(
      'all pods bound',
      async () => bound >= n,
      300_000,
      () => `${tails()}\n${sched.tail()}`,
    )
    const list = JSON.parse(await call(pool, 'GET', `/api/v1/namespaces/${namespace}/pods`, undefined, 200))
    const onNodes = list.items.filter((p) => p.spec?.nodeName).length
    if (onNodes !== n) throw new Error(`${onNodes} of ${n} pods bound according to the api-server`)
    const seconds = (lastBoundMs - startedMs) / 1000
    return { pods: n, seconds, perSecond: n / seconds }
  } finally {
    await stopProc(sched)
  }
}

/**
 * The api-server's own ceiling for comparison: the same number of pods, bound by 64 clients posting
 * bindings directly (round robin over the nodes), with no scheduler and no Events.
 */
async function directBindingRun(pool, namespace, n) {
  await createPods(pool, namespace, n)
  const t0 = performance.now()
  await parallel(64, n, async (i) => {
    const name = `pod-${i}`
    const binding = { metadata: { name }, target: { kind: 'Node', name: `node-${i % SCHEDULER_NODES}` } }
    await call(pool, 'POST', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, binding, 201)
  })
  const seconds = (performance.now() - t0) / 1000
  return { pods: n, seconds, perSecond: n / seconds }
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

/**
 * Runs `runs` measured runs on the `memory` or `etcd3` backend. Resolves with
 * `{ backend, nodes, runs: [{ pods, seconds, perSecond }], direct: { pods, seconds, perSecond } }`.
 */
export async function benchScheduler({ backend, runs = 1, quick = false, log = console.log }) {
  for (const path of Object.values(MAINS))
    if (!existsSync(path)) throw new Error(`${path} is missing: build first (npm run build)`)
  installExitHandlers()
  const root = mkdtempSync(join(tmpdir(), 'hakube-bench-scheduler-'))
  const procs = []
  const tails = () => procs.map((p) => p.tail()).join('\n')
  let pool
  try {
    const storageArgs = ['--storage-backend=memory']
    if (backend === 'etcd3') {
      procs.push(...startStore(root))
      storageArgs[0] = '--storage-backend=etcd3'
      storageArgs.push(`--etcd-servers=${STORE_HOSTS.map((h) => `http://${h}:2379`).join(',')}`)
    }
    const api = startProc('hakube-apiserver', [
      MAINS.apiserver,
      `--bind-address=${API_HOST}`,
      '--secure-port=6443',
      ...storageArgs,
    ])
    procs.push(api)
    pool = new Pool(`http://${API_HOST}:6443`, { connections: 64, keepAliveTimeout: 60_000 })
    await waitUntil(
      'api-server ready',
      async () => {
        try {
          return (await pool.request({ method: 'GET', path: '/readyz' })).statusCode === 200
        } catch {
          return false
        }
      },
      60_000,
      tails,
    )
    await createNodes(pool)
    const results = []
    const n = SCHEDULER_PODS(quick)
    for (let r = 0; r < runs; r++) {
      const result = await schedulerRun(pool, `bench-${r}`, n, tails)
      log(
        `scheduler (${backend}): run ${r + 1}/${runs}: ${n} pods in ${result.seconds.toFixed(2)} s, ${Math.round(result.perSecond)} pods/s`,
      )
      results.push(result)
    }
    const direct = await directBindingRun(pool, 'bench-direct', n)
    log(`scheduler (${backend}): direct bindings by 64 clients: ${Math.round(direct.perSecond)} pods/s`)
    return { backend, nodes: SCHEDULER_NODES, runs: results, direct }
  } finally {
    await pool?.destroy()
    for (const p of procs.reverse()) await stopProc(p)
    rmSync(root, { recursive: true, force: true })
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const fmt = (n) => Math.round(n).toLocaleString('en-US')

/** The section's markdown: both backends, `runs` runs each. */
export async function schedulerSection({ runs = 1, quick = false, log = console.log } = {}) {
  const goal = 300
  const rows = []
  let memoryMedian = 0
  for (const backend of ['memory', 'etcd3']) {
    const r = await benchScheduler({ backend, runs, quick, log })
    const rates = r.runs.map((x) => x.perSecond)
    const m = median(rates)
    if (backend === 'memory') memoryMedian = m
    rows.push(
      `| ${backend === 'memory' ? 'memory' : 'etcd3, 3-member hakube-store'} | ${fmt(r.nodes)} | ${fmt(r.runs[0]?.pods ?? 0)} | ` +
        `**${fmt(m)}** | ${fmt(Math.min(...rates))} | ${fmt(Math.max(...rates))} | ${median(r.runs.map((x) => x.seconds)).toFixed(2)} | ` +
        `${fmt(r.direct.perSecond)} |`,
    )
  }
  const plural = runs === 1 ? '' : 's'
  return [
    '## Scheduler (`hakube-scheduler`, 1,000 nodes)',
    '',
    'One hakube-scheduler process (default flags: leader election on the `endpoints` lock, info logs, a',
    'Scheduled Event per pod) against one hakube-apiserver on 127.0.2.46:6443, with the memory backend',
    'and with the etcd3 backend over a 3-member hakube-store (127.0.2.47-49, heartbeat 100 ms, election',
    '1000 ms). 1,000 Ready nodes (32 cpu, 256 Gi, 110 pods) in 4 label groups are created through the API.',
    'Each run creates its pods first (10m cpu and 16Mi each, a third with a nodeSelector on a group) in a',
    'namespace of its own while no scheduler runs, then starts a fresh scheduler and times, from its own',
    'log, the interval from the start of scheduling (informers synced, lock held, every pod queued) to its',
    "last binding; the api-server's pod list must then show every pod bound. Pods bound by earlier runs",
    `stay, so later runs see fuller nodes. Medians of ${runs} run${plural} per backend` +
      (runs === 1 ? ' (a single run: read the figures as indicative only).' : '.'),
    'The last column is the ceiling the api-server and its storage set: as many pods bound by 64 clients',
    'posting bindings directly (once per backend, after the runs), without a scheduler and without Events.',
    '',
    '| backend | nodes | pods per run | median pods/s bound | min | max | median seconds | api-server alone: direct bindings/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Goal (at least ${goal} pods/s bound with 1,000 nodes on the memory backend; kube-scheduler's own`,
    `performance tests run at about 100-300): ${fmt(memoryMedian)} pods/s, **${memoryMedian >= goal ? 'MET' : 'NOT MET'}**.`,
    '',
  ].join('\n')
}
