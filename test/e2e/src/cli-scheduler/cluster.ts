/**
 * A `hakube up` cluster with schedulers, controller-managers and workers for the tests of this folder: started and
 * driven only through the `hakube` command (the built packages/cli), read through its balancer (plain
 * HTTP for polling, the real kubectl for what a user would type), and always taken down with
 * `hakube down --purge` by `destroy()` (the hosts' process groups get SIGKILL should that fail).
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { kubectlBinary } from '@hakube/api-server/testing'
import { groupAlive, HAKUBE, hakube, KUBECTL_VERSION, type Run, sleep } from '../ha/harness.js'

export { groupAlive }

/** What these tests read of `hakube status -o json` (packages/cli/src/snapshot.ts has it all). */
/** One leader-elected component's section of `hakube status -o json`. */
export interface Elected {
  leader: {
    lock: string
    record: { holderIdentity: string; leaderTransitions: number; renewTime: string | null } | null
    holderHost: string | null
    renewAgeSeconds: number | null
    expired: boolean
  } | null
  error: string | null
  replicas: Array<{ host: string; url: string; healthy: boolean; role: string; component: string | null }>
}

export interface Status {
  hosts: Array<{
    name: string
    role: string
    state: string
    components: Array<{ name: string; state: string; pid: number | null; restarts: number }>
  }>
  scheduler: Elected
  controllerManager: Elected
  nodes: {
    reachable: boolean
    planned: string[]
    nodes: Array<{
      name: string
      worker: string | null
      status: string
      reason: string | null
      leaseAgeSeconds: number | null
      pods: number
    }>
    pendingPods: number
    boundPods: number
    podPhases: Record<string, number>
  }
}

export interface LeaderRecord {
  holderIdentity: string
  leaseDurationSeconds: number
  acquireTime: string
  renewTime: string
  leaderTransitions: number
}

