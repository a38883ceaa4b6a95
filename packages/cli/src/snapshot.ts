/**
 * `hakube status`'s data: one snapshot of the cluster, gathered from the hosts' admin sockets, the
 * store members' Maintenance.Status, the api-servers' /readyz, the balancer's /stats, the schedulers'
 * and controller-managers' /healthz, the workers' /admin/nodes, and through the api (the balancer,
 * else a ready api-server) their election records, the nodes and the pods. The shape is what `hakube status -o json` prints (and
 * what the renderer in status-render.ts draws).
 */
import { adminRequest, type HostStatus } from './admin.js'
import {
  type NodeSnapshot,
  readNodes,
  readSchedulerLeader,
  type SchedulerLeader,
  workerNodes,
} from './cluster-api.js'
import { type ClusterState, isHostProcess, procState } from './cluster-state.js'
import { adminSocket } from './components.js'
import { errorText, httpRequest, lbStats, memberStatus, readyz } from './probes.js'
import type { ComponentStatus } from './supervisor.js'
import { type LockPlan, quorumOf, type Role, type SchedulerPlan } from './topology.js'

/** up: supervisor answering; stopped: by `hakube stop`; down: killed or crashed; paused: SIGSTOPped. */
export type HostState = 'up' | 'stopped' | 'down' | 'paused' | 'unreachable'

export interface HostSnapshot {
  readonly name: string
  readonly role: Role
  readonly address: string
  readonly state: HostState
  readonly pid: number | null
  /** Cut off by `hakube partition`. */
  readonly partitioned: boolean
  readonly components: readonly ComponentStatus[]
}

export interface MemberSnapshot {
  readonly name: string
  readonly clientUrl: string
  readonly reachable: boolean
  readonly error: string | null
  readonly memberId: string | null
  readonly leaderId: string | null
  readonly isLeader: boolean
  readonly raftTerm: number | null
  readonly raftIndex: number | null
  readonly revision: number | null
}

export interface QuorumSnapshot {
  readonly members: number
  readonly quorum: number
  /** Failures the cluster tolerates when all members are healthy. */
  readonly tolerates: number
  /** Members answering that agree on a leader. */
  readonly healthy: number
  readonly hasQuorum: boolean
  /** How many more members may fail before writes stop (0 when quorum is lost). */
  readonly moreMayFail: number
  readonly leader: string | null
}

export interface ClusterSnapshot {
  readonly at: string
  readonly dir: string
  readonly topology: string
  readonly store: string
  readonly hosts: readonly HostSnapshot[]
  readonly storeMembers: readonly MemberSnapshot[]
  readonly quorum: QuorumSnapshot
  readonly apiServers: ReadonlyArray<{ url: string; host: string; ready: boolean; error: string | null }>
  readonly balancer: {
    readonly url: string
    readonly reachable: boolean
    readonly error: string | null
    readonly backends: ReadonlyArray<{ url: string; host: string; state: string; error: string | null }>
  }
  readonly partitions: ReadonlyArray<{ hosts: string[]; from: string[] }>
  readonly scheduler: SchedulerSnapshot
  /** The controller-managers' election and replicas (absent from snapshots of older clusters). */
  readonly controllerManager?: SchedulerSnapshot
  readonly nodes: NodesSection
}

export interface SchedulerReplica {
  readonly host: string
  readonly url: string
  /** The supervisor's view of the component (running, restarting...), null when the host is not up. */
  readonly component: string | null
  /** GET /healthz answered 200. */
  readonly healthy: boolean
  readonly error: string | null
  /** leader: the record names this host and is not expired; standby: healthy, not leading. */
  readonly role: 'leader' | 'standby' | '-'
}

export interface SchedulerSnapshot {
  /** The election record as read through the api; null when it could not be read. */
  readonly leader: SchedulerLeader | null
  readonly error: string | null
  readonly replicas: readonly SchedulerReplica[]
}

export interface NodesSection {
  /** Read through the api; false (with the error) when no api-server answered. */
  readonly reachable: boolean
  readonly error: string | null
  /** The nodes the plan's workers simulate. */
  readonly planned: readonly string[]
  readonly nodes: readonly NodeSnapshot[]
  readonly pendingPods: number
  readonly boundPods: number
  /** Every pod by phase (from the same list as the nodes' pod counts). */
  readonly podPhases?: Readonly<Record<string, number>>
}

