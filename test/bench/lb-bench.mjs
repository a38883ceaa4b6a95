// The load-balancer benchmark used by `npm run bench` (section `lb`): hakube-lb against HAProxy (the
// Debian package, 2.6 on bookworm) in front of the same three hakube-apiserver processes, in one run.
// Set-up: a real 3-member hakube-store (processes on 127.0.1.216-218, etcd's ports and flags), three
// hakube-apiserver processes with the etcd3 backend on 127.0.1.224-226:6443, then both proxies at once:
// hakube-lb on 127.0.1.227 (http mode on 6443, a second process in tcp mode on 6444) and one HAProxy on
// 127.0.1.228 (an http frontend on 6443 and a tcp one on 6444), configured alike (round robin, an HTTP
// check of /readyz every second, fall 2, rise 2, the same timeouts). HAProxy runs one thread per core
// (its default); both hakube-lb processes run as many proxy workers (`--workers N`, N read from HAProxy's
// `show info`), and a third hakube-lb with `--workers 1` (http, port 6445) gives the single-process row. The load generator is wrk (one
// thread, keep-alive connections); each case runs on one proxy then the other, the order swapped every
// run. Per case: requests/s, p50/p99 latency and the proxy's CPU time per request (utime + stime from
// /proc). Failover: steady GET load, SIGKILL of one api-server, the client-visible errors (non-2xx
// answers and socket errors) and the time until the proxy's own stats show the backend down; the
// api-server is then restarted and both proxies must see it up again before the next run. Every process
// started here is killed on every path: `finally`, process exit, SIGINT and SIGTERM.
import { spawn } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { memberLogs, StoreProcessCluster } from '@hakube/store/testing'
import { Pool } from 'undici'
import { installExitHandlers, liveClusters, liveProcs } from './process-guard.mjs'

const APISERVER_MAIN = fileURLToPath(new URL('../../packages/api-server/dist/main.js', import.meta.url))
const LB_MAIN = fileURLToPath(new URL('../../packages/load-balancer/dist/main.js', import.meta.url))
const WRK_REPORT = fileURLToPath(new URL('./lb-wrk-report.lua', import.meta.url))

/** The store members are 127.0.1.<STORE_HOST_BASE + i>, i = 1..3. */
const STORE_HOST_BASE = 215
const TIMING = { heartbeatMs: 100, electionMs: 1000 }
export const API_HOSTS = ['127.0.1.224', '127.0.1.225', '127.0.1.226']
const API_PORT = 6443
const LB_HOST = '127.0.1.227'
const HAPROXY_HOST = '127.0.1.228'
const HTTP_PORT = 6443
const TCP_PORT = 6444
const LB_STATS_PORT = 9090
const LB_TCP_STATS_PORT = 9091
/** The single-process hakube-lb (`--workers 1`) of the one row that compares it. */
const SINGLE_PORT = 6445
const LB_SINGLE_STATS_PORT = 9092
const NAMESPACE = 'bench-lb'
/** The object the GET cases read. */
const GET_PATH = `/api/v1/namespaces/${NAMESPACE}/pods/pod-0`
const LIST_PATH = `/api/v1/namespaces/${NAMESPACE}/pods`

/** Health checks and timeouts, the same for both proxies (hakube-lb's defaults, kubeadm's shape). */
export const CHECKS = { intervalS: 1, timeoutS: 1, fall: 2, rise: 2, connectS: 5, idleS: 60 }

export const PROXIES = {
  hakube: { label: 'hakube-lb' },
  haproxy: { label: 'HAProxy' },
}

