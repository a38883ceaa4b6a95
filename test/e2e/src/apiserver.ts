/**
 * The hakube-apiserver binary as a real process for e2e tests: started on its own 127.0.1.x host with
 * kube-apiserver's flags, its output kept for failure messages, ready when `/readyz` answers 200, and
 * killed by `stop()` (SIGKILL) or `terminate()` (SIGTERM, waiting for the exit code).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { waitFor } from '@hakube/store/testing'

export const APISERVER_MAIN = fileURLToPath(
  new URL('../../../packages/api-server/dist/main.js', import.meta.url),
)

export class ApiServerProcess {
  readonly proc: ChildProcess
  readonly output: string[] = []
  /** `http://<host>:<port>` */
  readonly base: string

  /** Starts the api-server on `host:port`; `args` are added after --bind-address and --secure-port. */
  constructor(
    readonly host: string,
    args: readonly string[],
    readonly port = 6443,
  ) {
    if (!existsSync(APISERVER_MAIN))
      throw new Error(`${APISERVER_MAIN} is missing: build first (npm run build)`)
    this.base = `http://${host}:${port}`
    this.proc = spawn(
      process.execPath,
      [APISERVER_MAIN, `--bind-address=${host}`, `--secure-port=${port}`, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    this.proc.stdout?.on('data', (b: Buffer) => this.output.push(b.toString()))
    this.proc.stderr?.on('data', (b: Buffer) => this.output.push(b.toString()))
  }

  logs(): string {
    return this.output.join('')
  }

  /** Waits until `/readyz` answers 200 (and, with `namespaces`, until the system namespaces exist). */
  async ready(timeoutMs = 30_000, extraLogs: () => string = () => ''): Promise<void> {
    const logs = () => `${this.logs()}\n${extraLogs()}`
    await waitFor(
      async () => {
        try {
          const r = await fetch(`${this.base}/readyz`)
          if (r.status !== 200) return undefined
          const ns = await fetch(`${this.base}/api/v1/namespaces/kube-system`)
          return ns.status === 200 ? true : undefined
        } catch {
          return undefined
        }
      },
      timeoutMs,
      logs,
    )
  }

  stop(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
  }
}