/** The quorum facts from the members' answers: the leader most of them name, and how many agree. */
export function quorumFrom(members: readonly MemberSnapshot[]): QuorumSnapshot {
  const n = members.length
  const { quorum, tolerates } = quorumOf(n)
  const votes = new Map<string, number>()
  for (const m of members)
    if (m.reachable && m.leaderId !== null && m.leaderId !== '0')
      votes.set(m.leaderId, (votes.get(m.leaderId) ?? 0) + 1)
  let leaderId: string | null = null
  let healthy = 0
  for (const [id, count] of votes)
    if (count > healthy) {
      leaderId = id
      healthy = count
    }
  // A leader the members name must itself answer (an isolated old leader is not a leader).
  const leader = members.find((m) => m.reachable && m.memberId === leaderId)
  if (leader === undefined) healthy = 0
  const hasQuorum = healthy >= quorum
  return {
    members: n,
    quorum,
    tolerates,
    healthy,
    hasQuorum,
    moreMayFail: hasQuorum ? healthy - quorum : 0,
    leader: hasQuorum && leader !== undefined ? leader.name : null,
  }
}

async function hostSnapshot(state: ClusterState, name: string): Promise<HostSnapshot> {
  const plan = state.plan.hosts.find((h) => h.name === name)
  if (plan === undefined) throw new Error(`no host ${name}`)
  const record = state.hosts[name] ?? { pid: null, startedAt: null }
  const isolated = new Set(state.partitions.flatMap((p) => p.hosts))
  const base = {
    name,
    role: plan.role,
    address: plan.address,
    pid: record.pid,
    partitioned: isolated.has(name),
  }
  if (record.pid === null) return { ...base, state: 'stopped', components: [] }
  if (!isHostProcess(record.pid, name)) return { ...base, state: 'down', components: [] }
  if (procState(record.pid) === 'T') return { ...base, state: 'paused', components: [] }
  try {
    const res = await adminRequest(adminSocket(state.plan.dir, name), 'GET', '/status', 1500)
    const components = (res.body as HostStatus).components ?? []
    const allPaused = components.length > 0 && components.every((c) => c.state === 'paused')
    return { ...base, state: allPaused ? 'paused' : 'up', components }
  } catch {
    return { ...base, state: 'unreachable', components: [] }
  }
}

function hostOf(state: ClusterState, url: string): string {
  const address = new URL(url).hostname
  return state.plan.hosts.find((h) => h.address === address && h.role !== 'lb')?.name ?? address
}

/**
 * Runs `read` against the balancer, and against each api-server in turn only while the one before
 * refused the connection: an answer that is an error, or a timeout (a store without quorum), would be
 * the same or slower elsewhere, and `status` must stay quick when the cluster is broken.
 */
async function throughApi<T>(bases: readonly string[], read: (base: string) => Promise<T>): Promise<T> {
  let last: unknown
  for (const base of bases) {
    try {
      return await read(base)
    } catch (err) {
      last = err
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ECONNREFUSED' && code !== 'ECONNRESET' && code !== 'EHOSTUNREACH') break
    }
  }
  throw last ?? new Error('no api-server')
}

async function healthz(url: string): Promise<true | string> {
  try {
    const res = await httpRequest(`${url}/healthz`, { timeoutMs: 1500 })
    return res.status === 200 ? true : `HTTP ${res.status} ${res.text.trim().split('\n').at(-1) ?? ''}`.trim()
  } catch (err) {
    return errorText(err)
  }
}

