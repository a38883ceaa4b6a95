/**
 * The set-up of the failover experiments: a real 3-member hakube-store, three hakube-apiserver
 * processes on it (etcd3 storage) and the hakube-lb binary in front of them, all real processes on
 * their own loopback addresses. Every process started here is killed by `destroy()` (a SIGSTOPped one
 * is continued first), and by a process-exit hook if the test process dies before.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { memberLogs, StoreProcessCluster, sleep, waitFor } from '@hakube/store/testing'
import { ApiServerProcess } from '../apiserver.js'

export const LB_MAIN = fileURLToPath(
  new URL('../../../../packages/load-balancer/dist/main.js', import.meta.url),
)

/** One backend as hakube-lb's `/stats` reports it. */
export interface BackendStats {
  url: string
  state: 'up' | 'down'
  lastCheck: string | null
  lastCheckError: string | null
  consecutiveFailures: number
  activeConnections: number
  requests: number
  errors: number
  lastStateChange: string
}

export interface LbSettings {
  /** --health-interval, --health-timeout (ms), --fall, --rise. */
  intervalMs: number
  timeoutMs: number
  fall: number
  rise: number
}

export interface ClusterLayout {
  /** The store's members are 127.0.1.<storeBase+1..3>. */
  storeBase: number
  apiHosts: readonly string[]
  lbHost: string
  statsPort: number
  /** --endpoint-reconciler-lease-ttl, whole seconds. */
  leaseTtlS: number
  lb: LbSettings
}

/** Every child process alive, killed (after a SIGCONT) if the test process exits first. */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const p of live) {
    p.kill('SIGCONT')
    p.kill('SIGKILL')
  }
})
const track = (p: ChildProcess): void => {
  live.add(p)
  p.once('exit', () => live.delete(p))
}

export class FailoverCluster {
  readonly store: StoreProcessCluster
  /** The api-server currently running (or last run) on each of `layout.apiHosts`, by host. */
  readonly apis = new Map<string, ApiServerProcess>()
  lb: ChildProcess | undefined
  readonly lbOutput: string[] = []
  readonly base: string
  readonly statsUrl: string

  constructor(readonly layout: ClusterLayout) {
    if (!existsSync(LB_MAIN)) throw new Error(`${LB_MAIN} is missing: build first (npm run build)`)
    this.store = new StoreProcessCluster(3, layout.storeBase, { heartbeatMs: 100, electionMs: 1000 })
    this.base = `http://${layout.lbHost}:6443`
    this.statsUrl = `http://${layout.lbHost}:${layout.statsPort}/stats`
  }

  /** `http://host:6443`, the backend URL hakube-lb knows the api-server on `host` by. */
  static backendOf(host: string): string {
    return `http://${host}:6443`
  }

  /** hakube-lb's one line per backend state change, all of them. */
  stateChanges(): string[] {
    return this.lbOutput
      .join('')
      .split('\n')
      .filter((l) => l.includes('"msg":"backend down"') || l.includes('"msg":"backend up"'))
  }

  /** Each time hakube-lb took a backend out of rotation (its log line's time, ms). */
  downEvents(): Array<{ backend: string; atMs: number }> {
    return this.stateChanges()
      .map((l) => JSON.parse(l) as { backend: string; time: number; msg: string })
      .filter((e) => e.msg === 'backend down')
      .map((e) => ({ backend: e.backend, atMs: e.time }))
  }

  logs = (): string =>
    [
      `--- hakube-lb state changes\n${this.stateChanges().join('\n')}`,
      `--- hakube-lb\n${this.lbOutput.join('').slice(-6000)}`,
      ...[...this.apis.values()].map((a) => `--- api-server ${a.host}\n${a.logs().slice(-3000)}`),
      memberLogs(this.store),
    ].join('\n')