export class SchedulerCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'hakube-sched-'))
  readonly lb: string
  upRun: Run | undefined
  upSeconds = 0
  private readonly kubectl = kubectlBinary(KUBECTL_VERSION)

  constructor(
    readonly firstAddress: string,
    readonly lbAddress: string,
    readonly lbStatsPort: number,
  ) {
    this.lb = `http://${lbAddress}`
  }

  /** `hakube up ARGS`; throws with its output and the logs' tails unless it exits 0. */
  async up(args: readonly string[]): Promise<void> {
    if (!existsSync(HAKUBE.replace(/bin\/hakube\.js$/, 'dist/main.js')))
      throw new Error('packages/cli is not built: npx turbo run build --filter=@hakube/cli')
    const all = [
      'up',
      `--dir=${this.dir}`,
      `--first-address=${this.firstAddress}`,
      `--lb-address=${this.lbAddress}`,
      `--lb-stats-port=${this.lbStatsPort}`,
      '--timeout=150',
      ...args,
    ]
    const t0 = Date.now()
    this.upRun = await hakube(all)
    this.upSeconds = (Date.now() - t0) / 1000
    if (this.upRun.code !== 0)
      throw new Error(
        `hakube ${all.join(' ')} exited ${this.upRun.code}\n${this.upRun.stdout}${this.upRun.stderr}\n${this.logTail()}`,
      )
  }

  /** `hakube ARGS --dir DIR`, whatever its exit code. */
  hakube(...args: string[]): Promise<Run> {
    return hakube([...args, `--dir=${this.dir}`])
  }

  /** `hakube ARGS --dir DIR`; throws unless it exits 0. */
  async run(...args: string[]): Promise<string> {
    const r = await this.hakube(...args)
    if (r.code !== 0) throw new Error(`hakube ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`)
    return r.stdout
  }

  async status(): Promise<Status> {
    return JSON.parse(await this.run('status', '-o', 'json')) as Status
  }

  /** GET through the balancer as JSON (throws on a non-200 answer). */
  async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.lb}${path}`, { signal: AbortSignal.timeout(5000) })
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as T
  }

  /**
   * The election record in the kube-system/NAME Endpoints annotation: the schedulers' by default,
   * `kube-controller-manager` for the controller-managers'.
   */
  async lock(name = 'kube-scheduler'): Promise<LeaderRecord | undefined> {
    const ep = await this.get<{ metadata: { annotations?: Record<string, string> } }>(
      `/api/v1/namespaces/kube-system/endpoints/${name}`,
    )
    const text = ep.metadata.annotations?.['control-plane.alpha.kubernetes.io/leader']
    return text === undefined ? undefined : (JSON.parse(text) as LeaderRecord)
  }

  /** The heartbeat Lease's renewTime of each node in kube-node-lease. */
  async nodeLeases(): Promise<Map<string, string>> {
    const list = await this.get<{
      items: Array<{ metadata: { name: string }; spec: { renewTime?: string } }>
    }>('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases')
    return new Map(list.items.map((l) => [l.metadata.name, l.spec.renewTime ?? '']))
  }

  async pods(namespace: string): Promise<Array<{ name: string; node: string; phase: string }>> {
    const list = await this.get<{
      items: Array<{ metadata: { name: string }; spec: { nodeName?: string }; status?: { phase?: string } }>
    }>(`/api/v1/namespaces/${namespace}/pods`)
    return list.items.map((p) => ({
      name: p.metadata.name,
      node: p.spec.nodeName ?? '',
      phase: p.status?.phase ?? '',
    }))
  }

  /** `kubectl create -f` of `count` pods named PREFIX-1..N in `namespace`, through the balancer. */
  async createPods(namespace: string, prefix: string, count: number): Promise<void> {
    const items = Array.from({ length: count }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${prefix}-${i + 1}`, namespace, labels: { app: prefix } },
      spec: {
        containers: [
          { name: 'web', image: 'nginx:1.27', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
        ],
      },
    }))
    const file = join(this.dir, `${prefix}.json`)
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }))
    const r = await this.k(['create', '-f', file])
    if (r.code !== 0) throw new Error(`kubectl create -f ${file}: ${r.stderr}`)
  }

  /** The real kubectl with the kubeconfig `hakube up` wrote (its server is the balancer). */
  k(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
    const home = join(this.dir, 'kubectl-home')
    mkdirSync(home, { recursive: true })
    return new Promise((resolve) => {
      execFile(
        this.kubectl,
        [`--kubeconfig=${join(this.dir, 'kubeconfig')}`, `--cache-dir=${join(home, 'cache')}`, ...args],
        { env: { ...process.env, HOME: home }, timeout: timeoutMs, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
          resolve({ code, stdout, stderr })
        },
      )
    })
  }

  /** The supervisors' pids (process groups) from cluster.json. */
  hostPids(): number[] {
    try {
      const state = JSON.parse(readFileSync(join(this.dir, 'cluster.json'), 'utf8')) as {
        hosts: Record<string, { pid: number | null }>
      }
      return Object.values(state.hosts).flatMap((h) => (h.pid === null ? [] : [h.pid]))
    } catch {
      return []
    }
  }

  logTail(chars = 1200): string {
    const out: string[] = []
    const logs = join(this.dir, 'logs')
    const hosts = existsSync(logs) ? readdirSync(logs).sort() : []
    for (const host of hosts)
      for (const c of ['node', 'scheduler', 'controller-manager', 'node-sim', 'apiserver']) {
        const f = join(this.dir, 'logs', host, `${c}.log`)
        if (existsSync(f)) out.push(`--- ${host}/${c}\n${readFileSync(f, 'utf8').slice(-chars)}`)
      }
    return out.join('\n')
  }

  /** `hakube down --purge`; SIGKILL to every host group left should it fail. */
  async destroy(): Promise<void> {
    const pids = this.hostPids()
    const down = await hakube(['down', '--purge', `--dir=${this.dir}`, '--grace-period=5'], 120_000)
    if (down.code !== 0) console.error(`hakube down --purge exited ${down.code}: ${down.stderr}`)
    for (const pid of pids)
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // gone
      }
    await sleep(200)
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Whether something accepts a TCP connection at host:port. */
export function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port })
    s.setTimeout(1000)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('timeout', () => {
      s.destroy()
      resolve(false)
    })
    s.once('error', () => resolve(false))
  })
}
