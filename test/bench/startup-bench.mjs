// The start-up benchmark used by `npm run bench` (section `startup`): how long each hakube binary takes
// from its spawn to serving, against etcd's own start. Every measurement spawns a fresh process (a fresh
// data dir for the stores), polls its readiness as a client would (a new connection every 2 ms, no
// keep-alive) and records the time from just before spawn() to the first ready answer; the process is
// then SIGKILLed and waited for before the next run. Also measured: spawn to the exit of `--version`.
// Readiness per binary:
//   hakube-store, etcd      GET /health on the client URL answers 200 `{"health":"true"}` (a one-member
//                           cluster: the member has elected itself and serves)
//   hakube-apiserver        GET /readyz answers 200 (memory storage; and etcd3 storage to a running store)
//   hakube-lb               the balancer's port accepts a connection and GET /stats answers 200
// Hosts: 127.0.1.74-79. Every process started here is killed on every way out (process-guard.mjs).
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installExitHandlers, liveProcs } from './process-guard.mjs'

const main = (pkg) => fileURLToPath(new URL(`../../packages/${pkg}/dist/main.js`, import.meta.url))
export const MAINS = {
  store: main('store'),
  apiserver: main('api-server'),
  lb: main('load-balancer'),
}
const ETCD = '/usr/bin/etcd'

const HOST = {
  store: '127.0.1.74',
  etcd: '127.0.1.75',
  apiserverMemory: '127.0.1.76',
  apiserverEtcd3: '127.0.1.77',
  storeForApiserver: '127.0.1.78',
  lb: '127.0.1.79',
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** One GET with a fresh connection; resolves with status and body, or undefined on any error. */
function get(url, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, body }))
      res.on('error', () => resolve(undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
  })
}

/** Whether a TCP connection to host:port opens. */
function accepts(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** CPU time (user + system, all threads) a live process has used so far, in ms; 10 ms resolution. */
function cpuMs(pid) {
  // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks (100 per second on Linux), counted
  // after the command name, which is parenthesised and may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Spawns `cmd args`, polls `ready()` until true; resolves with ms from spawn to ready, the process still running. */
async function timeToReady(cmd, args, ready, timeoutMs = 30_000) {
  const output = []
  const t0 = performance.now()
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  liveProcs.add(proc)
  proc.once('exit', () => liveProcs.delete(proc))
  proc.stdout.on('data', (d) => output.push(d))
  proc.stderr.on('data', (d) => output.push(d))
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`${cmd} ${args.join(' ')} exited before ready:\n${Buffer.concat(output)}`)
    if (await ready(() => performance.now() - t0))
      return { ms: performance.now() - t0, cpu: cpuMs(proc.pid), proc }
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`${cmd} not ready within ${timeoutMs} ms:\n${Buffer.concat(output)}`)
    await sleep(2)
  }
}

/** SIGKILLs a process and waits for its exit (so its ports are free for the next run). */
async function kill(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise((r) => proc.once('exit', r))
  proc.kill('SIGKILL')
  await exited
}

/** ms from spawn to the exit of `cmd args` (which must exit 0). */
function timeToExit(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    liveProcs.add(proc)
    let err = ''
    proc.stderr.on('data', (d) => (err += d))
    proc.once('exit', (code) => {
      liveProcs.delete(proc)
      if (code === 0) resolve(performance.now() - t0)
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))
    })
  })
}

const healthy = (host) => async () => {
  const r = await get(`http://${host}:2379/health`)
  return r?.status === 200 && /"health":\s*"true"/.test(r.body)
}

const storeArgs = (host, dataDir) => [
  '--name=s1',
  `--data-dir=${dataDir}`,
  `--listen-peer-urls=http://${host}:2380`,
  `--initial-advertise-peer-urls=http://${host}:2380`,
  `--listen-client-urls=http://${host}:2379`,
  `--advertise-client-urls=http://${host}:2379`,
  `--initial-cluster=s1=http://${host}:2380`,
  '--initial-cluster-state=new',
  '--log-level=error',
]

/**
 * A fresh one-member store (hakube-store or etcd) in a fresh data dir, run to /health. `answeredMs`: when
 * the client URL first answered GET /version (served without a leader: the process is up and serving;
 * /health then waits for the member to elect itself, which is Raft's timing rather than start-up).
 */
