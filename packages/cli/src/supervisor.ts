/**
 * The supervisor of one emulated host: runs its components as child processes and keeps them running
 * as a kubelet keeps static pods running.
 *
 * - A component that exits (crash, SIGKILL from `hakube kill HOST/COMPONENT`) is restarted after a
 *   backoff (backoff.ts) and its restart count grows, as a container's restartCount does.
 * - A component the user stopped (`hakube stop HOST/COMPONENT`) stays stopped until `start`; a paused
 *   one (SIGSTOP) stays paused until `resume`: neither is a failure to repair.
 * - Shutdown (SIGTERM to the supervisor) stops the components in the reverse of their start order (the
 *   api-server before the store member under it), each with SIGTERM and then SIGKILL after a grace.
 * Each component's stdout and stderr are appended to its own log file.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from './backoff.js'
import type { ComponentSpec } from './components.js'

export type ComponentState = 'running' | 'restarting' | 'stopping' | 'stopped' | 'paused'

export interface ExitInfo {
  readonly code: number | null
  readonly signal: string | null
  readonly at: string
  /** How long the process ran. */
  readonly ranMs: number
}

export interface ComponentStatus {
  readonly name: string
  readonly pid: number | null
  readonly state: ComponentState
  readonly restarts: number
  readonly startedAt: string | null
  readonly lastExit: ExitInfo | null
  /** When a component in `restarting` is started again. */
  readonly nextRestartAt: string | null
}

export type ComponentAction = 'kill' | 'stop' | 'start' | 'pause' | 'resume'
export const COMPONENT_ACTIONS: readonly ComponentAction[] = ['kill', 'stop', 'start', 'pause', 'resume']

export interface SupervisorOptions {
  readonly logFileOf: (component: string) => string
  readonly backoff?: BackoffOptions
  /** SIGTERM to SIGKILL. */
  readonly graceMs?: number
  readonly log?: (event: Record<string, unknown>, message: string) => void
  readonly env?: NodeJS.ProcessEnv
  /** Run the components with this group id (root only): the host's id for iptables' owner match. */
  readonly gid?: number
}

class Component {
  proc: ChildProcess | undefined
  state: ComponentState = 'stopped'
  restarts = 0
  startedAtMs = 0
  lastExit: ExitInfo | null = null
  timer: NodeJS.Timeout | undefined
  nextRestartAtMs = 0
  /** Resolved when the current process has exited. */
  exited: Promise<void> = Promise.resolve()
  readonly backoff: Backoff

  constructor(
    readonly spec: ComponentSpec,
    backoff: BackoffOptions,
  ) {
    this.backoff = new Backoff(backoff)
  }
}

export class Supervisor {
  private readonly components: Component[]
  private shuttingDown = false
  private readonly graceMs: number
  private readonly log: (event: Record<string, unknown>, message: string) => void

  constructor(
    specs: readonly ComponentSpec[],
    private readonly opts: SupervisorOptions,
  ) {
    this.components = specs.map((s) => new Component(s, opts.backoff ?? DEFAULT_BACKOFF))
    this.graceMs = opts.graceMs ?? 10_000
    this.log = opts.log ?? (() => {})
  }

  /** Starts every component, in order. */
  start(): void {
    for (const c of this.components) this.spawn(c, 'start')
  }

  status(): ComponentStatus[] {
    return this.components.map((c) => ({
      name: c.spec.name,
      pid: c.proc?.pid ?? null,
      state: c.state,
      restarts: c.restarts,
      startedAt: c.proc === undefined ? null : new Date(c.startedAtMs).toISOString(),
      lastExit: c.lastExit,
      nextRestartAt: c.state === 'restarting' ? new Date(c.nextRestartAtMs).toISOString() : null,
    }))
  }

  has(name: string): boolean {
    return this.components.some((c) => c.spec.name === name)
  }

