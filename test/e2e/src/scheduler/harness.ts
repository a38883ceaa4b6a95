/**
 * Real hakube-scheduler processes for the scheduler's e2e tests, and what they need around them: a
 * hakube-apiserver on memory storage, a TCP proxy per replica that can be blackholed (a leader cut
 * off from the api-server while it keeps running), Node and Pod objects made through the API, and
 * the leader record as the lock object holds it. Each replica's pino JSON log is parsed as it
 * comes, so tests read its actions and their times (`bound`, `successfully acquired lease`,
 * `stopped leading`) from the replica itself.
 *
 * Addresses: 127.0.2.20-127.0.2.49 belong to these tests (api-server .20, proxies .21-.29,
 * replicas' health ports .31-.39, node simulators .41-.49). Every process and socket made here is closed by `cleanup()`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import type { ApiClient, Node, Pod } from '@hakube/api'
import { sleep, waitFor } from '@hakube/store/testing'
import { ApiServerProcess } from '../apiserver.js'

export const SCHEDULER_MAIN = fileURLToPath(
  new URL('../../../../packages/scheduler/dist/main.js', import.meta.url),
)
export const NODE_SIM_MAIN = fileURLToPath(
  new URL('../../../../packages/node-sim/dist/main.js', import.meta.url),
)
export const APISERVER_HOST = '127.0.2.20'
export const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader'
/** Short election durations (the issue's: lease 3 s, renew 2 s, retry 0.5 s). */
export const ELECTION = { leaseMs: 3000, renewMs: 2000, retryMs: 500 }
export const ELECTION_FLAGS = [
  `--leader-elect-lease-duration=${ELECTION.leaseMs}ms`,
  `--leader-elect-renew-deadline=${ELECTION.renewMs}ms`,
  `--leader-elect-retry-period=${ELECTION.retryMs}ms`,
]

const NODES = { group: '', version: 'v1', plural: 'nodes', namespaced: false }
const PODS = { group: '', version: 'v1', plural: 'pods', namespaced: true }

export interface LogLine {
  time: number
  level: number
  msg: string
  [field: string]: unknown
}

const started: { stop(): void }[] = []

/** One hakube-scheduler replica; `HAKUBE_HOSTNAME` makes its identity `<name>_<uuid>`. */
export class SchedulerProcess {
  readonly proc: ChildProcess
  readonly lines: LogLine[] = []
  readonly stderr: string[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>
  private partial = ''

  /** `server`: the api-server's URL (`--master`), or `{ kubeconfig: path }`. */
  constructor(
    readonly name: string,
    readonly host: string,
    server: string | { kubeconfig: string },
    args: readonly string[],
  ) {
    if (!existsSync(SCHEDULER_MAIN))
      throw new Error(`${SCHEDULER_MAIN} is missing: build first (npm run build)`)
    const connect = typeof server === 'string' ? `--master=${server}` : `--kubeconfig=${server.kubeconfig}`
    this.proc = spawn(
      process.execPath,
      [SCHEDULER_MAIN, connect, `--bind-address=${host}`, '--port=10259', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HAKUBE_HOSTNAME: name } },
    )
    this.proc.stdout?.on('data', (b: Buffer) => this.stderr.push(b.toString()))
    this.proc.stderr?.on('data', (b: Buffer) => this.onOutput(b.toString()))
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        this.stderr.push(`[exited: ${signal ?? code}]\n`)
        resolve({ code, signal, atMs: Date.now() })
      }),
    )
    started.push(this)
  }

  private onOutput(text: string): void {
    this.stderr.push(text)
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop() ?? ''
    for (const line of parts) {
      if (!line.startsWith('{')) continue
      try {
        this.lines.push(JSON.parse(line) as LogLine)
      } catch {
        // not a log line
      }
    }
  }

  /** Log lines with message `msg`. */
  logs(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg)
  }

  /** The identity it logged when it started serving. */
  identity(): string | undefined {
    return this.logs('serving')[0]?.['identity'] as string | undefined
  }

  /**
   * Waits until it has logged `n` bindings (a binding is logged when its answer arrives, which can be
   * after another client already sees the pod bound) and returns their times.
   */
  async waitBoundLogged(n: number, timeoutMs = 10_000): Promise<number[]> {
    await waitFor(
      async () => (this.boundTimes().length >= n ? true : undefined),
      timeoutMs,
      () => this.output(),
      50,
    )
    return this.boundTimes()
  }

  /** Times of its bindings (the `bound` lines). */
  boundTimes(): number[] {
    return this.logs('bound').map((l) => l.time)
  }

  output(): string {
    const state = this.alive() ? `running, pid ${this.proc.pid}` : 'exited'
    return `--- ${this.name} (${state}) ---\n${this.stderr.join('').slice(-6000)}`
  }

  alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive()) this.proc.kill(signal)
  }

  stop(): void {
    this.kill('SIGKILL')
  }
}

/** A hakube-node-sim process (simulated kubelets) on its own address. */
export class NodeSimProcess {
  readonly proc: ChildProcess
  readonly output: string[] = []

