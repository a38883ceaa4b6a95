// The api-server benchmark used by `npm run bench` (section `apiserver`): starts a real 3-member
// hakube-store (processes on 127.0.1.221-223, etcd's ports and flags) and one hakube-apiserver process
// on 127.0.1.220:6443 with the etcd3 backend (`--etcd-servers` lists all three members), then drives it
// over HTTP with undici (one keep-alive pool) in closed loops: pod creates until the namespace holds the
// target count (10,000), gets of single pods, lists of the whole namespace and of all pods (cluster
// scope), and watches (the delay from a create to its ADDED event on an open watch, and events/s while
// 32 clients create). Every process started here is killed on every path: `finally`, process exit,
// SIGINT and SIGTERM.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { memberLogs, StoreProcessCluster } from '@hakube/store/testing'
import { Pool } from 'undici'
import { installExitHandlers, liveClusters, liveProcs } from './process-guard.mjs'

const APISERVER_MAIN = fileURLToPath(new URL('../../packages/api-server/dist/main.js', import.meta.url))
const API_HOST = '127.0.1.220'
const API_PORT = 6443
/** The store members are 127.0.1.<STORE_HOST_BASE + i>, i = 1..3. */
const STORE_HOST_BASE = 220
const TIMING = { heartbeatMs: 100, electionMs: 1000 }
const NAMESPACE = 'bench'
const WATCH_NAMESPACE = 'bench-watch'

/** The cases, in table order; `requests` is per run. */
export const APISERVER_CASES = (quick) => ({
  stored: 10_000,
  warmup: quick ? 1_000 : 3_000,
  create1: quick ? 100 : 500,
  create32: quick ? 500 : 1_500,
  get1: quick ? 300 : 2_000,
  get32: quick ? 2_000 : 20_000,
  lists: quick ? 3 : 10,
  watchDelay: quick ? 100 : 500,
  watchThroughput: quick ? 500 : 2_000,
})

/** Every process this module started and has not yet seen exit (the api-server), and store clusters. */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const now = () => Number(process.hrtime.bigint()) / 1e6
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
function summary(lat, count, seconds) {
  const s = Float64Array.from(lat).sort()
  return { perSecond: count / seconds, p50: pct(s, 50), p99: pct(s, 99), seconds, count }
}

/** A pod as a kubemark/kwok load test would create it: one container, labels, requests. */
const podBody = (name) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench', tier: 'load' } },
    spec: {
      containers: [
        {
          name: 'pause',
          image: 'registry.k8s.io/pause:3.9',
          resources: { requests: { cpu: '10m', memory: '16Mi' } },
        },
      ],
    },
  })

class HttpError extends Error {}

/** One request; rejects on anything but `expect` with the server's Status text. Resolves with the body. */
async function call(pool, method, path, body, expect = 200) {
  const r = await pool.request({
    method,
    path,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body,
  })
  const text = await r.body.text()
  if (r.statusCode !== expect)
    throw new HttpError(`${method} ${path}: HTTP ${r.statusCode} (expected ${expect}): ${text.slice(0, 500)}`)
  return text
}

/** `clients` closed loops share `total` requests; `op(i)` performs request i. */
async function closedLoop(clients, total, op) {
  const lat = new Float64Array(total)
  let next = 0
  const worker = async () => {
    while (next < total) {
      const i = next++
      const t0 = now()
      await op(i)
      lat[i] = now() - t0
    }
  }
  const start = now()
  await Promise.all(Array.from({ length: clients }, worker))
  return summary(lat, total, (now() - start) / 1000)
}

/**
 * Opens a watch on `path` (a collection) from `resourceVersion`; `onEvent(type, object, arrivedAtMs)` is
 * called for each event. Resolves once the response headers arrived; `close()` ends the stream.
 */
async function openWatch(pool, path, resourceVersion, onEvent) {
  const ac = new AbortController()
  const r = await pool.request({
    method: 'GET',
    path: `${path}?watch=true&resourceVersion=${resourceVersion}`,
    signal: ac.signal,
  })
  if (r.statusCode !== 200) throw new HttpError(`watch ${path}: HTTP ${r.statusCode}: ${await r.body.text()}`)
  let closed = false
  const done = (async () => {
    let buf = ''
    try {
      for await (const chunk of r.body) {
        const at = now()
        buf += chunk.toString()
        let nl = buf.indexOf('\n')
        while (nl >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          if (line.trim() !== '') {
            const ev = JSON.parse(line)
            onEvent(ev.type, ev.object, at)
          }
          nl = buf.indexOf('\n')
        }
      }
      if (!closed) throw new Error(`watch ${path}: the server ended the stream`)
    } catch (err) {
      if (!closed) throw err
    }
  })()
  // A failure before close() surfaces through `done`; keep it from being an unhandled rejection.
  done.catch(() => {})
  return {
    done,
    close() {
      closed = true
      ac.abort()
    },
  }
}

