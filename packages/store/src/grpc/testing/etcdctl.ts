/**
 * Test helpers: run the real etcdctl (Debian etcd-client, ETCDCTL_API=3) and the real etcd against
 * loopback ports. Spawned processes are tracked so tests can kill them all in afterEach.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const ETCDCTL = '/usr/bin/etcdctl'
export const ETCD = '/usr/bin/etcd'

/** Throws (failing the test, never skipping it) when a required binary is missing. */
export function requireBinary(path: string): void {
  if (!existsSync(path))
    throw new Error(`${path} is required for these tests (install Debian etcd-client / etcd-server)`)
}

export interface CtlResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs etcdctl against `http://127.0.0.1:port` (port 0: `args` give `--endpoints` themselves). */
export function etcdctl(port: number, args: string[], input?: string): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      ETCDCTL,
      [
        ...(port === 0 ? [] : [`--endpoints=http://127.0.0.1:${port}`]),
        '--dial-timeout=3s',
        '--command-timeout=5s',
        ...args,
      ],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 10_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, stdout, stderr })
      },
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

export class Processes {
  private readonly children = new Set<ChildProcess>()

  spawn(cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    return child
  }

  async killAll(): Promise<void> {
    const waits = [...this.children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve()
          c.once('exit', () => resolve())
          c.kill('SIGKILL')
        }),
    )
    await Promise.all(waits)
  }
}

/** Reads a child's stdout until `pattern` appears (or rejects after `timeoutMs`). */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; got: ${out}`)),
      timeoutMs,
    )
    const onData = (chunk: Buffer): void => {
      out += chunk.toString()
      if (pattern.test(out)) {
        clearTimeout(timer)
        child.stdout?.off('data', onData)
        resolve(out)
      }
    }
    child.stdout?.on('data', onData)
  })
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      s.close(() => resolve(port))
    })
  })
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** A real single-member etcd 3.4 on loopback (the oracle), in a temp data dir. */
export async function startRealEtcd(procs: Processes): Promise<{ url: string; stop(): Promise<void> }> {
  requireBinary(ETCD)
  const [client, peer] = [await freePort(), await freePort()]
  const dir = tempDir('hakube-etcd-oracle-')
  const url = `http://127.0.0.1:${client}`
  const child = procs.spawn(ETCD, [
    `--data-dir=${dir.path}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=default=http://127.0.0.1:${peer}`,
    '--log-level=error',
  ])
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('real etcd did not become healthy')
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    async stop() {
      await procs.killAll()
      dir.remove()
    },
  }
}
