/**
 * `hakube up`: plans the hosts (topology.ts), checks that nothing is in the way (a cluster already up
 * in the directory, busy ports, a missing etcd), writes cluster.json and the kubeconfig, starts one
 * detached `hakube node` per host and waits until the cluster is healthy: store quorum, every
 * api-server ready, every balancer backend up, GET /readyz through the balancer, every scheduler's
 * and controller-manager's /healthz with one of each holding its lock, and every planned node Ready. Progress is printed per
 * host as it becomes ready; the cluster keeps running after `up` returns.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { adminRequest, type HostStatus } from './admin.js'
import { findEtcd } from './binaries.js'
import {
  type NodesSnapshot,
  readNodes,
  readSchedulerLeader,
  type SchedulerLeader,
  workerNodes,
} from './cluster-api.js'
import {
  type ClusterState,
  isHostProcess,
  kubeconfigFile,
  readState,
  shownPath,
  spawnHost,
  UserError,
  writeState,
} from './cluster-state.js'
import { adminSocket, logFile } from './components.js'
import { flag, flagUsages, parseFlags } from './flags.js'
import { busyListens } from './ports.js'
import { httpRequest, lbStats, memberStatus, readyz } from './probes.js'
import { type ClusterPlan, type HostPlan, planCluster, type StoreKind, type Topology } from './topology.js'

export const UP_FLAGS = {
  topology: flag({
    kind: 'string',
    default: 'stacked',
    usage: "'stacked' (a store member on each master) or 'external-etcd'.",
  }),
  masters: flag({
    kind: 'int',
    default: 3,
    usage: 'Master hosts (api-server, scheduler, controller-manager; stacked: and a store member).',
  }),
  etcd: flag({ kind: 'int', default: 3, usage: 'Store members on hosts of their own (external-etcd).' }),
  store: flag({
    kind: 'string',
    default: 'hakube',
    usage: "Store members: 'hakube' (hakube-store) or 'etcd' (the etcd binary).",
  }),
  dir: flag({
    kind: 'string',
    default: '.hakube',
    usage: "The cluster's directory: state, kubeconfig, data, logs.",
  }),
  'first-address': flag({
    kind: 'string',
    default: '127.0.1.1',
    usage: 'The first host address; hosts take the next ones.',
  }),
  'lb-address': flag({
    kind: 'string',
    default: '127.0.0.1:6443',
    usage: "The balancer's address:port (the kubeconfig's server).",
  }),
  'lb-stats-port': flag({ kind: 'int', default: 6444, usage: "The balancer's /stats port, on its address." }),
  workers: flag({
    kind: 'int',
    default: 3,
    usage: 'Worker hosts, each running a node simulator (hakube-node-sim) against the balancer.',
  }),
  'nodes-per-worker': flag({
    kind: 'int',
    default: 1,
    usage: 'Simulated nodes on each worker: worker-N alone, or worker-N-1, worker-N-2...',
  }),
  'leader-elect-lease-duration': flag({
    kind: 'string',
    default: '',
    usage:
      "Advanced: the schedulers' and controller-managers' --leader-elect-lease-duration (default theirs, 15s).",
  }),
  'leader-elect-renew-deadline': flag({
    kind: 'string',
    default: '',
    usage: "Advanced: the schedulers' and controller-managers' --leader-elect-renew-deadline (10s).",
  }),
  'leader-elect-retry-period': flag({
    kind: 'string',
    default: '',
    usage: "Advanced: the schedulers' and controller-managers' --leader-elect-retry-period (2s).",
  }),
  'leader-elect-resource-lock': flag({
    kind: 'string',
    default: '',
    usage:
      "Advanced: the schedulers' and controller-managers' lock, endpoints, leases or endpointsleases (endpoints).",
  }),
  'node-monitor-period': flag({
    kind: 'string',
    default: '',
    usage: "Advanced: the controller-managers' --node-monitor-period (default theirs, 5s).",
  }),
  'node-monitor-grace-period': flag({
    kind: 'string',
    default: '',
    usage:
      "Advanced: the controller-managers' --node-monitor-grace-period (40s): how long a silent node stays Ready.",
  }),
  timeout: flag({ kind: 'int', default: 90, usage: 'Seconds to wait for the cluster to be healthy.' }),
}

export const UP_USAGE = `hakube up starts an HA control plane as local processes, one supervisor per emulated host.

Usage:
  hakube up [flags]

Flags:
${flagUsages(UP_FLAGS)}`

export function kubeconfigText(server: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: hakube',
    '  cluster:',
    `    server: ${server}`,
    'contexts:',
    '- name: hakube',
    '  context:',
    '    cluster: hakube',
    '    user: hakube',
    'current-context: hakube',
    'users:',
    '- name: hakube',
    '  user: {}',
    '',
  ].join('\n')
}

/** What `up` prints at the end: how to reach the cluster. */
export function usageHints(plan: ClusterPlan, shownDir: string, seconds: number): string {
  const kc = `${shownDir}/kubeconfig`
  const endpoints = plan.storeMembers.map((m) => m.clientUrl.replace('http://', '')).join(',')
  const dirFlag = shownDir === '.hakube' ? '' : ` --dir ${shownDir}`
  const nodes = (plan.workers ?? []).flatMap((w) => w.nodes)
  const nodeText = nodes.length === 0 ? '' : `, ${nodes.length} node${nodes.length === 1 ? '' : 's'}`
  return [
    `cluster healthy in ${seconds.toFixed(1)} s (${plan.topology}, ${plan.apiServers.length} api-servers, ${plan.storeMembers.length} store members${nodeText}; balancer http://${plan.lb.host}:${plan.lb.port})`,
    '',
    'kubectl, through the balancer:',
    `  kubectl --kubeconfig ${kc} get --raw /readyz`,
    `  kubectl --kubeconfig ${kc} get ${nodes.length === 0 ? 'namespaces' : 'nodes'}`,
    `  export KUBECONFIG=$PWD/${kc}`,
    'etcdctl, against the store members:',
    `  ETCDCTL_API=3 etcdctl --endpoints=${endpoints} endpoint status -w table`,
    `  ETCDCTL_API=3 etcdctl --endpoints=${endpoints} get /registry --prefix --keys-only`,
    'hakube:',
    `  hakube status${dirFlag} [--watch]      hakube kill master-1${dirFlag}      hakube down${dirFlag}`,
    ...(nodes.length === 0
      ? []
      : [`  hakube fail-node ${nodes[0]}${dirFlag}      hakube recover-node ${nodes[0]}${dirFlag}`]),
    `logs: ${shownDir}/logs/<host>/<component>.log`,
    '',
  ].join('\n')
}

