/**
 * Goal: the hakube-lb binary: bad flags exit 2 and a port in use exits 1, each with one line; it
 * serves soon after start; SIGTERM drains (stops accepting, ends watches at once, lets other requests
 * finish) and exits 0. Runs the compiled binary (built here if needed) against a fake backend.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import http from 'node:http'
import { createRequire } from 'node:module'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FakeBackend } from './testing/fake-backend.js'

const pkgDir = fileURLToPath(new URL('..', import.meta.url))
const BIN = fileURLToPath(new URL('../bin/hakube-lb.js', import.meta.url))
const children: ChildProcess[] = []
const cleanups: Array<() => unknown> = []

beforeAll(() => {
  // Incremental: a no-op when dist/ is current.
  execFileSync(
    process.execPath,
    [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'],
    {
      cwd: pkgDir,
      stdio: 'inherit',
    },
  )
}, 120_000)

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const c of cleanups.splice(0)) await c()
})

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(c)
    let stdout = ''
    let stderr = ''
    c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    c.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Starts the binary and resolves with the process and its `serving` log line. */
function startLb(
  args: string[],
): Promise<{ child: ChildProcess; serving: Record<string, unknown>; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    const lines: string[] = []
    let buf = ''
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString()
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        nl = buf.indexOf('\n')
        lines.push(line)
        const rec = JSON.parse(line) as Record<string, unknown>
        if (rec['msg'] === 'serving') resolve({ child, serving: rec, lines })
      }
    })
    child.on('exit', (code) => reject(new Error(`hakube-lb exited ${code} before serving`)))
  })
}

describe('hakube-lb binary', () => {
  it.each([
    [['--port=6443'], '--backends must list at least one api-server'],
    [['--backends=127.0.0.1:6443'], '--backends: "127.0.0.1:6443" is not a scheme://host:port URL'],
    [['--backends=http://127.0.0.1:6443', '--fall=0'], '--fall must be at least 1'],
    [
      ['--backends=http://127.0.0.1:6443', '--health-timeout=soon'],
      'invalid argument "soon" for "--health-timeout" flag: time: invalid duration "soon"',
    ],
  ])('%j exits 2 with one line', async (args, message) => {
    const r = await run(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`hakube-lb: ${message}\n`)
  })

  it('exits 1 with one line when its port is in use', async () => {
    const squatter = net.createServer()
    await new Promise<void>((r) => squatter.listen(16468, '127.0.1.168', r))
    cleanups.push(() => new Promise((r) => squatter.close(r)))
    const r = await run(['--bind-address=127.0.1.168', '--port=16468', '--backends=http://127.0.1.150:1'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^hakube-lb: listen EADDRINUSE: address already in use 127\.0\.1\.168:16468\n$/)
  })

  it('prints --help and --version', async () => {
    const h = await run(['--help'])
    expect(h.code).toBe(0)
    expect(h.stdout).toMatch(/--backends strings/)
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: 'hakube-lb v0.1.0\n' })
  })

  it('serves soon after start, and SIGTERM drains: watches end, requests finish, exit 0', async () => {
    const backend = await new FakeBackend('b0', '127.0.1.165').start()
    cleanups.push(() => backend.kill())
    const { child, serving } = await startLb([
      '--bind-address=127.0.1.166',
      '--port=16466',
      `--backends=${backend.url}`,
      '--shutdown-grace=5s',
    ])
    // The goal is half a second on an idle machine; the bound here leaves room for a loaded CI box.
    console.log(`hakube-lb served ${serving['startupMs']} ms after its start`)
    expect(serving['startupMs']).toBeLessThan(3000)
    const url = 'http://127.0.1.166:16466'
    const watchEnded = new Promise<string>((resolve, reject) => {
      http
        .get(`${url}/api/v1/pods?watch=true`, { agent: false }, (res) => {
          res.on('end', () => resolve('end'))
          res.on('error', () => resolve('error'))
          res.resume()
        })
        .on('error', reject)
    })
    const slow = new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get(`${url}/slow?delay=800`, { agent: false }, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        .on('error', reject)
    })
    await new Promise((r) => setTimeout(r, 200))
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    const termAt = Date.now()
    child.kill('SIGTERM')
    expect(await watchEnded).toBe('end')
    expect(Date.now() - termAt).toBeLessThan(500)
    // No new connections once draining.
    await new Promise((r) => setTimeout(r, 100))
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(16466, '127.0.1.166')
      s.on('connect', () => {
        s.destroy()
        resolve('connected')
      })
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    })
    expect(refused).toBe('ECONNREFUSED')
    expect(await slow).toEqual({ status: 200, body: 'b0 GET /slow' })
    expect(await exited).toBe(0)
  })
})