  /** Starts everything; resolves with the time the store and api-servers took to be ready (ms). */
  async start(): Promise<number> {
    const t0 = Date.now()
    this.store.startAll()
    for (const h of this.layout.apiHosts) this.startApi(h)
    await Promise.all([...this.apis.values()].map((a) => a.ready(90_000, this.logs)))
    const apisReadyMs = Date.now() - t0
    const { lb, lbHost, statsPort } = this.layout
    this.lb = spawn(
      process.execPath,
      [
        LB_MAIN,
        `--bind-address=${lbHost}`,
        '--port=6443',
        `--backends=${this.layout.apiHosts.map(FailoverCluster.backendOf).join(',')}`,
        '--balance=roundrobin',
        `--health-interval=${lb.intervalMs}ms`,
        `--health-timeout=${lb.timeoutMs}ms`,
        `--fall=${lb.fall}`,
        `--rise=${lb.rise}`,
        `--stats-port=${statsPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    track(this.lb)
    this.lb.stdout?.on('data', (b: Buffer) => this.lbOutput.push(b.toString()))
    this.lb.stderr?.on('data', (b: Buffer) => this.lbOutput.push(b.toString()))
    // Up when every backend is up in its stats and a request passes through.
    await waitFor(
      async () => {
        try {
          const stats = await this.stats()
          if (stats.length !== 3 || stats.some((b) => b.state !== 'up' || b.lastCheck === null))
            return undefined
          return (await fetch(`${this.base}/readyz`)).status === 200 ? true : undefined
        } catch {
          return undefined
        }
      },
      20_000,
      this.logs,
    )
    return apisReadyMs
  }

  /** Starts (or restarts, on the same address) the api-server on `host`. */
  startApi(host: string): ApiServerProcess {
    const a = new ApiServerProcess(host, [
      `--etcd-servers=${this.store.clientUrls.join(',')}`,
      `--endpoint-reconciler-lease-ttl=${this.layout.leaseTtlS}s`,
    ])
    track(a.proc)
    this.apis.set(host, a)
    return a
  }

  api(host: string): ApiServerProcess {
    const a = this.apis.get(host)
    if (a === undefined) throw new Error(`no api-server on ${host}`)
    return a
  }

  /** Time (epoch ms) at which the api-server on `host` first answered `/readyz` 200, polled directly. */
  async readyAt(host: string, timeoutMs = 30_000): Promise<number> {
    const url = `${FailoverCluster.backendOf(host)}/readyz`
    return waitFor(
      async () => {
        try {
          return (await fetch(url)).status === 200 ? Date.now() : undefined
        } catch {
          return undefined
        }
      },
      timeoutMs,
      this.logs,
      50,
    )
  }

  async stats(): Promise<BackendStats[]> {
    const r = await fetch(this.statsUrl)
    return ((await r.json()) as { backends: BackendStats[] }).backends
  }

  async backendStats(host: string): Promise<BackendStats> {
    const url = FailoverCluster.backendOf(host)
    const b = (await this.stats()).find((s) => s.url === url)
    if (b === undefined) throw new Error(`hakube-lb does not list ${url}`)
    return b
  }

  /**
   * Polls `/stats` until the backend on `host` is in `state`, and returns its stats then. The caller
   * measures with `lastStateChange`, the balancer's own clock of the change (same host clock as ours).
   */
  async waitState(host: string, state: 'up' | 'down', timeoutMs: number): Promise<BackendStats> {
    let last: BackendStats | undefined
    return waitFor(
      async () => {
        last = await this.backendStats(host)
        return last.state === state ? last : undefined
      },
      timeoutMs,
      () => `backend ${host} not ${state}: ${JSON.stringify(last)}\n${this.logs()}`,
      25,
    )
  }

  /** The balancer process is the one started at the beginning, still running. */
  lbRunning(): boolean {
    return this.lb !== undefined && this.lb.exitCode === null && this.lb.signalCode === null
  }

  async destroy(): Promise<void> {
    for (const a of this.apis.values()) {
      // SIGKILL ends a stopped process too; the SIGCONT only makes sure none is left stopped.
      a.proc.kill('SIGCONT')
      a.stop()
    }
    this.lb?.kill('SIGKILL')
    this.store.destroy()
    await sleep(0)
  }
}
