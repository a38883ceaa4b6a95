import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A cluster of real `hakube-store` processes on loopback, or of real etcd 3.4 processes with the same
 * flags (the reference), one emulated host per member: member i binds 127.0.1.<base+i> on etcd's
 * standard ports (2379 clients, 2380 peers). Every process is killed by `destroy()` (tests call it in
 * afterAll), and by a process-exit hook if the test process dies first.
 */

/** The built binary (from src/testing and dist/testing alike: the package's dist/main.js). */
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))
/** The reference implementation: Debian's etcd-server 3.4. */
export const ETCD_BINARY = '/usr/bin/etcd'

/** Which server a cluster runs: hakube-store, or the real etcd 3.4 with the same flags. */
export type Implementation = 'hakube' | 'etcd'

/** Every child process started here, killed if the test process exits first. */
const live = new Set<ChildProcess>()
let exitHookInstalled = false
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL')
  })
}

/** Fails with how to install `name` (a Debian package the tests need) when it is not on PATH. */
export function requireTool(name: string): void {
  try {
    execFileSync('which', [name], { stdio: 'pipe' })
  } catch {
    throw new Error(`${name} is not installed: apt-get install etcd-server etcd-client (see .ci/run)`)
  }
}

export interface StoreMember {
  name: string
  host: string
  clientUrl: string
  /** host:port without a scheme (what `etcdctl endpoint status` wants today). */
  endpoint: string
  dataDir: string
  proc: ChildProcess | undefined
  /** Everything the process logged, for failure messages. */
  output: string[]
  /** Not in the initial cluster: added with `member add` and started with `existing`. */
  joiner?: boolean
}

export class StoreProcessCluster {
  readonly members: StoreMember[] = []
  private readonly root: string

  constructor(
    size: number,
    private readonly hostBase: number,
    readonly timing: { heartbeatMs: number; electionMs: number },
    /** Flags added to every member's command line (for example `--snapshot-count=100`). */
    readonly extraArgs: readonly string[] = [],
    readonly implementation: Implementation = 'hakube',
  ) {
    if (implementation === 'hakube' && !existsSync(MAIN))
      throw new Error(`${MAIN} is missing: build the store first (npm run build)`)
    if (implementation === 'etcd' && !existsSync(ETCD_BINARY))
      throw new Error(
        `${ETCD_BINARY} is missing: install the real etcd 3.4 server (apt-get install etcd-server)`,
      )
    this.root = mkdtempSync(join(tmpdir(), `hakube-e2e-${implementation}-`))
    for (let i = 1; i <= size; i++) {
      const host = `127.0.1.${hostBase + i}`
      this.members.push({
        name: `m${i}`,
        host,
        clientUrl: `http://${host}:2379`,
        endpoint: `${host}:2379`,
        dataDir: join(this.root, `m${i}`),
        proc: undefined,
        output: [],
      })
    }
  }

  initialCluster(): string {
    return this.members
      .filter((m) => !m.joiner)
      .map((m) => `${m.name}=http://${m.host}:2380`)
      .join(',')
  }

  /** Adds a member that is not part of the initial cluster (started later with `start(m, { ... })`). */
  addJoiner(name: string, hostOffset: number): StoreMember {
    const host = `127.0.1.${this.hostBase + hostOffset}`
    const m: StoreMember = {
      name,
      host,
      clientUrl: `http://${host}:2379`,
      endpoint: `${host}:2379`,
      dataDir: join(this.root, name),
      proc: undefined,
      output: [],
      joiner: true,
    }
    this.members.push(m)
    return m
  }

  /**
   * Starts `m` (again). `join` starts it as a member joining the running cluster (after `member add`),
   * with the initial cluster `etcdctl member add` printed.
   */
  start(m: StoreMember, join?: { initialCluster: string }): void {
    if (m.proc !== undefined) throw new Error(`${m.name} is already running`)
    const flags = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-peer-urls=http://${m.host}:2380`,
      `--initial-advertise-peer-urls=http://${m.host}:2380`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--initial-cluster=${join?.initialCluster ?? this.initialCluster()}`,
      `--initial-cluster-state=${join === undefined ? 'new' : 'existing'}`,
      `--heartbeat-interval=${this.timing.heartbeatMs}`,
      `--election-timeout=${this.timing.electionMs}`,
      ...this.extraArgs,
    ]
    installExitHook()
    const proc =
      this.implementation === 'hakube'
        ? spawn(process.execPath, [MAIN, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(ETCD_BINARY, flags, { stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(proc)
    const keep = (b: Buffer): void => {
      m.output.push(b.toString())
      if (m.output.length > 200) m.output.shift()
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    proc.on('exit', (code, signal) => {
      live.delete(proc)
      m.output.push(`[exited: ${signal ?? code}]\n`)
      if (m.proc === proc) m.proc = undefined
    })
    m.proc = proc
  }

  startAll(): void {
    for (const m of this.members) this.start(m)
  }

  /** SIGKILL: the process loses everything not on disk. */
  kill(m: StoreMember): void {
    m.proc?.kill('SIGKILL')
    m.proc = undefined
  }

  /** SIGTERM, resolving with the exit code once the process has exited. */
  terminate(m: StoreMember, timeoutMs: number): Promise<number | null> {
    const proc = m.proc
    if (proc === undefined) return Promise.resolve(null)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${m.name} did not exit within ${timeoutMs} ms`)),
        timeoutMs,
      )
      proc.once('exit', (code) => {
        clearTimeout(timer)
        resolve(code)
      })
      proc.kill('SIGTERM')
    })
  }

  running(): StoreMember[] {
    return this.members.filter((m) => m.proc !== undefined)
  }

  /** Every member's client URL (http://host:2379), as `--etcd-servers` lists them. */
  get clientUrls(): string[] {
    return this.members.map((m) => m.clientUrl)
  }

  /** The member serving `endpoint` (host:port). */
  member(endpoint: string): StoreMember {
    const m = this.members.find((x) => x.endpoint === endpoint)
    if (m === undefined) throw new Error(`no member at ${endpoint}`)
    return m
  }

  /** The tail of every member's output, for failure messages. */
  logs(tailChars = 3000): string {
    return memberLogs(this, tailChars)
  }

  destroy(): void {
    for (const m of this.members) this.kill(m)
    rmSync(this.root, { recursive: true, force: true })
  }
}

export interface EtcdctlResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the real etcdctl (Debian etcd-client 3.4) with ETCDCTL_API=3. */
export function etcdctl(args: readonly string[], input?: string, timeoutMs = 10_000): Promise<EtcdctlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'etcdctl',
      [...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, stdout, stderr })
      },
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

/** The endpoint (host:port) that `endpoint status` reports as leader, if any answers. */
export async function findLeader(endpoints: readonly string[]): Promise<string | undefined> {
  const r = await etcdctl([
    `--endpoints=${endpoints.join(',')}`,
    '--command-timeout=1s',
    'endpoint',
    'status',
  ])
  for (const line of r.stdout.split('\n')) {
    const cols = line.split(', ')
    if (cols[4] === 'true') return cols[0]
  }
  return undefined
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Polls `probe` until it returns a value other than undefined, pausing `intervalMs` between tries;
 * throws `describe()` (evaluated then, so it can include fresh member logs) once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`)
    await sleep(intervalMs)
  }
}

/** Every member's recent output, for failure messages. */
export function memberLogs(cluster: StoreProcessCluster, tailChars = 3000): string {
  return cluster.members.map((m) => `--- ${m.name}\n${m.output.join('').slice(-tailChars)}`).join('\n')
}
