/**
 * One bash session that runs the README's commands in order, as a reader's terminal would: variables,
 * `export`s and aliases of one block reach the next. stderr is merged into stdout (a terminal shows
 * both, and the transcripts show what it shows).
 *
 * Every process the README starts (`... &`) belongs to the session's process group: bash is started as
 * a group leader and, without job control, its jobs stay in its group. `close()` ends the whole group
 * and reports any process that would not go.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Ends each step's output: a record separator, the step's exit status, another separator. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the separator is chosen because no command prints it.
const DONE = /\x1e(\d+)\x1e\n/

export interface StepResult {
  output: string
  code: number
}

export class ReadmeShell {
  private readonly proc: ChildProcess
  private readonly pgid: number
  private buffer = ''
  private steps = 0
  private exit: string | undefined
  private wake: (() => void) | undefined
  /** Everything the session printed, for failure messages. */
  readonly log: string[] = []

  /** Runs in `cwd`; each step's script is written to a file in `stepsDir` (kept out of `cwd`). */
  constructor(
    readonly cwd: string,
    private readonly stepsDir: string,
    env: Record<string, string>,
  ) {
    this.proc = spawn('bash', ['--norc', '--noprofile'], {
      cwd,
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    if (this.proc.pid === undefined) throw new Error('bash did not start')
    this.pgid = this.proc.pid
    const take = (b: Buffer) => {
      this.buffer += b.toString()
      this.log.push(b.toString())
      this.wake?.()
    }
    this.proc.stdout?.on('data', take)
    this.proc.stderr?.on('data', take)
    this.proc.once('exit', (code, signal) => {
      this.exit = signal === null ? `exit status ${code}` : `signal ${signal}`
      this.wake?.()
    })
    // Non-interactive bash expands aliases only when asked (the README defines `k`).
    this.proc.stdin?.write('exec 2>&1\nshopt -s expand_aliases\n')
    // The group outlives this process (bash is detached): if the test process dies before close(),
    // take the group with it.
    process.once('exit', this.killOnExit)
  }

  private readonly killOnExit = () => this.signalGroup('SIGKILL')

  /**
   * Runs `script` and resolves with what it printed and its exit status. With `errexit` the script runs
   * under `set -e`, as a script file would be checked: a failing command ends the session, and the
   * promise rejects with the output. The script reads stdin from /dev/null, so no command can eat the
   * lines meant for bash.
   */
  async run(script: string, opts: { errexit: boolean; timeoutMs: number }): Promise<StepResult> {
    if (this.exit !== undefined) throw new Error(`the shell has already ended (${this.exit})`)
    const file = join(this.stepsDir, `step-${++this.steps}.sh`)
    writeFileSync(file, `${script}\n`)
    const source = `source ${JSON.stringify(file)} </dev/null`
    const line = opts.errexit ? `set -e; ${source}; __rc=$?; set +e` : `${source}; __rc=$?`
    this.proc.stdin?.write(`${line}\nprintf '\\036%d\\036\\n' "$__rc"\n`)
    const deadline = Date.now() + opts.timeoutMs
    for (;;) {
      const m = DONE.exec(this.buffer)
      if (m !== null) {
        const output = this.buffer.slice(0, m.index)
        this.buffer = this.buffer.slice(m.index + m[0].length)
        return { output, code: Number(m[1]) }
      }
      if (this.exit !== undefined)
        throw new Error(`the shell ended (${this.exit}) while running:\n${script}\noutput:\n${this.buffer}`)
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(
          `no end after ${opts.timeoutMs} ms while running:\n${script}\noutput:\n${this.buffer}`,
        )
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000))
        this.wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      this.wake = undefined
    }
  }

  /**
   * Ends the session and every process it started: SIGTERM to the group (the servers shut down as they
   * would on Ctrl-C), SIGKILL to whatever is left after `graceMs`. Resolves with the processes still in
   * the group after that (`pid command`), which should be none.
   */
  async close(graceMs = 5000): Promise<string[]> {
    process.removeListener('exit', this.killOnExit)
    this.signalGroup('SIGTERM')
    const deadline = Date.now() + graceMs
    while (this.members().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    if (this.members().length > 0) this.signalGroup('SIGKILL')
    const killDeadline = Date.now() + 2000
    while (this.members().length > 0 && Date.now() < killDeadline)
      await new Promise((r) => setTimeout(r, 100))
    return this.members()
  }

  /** The processes the session started that are still running (the shell itself left out). */
  running(): string[] {
    return this.members().filter((m) => m.split(' ')[0] !== String(this.pgid))
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pgid, signal)
    } catch {
      // ESRCH: the group is already empty.
    }
  }

  /** The live processes of the session's group (zombies excluded: they hold no socket or file). */
  private members(): string[] {
    const ps = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' })
    return ps
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1] === String(this.pgid) && !(f[2] ?? '').startsWith('Z'))
      .map((f) => `${f[0]} ${f.slice(3).join(' ')}`)
  }
}
