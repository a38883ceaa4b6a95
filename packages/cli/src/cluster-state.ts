/**
 * The cluster's directory: `cluster.json` (the plan and each host supervisor's pid), the kubeconfig,
 * and the host processes themselves: each host is a detached `hakube node` (its own process group,
 * so it outlives `hakube up`, and killing the group kills the host with all its components).
 */
import { spawn } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs'
import { join, relative } from 'node:path'
import { hakubeBin } from './binaries.js'
import { logFile } from './components.js'
import type { ClusterPlan, HostPlan } from './topology.js'

export interface HostRecord {
  /** The supervisor's pid (its process group id too); null once stopped by hakube. */
  pid: number | null
  startedAt: string | null
}

export interface ClusterState {
  version: 1
  createdAt: string
  plan: ClusterPlan
  hosts: Record<string, HostRecord>
  /** Hosts cut off by `hakube partition`, as groups: [isolated, from] address lists per rule. */
  partitions: Array<{ hosts: string[]; from: string[] }>
}

export function clusterFile(dir: string): string {
  return join(dir, 'cluster.json')
}

export function kubeconfigFile(dir: string): string {
  return join(dir, 'kubeconfig')
}

export function readState(dir: string): ClusterState | undefined {
  const file = clusterFile(dir)
  if (!existsSync(file)) return undefined
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterState
}

/** The state, or a clear error when `dir` holds no cluster. */
export function requireState(dir: string): ClusterState {
  const state = readState(dir)
  if (state === undefined) throw new UserError(`no cluster in ${dir} (run \`hakube up --dir ${dir}\` first)`)
  return state
}

export function writeState(dir: string, state: ClusterState): void {
  mkdirSync(dir, { recursive: true })
  const tmp = `${clusterFile(dir)}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(tmp, clusterFile(dir))
}

/** An error for the user: printed as one line, exit code 1, no stack. */
export class UserError extends Error {}

export function pidAlive(pid: number | null): boolean {
  if (pid === null) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  // A zombie (killed, not yet reaped by its parent) is not running.
  return procState(pid) !== 'Z'
}

/** The state letter of /proc/PID/stat (R, S, T stopped, Z zombie), or undefined. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return undefined
  }
}

/** Whether `pid` is still the `hakube node` of `host` (pids are reused). */
export function isHostProcess(pid: number | null, host: string): boolean {
  if (pid === null || !pidAlive(pid)) return false
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return cmd.includes('node') && cmd.includes(`--name=${host}`)
  } catch {
    return false
  }
}

/** Starts the host's supervisor, detached in a process group of its own; returns its pid. */
export function spawnHost(dir: string, host: HostPlan): number {
  const out = logFile(dir, host.name, 'node')
  mkdirSync(join(dir, 'logs', host.name), { recursive: true })
  const fd = openSync(out, 'a')
  try {
    const child = spawn(process.execPath, [hakubeBin(), 'node', ...host.nodeArgs], {
      detached: true,
      stdio: ['ignore', fd, fd],
    })
    child.unref()
    if (child.pid === undefined) throw new UserError(`could not start host ${host.name}`)
    return child.pid
  } finally {
    closeSync(fd)
  }
}

/** Signals the host's whole process group (the supervisor and its components). */
export function signalHostGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/** Resolves true once no process of the host's group is left, false after `timeoutMs`. */
export async function waitGroupGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!groupAlive(pid)) return true
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Whether any non-zombie process of process group `pgid` is left. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
  } catch {
    return false
  }
  return groupMembers(pgid).some((pid) => procState(pid) !== 'Z')
}

/** The pids of process group `pgid` (from /proc). */
export function groupMembers(pgid: number): number[] {
  const out: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return out
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) === pgid) out.push(Number(e))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** A directory as the user would type it: relative below the working directory, else absolute. */
export function shownPath(dir: string): string {
  const rel = relative(process.cwd(), dir)
  if (rel === '') return '.'
  return rel.startsWith('..') ? dir : rel
}