/** The cases, in table order; `seconds` is each wrk run's length. */
export const LB_CASES = (quick) => ({
  pods: quick ? 100 : 300,
  seconds: quick ? 2 : 5,
  warmupSeconds: quick ? 1 : 3,
  failoverSeconds: quick ? 5 : 8,
  killAtMs: 2_000,
  failoverConns: 32,
  throughput: [
    { key: 'http-get-1', mode: 'http', op: 'get', conns: 1 },
    { key: 'http-get-64', mode: 'http', op: 'get', conns: 64 },
    { key: 'http-list-1', mode: 'http', op: 'list', conns: 1 },
    { key: 'http-list-32', mode: 'http', op: 'list', conns: 32 },
    { key: 'tcp-get-64', mode: 'tcp', op: 'get', conns: 64 },
    // The same load on a hakube-lb with one process (the label, shown as the row's mode, is set once the
    // worker count is known; a mode other than 'http' keeps the row out of the goal's ratio).
    {
      key: 'http-get-64-single',
      mode: 'http, hakube-lb --workers 1',
      target: 'http',
      single: true,
      op: 'get',
      conns: 64,
    },
  ],
})

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const now = () => Number(process.hrtime.bigint()) / 1e6

/** The absolute path of `name` on PATH (and the sbin directories, where Debian puts haproxy), or undefined. */
function findTool(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin']
  for (const d of dirs) {
    if (d !== '' && existsSync(join(d, name))) return join(d, name)
  }
  return undefined
}

/** The reference and the load generator, or a clear error saying how to install them. */
export function requireLbTools() {
  const haproxy = findTool('haproxy')
  const wrk = findTool('wrk')
  const missing = []
  if (haproxy === undefined) missing.push('haproxy (the reference; Debian bookworm ships HAProxy 2.6)')
  if (wrk === undefined) missing.push('wrk (the load generator)')
  if (missing.length > 0)
    throw new Error(
      `bench lb: missing ${missing.join(' and ')}: install with \`apt-get install -y haproxy wrk\``,
    )
  return { haproxy, wrk }
}

/**
 * CPU time (user + system, all threads) a process and its children (hakube-lb's workers) have used, in
 * microseconds, from /proc (Linux). A worker that exited takes its time with it (none does in a run).
 */
function cpuMicros(pid) {
  let total = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let fields
    try {
      fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')
    } catch {
      continue
    }
    // fields[1] is the parent's pid; 11 and 12 are utime and stime in clock ticks.
    if (Number(entry) === pid || Number(fields[1]) === pid)
      total += ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS
  }
  return total
}
// USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)); Node offers no binding to ask.
const CLOCK_TICKS = 100

/**
 * Starts a child with stdout and stderr going to `logFile` (the api-servers log a line per request:
 * a file costs the benchmark's own process nothing). Returns a handle with its exit status.
 */
function startProc(command, args, logFile) {
  const fd = openSync(logFile, 'a')
  const proc = spawn(command, args, { stdio: ['ignore', fd, fd] })
  closeSync(fd)
  liveProcs.add(proc)
  const h = { proc, logFile, exitStatus: undefined }
  h.exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      liveProcs.delete(proc)
      h.exitStatus = signal ?? code
      resolve()
    })
  })
  return h
}

function logTail(h, chars = 3000) {
  try {
    return readFileSync(h.logFile, 'utf8').slice(-chars)
  } catch {
    return '(no log)'
  }
}

async function stopProc(h) {
  if (h === undefined) return
  if (liveProcs.has(h.proc)) h.proc.kill('SIGKILL')
  await Promise.race([h.exited, sleep(5_000)])
}

/** Resolves once `url` answers 200; throws with the process's log if it exits or time runs out. */
async function waitHttp200(url, h, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (h.exitStatus !== undefined) throw new Error(`${what} exited (${h.exitStatus}):\n${logTail(h)}`)
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      await r.arrayBuffer()
      if (r.status === 200) return
    } catch {}
    await sleep(100)
  }
  throw new Error(`${what} did not answer 200 on ${url} within ${timeoutMs} ms:\n${logTail(h)}`)
}

function startApiServer(i, store, dir) {
  const host = API_HOSTS[i]
  return startProc(
    process.execPath,
    [
      APISERVER_MAIN,
      `--bind-address=${host}`,
      `--advertise-address=${host}`,
      `--secure-port=${API_PORT}`,
      `--etcd-servers=${store.clientUrls.join(',')}`,
      '--storage-backend=etcd3',
    ],
    join(dir, `apiserver-${i + 1}.log`),
  )
}

