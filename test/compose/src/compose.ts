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

  compose(args: readonly string[], timeoutMs = 240_000): Promise<RunResult> {
    if (composeCmd === undefined) throw new Error('requireDocker() first')
    const [cmd, ...pre] = composeCmd as [string, ...string[]]
    return run(cmd, [...pre, '-p', this.project, '-f', this.file, ...args], { timeoutMs, env: this.env })
  }

  /** `up -d` (any leftover of an earlier run removed first), then waits for `nodes` Ready nodes. */
  async up(nodes = 3, waitMs = 180_000): Promise<number> {
    const start = Date.now()
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
    const r = await this.compose(['ps', '-q', service], 30_000)
    const id = r.stdout.trim()
    if (r.code !== 0 || id === '')
      throw new Error(`${this.project}: no container for ${service}: ${r.stderr.trim()}`)
    return id
  }

  async docker(verb: 'kill' | 'stop' | 'start' | 'pause' | 'unpause', service: string): Promise<RunResult> {
    return must('docker', [verb, await this.container(service)], { timeoutMs: 60_000 })
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
   * The store member that leads, by `POST /v3/maintenance/status` on each member's client URL (the host
   * reaches the containers' addresses through the network's bridge).
   */
  async storeLeader(members: readonly { service: string; host: number }[]): Promise<string> {
    for (const m of members) {
      try {
        const res = await fetch(`http://${this.address(m.host)}:2379/v3/maintenance/status`, {
          method: 'POST',
          body: '{}',
          signal: AbortSignal.timeout(3_000),
        })
        const body = (await res.json()) as { header?: { member_id?: string }; leader?: string }
        if (body.leader !== undefined && body.header?.member_id === body.leader) return m.service
      } catch {
        // a member that does not answer is not the leader
      }
    }
    throw new Error(`${this.project}: no store member says it leads`)
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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
