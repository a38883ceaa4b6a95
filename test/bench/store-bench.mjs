// The store benchmark used by `npm run bench` (section `store`): starts a real 3-member cluster of one
// implementation (hakube-store processes, or the Debian etcd 3.4 server) on loopback hosts with etcd's
// ports and flags, finds the leader through Maintenance.Status, and drives it with one gRPC client
// (grpc-js over hakube's etcd v3 protos, one HTTP/2 connection) in closed loops: puts of sequential
// 8-byte keys with 256-byte values (as etcd's `benchmark put --sequential-keys`), and linearizable
// Range of one key (as `benchmark range --consistency=l`). Every process started here is killed on
// every path: `finally`, process exit, SIGINT and SIGTERM.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { credentials, loadPackageDefinition } from '@grpc/grpc-js'
// Not exported by @hakube/store's entry point; the built file is addressed directly.
import { loadEtcdProto } from '../../packages/store/dist/grpc/proto.js'
import { installExitHandlers, liveProcs } from './process-guard.mjs'

const HAKUBE_MAIN = fileURLToPath(new URL('../../packages/store/dist/main.js', import.meta.url))
const ETCD = '/usr/bin/etcd'

export const IMPLEMENTATIONS = {
  hakube: { label: 'hakube-store', hostBase: 30 },
  etcd: { label: 'etcd 3.4', hostBase: 40 },
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

let grpcPkg
function etcdserverpb() {
  if (grpcPkg === undefined) grpcPkg = loadPackageDefinition(loadEtcdProto().packageDefinition).etcdserverpb
  return grpcPkg
}

const unary = (client, method, req, deadlineMs = 10_000) =>
  new Promise((resolve, reject) => {
    client[method](req, { deadline: Date.now() + deadlineMs }, (err, res) =>
      err ? reject(err) : resolve(res),
    )
  })

/** Starts a 3-member cluster of `impl` ('hakube' | 'etcd'); resolves once started (not yet led). */
function startCluster(impl) {
  const { hostBase } = IMPLEMENTATIONS[impl]
  if (impl === 'hakube' && !existsSync(HAKUBE_MAIN))
    throw new Error(`${HAKUBE_MAIN} is missing: build the store first (npm run build)`)
  if (impl === 'etcd' && !existsSync(ETCD)) throw new Error(`${ETCD} is missing: apt-get install etcd-server`)
  installExitHandlers()
  const root = mkdtempSync(join(tmpdir(), `hakube-bench-${impl}-`))
  const members = [1, 2, 3].map((i) => {
    const host = `127.0.1.${hostBase + i}`
    return { name: `m${i}`, host, endpoint: `${host}:2379`, dataDir: join(root, `m${i}`), output: [] }
  })
  const initialCluster = members.map((m) => `${m.name}=http://${m.host}:2380`).join(',')
  for (const m of members) {
    const flags = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-peer-urls=http://${m.host}:2380`,
      `--initial-advertise-peer-urls=http://${m.host}:2380`,
      `--listen-client-urls=http://${m.endpoint}`,
      `--advertise-client-urls=http://${m.endpoint}`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=bench-${impl}`,
    ]
    const proc =
      impl === 'hakube'
        ? spawn(process.execPath, [HAKUBE_MAIN, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(ETCD, flags, { stdio: ['ignore', 'pipe', 'pipe'] })
    liveProcs.add(proc)
    const keep = (b) => {
      m.output.push(b.toString())
      if (m.output.length > 100) m.output.shift()
    }
    proc.stdout.on('data', keep)
    proc.stderr.on('data', keep)
    m.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        liveProcs.delete(proc)
        m.exitStatus = signal ?? code
        resolve()
      })
    })
    m.proc = proc
  }
  return { impl, root, members }
}

async function stopCluster(cluster) {
  for (const m of cluster.members) {
    if (liveProcs.has(m.proc)) m.proc.kill('SIGKILL')
  }
  await Promise.race([Promise.all(cluster.members.map((m) => m.exited)), sleep(5_000)])
  rmSync(cluster.root, { recursive: true, force: true })
}

/** Polls Maintenance.Status on every member until one reports itself leader; returns that member. */
async function waitForLeader(cluster, timeoutMs = 30_000) {
  const pb = etcdserverpb()
  const clients = cluster.members.map((m) => new pb.Maintenance(m.endpoint, credentials.createInsecure()))
  const deadline = Date.now() + timeoutMs
  try {
    while (Date.now() < deadline) {
      for (const [i, m] of cluster.members.entries()) {
        if (m.exitStatus !== undefined)
          throw new Error(`${cluster.impl} ${m.name} exited (${m.exitStatus}):\n${m.output.join('')}`)
        try {
          const s = await unary(clients[i], 'Status', {}, 1_000)
          if (s.leader !== '0' && s.leader === s.header.member_id) return m
        } catch {}
      }
      await sleep(100)
    }
    throw new Error(`${cluster.impl}: no leader within ${timeoutMs} ms`)
  } finally {
    for (const c of clients) c.close()
  }
}

/** CPU time (user + system) a process has used, in microseconds, from /proc (Linux). */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1e6) / CLOCK_TICKS
}
// USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)); Node offers no binding to ask.
const CLOCK_TICKS = 100

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]

/**
 * `clients` closed loops share `total` requests; each issues `makeReq(i)` for the next request index and
 * waits for its answer before the next. Returns throughput and latency percentiles.
 */
async function closedLoop(kv, method, clients, total, makeReq) {
  const lat = new Float64Array(total)
  let next = 0
  const worker = async () => {
    while (next < total) {
      const i = next++
      const t0 = process.hrtime.bigint()
      await unary(kv, method, makeReq(i))
      lat[i] = Number(process.hrtime.bigint() - t0) / 1e6
    }
  }
  const start = process.hrtime.bigint()
  await Promise.all(Array.from({ length: clients }, worker))
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  lat.sort()
  return { perSecond: total / seconds, p50: pct(lat, 50), p99: pct(lat, 99), seconds }
}

export const STORE_CASES = (quick) => [
  { op: 'put', clients: 1, requests: quick ? 300 : 2_000 },
  { op: 'put', clients: 32, requests: quick ? 3_000 : 20_000 },
  { op: 'range', clients: 1, requests: quick ? 300 : 2_000 },
  { op: 'range', clients: 32, requests: quick ? 3_000 : 20_000 },
]

const VALUE = Buffer.alloc(256, 'v')
const RANGE_KEY = Buffer.from('rangekey')

/**
 * Starts a cluster of `impl`, warms it up, runs every case `runs` times and stops the cluster.
 * Resolves with `{ leader, results: { [caseKey]: [result per run] } }`; `log` receives progress lines.
 */
export async function benchStoreCluster(impl, { runs = 1, quick = false, log = console.log } = {}) {
  const cluster = startCluster(impl)
  let kv
  try {
    const leader = await waitForLeader(cluster)
    const pb = etcdserverpb()
    kv = new pb.KV(leader.endpoint, credentials.createInsecure())
    let seq = 0
    const putReq = () => {
      const key = Buffer.alloc(8)
      key.writeBigUInt64BE(BigInt(seq++))
      return { key, value: VALUE }
    }
    const rangeReq = () => ({ key: RANGE_KEY, serializable: false })
    await unary(kv, 'Put', { key: RANGE_KEY, value: VALUE })
    // Warm-up: the JIT (hakube), the connection, the WAL's first segments.
    await closedLoop(kv, 'Put', 32, quick ? 500 : 3_000, putReq)
    await closedLoop(kv, 'Range', 32, quick ? 500 : 3_000, rangeReq)
    const results = {}
    for (const c of STORE_CASES(quick)) {
      const key = `${c.op}/${c.clients}`
      results[key] = []
      for (let r = 0; r < runs; r++) {
        const followers = cluster.members.filter((m) => m !== leader)
        const cpu0 = {
          leader: cpuMicros(leader.proc.pid),
          followers: followers.map((m) => cpuMicros(m.proc.pid)),
        }
        const client0 = process.cpuUsage()
        const res =
          c.op === 'put'
            ? await closedLoop(kv, 'Put', c.clients, c.requests, putReq)
            : await closedLoop(kv, 'Range', c.clients, c.requests, rangeReq)
        const client = process.cpuUsage(client0)
        // CPU microseconds per request: where each implementation spends the machine's two cores.
        res.cpuLeaderUs = (cpuMicros(leader.proc.pid) - cpu0.leader) / c.requests
        res.cpuFollowersUs =
          followers.reduce((n, m, i) => n + cpuMicros(m.proc.pid) - cpu0.followers[i], 0) / c.requests
        res.cpuClientUs = (client.user + client.system) / c.requests
        results[key].push(res)
        log(
          `store: ${IMPLEMENTATIONS[impl].label} ${c.op} ${c.clients} client(s), run ${r + 1}/${runs}: ` +
            `${Math.round(res.perSecond)} req/s, p50 ${res.p50.toFixed(2)} ms, p99 ${res.p99.toFixed(2)} ms, ` +
            `CPU µs/req leader ${Math.round(res.cpuLeaderUs)} followers ${Math.round(res.cpuFollowersUs)}`,
        )
      }
    }
    return { leader: leader.name, results }
  } finally {
    kv?.close()
    await stopCluster(cluster)
  }
}

const FLOOR_SERVER = fileURLToPath(new URL('./grpc-floor-server.mjs', import.meta.url))

/**
 * The grpc-js floor: the same client and closed loops against a grpc-js server that answers Put at once
 * (grpc-floor-server.mjs, its own process on 127.0.1.49). Resolves with `{ [caseKey]: [result per run] }`
 * for the put cases, each with the server's CPU microseconds per request.
 */
export async function benchGrpcFloor({ runs = 1, quick = false, log = console.log } = {}) {
  installExitHandlers()
  const endpoint = '127.0.1.49:2379'
  const proc = spawn(process.execPath, [FLOOR_SERVER, endpoint], { stdio: ['ignore', 'pipe', 'inherit'] })
  liveProcs.add(proc)
  const exited = new Promise((resolve) => proc.on('exit', () => resolve(liveProcs.delete(proc))))
  let kv
  try {
    await new Promise((resolve, reject) => {
      proc.stdout.once('data', resolve)
      proc.once('exit', (code) => reject(new Error(`grpc floor server exited (${code})`)))
    })
    kv = new (etcdserverpb().KV)(endpoint, credentials.createInsecure())
    let seq = 0
    const putReq = () => {
      const key = Buffer.alloc(8)
      key.writeBigUInt64BE(BigInt(seq++))
      return { key, value: VALUE }
    }
    await closedLoop(kv, 'Put', 32, quick ? 500 : 3_000, putReq)
    const results = {}
    for (const c of STORE_CASES(quick).filter((x) => x.op === 'put')) {
      const key = `${c.op}/${c.clients}`
      results[key] = []
      for (let r = 0; r < runs; r++) {
        const cpu0 = cpuMicros(proc.pid)
        const res = await closedLoop(kv, 'Put', c.clients, c.requests, putReq)
        res.cpuServerUs = (cpuMicros(proc.pid) - cpu0) / c.requests
        results[key].push(res)
        log(
          `store: grpc-js floor put ${c.clients} client(s), run ${r + 1}/${runs}: ${Math.round(res.perSecond)} req/s, ` +
            `p50 ${res.p50.toFixed(2)} ms, server CPU µs/req ${Math.round(res.cpuServerUs)}`,
        )
      }
    }
    return results
  } finally {
    kv?.close()
    proc.kill('SIGKILL')
    await exited
  }
}