async function currentRV(pool, path) {
  return JSON.parse(await call(pool, 'GET', `${path}?limit=1`)).metadata.resourceVersion
}

/**
 * Watch delay: one client creates `n` pods one at a time in WATCH_NAMESPACE, each after the previous
 * one's ADDED event arrived; returns the create → ADDED delay percentiles.
 */
async function watchDelay(pool, watchPool, n, tag) {
  const path = `/api/v1/namespaces/${WATCH_NAMESPACE}/pods`
  const waiting = new Map()
  const w = await openWatch(watchPool, path, await currentRV(pool, path), (type, obj, at) => {
    const entry = waiting.get(obj?.metadata?.name)
    if (type === 'ADDED' && entry !== undefined) {
      waiting.delete(obj.metadata.name)
      entry.resolve(at - entry.t0)
    }
  })
  try {
    const lat = new Float64Array(n)
    const start = now()
    for (let i = 0; i < n; i++) {
      const name = `wd-${tag}-${i}`
      let entry
      const seen = new Promise((resolve) => {
        entry = { t0: now(), resolve }
      })
      waiting.set(name, entry)
      await call(pool, 'POST', path, podBody(name), 201)
      lat[i] = await Promise.race([
        seen,
        w.done.then(() => Promise.reject(new Error('watch ended'))),
        sleep(30_000).then(() => Promise.reject(new Error(`no ADDED event for ${name} within 30 s`))),
      ])
    }
    return summary(lat, n, (now() - start) / 1000)
  } finally {
    w.close()
  }
}

/**
 * Watch throughput: 32 clients create `n` pods in WATCH_NAMESPACE while one watch is open; events/s is
 * `n` over the time from the first create to the last ADDED event; latency is create → ADDED per pod.
 */
async function watchThroughput(pool, watchPool, n, tag) {
  const path = `/api/v1/namespaces/${WATCH_NAMESPACE}/pods`
  const t0 = new Map()
  const lat = []
  let allSeen
  const everything = new Promise((resolve) => {
    allSeen = resolve
  })
  const w = await openWatch(watchPool, path, await currentRV(pool, path), (type, obj, at) => {
    const start = t0.get(obj?.metadata?.name)
    if (type === 'ADDED' && start !== undefined) {
      t0.delete(obj.metadata.name)
      lat.push(at - start)
      if (lat.length === n) allSeen(at)
    }
  })
  try {
    const start = now()
    await closedLoop(32, n, async (i) => {
      const name = `wt-${tag}-${i}`
      t0.set(name, now())
      await call(pool, 'POST', path, podBody(name), 201)
    })
    const end = await Promise.race([
      everything,
      w.done.then(() => Promise.reject(new Error('watch ended'))),
      sleep(60_000).then(() =>
        Promise.reject(new Error(`only ${lat.length}/${n} ADDED events within 60 s of the last create`)),
      ),
    ])
    return summary(lat, n, (end - start) / 1000)
  } finally {
    w.close()
  }
}

/** Removes the watch namespace's pods (unbound pods go at once), so each run starts from the same size. */
async function emptyWatchNamespace(pool) {
  await call(pool, 'DELETE', `/api/v1/namespaces/${WATCH_NAMESPACE}/pods`)
}

async function waitReady(pool, api, store, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (api.exitStatus !== undefined)
      throw new Error(`hakube-apiserver exited (${api.exitStatus}):\n${api.output.join('')}`)
    try {
      const r = await pool.request({ method: 'GET', path: '/readyz' })
      await r.body.text()
      if (r.statusCode === 200) return
    } catch {}
    await sleep(200)
  }
  throw new Error(
    `hakube-apiserver not ready within ${timeoutMs} ms:\n${api.output.join('').slice(-3000)}\n${memberLogs(store)}`,
  )
}

/**
 * Starts the store and the api-server, fills the namespace while measuring creates, and runs the other
 * cases `runs` times. Resolves with `{ stored, clusterPods, results: { [case]: [result per run] } }`.
 */