export async function runUp(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const p = parseFlags(UP_FLAGS, argv)
  if (!p.ok) throw new UserError(p.error)
  if (p.help) {
    out.write(`${UP_USAGE}\n`)
    return 0
  }
  const v = p.values
  if (p.args.length > 0) throw new UserError(`unexpected argument ${JSON.stringify(p.args[0])}`)
  if (v.topology !== 'stacked' && v.topology !== 'external-etcd')
    throw new UserError(`--topology must be 'stacked' or 'external-etcd' (got ${JSON.stringify(v.topology)})`)
  if (v.store !== 'hakube' && v.store !== 'etcd')
    throw new UserError(`--store must be 'hakube' or 'etcd' (got ${JSON.stringify(v.store)})`)
  const dir = resolve(v.dir)
  const shownDir = shownPath(dir)
  const planned = planCluster({
    topology: v.topology as Topology,
    masters: v.masters,
    etcd: v.etcd,
    store: v.store as StoreKind,
    dir,
    firstAddress: v['first-address'],
    lbAddress: v['lb-address'],
    lbStatsPort: v['lb-stats-port'],
    workers: v.workers,
    nodesPerWorker: v['nodes-per-worker'],
    leaderElect: {
      leaseDuration: v['leader-elect-lease-duration'],
      renewDeadline: v['leader-elect-renew-deadline'],
      retryPeriod: v['leader-elect-retry-period'],
      resourceLock: v['leader-elect-resource-lock'],
    },
    nodeMonitor: { period: v['node-monitor-period'], gracePeriod: v['node-monitor-grace-period'] },
  })
  if ('errors' in planned) throw new UserError(planned.errors.join('\n'))
  if (v.topology === 'stacked' && p.set.has('etcd'))
    throw new UserError(
      '--etcd applies to --topology external-etcd; a stacked cluster runs one store member on each master (use --masters)',
    )
  const { plan, warnings } = planned
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`)

  const previous = readState(dir)
  if (previous !== undefined) {
    const running = Object.entries(previous.hosts).filter(([name, h]) => isHostProcess(h.pid, name))
    if (running.length > 0)
      throw new UserError(
        `a cluster is already up in ${shownDir} (hosts ${running.map(([n]) => n).join(', ')} running): ` +
          `\`hakube status --dir ${shownDir}\` shows it, \`hakube down --dir ${shownDir}\` stops it`,
      )
    if (JSON.stringify(previous.plan) !== JSON.stringify(plan))
      throw new UserError(
        `${shownDir} holds the data of a different cluster (${previous.plan.topology}, ${previous.plan.hosts.length} hosts): ` +
          `\`hakube down --purge --dir ${shownDir}\` deletes it, or use another --dir`,
      )
  }
  if (plan.store === 'etcd' && findEtcd() === undefined)
    throw new UserError(
      '--store etcd needs the etcd binary, not found on PATH or in /usr/bin (Debian: apt-get install etcd-server)',
    )
  const busy = await busyListens(plan)
  if (busy.length > 0)
    throw new UserError(
      `cannot listen on:\n  ${busy.join('\n  ')}\n(another cluster or program holds them: \`hakube status\`, or choose --first-address / --lb-address)`,
    )

  const started = Date.now()
  const state: ClusterState = {
    version: 1,
    createdAt: previous?.createdAt ?? new Date().toISOString(),
    plan,
    hosts: {},
    partitions: [],
  }
  writeState(dir, state)
  const { pinSourceAddresses } = await import('./partition.js')
  // DROP rules of an earlier run of this directory that ended without `hakube down` would cut the new one.
  pinSourceAddresses(state, previous !== undefined)
  writeFileSync(kubeconfigFile(dir), kubeconfigText(`http://${plan.lb.host}:${plan.lb.port}`))
  out.write(
    `${previous === undefined ? 'starting' : 'restarting'} the cluster in ${shownDir} (${plan.topology}, store: ${plan.store === 'etcd' ? 'etcd' : 'hakube-store'})\n`,
  )
  const start = (hosts: readonly HostPlan[]): void => {
    for (const h of hosts) {
      const pid = spawnHost(dir, h)
      state.hosts[h.name] = { pid, startedAt: new Date().toISOString() }
      out.write(
        `  ${h.name.padEnd(9)} ${h.address.padEnd(11)} ${h.role.padEnd(14)} started (supervisor pid ${pid})\n`,
      )
    }
    writeState(dir, state)
  }
  // The workers join once every api-server is ready behind the balancer, as `kubeadm join` follows
  // `kubeadm init`: a kubelet started earlier only backs off its registration (up to 7 s) meanwhile,
  // and one started at the first ready api-server meets the others' start-up flapping.
  start(plan.hosts.filter((h) => h.role !== 'worker'))
  const workers = plan.hosts.filter((h) => h.role === 'worker')
  const ok = await waitHealthy(plan, state, v.timeout * 1000, started, out, () => start(workers))
  if (!ok) {
    out.write(
      `the cluster is not healthy after ${v.timeout} s; it keeps running: \`hakube status --dir ${shownDir}\`, logs in ${shownDir}/logs/, \`hakube down --dir ${shownDir}\` stops it\n`,
    )
    return 1
  }
  out.write(`\n${usageHints(plan, shownDir, (Date.now() - started) / 1000)}`)
  return 0
}

