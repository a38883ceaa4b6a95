import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StoreMember } from '../store-cluster.js'

/**
 * A cluster of real etcd 3.4 server processes (`/usr/bin/etcd`, Debian's etcd-server) on loopback, laid
 * out as {@link StoreProcessCluster} lays out hakube-store: member i binds 127.0.1.<base+i> on ports 2379
 * (clients) and 2380 (peers), with its data dir under one temporary directory. `destroy()` SIGKILLs every
 * process and removes the directory; a process-exit hook does the same if a test run dies first.
 */

export const ETCD_BINARY = '/usr/bin/etcd'

const live = new Set<ChildProcess>()
let exitHookInstalled = false
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL')
  })
}

export class EtcdProcessCluster {
  readonly members: StoreMember[] = []
  private readonly root: string

  constructor(
    size: number,
    hostBase: number,
    readonly timing: { heartbeatMs: number; electionMs: number },
    readonly token = 'hakube-conformance',
  ) {
    if (!existsSync(ETCD_BINARY)) {
      throw new Error(
        `${ETCD_BINARY} is missing: install the real etcd 3.4 server (apt-get install etcd-server)`,
      )
    }
    this.root = mkdtempSync(join(tmpdir(), 'hakube-e2e-etcd-'))
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
    return this.members.map((m) => `${m.name}=http://${m.host}:2380`).join(',')
  }

  start(m: StoreMember): void {
    if (m.proc !== undefined) throw new Error(`${m.name} is already running`)
    installExitHook()
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-peer-urls=http://${m.host}:2380`,
      `--initial-advertise-peer-urls=http://${m.host}:2380`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--initial-cluster=${this.initialCluster()}`,
      '--initial-cluster-state=new',
      `--initial-cluster-token=${this.token}`,
      `--heartbeat-interval=${this.timing.heartbeatMs}`,
      `--election-timeout=${this.timing.electionMs}`,
    ]
    const proc = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] })
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

  destroy(): void {
    for (const m of this.members) {
      m.proc?.kill('SIGKILL')
      m.proc = undefined
    }
    rmSync(this.root, { recursive: true, force: true })
  }
}
