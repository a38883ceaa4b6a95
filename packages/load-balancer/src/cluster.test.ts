/**
 * Goal: `hakube-lb --workers 2` (real processes: the compiled binary, a node:cluster primary and two
 * workers, against in-process fake backends): a passive failure one worker sees reaches every worker
 * through the primary with one log line; /stats and /metrics sum the workers' counts; a SIGKILLed
 * worker is restarted (logged) while the other keeps serving on the shared socket, and the new one
 * starts with the primary's states; SIGTERM drains every worker (watches end, requests finish, new
 * connections refused) and the primary exits 0; tcp mode and TLS termination serve through workers; a
 * port in use exits 1 with one line. Addresses: 127.0.2.230-233 (balancers), 127.0.2.240-241 (backends).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatsBody } from './stats-server.js'
import { FakeBackend } from './testing/fake-backend.js'

const pkgDir = fileURLToPath(new URL('..', import.meta.url))
const BIN = fileURLToPath(new URL('../bin/hakube-lb.js', import.meta.url))
const LB_HOST = '127.0.2.230'
const STATS_URL = `http://${LB_HOST}:16530`
const children: ChildProcess[] = []
const cleanups: Array<() => unknown> = []
let dir = ''

beforeAll(() => {
  // The package's build (`npm run build`): tsc, incremental, then the bundled binary (what ships; a
  // bundle left from an earlier build would otherwise still be dist/main.js).
  execFileSync(
    process.execPath,
    [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'],
    { cwd: pkgDir, stdio: 'inherit' },
  )
  execFileSync(process.execPath, [join(pkgDir, '../../scripts/bundle-bin.mjs')], {
    cwd: pkgDir,
    stdio: 'inherit',
  })
  dir = mkdtempSync(join(tmpdir(), 'hakube-lb-workers-'))
}, 120_000)

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const c of cleanups.splice(0).reverse()) await c()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

/** Waits for a condition, bounded generously (the machine may be loaded). */
async function until<T>(
  what: string,
  cond: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await cond()
    if (v) return v
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

interface Lb {
  child: ChildProcess
  port: number
  /** Every JSON log line of the primary and its workers (they share stdout). */
  lines: Array<Record<string, unknown>>
  exited: Promise<number | null>
}

/** Starts the binary; resolves at its `serving` line. */
function startLb(args: string[]): Promise<Lb> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    const lines: Array<Record<string, unknown>> = []
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    let buf = ''
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString()
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const rec = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>
        buf = buf.slice(nl + 1)
        lines.push(rec)
        if (rec['msg'] === 'serving') resolve({ child, port: rec['port'] as number, lines, exited })
      }
    })
    void exited.then((code) => reject(new Error(`hakube-lb exited ${code} before serving: ${stderr}`)))
  })
}