/** Polls until healthy, printing each host once it is ready; false on timeout. */
async function waitHealthy(
  plan: ClusterPlan,
  state: ClusterState,
  timeoutMs: number,
  started: number,
  out: NodeJS.WritableStream,
  startWorkers: () => void,
): Promise<boolean> {
  const deadline = started + timeoutMs
  let workersStarted = false
  const announced = new Set<string>()
  const crashes = new Map<string, number>()
  const secs = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`
  let stage = 'hosts'
  let lastProblem = ''
  const schedulers = plan.schedulers ?? []
  const cms = plan.controllerManagers ?? []
  const workers = plan.workers ?? []
  const nodeNames = workers.flatMap((w) => w.nodes)
  const lbUrl = `http://${plan.lb.host}:${plan.lb.port}`
  while (Date.now() < deadline) {
    const [members, apis, backends, schedulersHealthy, leader, cmsHealthy, cmLeader, nodes, registered] =
      await Promise.all([
        Promise.all(plan.storeMembers.map((m) => memberStatus(m.clientUrl, 1000).catch(() => undefined))),
        Promise.all(plan.apiServers.map((u) => readyz(u, 1000))),
        lbStats(plan.lb.host, plan.lb.statsPort, 1000).catch(() => undefined),
        Promise.all(schedulers.map((sch) => healthy(`${sch.url}/healthz`))),
        plan.schedulerLock === undefined || schedulers.length === 0
          ? undefined
          : readSchedulerLeader(lbUrl, plan.schedulerLock, 1000).catch(() => undefined),
        Promise.all(cms.map((cm) => healthy(`${cm.url}/healthz`))),
        plan.controllerManagerLock === undefined || cms.length === 0
          ? undefined
          : readSchedulerLeader(lbUrl, plan.controllerManagerLock, 1000).catch(() => undefined),
        !workersStarted || nodeNames.length === 0
          ? undefined
          : readNodes(lbUrl, workers, new Map(), 1500).catch(() => undefined),
        // Which nodes each simulator has registered (or adopted) itself: a Node and its Lease left from
        // before a restart look Ready in the api until their Lease runs out.
        !workersStarted
          ? new Set<string>()
          : Promise.all(workers.map((w) => workerNodes(w.url, 1000).catch(() => []))).then(
              (lists) => new Set(lists.flat().flatMap((n) => (n.registered === false ? [] : [n.name]))),
            ),
      ])
    const nodeReady = (name: string): boolean =>
      registered.has(name) && nodes?.nodes.some((n) => n.name === name && n.status === 'Ready') === true
    await reportCrashes(plan, crashes, out)
    for (const h of plan.hosts) {
      if (announced.has(h.name) || state.hosts[h.name] === undefined) continue
      const dead = !isHostProcess(state.hosts[h.name]?.pid ?? null, h.name)
      if (dead)
        throw new UserError(`host ${h.name} exited during start-up; see ${plan.dir}/logs/${h.name}/node.log`)
      const member = plan.storeMembers.findIndex((m) => m.name === h.name)
      const api = plan.apiServers.findIndex((u) => new URL(u).hostname === h.address)
      const parts: string[] = []
      if (member >= 0) {
        const s = members[member]
        if (s === undefined || s.leaderId === '0') continue
        parts.push('store member joined')
      }
      if (api >= 0) {
        if (apis[api] !== true) continue
        parts.push('api-server ready')
      }
      const sch = schedulers.findIndex((x) => x.host === h.name)
      if (sch >= 0) {
        if (schedulersHealthy[sch] !== true) continue
        parts.push('scheduler healthy')
      }
      const cm = cms.findIndex((x) => x.host === h.name)
      if (cm >= 0) {
        if (cmsHealthy[cm] !== true) continue
        parts.push('controller-manager healthy')
      }
      if (h.role === 'worker') {
        const mine = workers.find((w) => w.host === h.name)?.nodes ?? []
        if (!mine.every(nodeReady)) continue
        parts.push(`node${mine.length === 1 ? '' : 's'} ${mine.join(', ')} Ready`)
      }
      if (h.role === 'lb') {
        if (backends === undefined) continue
        parts.push('balancer serving')
      }
      announced.add(h.name)
      out.write(`  ${h.name.padEnd(9)} ${parts.join(', ')} (${secs()})\n`)
    }
    const leaders = new Set(
      members.filter((m) => m !== undefined && m.leaderId !== '0').map((m) => m?.leaderId),
    )
    const agreeing = members.filter((m) => m !== undefined && m.leaderId !== '0').length
    const quorum = Math.floor(plan.storeMembers.length / 2) + 1
    const problems: string[] = []
    // A new cluster is healthy with every member in, not merely a quorum: a member that cannot join is
    // a fault to see now (its crashes are printed above), not one to find later in `status`.
    if (leaders.size !== 1 || agreeing < quorum) problems.push('store quorum')
    else if (agreeing < plan.storeMembers.length)
      problems.push(`store members (${plan.storeMembers.length - agreeing} not joined yet)`)
    const notReady = plan.apiServers.filter((_, i) => apis[i] !== true)
    if (notReady.length > 0) problems.push(`api-servers ready (${notReady.length} not yet)`)
    const down = backends?.filter((b) => b.state !== 'up').length ?? plan.apiServers.length
    if (down > 0) problems.push(`balancer backends up (${down} not yet)`)
    if (!workersStarted && notReady.length === 0 && down === 0) {
      startWorkers()
      workersStarted = true
    }
    const unhealthy = schedulersHealthy.filter((x) => x !== true).length
    if (unhealthy > 0) problems.push(`schedulers healthy (${unhealthy} not yet)`)
    if (schedulers.length > 0 && (leader === undefined || leader.expired)) problems.push('a scheduler leader')
    const cmUnhealthy = cmsHealthy.filter((x) => x !== true).length
    if (cmUnhealthy > 0) problems.push(`controller-managers healthy (${cmUnhealthy} not yet)`)
    if (cms.length > 0 && (cmLeader === undefined || cmLeader.expired))
      problems.push('a controller-manager leader')
    const notReadyNodes = nodeNames.filter((n) => !nodeReady(n))
    if (notReadyNodes.length > 0) problems.push(`nodes Ready (${notReadyNodes.length} not yet)`)
    if (problems.length === 0) {
      const through = await readyz(lbUrl, 2000)
      if (through === true) {
        out.write(`  ${healthySummary(plan, leader, nodes, cmLeader)} (${secs()})\n`)
        return true
      }
      problems.push(`/readyz through the balancer (${through})`)
    }
    const problem = `waiting for ${problems.join(', ')}`
    if (problem !== lastProblem && stage !== problem && announced.size === plan.hosts.length) {
      out.write(`  ${problem}\n`)
      stage = problem
    }
    lastProblem = problem
    await new Promise((r) => setTimeout(r, 200))
  }
  return false
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await httpRequest(url, { timeoutMs: 1000 })).status === 200
  } catch {
    return false
  }
}

