/**
 * A docker-compose project of deploy/compose for a test: brought up under a project name of its own
 * (`hakube-test-...`), on a subnet of its own in 172.28.0.0/16 and a balancer port of its own on
 * 127.0.0.1, so tests never meet each other's containers; always taken down with its volumes.
 *
 * Docker missing is a failure, not a skip: `requireDocker()` throws a message that says what to install
 * and start. Everything runs through the real CLIs (docker, docker-compose, kubectl) with a timeout.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
export const composeDir = join(repo, 'deploy/compose')
export const dockerDir = join(repo, 'deploy/docker')

export type Topology = 'stacked' | 'external-etcd' | 'external-real-etcd'

export interface RunResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

/** Runs a command; never throws (a spawn failure or a timeout is a non-zero code with the reason). */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  const start = Date.now()
  return new Promise((done) => {
    execFile(
      cmd,
      args as string[],
      { timeout: opts.timeoutMs ?? 60_000, env: opts.env ?? process.env, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        const why = err !== null && typeof err.code !== 'number' ? `${err.message}\n` : ''
        done({ code, stdout: String(stdout), stderr: why + String(stderr), ms: Date.now() - start })
      },
    )
  })
}

async function must(
  cmd: string,
  args: readonly string[],
  opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv },
) {
  const r = await run(cmd, args, opts)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`)
  return r
}

/** The compose command: `docker compose` (v2) when the plugin is there, else `docker-compose` (1.29). */
let composeCmd: string[] | undefined

/** Throws, with what to do, unless a Docker engine answers and a compose command and kubectl exist. */
export async function requireDocker(): Promise<void> {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 })
  if (info.code !== 0)
    throw new Error(
      `test/compose needs a running Docker engine (docker info failed: ${info.stderr.trim() || `exit ${info.code}`}). ` +
        'Install docker.io and docker-compose (apt-get install -y docker.io docker-compose) and start the daemon, ' +
        'e.g. dockerd --iptables=false --ip6tables=false --bridge=none & (see deploy/README.md).',
    )
  if ((await run('docker', ['compose', 'version'], { timeoutMs: 20_000 })).code === 0)
    composeCmd = ['docker', 'compose']
  else if ((await run('docker-compose', ['version'], { timeoutMs: 20_000 })).code === 0)
    composeCmd = ['docker-compose']
  else
    throw new Error(
      'test/compose needs docker-compose (Debian: apt-get install -y docker-compose) or docker compose v2',
    )
  if ((await run('kubectl', ['version', '--client'], { timeoutMs: 20_000 })).code !== 0)
    throw new Error('test/compose needs kubectl on PATH')
}

/** Builds the images a topology needs when they are missing (offline; see deploy/README.md). */
export async function ensureImages(topology: Topology): Promise<void> {
  if ((await run('docker', ['image', 'inspect', 'hakube:local'])).code !== 0)
    await must(join(dockerDir, 'build-image.sh'), [], { timeoutMs: 300_000 })
  if (
    topology === 'external-real-etcd' &&
    (await run('docker', ['image', 'inspect', 'hakube-etcd:local'])).code !== 0
  )
    await must(join(dockerDir, 'build-etcd-image.sh'), [], { timeoutMs: 300_000 })
}

export interface ProjectOptions {
  readonly topology: Topology
  /** Suffix of the project name: hakube-test-<name>. */
  readonly name: string
  /** The network's first three octets, in 172.28.0.0/16 (e.g. 172.28.11). */
  readonly subnet: string
  /** The balancer's port on 127.0.0.1. */
  readonly lbPort: number
  /** Extra environment for the compose file (e.g. HAKUBE_LEADER_ELECT_LEASE_DURATION). */
  readonly env?: Readonly<Record<string, string>>
}

export class ComposeProject {
  readonly project: string
  readonly file: string
  readonly kubeconfig: string
  private readonly tmp: string
  private readonly env: NodeJS.ProcessEnv
  /** Container ids by service, until the next up or down (docker kill/start/network keep the id). */
  private readonly ids = new Map<string, string>()

  constructor(readonly opts: ProjectOptions) {
    if (!/^172\.28\.\d{1,3}$/.test(opts.subnet))
      throw new Error(`subnet ${opts.subnet} is not in 172.28.0.0/16`)
    this.project = `hakube-test-${opts.name}`
    this.file = join(composeDir, `${opts.topology}.yml`)
    this.tmp = mkdtempSync(join(tmpdir(), `${this.project}-`))
    this.kubeconfig = join(this.tmp, 'kubeconfig')
    this.env = {
      ...process.env,
      HAKUBE_SUBNET: opts.subnet,
      HAKUBE_LB_PORT: String(opts.lbPort),
      ...opts.env,
    }
    writeFileSync(
      this.kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: c',
        `  cluster: {server: "http://127.0.0.1:${opts.lbPort}"}`,
        'contexts:',
        '- name: c',
        '  context: {cluster: c, user: u}',
        'current-context: c',
        'users:',
        '- name: u',
        '  user: {}',
        '',
      ].join('\n'),
    )
  }

  /** An address of the project's network: .10 the balancer, .1N master-N, .2N worker-N, .3N etcd-N. */
  address(host: number): string {
    return `${this.opts.subnet}.${host}`
  }

  /** A service's fixed address, by the compose files' layout (lb, master-N, worker-N, etcd-N). */
  addressOf(service: string): string {
    if (service === 'lb') return this.address(10)
    const m = /^(master|worker|etcd)-(\d)$/.exec(service)
    if (m === null) throw new Error(`${this.project}: no fixed address for ${service}`)
    const base = { master: 10, worker: 20, etcd: 30 }[m[1] as 'master' | 'worker' | 'etcd']
    return this.address(base + Number(m[2]))
  }

  /** The project's network, as the compose files name it (`hakube`). */
  get network(): string {
    return `${this.project}_hakube`
  }

  compose(args: readonly string[], timeoutMs = 240_000): Promise<RunResult> {
    if (composeCmd === undefined) throw new Error('requireDocker() first')
    const [cmd, ...pre] = composeCmd as [string, ...string[]]
    return run(cmd, [...pre, '-p', this.project, '-f', this.file, ...args], { timeoutMs, env: this.env })
  }

  /** `up -d` (any leftover of an earlier run removed first), then waits for `nodes` Ready nodes. */
  async up(nodes = 3, waitMs = 180_000): Promise<number> {
    const start = Date.now()
    this.ids.clear()
    await this.compose(['down', '-v', '--remove-orphans'])
    const up = await this.compose(['up', '-d'])
    if (up.code !== 0)
      throw new Error(`${this.project}: up failed: ${up.stderr.trim().split('\n').slice(-5).join('\n')}`)
    await this.waitFor(`${nodes} Ready nodes`, waitMs, async () => {
      const r = await this.kubectl(['get', 'nodes', '--no-headers'], 5_000)
      return r.code === 0 && r.stdout.split('\n').filter((l) => l.split(/\s+/)[1] === 'Ready').length >= nodes
    })
    return Date.now() - start
  }

  /** `down -v`: containers, network and volumes; the temp dir too. Never throws. */
  async down(): Promise<RunResult> {
    this.ids.clear()
    if (composeCmd === undefined) {
      // requireDocker() failed: nothing was started.
      rmSync(this.tmp, { recursive: true, force: true })
      return { code: 0, stdout: '', stderr: '', ms: 0 }
    }
    const r = await this.compose(['down', '-v', '--remove-orphans', '-t', '10'])
    rmSync(this.tmp, { recursive: true, force: true })
    return r
  }

  /** The container id of a service (master-1, etcd-2, lb, worker-3...). */
  async container(service: string): Promise<string> {
    const known = this.ids.get(service)
    if (known !== undefined) return known
    const r = await this.compose(['ps', '-q', service], 30_000)
    const id = r.stdout.trim()
    if (r.code !== 0 || id === '')
      throw new Error(`${this.project}: no container for ${service}: ${r.stderr.trim()}`)
    this.ids.set(service, id)
    return id
  }

  async docker(verb: 'kill' | 'stop' | 'start' | 'pause' | 'unpause', service: string): Promise<RunResult> {
    return must('docker', [verb, await this.container(service)], { timeoutMs: 60_000 })
  }

  /**
   * Takes a service's container off the project's network (`docker network disconnect`): it keeps
   * running, but its address is gone; peers see silence, its own components get ENETUNREACH.
   */
  async disconnect(service: string): Promise<RunResult> {
    return must('docker', ['network', 'disconnect', this.network, await this.container(service)], {
      timeoutMs: 60_000,
    })
  }

  /**
   * An action on one component of a host container (`kill`, `stop`, `start`, `pause`, `resume`), as
   * `hakube stop HOST/COMPONENT` does for local hosts: `POST /components/NAME/ACTION` on the host
   * supervisor's admin socket, from inside the container (`docker exec node`).
   */
  async component(
    service: string,
    component: string,
    action: 'kill' | 'stop' | 'start' | 'pause' | 'resume',
  ): Promise<RunResult> {
    const script =
      'const [s, path] = process.argv.slice(1); require("http").request({ socketPath: s, method: "POST", path }, (r) => {' +
      ' let b = ""; r.on("data", (c) => { b += c }); r.on("end", () => { process.stdout.write(b); process.exit(r.statusCode === 200 ? 0 : 1) })' +
      ' }).on("error", (e) => { console.error(e.message); process.exit(1) }).end()'
    const socket = `/var/lib/hakube/hosts/${service}/admin.sock`
    const path = `/components/${component}/${action}`
    return must('docker', ['exec', await this.container(service), 'node', '-e', script, socket, path], {
      timeoutMs: 60_000,
    })
  }

  /** Puts a disconnected container back on the network at its own fixed address. */
  async connect(service: string): Promise<RunResult> {
    const args = ['network', 'connect', '--ip', this.addressOf(service), this.network]
    return must('docker', [...args, await this.container(service)], { timeoutMs: 60_000 })
  }

  async running(service: string): Promise<boolean> {
    const r = await run('docker', [
      'inspect',
      '--format',
      '{{.State.Running}}',
      await this.container(service),
    ])
    return r.stdout.trim() === 'true'
  }

  kubectl(args: readonly string[], requestTimeoutMs = 5_000): Promise<RunResult> {
    return run(
      'kubectl',
      ['--kubeconfig', this.kubeconfig, `--request-timeout=${Math.ceil(requestTimeoutMs / 1000)}s`, ...args],
      { timeoutMs: requestTimeoutMs + 10_000 },
    )
  }

  async waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
    const start = Date.now()
    while (Date.now() - start < timeoutMs) {
      if (await check()) return Date.now() - start
      await new Promise((r) => setTimeout(r, 500))
    }
    throw new Error(`${this.project}: no ${what} after ${timeoutMs / 1000} s`)
  }

  /**
   * A store member's `POST /v3/maintenance/status` on its client URL (the host reaches the containers'
   * addresses through the network's bridge); undefined when it does not answer within 3 s.
   */
  async memberStatus(host: number): Promise<MemberStatus | undefined> {
    try {
      const res = await fetch(`http://${this.address(host)}:2379/v3/maintenance/status`, {
        method: 'POST',
        body: '{}',
        signal: AbortSignal.timeout(3_000),
      })
      const body = (await res.json()) as {
        header?: { member_id?: string; revision?: string }
        leader?: string
        raftIndex?: string
        raftTerm?: string
      }
      return {
        memberId: body.header?.member_id ?? '',
        leader: body.leader ?? '',
        revision: Number(body.header?.revision ?? 0),
        raftIndex: Number(body.raftIndex ?? 0),
        raftTerm: Number(body.raftTerm ?? 0),
      }
    } catch {
      return undefined
    }
  }

  /** The store member that leads, by each member's own status. */
  async storeLeader(members: readonly { service: string; host: number }[]): Promise<string> {
    for (const m of members) {
      const s = await this.memberStatus(m.host)
      if (s !== undefined && s.leader !== '' && s.memberId === s.leader) return m.service
    }
    throw new Error(`${this.project}: no store member says it leads`)
  }

  /** The balancer's `GET /stats` (stats port 6444 on its address): each api-server backend's state. */
  async lbStats(): Promise<LbStats> {
    const res = await fetch(`http://${this.address(10)}:6444/stats`, { signal: AbortSignal.timeout(3_000) })
    return (await res.json()) as LbStats
  }

  /**
   * The election record of a scheduler or controller-manager lock (`kube-scheduler`,
   * `kube-controller-manager`): the compose files keep the default lock, an Endpoints object in
   * kube-system whose annotation holds the record. Read through the balancer; undefined when absent.
   */
  async leaderRecord(name: string, requestTimeoutMs = 2_000): Promise<LeaderRecord | undefined> {
    const r = await this.kubectl(
      ['-n', 'kube-system', 'get', 'endpoints', name, '-o', 'json'],
      requestTimeoutMs,
    )
    if (r.code !== 0) throw new Error(`kubectl get endpoints ${name}: ${r.stderr.trim()}`)
    const ep = JSON.parse(r.stdout) as { metadata: { annotations?: Record<string, string> } }
    const raw = ep.metadata.annotations?.['control-plane.alpha.kubernetes.io/leader']
    return raw === undefined ? undefined : (JSON.parse(raw) as LeaderRecord)
  }

  /**
   * A component's log in a host container (`/var/lib/hakube/logs/HOST/COMPONENT.log`, HOST being the
   * service name), read with `docker exec node` (the image has no shell), so it works while the
   * container is off the network: pino's JSON lines, the supervisor's, and whatever else the process
   * wrote (a crash's stack).
   */
  async componentLogText(service: string, component: string): Promise<string> {
    const file = `/var/lib/hakube/logs/${service}/${component}.log`
    const script = 'process.stdout.write(require("fs").readFileSync(process.argv[1], "utf8"))'
    return (await must('docker', ['exec', await this.container(service), 'node', '-e', script, file])).stdout
  }

  /** The JSON lines of a component's log (componentLogText). */
  async componentLog(service: string, component: string): Promise<LogLine[]> {
    return (await this.componentLogText(service, component))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LogLine]
        } catch {
          return []
        }
      })
  }

  /** The pods of a deployment's label app=NAME: name, phase, node. */
  async pods(app: string): Promise<{ name: string; phase: string; node: string }[]> {
    const r = await this.kubectl(['get', 'pods', '-l', `app=${app}`, '-o', 'json'])
    if (r.code !== 0) throw new Error(`kubectl get pods: ${r.stderr.trim()}`)
    const list = JSON.parse(r.stdout) as {
      items: { metadata: { name: string }; spec: { nodeName?: string }; status: { phase?: string } }[]
    }
    return list.items.map((p) => ({
      name: p.metadata.name,
      phase: p.status.phase ?? '',
      node: p.spec.nodeName ?? '',
    }))
  }

  async runningPods(app: string): Promise<string[]> {
    return (await this.pods(app)).filter((p) => p.phase === 'Running' && p.node !== '').map((p) => p.name)
  }

  /**
   * The pods a worker's node simulator runs, from its kubelet read API (GET :10250/pods), independent of
   * the control plane: name and phase.
   */
  async kubeletPods(worker: number): Promise<{ name: string; phase: string }[]> {
    const res = await fetch(`http://${this.address(20 + worker)}:10250/pods`, {
      signal: AbortSignal.timeout(5_000),
    })
    const list = (await res.json()) as {
      items: { metadata: { name: string }; status?: { phase?: string } }[]
    }
    return list.items.map((p) => ({ name: p.metadata.name, phase: p.status?.phase ?? '' }))
  }
}

export interface MemberStatus {
  readonly memberId: string
  /** The member it takes for the leader; '' when it knows none. */
  readonly leader: string
  readonly revision: number
  readonly raftIndex: number
  readonly raftTerm: number
}

export interface LbStats {
  readonly backends: readonly {
    readonly url: string
    readonly state: 'up' | 'down' | string
    readonly lastCheckError: string | null
    /** ISO time of the last up/down change. */
    readonly lastStateChange: string
    readonly requests: number
    readonly errors: number
  }[]
  readonly counters: Readonly<Record<string, number>>
}

/** client-go's LeaderElectionRecord, as the Endpoints annotation holds it (times to the second). */
export interface LeaderRecord {
  readonly holderIdentity: string
  readonly leaseDurationSeconds: number
  readonly acquireTime: string
  readonly renewTime: string
  readonly leaderTransitions: number
}

/** A JSON log line: `time` in ms since the epoch (pino's), `msg`, and the line's own fields. */
export interface LogLine {
  readonly time: number
  readonly msg: string
  readonly [field: string]: unknown
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
