/**
 * Starting and stopping whole hosts, shared by `hakube down`, `stop`, `start` and `kill`.
 *
 * - stop: SIGTERM to the supervisor, which stops its components in reverse start order; after the
 *   grace the whole process group gets SIGKILL. The host stays stopped (pid recorded as null).
 * - kill: SIGKILL to the whole process group at once, as a host losing power: nothing restarts it
 *   until `hakube start HOST`. The pid stays recorded, so `status` tells "down" (killed) from "stopped".
 * - start: a new supervisor for the host (its data is kept).
 */
import { adminRequest } from './admin.js'
import {
  type ClusterState,
  groupAlive,
  isHostProcess,
  signalHostGroup,
  spawnHost,
  UserError,
  waitGroupGone,
} from './cluster-state.js'
import { adminSocket } from './components.js'
import type { HostPlan } from './topology.js'

export function hostPlan(state: ClusterState, name: string): HostPlan {
  const h = state.plan.hosts.find((x) => x.name === name)
  if (h === undefined)
    throw new UserError(
      `no host ${JSON.stringify(name)} (hosts: ${state.plan.hosts.map((x) => x.name).join(', ')})`,
    )
  return h
}

/** Stops a host; resolves once no process of it is left. */
export async function stopHost(
  state: ClusterState,
  name: string,
  graceMs: number,
): Promise<'stopped' | 'killed' | 'not running'> {
  const pid = state.hosts[name]?.pid ?? null
  if (pid === null || !groupAlive(pid)) {
    if (state.hosts[name] !== undefined) (state.hosts[name] as { pid: number | null }).pid = null
    return 'not running'
  }
  // A paused host (SIGSTOP) must run to act on SIGTERM.
  signalHostGroup(pid, 'SIGCONT')
  let how: 'stopped' | 'killed' = 'stopped'
  if (isHostProcess(pid, name)) {
    process.kill(pid, 'SIGTERM')
    if (!(await waitGroupGone(pid, graceMs + 2000))) {
      signalHostGroup(pid, 'SIGKILL')
      how = 'killed'
    }
  } else {
    // The supervisor is gone (killed) but components of its group are left: no one to order them.
    signalHostGroup(pid, 'SIGTERM')
    if (!(await waitGroupGone(pid, graceMs))) {
      signalHostGroup(pid, 'SIGKILL')
      how = 'killed'
    }
  }
  if (!(await waitGroupGone(pid, 5000)))
    throw new UserError(`host ${name}: processes of group ${pid} survive SIGKILL`)
  ;(state.hosts[name] as { pid: number | null }).pid = null
  return how
}

/** SIGKILL to the host's whole process group (supervisor and components); resolves once they are gone. */
export async function killHost(state: ClusterState, name: string): Promise<boolean> {
  const pid = state.hosts[name]?.pid ?? null
  if (pid === null || !groupAlive(pid)) return false
  signalHostGroup(pid, 'SIGKILL')
  if (!(await waitGroupGone(pid, 5000)))
    throw new UserError(`host ${name}: processes of group ${pid} survive SIGKILL`)
  return true
}

/** Starts the host's supervisor unless it runs; waits until its admin socket answers. */
export async function startHost(state: ClusterState, name: string): Promise<number | 'running'> {
  const plan = hostPlan(state, name)
  const record = state.hosts[name]
  if (record !== undefined && isHostProcess(record.pid, name)) return 'running'
  // Components left from a supervisor that died alone would hold the host's ports.
  if (record?.pid != null && groupAlive(record.pid)) {
    signalHostGroup(record.pid, 'SIGKILL')
    await waitGroupGone(record.pid, 5000)
  }
  const pid = spawnHost(state.plan.dir, plan)
  state.hosts[name] = { pid, startedAt: new Date().toISOString() }
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      await adminRequest(adminSocket(state.plan.dir, name), 'GET', '/status', 1000)
      return pid
    } catch {
      if (!isHostProcess(pid, name))
        throw new UserError(`host ${name} exited at once; see ${state.plan.dir}/logs/${name}/node.log`)
      if (Date.now() > deadline) return pid
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}