export async function collectSnapshot(state: ClusterState): Promise<ClusterSnapshot> {
  const plan = state.plan
  const schedulers = plan.schedulers ?? []
  const controllerManagers = plan.controllerManagers ?? []
  const workers = plan.workers ?? []
  const bases = [`http://${plan.lb.host}:${plan.lb.port}`, ...plan.apiServers]
  const heartbeatsP = Promise.all(
    workers.map((w) => workerNodes(w.url, 1000).catch(() => [] as { name: string; heartbeating: boolean }[])),
  ).then((lists) => new Map(lists.flat().map((n) => [n.name, n.heartbeating])))
  const readLeader = (lock: LockPlan | undefined) =>
    lock === undefined
      ? Promise.resolve({ leader: null, error: null })
      : throughApi(bases, (b) => readSchedulerLeader(b, lock, 1500)).then(
          (leader) => ({ leader, error: null }),
          (err: unknown) => ({ leader: null, error: errorText(err) }),
        )
  const leaderP = readLeader(plan.schedulerLock)
  const cmLeaderP = readLeader(plan.controllerManagerLock)
  const nodesP = heartbeatsP.then((heartbeats) =>
    throughApi(bases, (b) => readNodes(b, workers, heartbeats, 2000)).then(
      (n) => ({ ...n, error: null }),
      (err: unknown) => ({ nodes: [], pendingPods: 0, boundPods: 0, podPhases: {}, error: errorText(err) }),
    ),
  )
  const [hosts, members, apis, lb, healths, cmHealths, leaderRead, cmLeaderRead, nodesRead] =
    await Promise.all([
      Promise.all(plan.hosts.map((h) => hostSnapshot(state, h.name))),
      Promise.all(
        plan.storeMembers.map(async (m) => {
          try {
            const s = await memberStatus(m.clientUrl)
            return { m, s, error: null }
          } catch (err) {
            return { m, s: undefined, error: errorText(err) }
          }
        }),
      ),
      Promise.all(plan.apiServers.map(async (url) => ({ url, r: await readyz(url) }))),
      lbStats(plan.lb.host, plan.lb.statsPort).then(
        (backends) => ({ backends, error: null }),
        (err: unknown) => ({ backends: undefined, error: errorText(err) }),
      ),
      Promise.all(schedulers.map((sch) => healthz(sch.url))),
      Promise.all(controllerManagers.map((cm) => healthz(cm.url))),
      leaderP,
      cmLeaderP,
      nodesP,
    ])
  const replicasOf = (
    component: string,
    plans: readonly SchedulerPlan[],
    health: ReadonlyArray<true | string>,
    leader: SchedulerLeader | null,
  ): SchedulerReplica[] =>
    plans.map((r, i) => {
      const c = hosts.find((h) => h.name === r.host)?.components.find((x) => x.name === component)
      const h = health[i] ?? 'not probed'
      const leads = leader !== null && !leader.expired && leader.holderHost === r.host
      return {
        host: r.host,
        url: r.url,
        component: c?.state ?? null,
        healthy: h === true,
        error: h === true ? null : h,
        role: leads ? 'leader' : h === true ? 'standby' : '-',
      }
    })
  const storeMembers: MemberSnapshot[] = members.map(({ m, s, error }) => ({
    name: m.name,
    clientUrl: m.clientUrl,
    reachable: s !== undefined,
    error,
    memberId: s?.memberId ?? null,
    leaderId: s?.leaderId ?? null,
    isLeader: s !== undefined && s.leaderId === s.memberId,
    raftTerm: s?.raftTerm ?? null,
    raftIndex: s?.raftIndex ?? null,
    revision: s?.revision ?? null,
  }))
  return {
    at: new Date().toISOString(),
    dir: plan.dir,
    topology: plan.topology,
    store: plan.store,
    hosts,
    storeMembers,
    quorum: quorumFrom(storeMembers),
    apiServers: apis.map(({ url, r }) => ({
      url,
      host: hostOf(state, url),
      ready: r === true,
      error: r === true ? null : r,
    })),
    balancer: {
      url: `http://${plan.lb.host}:${plan.lb.port}`,
      reachable: lb.backends !== undefined,
      error: lb.error,
      backends: (lb.backends ?? []).map((b) => ({
        url: b.url,
        host: hostOf(state, b.url),
        state: b.state,
        error: b.lastCheckError,
      })),
    },
    partitions: state.partitions,
    scheduler: {
      leader: leaderRead.leader,
      error: leaderRead.error,
      replicas: replicasOf('scheduler', schedulers, healths, leaderRead.leader),
    },
    controllerManager: {
      leader: cmLeaderRead.leader,
      error: cmLeaderRead.error,
      replicas: replicasOf('controller-manager', controllerManagers, cmHealths, cmLeaderRead.leader),
    },
    nodes: {
      reachable: nodesRead.error === null,
      error: nodesRead.error,
      planned: workers.flatMap((w) => w.nodes),
      nodes: nodesRead.nodes,
      pendingPods: nodesRead.pendingPods,
      boundPods: nodesRead.boundPods,
      podPhases: nodesRead.podPhases,
    },
  }
}