/** The last line `up` prints before its hints: what was checked. */
export function healthySummary(
  plan: ClusterPlan,
  leader: SchedulerLeader | undefined,
  nodes: NodesSnapshot | undefined,
  cmLeader?: SchedulerLeader,
): string {
  const parts = [
    'store quorum',
    `${plan.apiServers.length} api-servers ready`,
    'GET /readyz through the balancer: ok',
  ]
  if (leader?.holderHost != null) parts.push(`scheduler leader ${leader.holderHost}`)
  if (cmLeader?.holderHost != null) parts.push(`controller-manager leader ${cmLeader.holderHost}`)
  if (nodes !== undefined) {
    const ready = nodes.nodes.filter((n) => n.status === 'Ready').length
    parts.push(`${ready} node${ready === 1 ? '' : 's'} Ready`)
  }
  return parts.join(', ')
}

/**
 * Prints each component that exited during start-up (once per restart), with the last line it wrote
 * that is not a JSON log record: usually the error that stopped it.
 */
async function reportCrashes(
  plan: ClusterPlan,
  seen: Map<string, number>,
  out: NodeJS.WritableStream,
): Promise<void> {
  await Promise.all(
    plan.hosts.map(async (h) => {
      let status: HostStatus
      try {
        status = (await adminRequest(adminSocket(plan.dir, h.name), 'GET', '/status', 1000))
          .body as HostStatus
      } catch {
        return
      }
      for (const c of status.components ?? []) {
        const key = `${h.name}/${c.name}`
        const exits = c.restarts + (c.state === 'restarting' ? 1 : 0)
        if (exits <= (seen.get(key) ?? 0) || c.lastExit === null) continue
        seen.set(key, exits)
        const file = logFile(plan.dir, h.name, c.name)
        const how = c.lastExit.signal ?? `code ${c.lastExit.code}`
        out.write(
          `  ${key} exited (${how}), restarting with backoff: ${lastErrorLine(file)}\n      log: ${file}\n`,
        )
      }
    }),
  )
}

function lastErrorLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').split('\n')
    const plain = lines.filter((l) => l.trim() !== '' && !l.startsWith('{') && !/^\s+at /.test(l))
    return plain.at(-1)?.trim().slice(0, 300) ?? '(no error text in its log)'
  } catch {
    return '(no log)'
  }
}
