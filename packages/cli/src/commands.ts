/**
 * `hakube down`, `status` and the fault commands (`kill`, `stop`, `start`, `pause`, `resume`).
 *
 * A target is HOST (the whole emulated host) or HOST/COMPONENT (one process on it):
 * - kill HOST: SIGKILL to the host's process group, supervisor included: the host is dead and stays
 *   down until `hakube start HOST`.  kill HOST/COMPONENT: SIGKILL to that process only; its
 *   supervisor restarts it after the backoff, as a kubelet restarts a static pod.
 * - stop: SIGTERM (then SIGKILL after the grace); a stopped host or component stays stopped until
 *   `start`, it is not restarted.
 * - pause/resume: SIGSTOP/SIGCONT of the host's components (or one of them); the supervisor keeps
 *   answering and reports them paused, and does not restart them.
 */
import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { adminRequest, type HostStatus } from './admin.js'
import { groupAlive, readState, requireState, shownPath, UserError, writeState } from './cluster-state.js'
import { adminSocket } from './components.js'
import { flag, flagUsages, parseFlags } from './flags.js'
import { hostPlan, killHost, startHost, stopHost } from './hosts.js'
import type { ComponentAction } from './supervisor.js'

const DIR_FLAG = { dir: flag({ kind: 'string', default: '.hakube', usage: "The cluster's directory." }) }

function shown(dir: string): string {
  return shownPath(dir)
}

export const DOWN_FLAGS = {
  ...DIR_FLAG,
  purge: flag({
    kind: 'bool',
    default: false,
    usage: "Also delete the cluster's directory (data, logs, state).",
  }),
  'grace-period': flag({ kind: 'int', default: 15, usage: 'Seconds each host has to stop before SIGKILL.' }),
}

export async function runDown(argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const p = parseFlags(DOWN_FLAGS, argv)
  if (!p.ok) throw new UserError(p.error)
  if (p.help) {
    out.write(
      `hakube down stops every host of the cluster (SIGTERM, then SIGKILL after the grace).\n\nFlags:\n${flagUsages(DOWN_FLAGS)}\n`,
    )
    return 0
  }
  const dir = resolve(p.values.dir)
  const state = readState(dir)
  if (state === undefined) {
    if (p.values.purge) rmSync(dir, { recursive: true, force: true })
    out.write(`no cluster in ${shown(dir)}${p.values.purge ? '; removed the directory' : ''}\n`)
    return 0
  }
  const graceMs = p.values['grace-period'] * 1000
  // The workers first (their node simulators need the balancer to report), then the balancer
  // (clients see one clean refusal), then the masters (each stops its controller-manager and
  // scheduler, which release their locks, then its api-server, then its store member), then the external store members.
  const order = [
    state.plan.hosts.filter((h) => h.role === 'worker'),
    state.plan.hosts.filter((h) => h.role === 'lb'),
    state.plan.hosts.filter((h) => h.role === 'master' || h.role === 'stacked-master'),
    state.plan.hosts.filter((h) => h.role === 'etcd'),
  ]
  if (state.partitions.length > 0) {
    const { healPartitions } = await import('./partition.js')
    healPartitions(state)
  }
  for (const group of order) {
    const results = await Promise.all(
      group.map(async (h) => [h.name, await stopHost(state, h.name, graceMs)] as const),
    )
    for (const [name, how] of results) if (how !== 'not running') out.write(`  ${name} ${how}\n`)
    writeState(dir, state)
  }
  const left = Object.entries(state.hosts).filter(([, h]) => h.pid !== null && groupAlive(h.pid))
  if (left.length > 0) throw new UserError(`processes still running for ${left.map(([n]) => n).join(', ')}`)
  const { removeClusterChains } = await import('./partition.js')
  removeClusterChains(state)
  if (p.values.purge) {
    rmSync(dir, { recursive: true, force: true })
    out.write(`cluster down; nothing left running; deleted ${shown(dir)}\n`)
  } else
    out.write(
      `cluster down; nothing left running (data kept in ${shown(dir)}; \`hakube up\` restarts it, \`--purge\` deletes it)\n`,
    )
  return 0
}

export const STATUS_FLAGS = {
  ...DIR_FLAG,
  output: flag({ kind: 'string', default: '', short: 'o', usage: "'json' for scripts." }),
  watch: flag({
    kind: 'bool',
    default: false,
    short: 'w',
    usage: 'Redraw in place every --interval until interrupted.',
  }),
  interval: flag({ kind: 'int', default: 1000, usage: 'Milliseconds between two redraws with --watch.' }),
}