  /** Applies a user's action to one component; resolves once it took effect (a stop: the process exited). */
  async act(name: string, action: ComponentAction): Promise<ComponentStatus> {
    const c = this.components.find((x) => x.spec.name === name)
    if (c === undefined) throw new Error(`no component ${JSON.stringify(name)}`)
    if (this.shuttingDown) throw new Error('the host is shutting down')
    switch (action) {
      case 'kill':
        // As a process dying on its own: the exit handler restarts it after the backoff.
        if (c.proc !== undefined) {
          c.proc.kill('SIGKILL')
          await c.exited
        }
        break
      case 'stop':
        await this.stopOne(c)
        break
      case 'start':
        if (c.proc === undefined) {
          clearTimeout(c.timer)
          c.backoff.reset()
          this.spawn(c, 'start')
        } else if (c.state === 'paused') this.signal(c, 'SIGCONT', 'running')
        break
      case 'pause':
        if (c.proc !== undefined && c.state !== 'paused') this.signal(c, 'SIGSTOP', 'paused')
        break
      case 'resume':
        if (c.proc !== undefined && c.state === 'paused') this.signal(c, 'SIGCONT', 'running')
        break
    }
    return this.status().find((s) => s.name === name) as ComponentStatus
  }

  /** Stops every component in the reverse of the start order; no restarts afterwards. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true
    for (const c of [...this.components].reverse()) await this.stopOne(c)
  }

  private signal(c: Component, signal: NodeJS.Signals, state: ComponentState): void {
    c.proc?.kill(signal)
    c.state = state
    this.log({ component: c.spec.name, signal }, `${signal} sent`)
  }

  private async stopOne(c: Component): Promise<void> {
    clearTimeout(c.timer)
    const proc = c.proc
    if (proc === undefined) {
      c.state = 'stopped'
      return
    }
    c.state = 'stopping'
    // A stopped (SIGSTOP) process cannot act on SIGTERM until it runs again.
    proc.kill('SIGCONT')
    proc.kill('SIGTERM')
    const killer = setTimeout(() => {
      this.log({ component: c.spec.name, graceMs: this.graceMs }, 'still running after the grace; SIGKILL')
      proc.kill('SIGKILL')
    }, this.graceMs)
    await c.exited
    clearTimeout(killer)
  }

  private spawn(c: Component, why: 'start' | 'restart'): void {
    const file = this.opts.logFileOf(c.spec.name)
    mkdirSync(dirname(file), { recursive: true })
    const fd = openSync(file, 'a')
    const banner = {
      time: Date.now(),
      msg: `hakube node: ${why}`,
      component: c.spec.name,
      restarts: c.restarts,
    }
    writeSync(fd, `${JSON.stringify(banner)}\n`)
    let proc: ChildProcess
    try {
      proc = spawn(c.spec.command, [...c.spec.args], {
        stdio: ['ignore', fd, fd],
        env: this.opts.env ?? process.env,
        ...(this.opts.gid === undefined ? {} : { gid: this.opts.gid }),
      })
    } finally {
      closeSync(fd)
    }
    c.proc = proc
    c.state = 'running'
    c.startedAtMs = Date.now()
    let resolveExited: () => void = () => {}
    c.exited = new Promise((resolve) => {
      resolveExited = resolve
    })
    this.log({ component: c.spec.name, pid: proc.pid, why }, 'started')
    let done = false
    const onExit = (code: number | null, signal: string | null): void => {
      if (done) return
      done = true
      const ranMs = Date.now() - c.startedAtMs
      c.lastExit = { code, signal, at: new Date().toISOString(), ranMs }
      c.proc = undefined
      const wanted = c.state === 'running' || c.state === 'paused'
      this.log({ component: c.spec.name, code, signal, ranMs }, 'exited')
      if (wanted && !this.shuttingDown) {
        const delay = c.backoff.delayAfter(ranMs)
        c.state = 'restarting'
        c.nextRestartAtMs = Date.now() + delay
        c.timer = setTimeout(() => {
          c.restarts++
          this.spawn(c, 'restart')
        }, delay)
        this.log({ component: c.spec.name, delayMs: delay }, 'restarting after backoff')
      } else c.state = 'stopped'
      resolveExited()
    }
    proc.on('exit', onExit)
    proc.on('error', (err) => {
      this.log({ component: c.spec.name, err: err.message }, 'could not run')
      onExit(null, null)
    })
  }
}
