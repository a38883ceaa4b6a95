/**
 * The harness of the HA experiments: a cluster brought up by the real `hakube up` (the built
 * packages/cli/bin/hakube.js, run with this node), faults injected only with `hakube` commands, the
 * cluster reached only through its balancer with the real kubectl and at its store members with
 * Debian's etcdctl. Every cluster made here is taken down with `hakube down --purge` by `destroy()`;
 * should that fail, the hosts' process groups recorded in cluster.json get SIGKILL.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { kubectlBinary } from '@hakube/api-server/testing'
import { etcdctl, requireTool, sleep } from '@hakube/store/testing'

export const HAKUBE = fileURLToPath(new URL('../../../../packages/cli/bin/hakube.js', import.meta.url))
const CLI_DIST = fileURLToPath(new URL('../../../../packages/cli/dist/main.js', import.meta.url))

/** The kubectl these experiments run (called by its versioned name, not through the dispatcher). */
export const KUBECTL_VERSION = '1.32' as const

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs `hakube ARGS...` as a user would; never throws for a non-zero exit. */
export function hakube(args: readonly string[], timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [HAKUBE, ...args],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** What the experiments read of `hakube status -o json` (packages/cli/src/snapshot.ts has it all). */
export interface Snapshot {
  hosts: Array<{
    name: string
    role: string
    address: string
    state: string
    pid: number | null
    partitioned: boolean
    components: Array<{ name: string; state: string; pid: number | null; restarts: number }>
  }>
  storeMembers: Array<{
    name: string
    clientUrl: string
    reachable: boolean
    memberId: string | null
    leaderId: string | null
    isLeader: boolean
    raftTerm: number | null
    raftIndex: number | null
  }>
  quorum: {
    members: number
    quorum: number
    tolerates: number
    healthy: number
    hasQuorum: boolean
    moreMayFail: number
    leader: string | null
  }
  apiServers: Array<{ url: string; host: string; ready: boolean }>
  balancer: { url: string; reachable: boolean; backends: Array<{ host: string; state: string }> }
  partitions: Array<{ hosts: string[]; from: string[] }>
}

export interface UpOptions {
  topology: 'stacked' | 'external-etcd'
  masters: number
  etcd?: number
  store?: 'hakube' | 'etcd'
  /** The first host address (127.0.1.15-30 are this suite's). */
  firstAddress: string
  /** The balancer's address (127.0.1.34-40 are this suite's); port 6443. */
  lbHost: string
}

/** One `hakube up` cluster in a temporary directory. */
export class HaCluster {
  readonly dir: string
  readonly lb: string
  /** `hakube up`'s output and how long it took. */
  upRun: Run | undefined
  upSeconds = 0
  private readonly kubectl = kubectlBinary(KUBECTL_VERSION)

  constructor(readonly options: UpOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'hakube-ha-'))
    this.lb = `http://${options.lbHost}:6443`
  }

  /** `hakube up`; throws with its output unless it exits 0 (the cluster healthy). */
  async up(): Promise<void> {
    if (!existsSync(CLI_DIST))
      throw new Error(`${CLI_DIST} is missing: build first (npx turbo run build --filter=@hakube/cli)`)
    requireTool('etcdctl')
    const o = this.options
    const args = [
      'up',
      `--dir=${this.dir}`,
      `--topology=${o.topology}`,
      `--masters=${o.masters}`,
      ...(o.etcd === undefined ? [] : [`--etcd=${o.etcd}`]),
      `--store=${o.store ?? 'hakube'}`,
      `--first-address=${o.firstAddress}`,
      `--lb-address=${o.lbHost}:6443`,
      // The control plane alone: these experiments are about the store and the api-servers, and worker
      // hosts would take addresses right after the last master (another test's range).
      '--workers=0',
      // Generous: other tests share this 2-core machine.
      '--timeout=150',
    ]
    const t0 = Date.now()
    this.upRun = await hakube(args)
    this.upSeconds = (Date.now() - t0) / 1000
    if (this.upRun.code !== 0)
      throw new Error(
        `hakube ${args.join(' ')} exited ${this.upRun.code}\n${this.upRun.stdout}${this.upRun.stderr}\n${this.logTail()}`,
      )
  }

  /** `hakube CMD ... --dir DIR`; throws unless it exits 0. */
  async run(...args: string[]): Promise<string> {
    const r = await hakube([...args, `--dir=${this.dir}`])
    if (r.code !== 0) throw new Error(`hakube ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`)
    return r.stdout
  }

  async status(): Promise<Snapshot> {
    return JSON.parse(await this.run('status', '-o', 'json')) as Snapshot
  }

  /** Polls `hakube status -o json` until `ok`; throws with the last status after `timeoutMs`. */
  async statusUntil(what: string, ok: (s: Snapshot) => boolean, timeoutMs = 90_000): Promise<Snapshot> {
    const deadline = Date.now() + timeoutMs
    let last: Snapshot | undefined
    for (;;) {
      last = await this.status()
      if (ok(last)) return last
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; last status:\n${JSON.stringify(last, null, 2)}`)
      await sleep(300)
    }
  }

  /** The whole cluster healthy: quorum of every member, every api-server ready, every backend up. */
  healthy(s: Snapshot): boolean {
    return (
      s.quorum.healthy === s.quorum.members &&
      s.apiServers.every((a) => a.ready) &&
      s.balancer.backends.length === s.apiServers.length &&
      s.balancer.backends.every((b) => b.state === 'up')
    )
  }

  /**
   * Waits until every store member answers etcdctl with the same raft index (a restarted member has
   * caught up) and the whole cluster is healthy; returns that index.
   */
  async caughtUp(timeoutMs = 90_000): Promise<number> {
    const endpoints = [...this.endpoints().values()]
    const rows = await until(
      'every store member at the same raft index',
      async () => {
        const rows = await endpointStatus(endpoints)
        return rows.length === endpoints.length && new Set(rows.map((r) => r.raftIndex)).size === 1
          ? rows
          : undefined
      },
      timeoutMs,
      300,
    )
    await this.statusUntil('healthy', (s) => this.healthy(s), timeoutMs)
    return rows[0]!.raftIndex
  }

  /** The supervisor pid of `host` as cluster.json records it. */
  hostPid(host: string): number | null {
    return this.state().hosts[host]?.pid ?? null
  }

  /**
   * `hakube kill HOST...` and the moment the (last) host died: the supervisors' pids are watched from
   * here while the command runs (the command itself spends most of its time starting node), so
   * recovery times are measured from the SIGKILL, not from the command's start or end.
   */
  async kill(...hosts: string[]): Promise<number> {
    const pids = hosts.map((host) => {
      const pid = this.hostPid(host)
      if (pid === null || !processAlive(pid)) throw new Error(`${host} is not running`)
      return pid
    })
    const diedAt = new Map<number, number>()
    const watch = setInterval(() => {
      for (const pid of pids) if (!diedAt.has(pid) && !processAlive(pid)) diedAt.set(pid, Date.now())
    }, 2)
    try {
      await this.run('kill', ...hosts)
    } finally {
      clearInterval(watch)
    }
    return diedAt.size === pids.length ? Math.max(...diedAt.values()) : Date.now()
  }

  /** The store members' client endpoints (host:port) by member name. */
  endpoints(): Map<string, string> {
    return new Map(this.state().plan.storeMembers.map((m) => [m.name, m.clientUrl.replace('http://', '')]))
  }

  /**
   * Runs the real kubectl with nothing but the kubeconfig `hakube up` wrote (its server is the
   * balancer), a HOME and discovery cache of this cluster's own; never throws for a non-zero exit.
   */
  k(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
    const home = join(this.dir, 'kubectl-home')
    mkdirSync(home, { recursive: true })
    return new Promise((resolve) => {
      execFile(
        this.kubectl,
        [`--kubeconfig=${join(this.dir, 'kubeconfig')}`, `--cache-dir=${join(home, 'cache')}`, ...args],
        {
          env: { ...process.env, HOME: home },
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 1 << 26,
        },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
          resolve({ code, stdout, stderr: code === -1 ? `${stderr}(killed after ${timeoutMs} ms)` : stderr })
        },
      )
    })
  }

  /** The last lines of every log, for failure messages. */
  logTail(chars = 1500): string {
    const logs = join(this.dir, 'logs')
    if (!existsSync(logs)) return ''
    const out: string[] = []
    try {
      for (const host of this.state().plan.hosts)
        for (const c of ['node', 'store', 'apiserver', 'lb']) {
          const f = join(logs, host.name, `${c}.log`)
          if (existsSync(f)) out.push(`--- ${host.name}/${c}\n${readFileSync(f, 'utf8').slice(-chars)}`)
        }
    } catch {
      // no state
    }
    return out.join('\n')
  }

  private state(): {
    plan: { storeMembers: Array<{ name: string; clientUrl: string }>; hosts: Array<{ name: string }> }
    hosts: Record<string, { pid: number | null }>
  } {
    return JSON.parse(readFileSync(join(this.dir, 'cluster.json'), 'utf8'))
  }

  /**
   * `hakube down --purge`; if it fails or leaves processes, SIGKILL to every host's process group
   * from cluster.json and a second `down --purge` (which also removes the cluster's iptables chains).
   */
  async destroy(): Promise<void> {
    let pids: number[] = []
    try {
      pids = Object.values(this.state().hosts).flatMap((h) => (h.pid === null ? [] : [h.pid]))
    } catch {
      // never came up
    }
    const down = await hakube(['down', '--purge', `--dir=${this.dir}`, '--grace-period=5'], 120_000)
    const left = pids.filter(groupAlive)
    if (down.code !== 0 || left.length > 0) {
      console.error(
        `hakube down --purge exited ${down.code}: ${down.stderr}; killing groups ${left.join(',')}`,
      )
      for (const pid of pids)
        try {
          process.kill(-pid, 'SIGKILL')
        } catch {
          // gone
        }
      await sleep(500)
      await hakube(['down', '--purge', `--dir=${this.dir}`, '--grace-period=1'], 60_000)
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Whether `pid` runs (a zombie does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Whether any process of group `pgid` runs (zombies left for init to reap do not count). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
  } catch {
    return false
  }
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true
    } catch {
      // gone meanwhile
    }
  }
  return false
}

/** One row of `etcdctl endpoint status` (simple output). */
export interface EndpointRow {
  endpoint: string
  id: string
  isLeader: boolean
  raftTerm: number
  raftIndex: number
  errors: string
}

/** `etcdctl endpoint status` against `endpoints`: the rows of those that answered. */
export async function endpointStatus(endpoints: readonly string[]): Promise<EndpointRow[]> {
  const r = await etcdctl(
    [`--endpoints=${endpoints.join(',')}`, '--command-timeout=2s', 'endpoint', 'status'],
    undefined,
    20_000,
  )
  const rows: EndpointRow[] = []
  for (const line of r.stdout.split('\n')) {
    const cols = line.split(', ')
    if (cols.length < 10) continue
    rows.push({
      endpoint: cols[0]!,
      id: cols[1]!,
      isLeader: cols[4] === 'true',
      raftTerm: Number(cols[6]),
      raftIndex: Number(cols[7]),
      errors: cols.slice(9).join(', ').trim(),
    })
  }
  return rows
}

/** `etcdctl put KEY VALUE` against one endpoint with a bounded command timeout. */
export async function put(
  endpoint: string,
  key: string,
  value: string,
  timeout = '3s',
): Promise<{ ok: boolean; ms: number; output: string }> {
  const t0 = Date.now()
  const r = await etcdctl(
    [`--endpoints=${endpoint}`, `--command-timeout=${timeout}`, 'put', key, value],
    undefined,
    30_000,
  )
  return {
    ok: r.code === 0 && r.stdout.trim() === 'OK',
    ms: Date.now() - t0,
    output: (r.stdout + r.stderr).trim(),
  }
}

export { etcdctl, sleep }

/** Resolves once `probe` returns something other than undefined; throws `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/**
 * Polls `etcdctl endpoint status` on `endpoints` until one of them reports itself leader; resolves
 * with the time it was first seen (the election window's end as a client can see it).
 */
export async function leaderSeen(endpoints: readonly string[], timeoutMs = 60_000): Promise<number> {
  return until(
    'a store leader',
    async () => ((await endpointStatus(endpoints)).some((r) => r.isLeader) ? Date.now() : undefined),
    timeoutMs,
    100,
  )
}

export * from './probes.js'