async function storeStart(impl, root, i) {
  const host = impl === 'etcd' ? HOST.etcd : HOST.store
  const dataDir = join(root, `${impl}-${i}`)
  const [cmd, pre] = impl === 'etcd' ? [ETCD, []] : [process.execPath, [MAINS.store]]
  const env = impl === 'etcd' ? ['--logger=zap'] : []
  let answeredMs
  const ready = async (elapsed) => {
    if (answeredMs === undefined) {
      if ((await get(`http://${host}:2379/version`))?.status !== 200) return false
      answeredMs = elapsed()
    }
    return healthy(host)()
  }
  const { ms, cpu, proc } = await timeToReady(cmd, [...pre, ...storeArgs(host, dataDir), ...env], ready)
  await kill(proc)
  return { ms, cpu, answeredMs }
}

async function apiserverStart(args, host) {
  const { ms, cpu, proc } = await timeToReady(
    process.execPath,
    [MAINS.apiserver, `--bind-address=${host}`, '--secure-port=6443', ...args],
    async () => (await get(`http://${host}:6443/readyz`))?.status === 200,
  )
  await kill(proc)
  return { ms, cpu }
}

async function lbStart() {
  const host = HOST.lb
  const { ms, cpu, proc } = await timeToReady(
    process.execPath,
    [
      MAINS.lb,
      `--bind-address=${host}`,
      '--port=6443',
      '--stats-port=8404',
      '--backends=http://127.0.1.77:6443',
      '--log-level=error',
    ],
    async () => (await accepts(host, 6443)) && (await get(`http://${host}:8404/stats`))?.status === 200,
  )
  await kill(proc)
  return { ms, cpu }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/**
 * Runs every measurement `runs` times, interleaved (one of each per round, so a busy moment of the
 * machine spreads over all subjects). Resolves with the samples in ms per subject.
 */
export async function benchStartup({ runs = 5, log = console.log } = {}) {
  for (const [name, path] of Object.entries(MAINS))
    if (!existsSync(path)) throw new Error(`${path} (${name}) is missing: build first (npm run build)`)
  if (!existsSync(ETCD)) throw new Error(`${ETCD} is missing: apt-get install etcd-server`)
  installExitHandlers()
  const root = mkdtempSync(join(tmpdir(), 'hakube-bench-startup-'))
  // The running store the etcd3 api-server connects to (started once, not measured).
  const backing = await timeToReady(
    process.execPath,
    [MAINS.store, ...storeArgs(HOST.storeForApiserver, join(root, 'backing'))],
    healthy(HOST.storeForApiserver),
  )
  const samples = {}
  const record = (key, ms) => {
    samples[key] ??= []
    samples[key].push(ms)
  }
  try {
    // One warm-up round, not recorded: the first spawn of each reads its files from disk.
    for (let i = 0; i <= runs; i++) {
      const round = {
        'etcd --version': () => timeToExit(ETCD, ['--version']),
        'hakube-store --version': () => timeToExit(process.execPath, [MAINS.store, '--version']),
        'hakube-apiserver --version': () => timeToExit(process.execPath, [MAINS.apiserver, '--version']),
        'hakube-lb --version': () => timeToExit(process.execPath, [MAINS.lb, '--version']),
        'etcd serving': () => storeStart('etcd', root, i),
        'hakube-store serving': () => storeStart('hakube', root, i),
        // Recorded with the two above (not a run of its own).
        'etcd answering': undefined,
        'hakube-store answering': undefined,
        'hakube-apiserver serving (memory)': () =>
          apiserverStart(['--storage-backend=memory'], HOST.apiserverMemory),
        'hakube-apiserver serving (etcd3)': () =>
          apiserverStart([`--etcd-servers=http://${HOST.storeForApiserver}:2379`], HOST.apiserverEtcd3),
        'hakube-lb serving': () => lbStart(),
      }
      for (const [key, measure] of Object.entries(round)) {
        if (measure === undefined) continue
        const r = await measure()
        const { ms, cpu, answeredMs } = typeof r === 'number' ? { ms: r } : r
        if (i > 0) {
          record(key, ms)
          if (cpu !== undefined) record(`${key} cpu`, cpu)
          if (answeredMs !== undefined) record(key.replace('serving', 'answering'), answeredMs)
        }
        const cpuText = cpu === undefined ? '' : `, ${cpu} ms CPU`
        log(`startup: ${key}, ${i === 0 ? 'warm-up' : `run ${i}/${runs}`}: ${ms.toFixed(0)} ms${cpuText}`)
      }
    }
  } finally {
    await kill(backing.proc)
    rmSync(root, { recursive: true, force: true })
  }
  return samples
}

/** The BENCHMARKS.md section. */
export async function startupSection({ runs = 5 } = {}) {
  const loadBefore = os.loadavg()[0]
  const samples = await benchStartup({ runs })
  const loadAfter = os.loadavg()[0]
  // `nice -n -10 npm run bench ...` on a busy shared machine brings the figures nearer an idle one's; say so.
  const nice = os.getPriority()
  const priority = nice === 0 ? '' : ` (the benchmark and every process it started ran at nice ${nice})`
  const m = (key) => median(samples[key])
  const f = (n) => Math.round(n).toLocaleString('en-US')
  const row = (key, reference) => {
    const s = samples[key]
    const vs = reference === undefined ? '' : `${(m(key) / m(reference)).toFixed(1)}×`
    const cpu = samples[`${key} cpu`] === undefined ? '' : f(m(`${key} cpu`))
    return `| ${key} | **${f(m(key))}** | ${f(Math.min(...s))} | ${f(Math.max(...s))} | ${vs} | ${cpu} |`
  }
  const bare = await timeToExit(process.execPath, ['-e', '0'])
  const bareCpu = await new Promise((resolve, reject) => {
    const script = 'const c = process.cpuUsage(); process.stdout.write(String((c.user + c.system) / 1000))'
    const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.once('exit', (code) =>
      code === 0 ? resolve(Number(out)) : reject(new Error(`node -e exited ${code}`)),
    )
  })
  const lines = [
    '## Start-up',
    '',
    'Milliseconds from spawn to serving for each binary (`test/bench/startup-bench.mjs`), against etcd',
    "3.4's own start on the same machine in the same run. A fresh process each time (a fresh data dir for",
    'the stores), polled as a client would every 2 ms on a new connection. Serving means: /health answers',
    '200 `{"health":"true"}` on the client URL (hakube-store and etcd, one-member clusters that elect',
    'themselves; the `answering` rows: when the client URL first answered GET /version, which needs no',
    'leader); /readyz answers 200 (hakube-apiserver, with memory storage, and with etcd3 storage to a',
    'hakube-store already running); the port accepts and /stats answers 200 (hakube-lb). The goal is',
    'every binary serving within 500 ms of its start on an idle machine. `--version` rows: spawn to exit.',
    `Node itself (\`node -e 0\`) takes ${f(bare)} ms to start and exit here, ${f(bareCpu)} ms of CPU. CPU ms: the process's user +`,
    'system time (all its threads, from /proc, 10 ms steps) when it became ready, which other load on the',
    `machine changes less than wall time; the 1-minute load average was ${loadBefore.toFixed(1)} before this section`,
    `and ${loadAfter.toFixed(1)} after, on ${os.cpus().length} cores${priority}.`,
    '',
    '| binary | median ms | min | max | vs etcd | median CPU ms |',
    '|---|---:|---:|---:|---:|---:|',
    row('etcd answering'),
    row('hakube-store answering', 'etcd answering'),
    row('etcd serving'),
    row('hakube-store serving', 'etcd serving'),
    row('hakube-apiserver serving (memory)', 'etcd serving'),
    row('hakube-apiserver serving (etcd3)', 'etcd serving'),
    row('hakube-lb serving', 'etcd serving'),
    row('etcd --version'),
    row('hakube-store --version', 'etcd --version'),
    row('hakube-apiserver --version', 'etcd --version'),
    row('hakube-lb --version', 'etcd --version'),
    '',
  ]
  return lines.join('\n')
}

// `node test/bench/startup-bench.mjs [runs]`: the table alone, printed (nothing written).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await startupSection({ runs: Number(process.argv[2] ?? 3) }))
}