function get(url: string, opts: https.RequestOptions = {}): Promise<{ status: number; body: string }> {
  const mod = url.startsWith('https:') ? https : http
  return new Promise((resolve, reject) => {
    mod
      .get(url, { agent: false, ...opts }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

async function stats(): Promise<StatsBody & { workers: NonNullable<StatsBody['workers']> }> {
  return (await (await fetch(`${STATS_URL}/stats`)).json()) as StatsBody & {
    workers: NonNullable<StatsBody['workers']>
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('hakube-lb --workers 2', () => {
  let b0: FakeBackend
  let b1: FakeBackend
  let lb: Lb
  let url = ''

  beforeAll(async () => {
    b0 = await new FakeBackend('b0', '127.0.2.240').start()
    b1 = await new FakeBackend('b1', '127.0.2.241').start()
    cleanups.push(
      () => b0.kill(),
      () => b1.kill(),
    )
    // Checks every 30 s (the first at once): within the test, only a passive failure marks a backend down.
    lb = await startLb([
      `--bind-address=${LB_HOST}`,
      '--port=0',
      `--backends=${b0.url},${b1.url}`,
      '--workers=2',
      '--stats-port=16530',
      '--health-interval=30s',
      '--connect-timeout=1s',
      '--shutdown-grace=5s',
    ])
    url = `http://${LB_HOST}:${lb.port}`
    expect(lb.lines.find((l) => l['msg'] === 'serving')).toMatchObject({ workers: 2, role: 'primary' })
  }, 60_000)

  it('sums the workers counts; a passive failure in one worker reaches all, logged once', async () => {
    const n = 20
    for (let i = 0; i < n; i++) expect((await get(`${url}/x`)).status).toBe(200)
    const s = await stats()
    expect(s.workers).toHaveLength(2)
    expect(s.backends.map((b) => b.state)).toEqual(['up', 'up'])
    expect(s.backends.reduce((a, b) => a + b.requests, 0)).toBe(n)
    expect(s.workers.reduce((a, w) => a + w.backends.reduce((x, b) => x + b.requests, 0), 0)).toBe(n)
    const metrics = await (await fetch(`${STATS_URL}/metrics`)).text()
    const total = [...metrics.matchAll(/^hakube_lb_backend_requests_total\{[^}]*\} (\d+)$/gm)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    )
    expect(total).toBe(n)

    b1.kill()
    // Requests until one worker meets the refused connection (each is retried on b0: all answered).
    await until('a passive failure', async () => {
      expect((await get(`${url}/x`)).status).toBe(200)
      return lb.lines.some((l) => l['msg'] === 'backend down')
    })
    const after = await until('every worker sees b1 down', async () => {
      const st = await stats()
      return st.workers.length === 2 &&
        st.workers.every((w) => w.backends.find((b) => b.url === b1.url)?.state === 'down')
        ? st
        : undefined
    })
    expect(after.backends[1]).toMatchObject({ state: 'down', lastCheckError: 'ECONNREFUSED' })
    const downLines = lb.lines.filter((l) => l['msg'] === 'backend down')
    expect(downLines).toHaveLength(1)
    expect(downLines[0]).toMatchObject({ role: 'primary', backend: b1.url, error: 'ECONNREFUSED' })
    // Only the primary logs the backends' states.
    expect(lb.lines.filter((l) => l['msg'] === 'backend added')).toHaveLength(2)
    expect(lb.lines.filter((l) => l['component'] === 'pool' && l['role'] !== 'primary')).toEqual([])
  }, 60_000)

  it('restarts a SIGKILLed worker while the other keeps serving; the new one has the states', async () => {
    const before = await stats()
    const requestsBefore = before.backends.reduce((a, b) => a + b.requests, 0)
    const [victim, survivor] = before.workers
    if (victim?.pid === undefined || survivor?.pid === undefined) throw new Error('no worker pids')
    process.kill(victim.pid, 'SIGKILL')
    // Fresh connections all through the restart: the shared socket stays open (the survivor accepts).
    let served = 0
    const replaced = await until('a new worker', async () => {
      expect((await get(`${url}/x`)).status).toBe(200)
      served++
      const st = await stats()
      const fresh = st.workers.find((w) => w.pid !== survivor.pid && w.pid !== victim.pid)
      return fresh !== undefined && fresh.backends.length === 2 ? { st, fresh } : undefined
    })
    expect(served).toBeGreaterThan(0)
    expect(alive(victim.pid)).toBe(false)
    expect(lb.lines.find((l) => l['msg'] === 'worker exited; starting another')).toMatchObject({
      role: 'primary',
      pid: victim.pid,
      signal: 'SIGKILL',
    })
    // b1 is still dead: the new worker started with the primary's view, not with everything up.
    expect(replaced.fresh.backends.map((b) => b.state)).toEqual(['up', 'down'])
    expect(replaced.st.backends.reduce((a, b) => a + b.requests, 0)).toBeGreaterThanOrEqual(requestsBefore)
  }, 60_000)

  it('SIGTERM drains every worker: watches end, requests finish, new connections refused, exit 0', async () => {
    const pids = (await stats()).workers.map((w) => w.pid as number)
    expect(pids).toHaveLength(2)
    const watchEnded = new Promise<string>((resolve, reject) => {
      http
        .get(`${url}/api/v1/pods?watch=true`, { agent: false }, (res) => {
          res.on('end', () => resolve('end'))
          res.on('error', () => resolve('error'))
          res.resume()
        })
        .on('error', reject)
    })
    const slow = get(`${url}/slow?delay=1000`)
    await new Promise((r) => setTimeout(r, 300))
    const termAt = Date.now()
    lb.child.kill('SIGTERM')
    expect(await watchEnded).toBe('end')
    expect(Date.now() - termAt).toBeLessThan(1500)
    await new Promise((r) => setTimeout(r, 200))
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(lb.port, LB_HOST)
      s.on('connect', () => {
        s.destroy()
        resolve('connected')
      })
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    })
    expect(refused).toBe('ECONNREFUSED')
    expect(await slow).toEqual({ status: 200, body: 'b0 GET /slow' })
    expect(await lb.exited).toBe(0)
    for (const pid of pids) expect(alive(pid)).toBe(false)
    expect(lb.lines.filter((l) => l['msg'] === 'draining')).toHaveLength(2)
  }, 60_000)
})

describe('hakube-lb --workers 2, tcp mode and TLS', () => {
  it('serves in tcp mode and terminating TLS, and exits 1 with one line when its port is in use', async () => {
    const b = await new FakeBackend('b0', '127.0.2.240').start()
    cleanups.push(() => b.kill())
    const tcp = await startLb([
      '--bind-address=127.0.2.231',
      '--port=0',
      '--mode=tcp',
      `--backends=${b.url}`,
      '--workers=2',
    ])
    for (let i = 0; i < 4; i++)
      expect(await get(`http://127.0.2.231:${tcp.port}/t`)).toEqual({ status: 200, body: 'b0 GET /t' })

    const ssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
    }
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'tls.key',
      '-out',
      'tls.crt',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.2.232',
      '-addext',
      'subjectAltName=IP:127.0.2.232',
    )
    const tls = await startLb([
      '--bind-address=127.0.2.232',
      '--port=0',
      `--backends=${b.url}`,
      '--workers=2',
      `--tls-cert-file=${join(dir, 'tls.crt')}`,
      `--tls-private-key-file=${join(dir, 'tls.key')}`,
    ])
    const ca = readFileSync(join(dir, 'tls.crt'))
    for (let i = 0; i < 4; i++)
      expect(await get(`https://127.0.2.232:${tls.port}/s`, { ca })).toEqual({
        status: 200,
        body: 'b0 GET /s',
      })
    tcp.child.kill('SIGTERM')
    tls.child.kill('SIGTERM')
    expect(await tcp.exited).toBe(0)
    expect(await tls.exited).toBe(0)

    const squatter = net.createServer()
    await new Promise<void>((r) => squatter.listen(16533, '127.0.2.233', r))
    cleanups.push(() => new Promise((r) => squatter.close(r)))
    const c = spawn(
      process.execPath,
      [BIN, '--bind-address=127.0.2.233', '--port=16533', `--backends=${b.url}`, '--workers=2'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    children.push(c)
    let stderr = ''
    c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    expect(await new Promise((r) => c.on('close', (code) => r(code)))).toBe(1)
    expect(stderr).toMatch(/^hakube-lb: .*EADDRINUSE.*127\.0\.2\.233:16533\n$/)
  }, 90_000)
})
