/**
 * `hakube status` as text, from a snapshot (snapshot.ts). Pure: tested against JSON snapshots.
 */
import type { SchedulerLeader } from './cluster-api.js'
import type { ClusterSnapshot, HostSnapshot, NodesSection, SchedulerSnapshot } from './snapshot.js'
import type { ComponentStatus } from './supervisor.js'

function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = []
  for (const r of rows)
    r.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  return rows.map(
    (r) =>
      indent +
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] as number)))
        .join('  ')
        .trimEnd(),
  )
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** One component, e.g. `apiserver restarting in 4 s, 2 restarts, last exit SIGKILL`. */
export function componentText(c: ComponentStatus, at?: string): string {
  const wait =
    c.state === 'restarting' && c.nextRestartAt !== null && at !== undefined
      ? ` in ${Math.max(0, Math.ceil((Date.parse(c.nextRestartAt) - Date.parse(at)) / 1000))} s`
      : ''
  const restarts = c.restarts > 0 ? `, ${plural(c.restarts, 'restart')}` : ''
  const exit =
    c.lastExit !== null && c.state !== 'running' && c.state !== 'paused'
      ? `, last exit ${c.lastExit.signal ?? `code ${c.lastExit.code}`}`
      : ''
  return `${c.name} ${c.state}${wait}${restarts}${exit}`
}

function hostStateText(h: HostSnapshot): string {
  const base =
    h.state === 'stopped'
      ? 'stopped'
      : h.state === 'down'
        ? 'DOWN'
        : h.state === 'paused'
          ? 'PAUSED'
          : h.state
  return h.partitioned ? `${base}, PARTITIONED` : base
}

export function renderStatus(s: ClusterSnapshot): string {
  const out: string[] = []
  const masters = s.hosts.filter((h) => h.role === 'stacked-master' || h.role === 'master').length
  const workers = s.hosts.filter((h) => h.role === 'worker').length
  const planned = s.nodes?.planned.length ?? 0
  const workerText =
    workers === 0
      ? ''
      : `, ${plural(workers, 'worker')}${planned === workers ? '' : ` (${plural(planned, 'node')})`}`
  out.push(
    `hakube cluster in ${s.dir}: ${s.topology}, ${plural(masters, 'master')}, ${plural(s.storeMembers.length, 'store member')} (${s.store === 'etcd' ? 'etcd' : 'hakube-store'})${workerText}   ${s.at}`,
  )
  out.push('', 'HOSTS')
  out.push(
    ...table([
      ['NAME', 'ADDRESS', 'ROLE', 'STATE', 'COMPONENTS'],
      ...s.hosts.map((h) => [
        h.name,
        h.address,
        h.role,
        hostStateText(h),
        h.components.length === 0 ? '-' : h.components.map((c) => componentText(c, s.at)).join('; '),
      ]),
    ]),
  )
  const q = s.quorum
  out.push('')
  const quorumLine = q.hasQuorum
    ? `quorum ${q.quorum} of ${q.members}, ${q.healthy} healthy: ${plural(q.moreMayFail, 'more member')} may fail (tolerates ${q.tolerates} when all are healthy); leader ${q.leader}`
    : `QUORUM LOST: ${q.healthy} of ${q.members} healthy, ${q.quorum} needed; writes and linearizable reads stop`
  out.push(`STORE  ${quorumLine}`)
  out.push(
    ...table([
      ['MEMBER', 'ENDPOINT', 'LEADER', 'TERM', 'RAFT INDEX', 'REVISION', 'REACHABLE'],
      ...s.storeMembers.map((m) => [
        m.name,
        m.clientUrl,
        m.isLeader ? 'yes' : m.reachable && m.leaderId === '0' ? 'none known' : m.reachable ? 'no' : '-',
        m.raftTerm === null ? '-' : String(m.raftTerm),
        m.raftIndex === null ? '-' : String(m.raftIndex),
        m.revision === null ? '-' : String(m.revision),
        m.reachable ? 'yes' : `no (${m.error ?? 'no answer'})`,
      ]),
    ]),
  )
  const ready = s.apiServers.filter((a) => a.ready).length
  out.push('', `API SERVERS  ${ready} of ${s.apiServers.length} ready`)
  out.push(
    ...table(s.apiServers.map((a) => [a.host, a.url, a.ready ? 'ready' : `not ready (${a.error ?? '?'})`])),
  )
  const up = s.balancer.backends.filter((b) => b.state === 'up').length
  out.push(
    '',
    s.balancer.reachable
      ? `BALANCER  ${s.balancer.url}: ${up} of ${s.balancer.backends.length} backends up`
      : `BALANCER  ${s.balancer.url}: not answering (${s.balancer.error ?? '?'})`,
  )
  out.push(
    ...table(
      s.balancer.backends.map((b) => [
        b.host,
        b.url,
        b.state === 'up' ? 'up' : `${b.state}${b.error ? ` (${b.error})` : ''}`,
      ]),
    ),
  )
  if (s.scheduler !== undefined && s.scheduler.replicas.length > 0)
    out.push('', ...electedLines('SCHEDULER', 'nothing schedules', s.scheduler))
  if (s.controllerManager !== undefined && s.controllerManager.replicas.length > 0)
    out.push('', ...electedLines('CONTROLLER-MANAGER', 'nothing reconciles', s.controllerManager))
  if (s.nodes !== undefined && (s.nodes.planned.length > 0 || s.nodes.nodes.length > 0))
    out.push('', ...nodeLines(s.nodes))
  if (s.partitions.length > 0) {
    out.push('', 'PARTITIONS (iptables DROP)')
    for (const p of s.partitions)
      out.push(
        `  ${p.hosts.join(', ')} cut off from ${p.from.length === 0 ? 'every other host' : p.from.join(', ')}`,
      )
  }
  return `${out.join('\n')}\n`
}