/** hakube-lb in `mode` with `workers` processes, flags matching the HAProxy configuration below. */
function startHakubeLb(mode, dir, workers, single = false) {
  const port = single ? SINGLE_PORT : mode === 'http' ? HTTP_PORT : TCP_PORT
  const statsPort = single ? LB_SINGLE_STATS_PORT : mode === 'http' ? LB_STATS_PORT : LB_TCP_STATS_PORT
  const h = startProc(
    process.execPath,
    [
      LB_MAIN,
      `--bind-address=${LB_HOST}`,
      `--port=${port}`,
      `--mode=${mode}`,
      `--backends=${API_HOSTS.map((a) => `http://${a}:${API_PORT}`).join(',')}`,
      '--balance=roundrobin',
      '--health-path=/readyz',
      `--health-interval=${CHECKS.intervalS}s`,
      `--health-timeout=${CHECKS.timeoutS}s`,
      `--fall=${CHECKS.fall}`,
      `--rise=${CHECKS.rise}`,
      `--connect-timeout=${CHECKS.connectS}s`,
      `--idle-timeout=${CHECKS.idleS}s`,
      `--stats-port=${statsPort}`,
      `--workers=${workers}`,
    ],
    join(dir, `hakube-lb-${mode}${single ? '-single' : ''}.log`),
  )
  h.port = port
  h.statsUrl = `http://${LB_HOST}:${statsPort}/stats`
  return h
}

/**
 * HAProxy as kubeadm's HA guide configures it (defaults `retries 1`, `option redispatch`; a backend
 * with `option httpchk`, `http-check expect status 200`, `balance roundrobin`, servers with `check`),
 * with hakube-lb's defaults for what kubeadm leaves open: /readyz, inter 1s, fall 2, rise 2, a 1 s
 * check timeout, 5 s connect and 60 s idle timeouts. One frontend in mode http (what hakube-lb's http
 * mode does) and one in mode tcp (kubeadm's own choice). Threads: HAProxy's default (one per core).
 */
export function haproxyConfig(socketPath) {
  const servers = API_HOSTS.map(
    (a, i) =>
      `  server api${i + 1} ${a}:${API_PORT} check inter ${CHECKS.intervalS}s fall ${CHECKS.fall} rise ${CHECKS.rise}`,
  )
  const backend = (name, mode) => [
    `backend ${name}`,
    `  mode ${mode}`,
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  balance roundrobin',
    ...servers,
    '',
  ]
  return [
    'global',
    `  stats socket ${socketPath} mode 600 level admin`,
    '',
    'defaults',
    '  retries 1',
    '  option redispatch',
    `  timeout connect ${CHECKS.connectS}s`,
    `  timeout client ${CHECKS.idleS}s`,
    `  timeout server ${CHECKS.idleS}s`,
    `  timeout http-request ${CHECKS.idleS}s`,
    `  timeout http-keep-alive ${CHECKS.idleS}s`,
    '  timeout queue 20s',
    `  timeout check ${CHECKS.timeoutS}s`,
    '',
    'frontend apiserver-http',
    `  bind ${HAPROXY_HOST}:${HTTP_PORT}`,
    '  mode http',
    '  default_backend apiservers-http',
    '',
    'frontend apiserver-tcp',
    `  bind ${HAPROXY_HOST}:${TCP_PORT}`,
    '  mode tcp',
    '  default_backend apiservers-tcp',
    '',
    ...backend('apiservers-http', 'http'),
    ...backend('apiservers-tcp', 'tcp'),
  ].join('\n')
}

/** One command on HAProxy's stats socket; resolves with its whole answer. */
function haproxyCommand(socketPath, command) {
  return new Promise((resolve, reject) => {
    const chunks = []
    const s = net.connect(socketPath, () => s.end(`${command}\n`))
    s.setTimeout(2_000, () => s.destroy(new Error(`haproxy stats socket: no answer to ${command}`)))
    s.on('data', (c) => chunks.push(c))
    s.on('error', reject)
    s.on('close', () => resolve(Buffer.concat(chunks).toString()))
  })
}