export async function benchApiServer({ runs = 1, quick = false, log = console.log } = {}) {
  if (!existsSync(APISERVER_MAIN))
    throw new Error(`${APISERVER_MAIN} is missing: build first (npm run build)`)
  installExitHandlers()
  const cases = APISERVER_CASES(quick)
  const store = new StoreProcessCluster(3, STORE_HOST_BASE, TIMING)
  liveClusters.add(store)
  const api = { output: [], exitStatus: undefined }
  let pool
  let watchPool
  try {
    store.startAll()
    const proc = spawn(
      process.execPath,
      [
        APISERVER_MAIN,
        `--bind-address=${API_HOST}`,
        `--secure-port=${API_PORT}`,
        `--etcd-servers=${store.clientUrls.join(',')}`,
        '--storage-backend=etcd3',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    liveProcs.add(proc)
    api.proc = proc
    const keep = (b) => {
      api.output.push(b.toString())
      if (api.output.length > 200) api.output.shift()
    }
    // pino writes a line per request: drain stdout, keep only the tail for failure messages.
    proc.stdout.on('data', keep)
    proc.stderr.on('data', keep)
    api.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        liveProcs.delete(proc)
        api.exitStatus = signal ?? code
        resolve()
      })
    })
    const origin = `http://${API_HOST}:${API_PORT}`
    pool = new Pool(origin, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 })
    watchPool = new Pool(origin, { connections: 4, bodyTimeout: 0, headersTimeout: 30_000 })
    await waitReady(pool, api, store)
    for (const ns of [NAMESPACE, WATCH_NAMESPACE])
      await call(pool, 'POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: ns } }), 201)

    const podsPath = `/api/v1/namespaces/${NAMESPACE}/pods`
    let created = 0
    const createLoop = (clients, n) =>
      closedLoop(clients, n, async () => {
        const name = `pod-${created++}`
        await call(pool, 'POST', podsPath, podBody(name), 201)
      })
    const results = {
      create1: [],
      create32: [],
      get1: [],
      get32: [],
      listNamespace: [],
      listCluster: [],
      watchDelay: [],
      watchThroughput: [],
    }
    const report = (key, r, res, unit = 'req/s') =>
      log(
        `apiserver: ${key}, run ${r + 1}/${runs}: ${Math.round(res.perSecond)} ${unit}, ` +
          `p50 ${res.p50.toFixed(2)} ms, p99 ${res.p99.toFixed(2)} ms`,
      )
    // Warm-up (the JIT of the api-server and the store, the connections, the WAL's first segments):
    // creates in the watch namespace, removed again, and reads.
    const warmPath = `/api/v1/namespaces/${WATCH_NAMESPACE}/pods`
    await closedLoop(32, cases.warmup, (i) => call(pool, 'POST', warmPath, podBody(`warm-${i}`), 201))
    await closedLoop(32, cases.warmup, (i) => call(pool, 'GET', `${warmPath}/warm-${i}`))
    await emptyWatchNamespace(pool)

    // Creates, measured while the namespace fills up; the rest of the fill is unmeasured.
    for (let r = 0; r < runs; r++) {
      for (const [key, clients] of [
        ['create1', 1],
        ['create32', 32],
      ]) {
        const n = Math.min(cases[key], cases.stored - created)
        if (n <= 0) continue
        const res = await createLoop(clients, n)
        results[key].push(res)
        report(`create ${clients} client(s)`, r, res)
      }
    }
    if (created < cases.stored) {
      const fill = await createLoop(32, cases.stored - created)
      log(`apiserver: fill to ${cases.stored} pods: ${Math.round(fill.perSecond)} creates/s`)
    }
    const stored = created

    for (let r = 0; r < runs; r++) {
      for (const [key, clients] of [
        ['get1', 1],
        ['get32', 32],
      ]) {
        let seed = r * 7919 + clients
        const res = await closedLoop(clients, cases[key], async () => {
          seed = (seed * 1103515245 + 12345) % 2147483648
          await call(pool, 'GET', `${podsPath}/pod-${seed % stored}`)
        })
        results[key].push(res)
        report(`get ${clients} client(s)`, r, res)
      }
      for (const [key, path, expected] of [
        ['listNamespace', podsPath, stored],
        ['listCluster', '/api/v1/pods', stored],
      ]) {
        let items = 0
        let bytes = 0
        const res = await closedLoop(1, cases.lists, async () => {
          const text = await call(pool, 'GET', path)
          bytes = text.length
          items = JSON.parse(text).items.length
        })
        if (items < expected) throw new Error(`${path}: listed ${items} pods, expected ${expected}`)
        res.items = items
        res.bytes = bytes
        results[key].push(res)
        report(`list ${path} (${items} items, ${(bytes / 2 ** 20).toFixed(1)} MiB)`, r, res, 'lists/s')
      }
      const wd = await watchDelay(pool, watchPool, cases.watchDelay, `r${r}`)
      results.watchDelay.push(wd)
      report('watch create→ADDED, 1 client', r, wd, 'events/s')
      const wt = await watchThroughput(pool, watchPool, cases.watchThroughput, `r${r}`)
      results.watchThroughput.push(wt)
      report('watch create→ADDED, 32 clients', r, wt, 'events/s')
      await emptyWatchNamespace(pool)
    }
    if (api.exitStatus !== undefined) throw new Error(`hakube-apiserver exited (${api.exitStatus})`)
    return { stored, results }
  } catch (err) {
    if (err instanceof HttpError || api.exitStatus !== undefined)
      err.message += `\n--- hakube-apiserver output (tail) ---\n${api.output.join('').slice(-3000)}`
    throw err
  } finally {
    await watchPool?.destroy()
    await pool?.destroy()
    if (api.proc !== undefined && liveProcs.has(api.proc)) api.proc.kill('SIGKILL')
    await Promise.race([api.exited, sleep(5_000)])
    store.destroy()
    liveClusters.delete(store)
  }
}