function ago(seconds: number | null): string {
  return seconds === null ? '-' : `${Math.floor(seconds)} s ago`
}

/** The headline of a scheduler's or controller-manager's election: who leads, how fresh the record is, how often it changed. */
export function leaderText(l: SchedulerLeader | null, error: string | null): string {
  if (l === null) return `leader unknown: the api does not answer (${error ?? '?'})`
  const r = l.record
  if (r === null) return `no leader yet (${l.lock} holds no record)`
  const transitions = plural(r.leaderTransitions, 'transition')
  if (l.holderHost === null)
    return `no leader: released (${transitions}); a standby takes over within a retry period`
  const lease = `lease ${r.leaseDurationSeconds} s`
  if (l.expired)
    return `LEADER LOST: ${l.holderHost} last renewed ${ago(l.renewAgeSeconds)} (${lease}); a standby takes over once it has seen the record unchanged for the lease (${transitions})`
  return `leader ${l.holderHost}, renewed ${ago(l.renewAgeSeconds)} (${lease}), ${transitions}; lock ${l.lock}`
}

/** A leader-elected component's section: the election's headline, then each replica. */
function electedLines(title: string, consequence: string, s: SchedulerSnapshot): string[] {
  const none = s.replicas.every((r) => !r.healthy) ? `; NO REPLICA HEALTHY: ${consequence}` : ''
  return [
    `${title}  ${leaderText(s.leader, s.error)}${none}`,
    ...table(
      s.replicas.map((r) => [
        r.host,
        r.url,
        r.role,
        r.healthy
          ? 'healthy'
          : `${r.component !== null && r.component !== 'running' ? `${r.component}, ` : ''}not healthy (${r.error ?? '?'})`,
      ]),
    ),
  ]
}

function nodeLines(n: NodesSection): string[] {
  if (!n.reachable) return [`NODES  not readable: the api does not answer (${n.error ?? '?'})`]
  const ready = n.nodes.filter((x) => x.status === 'Ready').length
  const head = `NODES  ${ready} of ${n.nodes.length} Ready; ${plural(n.boundPods, 'pod')} bound, ${n.pendingPods} pending`
  const missing = n.planned.filter((name) => !n.nodes.some((x) => x.name === name))
  return [
    head,
    ...table([
      ['NAME', 'WORKER', 'STATUS', 'LEASE RENEWED', 'PODS', ''],
      ...n.nodes.map((x) => [
        x.name,
        x.worker ?? '-',
        x.status,
        ago(x.leaseAgeSeconds),
        String(x.pods),
        x.reason ?? '',
      ]),
      ...missing.map((name) => [name, '-', 'not registered', '-', '-', '']),
    ]),
    ...(n.podPhases === undefined ? [] : [`PODS  ${phasesText(n.podPhases)}`]),
  ]
}

const PHASES = ['Running', 'Pending', 'Succeeded', 'Failed', 'Unknown']

/** `3 Running, 1 Pending` (kube's phases first, in their order; nothing: `none`). */
export function phasesText(phases: Readonly<Record<string, number>>): string {
  const names = [
    ...PHASES.filter((p) => (phases[p] ?? 0) > 0),
    ...Object.keys(phases)
      .filter((p) => !PHASES.includes(p) && (phases[p] ?? 0) > 0)
      .sort(),
  ]
  return names.length === 0 ? 'none' : names.map((p) => `${phases[p]} ${p}`).join(', ')
}