/** 'up' | 'down' per api-server index, from `show stat` (a server in `UP 1/2` is still in rotation). */
async function haproxyStates(socketPath, backendName) {
  const csv = await haproxyCommand(socketPath, 'show stat')
  const lines = csv.split('\n')
  const cols = lines[0].replace(/^# /, '').split(',')
  const px = cols.indexOf('pxname')
  const sv = cols.indexOf('svname')
  const st = cols.indexOf('status')
  const states = API_HOSTS.map(() => 'unknown')
  for (const line of lines.slice(1)) {
    const f = line.split(',')
    if (f[px] !== backendName) continue
    const m = /^api(\d)$/.exec(f[sv] ?? '')
    if (m === null) continue
    states[Number(m[1]) - 1] = f[st].split(' ')[0] === 'UP' ? 'up' : 'down'
  }
  return states
}

/** 'up' | 'down' per api-server index, from hakube-lb's /stats JSON. */
async function hakubeStates(statsUrl) {
  const r = await fetch(statsUrl, { signal: AbortSignal.timeout(2_000) })
  const body = await r.json()
  return API_HOSTS.map((a) => {
    const b = body.backends.find((x) => x.url === `http://${a}:${API_PORT}`)
    return b === undefined ? 'unknown' : b.state
  })
}

/**
 * Runs wrk (one thread, `conns` keep-alive connections, `seconds` long) on `url`; resolves with its
 * counts and latency percentiles (ms) from the `done` hook's line.
 */
function runWrk(wrk, url, conns, seconds) {
  return new Promise((resolve, reject) => {
    const args = ['-t1', `-c${conns}`, `-d${seconds}s`, '--timeout', '10s', '-s', WRK_REPORT, url]
    const p = spawn(wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    liveProcs.add(p)
    let out = ''
    p.stdout.on('data', (b) => {
      out += b
    })
    p.stderr.on('data', (b) => {
      out += b
    })
    p.on('error', reject)
    p.on('exit', (code) => {
      liveProcs.delete(p)
      const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '))
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${out}`))
        return
      }
      const j = JSON.parse(line.slice('WRK_JSON '.length))
      const seconds_ = j.durationUs / 1e6
      resolve({
        requests: j.requests,
        // Answered requests only: an error answer (a proxy's 502/503) is not throughput.
        perSecond: (j.requests - j.status) / seconds_,
        seconds: seconds_,
        bytesPerRequest: j.requests > 0 ? j.bytes / j.requests : 0,
        statusErrors: j.status,
        socketErrors: j.connect + j.read + j.write + j.timeout,
        socket: { connect: j.connect, read: j.read, write: j.write, timeout: j.timeout },
        /** Error answers by status code, and the first one's body (truncated). */
        codes: j.codes,
        sample: j.sample,
        p50: j.p50Us / 1000,
        p99: j.p99Us / 1000,
        max: j.maxUs / 1000,
      })
    })
  })
}

/** Creates the namespace and `n` pods through the first api-server. */
async function fillPods(n) {
  const pool = new Pool(`http://${API_HOSTS[0]}:${API_PORT}`, { connections: 16 })
  const post = async (path, body) => {
    const r = await pool.request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const text = await r.body.text()
    if (r.statusCode !== 201) throw new Error(`POST ${path}: HTTP ${r.statusCode}: ${text.slice(0, 500)}`)
  }
  try {
    await post('/api/v1/namespaces', { metadata: { name: NAMESPACE } })
    let next = 0
    const worker = async () => {
      while (next < n) {
        const i = next++
        await post(LIST_PATH, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `pod-${i}`, labels: { app: 'bench', tier: 'load' } },
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
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker))
  } finally {
    await pool.destroy()
  }
}

/**
 * Starts everything, runs the throughput cases and the failover `runs` times, alternating the proxies.
 * Resolves with `{ versions, cases, results: { [caseKey]: { hakube: [run...], haproxy: [run...] } },
 * failover: { hakube: [...], haproxy: [...] } }`.
 */
export async function benchLoadBalancers({
  runs = 1,
  quick = false,
  keepLogs = false,
  log = console.log,
} = {}) {
  const tools = requireLbTools()
  for (const f of [APISERVER_MAIN, LB_MAIN])
    if (!existsSync(f)) throw new Error(`${f} is missing: build first (npm run build)`)
  installExitHandlers()
  const cases = LB_CASES(quick)
  const dir = mkdtempSync(join(tmpdir(), 'hakube-bench-lb-'))
  const store = new StoreProcessCluster(3, STORE_HOST_BASE, TIMING)
  liveClusters.add(store)
  const apis = []
  const procs = {}
  const socketPath = join(dir, 'haproxy.sock')
  let failed = false
  try {
    store.startAll()
    for (let i = 0; i < 3; i++) apis.push(startApiServer(i, store, dir))
    for (const [i, a] of apis.entries())
      await waitHttp200(`http://${API_HOSTS[i]}:${API_PORT}/readyz`, a, `hakube-apiserver ${i + 1}`).catch(
        (err) => {
          err.message += `\n${memberLogs(store)}`
          throw err
        },
      )
    await fillPods(cases.pods)

    const cfg = join(dir, 'haproxy.cfg')
    writeFileSync(cfg, `${haproxyConfig(socketPath)}\n`)
    // -db: stay in the foreground (no daemon, no master process), so the pid is the proxy's.
    procs.haproxy = startProc(tools.haproxy, ['-db', '-f', cfg], join(dir, 'haproxy.log'))
    // hakube-lb gets as many proxy processes as HAProxy has threads (one per core, HAProxy's default).
    const threads = await waitHaproxyThreads(socketPath, procs.haproxy)
    procs.hakube = startHakubeLb('http', dir, threads)
    procs.hakubeTcp = startHakubeLb('tcp', dir, threads)
    procs.hakubeSingle = startHakubeLb('http', dir, 1, true)
    for (const c of cases.throughput)
      if (c.single)
        c.mode = `http, hakube-lb --workers 1 (other rows: --workers ${threads}, HAProxy's threads)`
    /** Per proxy and mode: its pid, the URL base clients use, and its view of the backends. */
    const target = {
      hakube: {
        http: {
          h: procs.hakube,
          base: `http://${LB_HOST}:${HTTP_PORT}`,
          states: () => hakubeStates(procs.hakube.statsUrl),
        },
        tcp: {
          h: procs.hakubeTcp,
          base: `http://${LB_HOST}:${TCP_PORT}`,
          states: () => hakubeStates(procs.hakubeTcp.statsUrl),
        },
      },
      hakubeSingle: {
        http: {
          h: procs.hakubeSingle,
          base: `http://${LB_HOST}:${SINGLE_PORT}`,
          states: () => hakubeStates(procs.hakubeSingle.statsUrl),
        },
      },
      haproxy: {
        http: {
          h: procs.haproxy,
          base: `http://${HAPROXY_HOST}:${HTTP_PORT}`,
          states: () => haproxyStates(socketPath, 'apiservers-http'),
        },
        tcp: {
          h: procs.haproxy,
          base: `http://${HAPROXY_HOST}:${TCP_PORT}`,
          states: () => haproxyStates(socketPath, 'apiservers-tcp'),
        },
      },
    }
    const allTargets = Object.values(target).flatMap((t) => Object.values(t))
    /** Waits until every proxy (both modes) shows every api-server up; returns when each saw it. */
    /**
     * Waits until each of `views` has shown each api-server of `indices` up at least once since the
     * call. Not all at the same moment: on a loaded machine a check can time out now and then, and
     * either proxy then takes a live api-server out of rotation for a couple of seconds.
     */
    const waitSeenUp = async (views, indices = [0, 1, 2], timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs
      const seen = views.map(() => new Set())
      let last = []
      while (Date.now() < deadline) {
        for (const t of views)
          if (t.h.exitStatus !== undefined)
            throw new Error(`a proxy exited (${t.h.exitStatus}):\n${logTail(t.h)}`)
        try {
          last = await Promise.all(views.map((t) => t.states()))
          last.forEach((states, v) => {
            for (const i of indices) if (states[i] === 'up') seen[v].add(i)
          })
          if (seen.every((s) => s.size === indices.length)) return
        } catch (err) {
          last = [String(err)]
        }
        await sleep(50)
      }
      throw new Error(
        `the proxies did not see api-servers ${indices.map((i) => i + 1).join(', ')} up within ${timeoutMs} ms: ${JSON.stringify(last)}`,
      )
    }
    await waitSeenUp(allTargets)
    const url = (t, op) => `${t.base}${op === 'get' ? GET_PATH : LIST_PATH}`
    const measure = async (t, op, conns, seconds) => {
      const cpu0 = cpuMicros(t.h.proc.pid)
      const res = await runWrk(tools.wrk, url(t, op), conns, seconds)
      res.cpuUsPerRequest = res.requests > 0 ? (cpuMicros(t.h.proc.pid) - cpu0) / res.requests : 0
      return res
    }

    // Warm-up: the JIT of hakube-lb and the api-servers, and both proxies' backend connections.
    for (const name of Object.keys(PROXIES))
      for (const mode of ['http', 'tcp'])
        for (const op of ['get', 'list']) await measure(target[name][mode], op, 16, cases.warmupSeconds)
    await measure(target.hakubeSingle.http, 'get', 16, cases.warmupSeconds)

    // CPU at rest (health checks only): at low request rates it is much of the CPU per request.
    const restPids = {
      hakube: procs.hakube.proc.pid,
      hakubeTcp: procs.hakubeTcp.proc.pid,
      haproxy: procs.haproxy.proc.pid,
    }
    const rest0 = Object.fromEntries(Object.entries(restPids).map(([k, pid]) => [k, cpuMicros(pid)]))
    const restStart = now()
    await sleep(cases.seconds * 1000)
    const restSeconds = (now() - restStart) / 1000
    const restCpuMsPerSecond = Object.fromEntries(
      Object.entries(restPids).map(([k, pid]) => [k, (cpuMicros(pid) - rest0[k]) / 1000 / restSeconds]),
    )
    log(`lb: CPU at rest, ms per second: ${JSON.stringify(restCpuMsPerSecond)}`)
    const results = Object.fromEntries(cases.throughput.map((c) => [c.key, { hakube: [], haproxy: [] }]))
    const failover = { hakube: [], haproxy: [] }
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? ['hakube', 'haproxy'] : ['haproxy', 'hakube']
      for (const c of cases.throughput) {
        for (const name of order) {
          const t = target[c.single && name === 'hakube' ? 'hakubeSingle' : name][c.target ?? c.mode]
          const res = await measure(t, c.op, c.conns, cases.seconds)
          results[c.key][name].push(res)
          log(
            `lb: ${c.key} ${PROXIES[name].label}, run ${r + 1}/${runs}: ${Math.round(res.perSecond)} req/s, ` +
              `p50 ${res.p50.toFixed(2)} ms, p99 ${res.p99.toFixed(2)} ms, ${res.cpuUsPerRequest.toFixed(0)} µs CPU/req` +
              (res.statusErrors + res.socketErrors > 0
                ? `, ${res.statusErrors} error answers ${JSON.stringify(res.codes)} and ${res.socketErrors} socket errors ` +
                  `${JSON.stringify(res.socket)}${res.sample === '' ? '' : `; first error answer: ${res.sample}`}`
                : ''),
          )
        }
      }
      // Failover: the same api-server is killed under each proxy in this run (a different one each run).
      const k = r % API_HOSTS.length
      for (const name of order) {
        const t = target[name].http
        // The api-server about to be killed must be in this proxy's rotation when it dies.
        await waitSeenUp([t], [k])
        const cpu0 = cpuMicros(t.h.proc.pid)
        const load = runWrk(tools.wrk, url(t, 'get'), cases.failoverConns, cases.failoverSeconds)
        await sleep(cases.killAtMs)
        const killedAt = now()
        apis[k].proc.kill('SIGKILL')
        let detectMs
        while (detectMs === undefined && now() - killedAt < cases.failoverSeconds * 1000) {
          const s = await t.states().catch(() => [])
          if (s[k] === 'down') detectMs = now() - killedAt
          else await sleep(10)
        }
        const res = await load
        res.cpuUsPerRequest = (cpuMicros(t.h.proc.pid) - cpu0) / Math.max(1, res.requests)
        res.detectMs = detectMs
        await apis[k].exited
        apis[k] = startApiServer(k, store, dir)
        await waitHttp200(`http://${API_HOSTS[k]}:${API_PORT}/readyz`, apis[k], `hakube-apiserver ${k + 1}`)
        const readyAt = now()
        let upMs
        while (upMs === undefined && now() - readyAt < 30_000) {
          const s = await t.states().catch(() => [])
          if (s[k] === 'up') upMs = now() - readyAt
          else await sleep(10)
        }
        res.upMs = upMs
        await waitSeenUp([target.hakube.http, target.haproxy.http], [k])
        failover[name].push(res)
        log(
          `lb: failover ${PROXIES[name].label}, run ${r + 1}/${runs} (SIGKILL api-server ${k + 1}): ` +
            `${res.statusErrors} error answers ${JSON.stringify(res.codes)} + ${res.socketErrors} socket errors ` +
            `${JSON.stringify(res.socket)} of ${res.requests}, ` +
            `down after ${detectMs === undefined ? 'never' : `${detectMs.toFixed(0)} ms`}, ` +
            `up ${upMs === undefined ? 'never' : `${upMs.toFixed(0)} ms`} after ready, max latency ${res.max.toFixed(0)} ms`,
        )
      }
    }
    for (const [name, h] of [
      ['HAProxy', procs.haproxy],
      ['hakube-lb', procs.hakube],
      ['hakube-lb tcp', procs.hakubeTcp],
      ['hakube-lb --workers 1', procs.hakubeSingle],
    ])
      if (h.exitStatus !== undefined) throw new Error(`${name} exited (${h.exitStatus}):\n${logTail(h)}`)
    const versions = {
      haproxy: (await runVersion(tools.haproxy, ['-v'])).split('\n')[0].trim(),
      wrk: (await runVersion(tools.wrk, ['-v']))
        .split('\n')[0]
        .replace(/ Copyright.*/, '')
        .trim(),
      threads: String(threads),
      hakubeWorkers: threads,
    }
    return { versions, cases, results, failover, restCpuMsPerSecond }
  } catch (err) {
    failed = true
    err.message += `\n(the logs of every process are kept in ${dir})`
    throw err
  } finally {
    for (const h of [...Object.values(procs), ...apis]) await stopProc(h)
    store.destroy()
    liveClusters.delete(store)
    if (!failed && !keepLogs) rmSync(dir, { recursive: true, force: true })
    else log(`lb: the logs of every process are in ${dir}`)
  }
}

/** HAProxy's thread count (`show info`), once its stats socket answers. */
async function waitHaproxyThreads(socketPath, h, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (h.exitStatus !== undefined) throw new Error(`HAProxy exited (${h.exitStatus}):\n${logTail(h)}`)
    try {
      const n = Number(/^Nbthread: (\d+)/m.exec(await haproxyCommand(socketPath, 'show info'))?.[1])
      if (n > 0) return n
    } catch {}
    if (Date.now() > deadline) throw new Error(`HAProxy's stats socket did not answer:\n${logTail(h)}`)
    await sleep(100)
  }
}

function runVersion(cmd, args) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (b) => {
      out += b
    })
    p.stderr.on('data', (b) => {
      out += b
    })
    p.on('close', () => resolve(out))
    p.on('error', () => resolve('unknown'))
  })
}