  constructor(host: string, master: string, args: readonly string[]) {
    if (!existsSync(NODE_SIM_MAIN))
      throw new Error(`${NODE_SIM_MAIN} is missing: build first (npm run build)`)
    this.proc = spawn(
      process.execPath,
      [NODE_SIM_MAIN, `--master=${master}`, `--bind-address=${host}`, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    this.proc.stdout?.on('data', (b: Buffer) => this.output.push(b.toString()))
    this.proc.stderr?.on('data', (b: Buffer) => this.output.push(b.toString()))
    started.push(this)
  }

  logs(): string {
    return `--- node-sim ---\n${this.output.join('').slice(-4000)}`
  }

  stop(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
  }
}

/**
 * A TCP proxy in front of the api-server. `blackhole()` keeps every connection open but forwards
 * nothing either way and leaves new connections hanging: a network partition, not a refusal.
 */
export class TcpProxy {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private holed = false

  constructor(
    readonly host: string,
    private readonly target: { host: string; port: number },
  ) {
    this.server = net.createServer((client) => this.onClient(client))
    started.push(this)
  }

  get url(): string {
    return `http://${this.host}:6443`
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(6443, this.host, () => resolve())
    })
  }

  blackhole(): void {
    this.holed = true
  }

  private onClient(client: net.Socket): void {
    this.sockets.add(client)
    client.on('close', () => this.sockets.delete(client))
    client.on('error', () => {})
    if (this.holed) return
    const upstream = net.connect(this.target.port, this.target.host)
    this.sockets.add(upstream)
    upstream.on('close', () => {
      this.sockets.delete(upstream)
      client.destroy()
    })
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    client.on('data', (b) => {
      if (!this.holed) upstream.write(b)
    })
    upstream.on('data', (b) => {
      if (!this.holed) client.write(b)
    })
  }

  stop(): void {
    for (const s of this.sockets) s.destroy()
    this.server.close()
  }
}

/** Starts the api-server (memory storage) on 127.0.2.20:6443 and waits until it is ready. */
export async function startApiServer(): Promise<ApiServerProcess> {
  const api = new ApiServerProcess(APISERVER_HOST, ['--storage-backend=memory'])
  started.push(api)
  await api.ready(30_000)
  return api
}

/** Kills every process and closes every proxy started here. */
export function cleanup(): void {
  for (const s of started.splice(0).reverse()) s.stop()
}

export interface NodeInput {
  name: string
  cpu?: string
  memory?: string
  pods?: number
  labels?: Record<string, string>
}

/** A Ready Node with allocatable, as a kubelet would register it. */
export async function createNode(client: ApiClient, n: NodeInput): Promise<void> {
  const allocatable = { cpu: n.cpu ?? '4', memory: n.memory ?? '8Gi', pods: String(n.pods ?? 110) }
  const nodes = client.resource<Node>(NODES)
  const created = await nodes.create({ metadata: { name: n.name, labels: n.labels ?? {} } })
  await nodes.updateStatus({
    ...created,
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
    },
  })
}

export interface PodInput {
  name: string
  namespace?: string
  cpu?: string
  memory?: string
  nodeSelector?: Record<string, string>
}

export async function createPod(client: ApiClient, p: PodInput): Promise<void> {
  const requests: Record<string, string> = {}
  if (p.cpu !== undefined) requests['cpu'] = p.cpu
  if (p.memory !== undefined) requests['memory'] = p.memory
  await client
    .resource<Pod>(PODS)
    .namespace(p.namespace ?? 'default')
    .create({
      metadata: { name: p.name },
      spec: {
        containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: { requests } }],
        ...(p.nodeSelector !== undefined ? { nodeSelector: p.nodeSelector } : {}),
      },
    })
}

export async function listPods(client: ApiClient, namespace = 'default'): Promise<Pod[]> {
  return (await client.resource<Pod>(PODS).namespace(namespace).list()).items
}

/** Waits until every pod named in `names` is bound; returns pod name → node. */
export async function waitBound(
  client: ApiClient,
  names: readonly string[],
  timeoutMs: number,
  describe: () => string,
): Promise<Map<string, string>> {
  return waitFor(
    async () => {
      const pods = await listPods(client)
      const nodeOf = new Map(pods.map((p) => [p.metadata?.name ?? '', p.spec?.nodeName ?? '']))
      return names.every((n) => (nodeOf.get(n) ?? '') !== '') ? nodeOf : undefined
    },
    timeoutMs,
    describe,
    100,
  )
}

/** The holder the lock object names: the Endpoints annotation or the Lease's spec. */
export async function lockHolder(
  client: ApiClient,
  kind: 'endpoints' | 'leases',
  name = 'kube-scheduler',
): Promise<string | undefined> {
  try {
    if (kind === 'endpoints') {
      const ep = await client
        .resource({ group: '', version: 'v1', plural: 'endpoints', namespaced: true })
        .namespace('kube-system')
        .get(name)
      const raw = ep.metadata?.annotations?.[LEADER_ANNOTATION]
      return raw === undefined ? undefined : (JSON.parse(raw) as { holderIdentity?: string }).holderIdentity
    }
    const lease = (await client
      .resource({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true })
      .namespace('kube-system')
      .get(name)) as { spec?: { holderIdentity?: string } }
    return lease.spec?.holderIdentity
  } catch {
    return undefined
  }
}

/** Waits until one of `replicas` holds the lock (by the lock object) and returns it. */
export async function waitLeader(
  client: ApiClient,
  replicas: readonly SchedulerProcess[],
  kind: 'endpoints' | 'leases',
  timeoutMs: number,
  exclude?: SchedulerProcess,
): Promise<SchedulerProcess> {
  return waitFor(
    async () => {
      const holder = await lockHolder(client, kind)
      const r = replicas.find((x) => x !== exclude && x.identity() !== undefined && x.identity() === holder)
      return r !== undefined && r.logs('successfully acquired lease').length > 0 ? r : undefined
    },
    timeoutMs,
    () => replicas.map((r) => r.output()).join('\n'),
    50,
  )
}

export { sleep }