export async function runStatus(argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const p = parseFlags(STATUS_FLAGS, argv)
  if (!p.ok) throw new UserError(p.error)
  if (p.help) {
    out.write(
      `hakube status shows the hosts, store members, quorum, api-servers, balancer, the scheduler's and controller-manager's leaders, the nodes and the pods by phase.\n\nFlags:\n${flagUsages(STATUS_FLAGS)}\n`,
    )
    return 0
  }
  if (p.values.output !== '' && p.values.output !== 'json')
    throw new UserError(`--output must be 'json' (got ${JSON.stringify(p.values.output)})`)
  const dir = resolve(p.values.dir)
  const { collectSnapshot } = await import('./snapshot.js')
  const { renderStatus } = await import('./status-render.js')
  const draw = async (): Promise<string> => {
    const snap = await collectSnapshot(requireState(dir))
    return p.values.output === 'json' ? `${JSON.stringify(snap, null, 2)}\n` : renderStatus(snap)
  }
  if (!p.values.watch) {
    out.write(await draw())
    return 0
  }
  out.write(p.values.output === 'json' ? '' : '\x1b[2J')
  for (;;) {
    const text = await draw()
    // In place, without flicker: home, each line over the previous frame's (erasing its rest), then
    // erase whatever the previous frame had below. JSON is a stream of documents instead.
    out.write(p.values.output === 'json' ? text : `\x1b[H${text.replace(/\n/g, '\x1b[K\n')}\x1b[J`)
    await new Promise((r) => setTimeout(r, Math.max(100, p.values.interval)))
  }
}

const FAULT_FLAGS = {
  ...DIR_FLAG,
  'grace-period': flag({ kind: 'int', default: 15, usage: 'stop: seconds before SIGKILL.' }),
}

export async function runFault(
  action: ComponentAction,
  argv: readonly string[],
  out: NodeJS.WritableStream,
): Promise<number> {
  const p = parseFlags(FAULT_FLAGS, argv)
  if (!p.ok) throw new UserError(p.error)
  if (p.help) {
    out.write(`hakube ${action} HOST[/COMPONENT]...\n\nFlags:\n${flagUsages(FAULT_FLAGS)}\n`)
    return 0
  }
  if (p.args.length === 0)
    throw new UserError(
      `hakube ${action} needs HOST or HOST/COMPONENT (e.g. master-1, master-1/apiserver, master-1/controller-manager)`,
    )
  const dir = resolve(p.values.dir)
  const state = requireState(dir)
  for (const target of p.args) {
    const [host, component, extra] = target.split('/')
    if (host === undefined || host === '' || extra !== undefined || component === '')
      throw new UserError(`bad target ${JSON.stringify(target)}: HOST or HOST/COMPONENT`)
    hostPlan(state, host)
    if (component !== undefined) {
      out.write(`${target}: ${await componentAction(dir, host, component, action)}\n`)
      continue
    }
    switch (action) {
      case 'kill':
        out.write(
          `${host}: ${(await killHost(state, host)) ? 'killed (SIGKILL to the supervisor and its components; `hakube start` brings it back)' : 'not running'}\n`,
        )
        break
      case 'stop':
        out.write(`${host}: ${await stopHost(state, host, p.values['grace-period'] * 1000)}\n`)
        break
      case 'start': {
        const r = await startHost(state, host)
        // A running host starts whichever of its components were stopped or paused.
        if (r === 'running') out.write(`${host}: ${await componentAction(dir, host, '*', 'start')}\n`)
        else out.write(`${host}: started (supervisor pid ${r})\n`)
        break
      }
      case 'pause':
      case 'resume':
        out.write(`${host}: ${await componentAction(dir, host, '*', action)}\n`)
        break
    }
    writeState(dir, state)
  }
  return 0
}

async function componentAction(
  dir: string,
  host: string,
  component: string,
  action: ComponentAction,
): Promise<string> {
  let res: { status: number; body: unknown }
  try {
    res = await adminRequest(
      adminSocket(dir, host),
      'POST',
      `/components/${encodeURIComponent(component)}/${action}`,
      30_000,
    )
  } catch (err) {
    throw new UserError(
      `host ${host} does not answer (${err instanceof Error ? err.message : String(err)}); is it up? \`hakube start ${host}\``,
    )
  }
  const body = res.body as HostStatus & { error?: string }
  if (res.status !== 200) throw new UserError(`${host}: ${body.error ?? `HTTP ${res.status}`}`)
  return body.components
    .filter((c) => component === '*' || c.name === component)
    .map((c) => `${c.name} ${c.state}${c.restarts > 0 ? ` (${c.restarts} restarts)` : ''}`)
    .join(', ')
}
