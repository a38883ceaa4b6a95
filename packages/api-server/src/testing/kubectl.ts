/**
 * The real kubectl for tests. `/usr/bin/kubectl` is a version dispatcher (kubectl-wire.md §1.2); the
 * binaries it chooses from (`kubectl.1.27` ... `kubectl.1.33`) sit beside its real path, and tests call
 * them directly so that the version under test never depends on the dispatcher's cache.
 *
 * Each `Kubectl` has its own HOME, kubeconfig and `--cache-dir`, so no test sees another's
 * discovery or OpenAPI cache. A missing binary throws: these tests cannot pass without kubectl.
 *
 * Against an `https://` server the kubeconfig carries the CA that verifies it (and, if given, the
 * client certificate kubectl presents), as `certificate-authority-data` / `client-certificate-data` /
 * `client-key-data`. Suites that build their own `Kubectl` from a bare URL get these through
 * {@link useKubectlTls}, registered once per server by the test that made the certificates.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { accessSync, constants, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'

/** `dispatcher` is the `kubectl` on PATH; the others are the versioned binaries beside it. */
export type KubectlVersion = 'dispatcher' | '1.27' | '1.32' | '1.33'

/** The versions the kubectl suites run with (issue 5: 1.27, 1.32 and 1.33). */
export const KUBECTL_VERSIONS: readonly KubectlVersion[] = ['1.27', '1.32', '1.33']

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The path of the kubectl binary of `version`; throws when it is not installed. */
export function kubectlBinary(version: KubectlVersion = 'dispatcher'): string {
  const onPath = (process.env['PATH'] ?? '')
    .split(delimiter)
    .map((dir) => join(dir, 'kubectl'))
    .find(executable)
  if (onPath === undefined)
    throw new Error('kubectl is not on PATH: these tests run the real kubectl and cannot pass without it')
  if (version === 'dispatcher') return onPath
  const versioned = join(dirname(realpathSync(onPath)), `kubectl.${version}`)
  if (!executable(versioned))
    throw new Error(`${versioned} is missing: the kubectl package installs it beside the dispatcher`)
  return versioned
}

export interface KubectlResult {
  code: number
  stdout: string
  stderr: string
}

export interface KubectlRunOptions {
  stdin?: string
  timeoutMs?: number
}

/**
 * What kubectl needs to talk TLS (all PEM): the CA bundle that verifies the server, and the client
 * certificate and key it presents, as in kubeadm's admin.conf. The certificate is not optional: with
 * an https server and no credential at all kubectl asks for a username on stdin (client-go's
 * prompting auth loader) and, stdin being closed here, fails with `error: EOF`.
 */
export interface KubectlTls {
  ca: string | Buffer
  cert: string | Buffer
  key: string | Buffer
}

const homes: string[] = []
/** TLS settings by server URL (useKubectlTls), for Kubectl objects made without explicit ones. */
const tlsByServer = new Map<string, KubectlTls>()

/**
 * Every `Kubectl` made afterwards for `server` (an `https://host:port` URL) uses `tls` unless given
 * its own; `undefined` forgets it.
 */
export function useKubectlTls(server: string, tls: KubectlTls | undefined): void {
  if (tls === undefined) tlsByServer.delete(server)
  else tlsByServer.set(server, tls)
}

/** The kubeconfig for `server`: empty for plain HTTP (the server comes from --server), or with TLS. */
export function kubeconfigFor(server: string, tls: KubectlTls | undefined): string {
  if (tls === undefined) return 'apiVersion: v1\nkind: Config\n'
  const b64 = (pem: string | Buffer) => Buffer.from(pem).toString('base64')
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: hakube',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(tls.ca)}`,
    'users:',
    '- name: hakube',
    '  user:',
    `    client-certificate-data: ${b64(tls.cert)}`,
    `    client-key-data: ${b64(tls.key)}`,
    'contexts:',
    '- name: hakube',
    '  context:',
    '    cluster: hakube',
    '    user: hakube',
    'current-context: hakube',
    '',
  ].join('\n')
}

/** kubectl of one version against one server, with its own HOME and cache dir. */
export class Kubectl {
  readonly binary: string
  /** A scratch directory (the HOME of the kubectl runs) where tests may write manifests. */
  readonly home: string
  private cacheDir: string
  private caches = 0

  /** `tls` defaults to what {@link useKubectlTls} registered for `server` (none: plain HTTP). */
  constructor(
    readonly server: string,
    readonly version: KubectlVersion = 'dispatcher',
    tls: KubectlTls | undefined = tlsByServer.get(server),
  ) {
    this.binary = kubectlBinary(version)
    this.home = mkdtempSync(join(tmpdir(), 'hakube-kubectl-'))
    homes.push(this.home)
    this.cacheDir = join(this.home, 'cache-0')
    writeFileSync(join(this.home, 'kubeconfig'), kubeconfigFor(server, tls), { mode: 0o600 })
  }

  /** Starts over with an empty --cache-dir (no discovery or OpenAPI cached from earlier runs). */
  freshCache(): void {
    this.caches++
    this.cacheDir = join(this.home, `cache-${this.caches}`)
  }

  /** Writes `text` to a file in the scratch directory and returns its path. */
  file(name: string, text: string): string {
    const path = join(this.home, name)
    writeFileSync(path, text)
    return path
  }

  /** Runs kubectl; never throws for a non-zero exit (the result carries it). */
  run(args: readonly string[], options: KubectlRunOptions = {}): Promise<KubectlResult> {
    const argv = [`--server=${this.server}`, `--cache-dir=${this.cacheDir}`, ...args]
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.binary,
        argv,
        {
          env: { ...process.env, HOME: this.home, KUBECONFIG: join(this.home, 'kubeconfig') },
          cwd: this.home,
          timeout: options.timeoutMs ?? 60_000,
          killSignal: 'SIGKILL',
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          const code: unknown = err === null ? 0 : (err as { code?: unknown }).code
          if (typeof code !== 'number') {
            const killed = (err as { killed?: boolean } | null)?.killed === true
            reject(new Error(`kubectl ${args.join(' ')}: ${killed ? 'timed out' : String(err?.message)}`))
            return
          }
          resolve({ code, stdout, stderr })
        },
      )
      if (options.stdin !== undefined) child.stdin?.end(options.stdin)
      else child.stdin?.end()
    })
  }

  /**
   * Starts a long-running kubectl (`get -w`): its output is collected line by line until `stop()`,
   * which kills it. Tests stop every one they start.
   */
  start(args: readonly string[]): KubectlProcess {
    const argv = [`--server=${this.server}`, `--cache-dir=${this.cacheDir}`, ...args]
    const child = spawn(this.binary, argv, {
      env: { ...process.env, HOME: this.home, KUBECONFIG: join(this.home, 'kubeconfig') },
      cwd: this.home,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    running.add(child)
    child.once('exit', () => running.delete(child))
    return new KubectlProcess(child)
  }

  /** Runs kubectl and returns stdout; a non-zero exit throws with stderr in the message. */
  async ok(args: readonly string[], options: KubectlRunOptions = {}): Promise<string> {
    const r = await this.run(args, options)
    if (r.code !== 0)
      throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`)
    return r.stdout
  }
}

/** A kubectl started by {@link Kubectl.start}. */
export class KubectlProcess {
  stdout = ''
  stderr = ''
  private readonly exited: Promise<number | null>

  constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (b: Buffer) => {
      this.stdout += b.toString()
    })
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr += b.toString()
    })
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  }

  /** The complete lines printed so far. */
  lines(): string[] {
    const all = this.stdout.split('\n')
    all.pop()
    return all
  }

  /** Waits until `count` complete lines are printed (throws after `timeoutMs` with what there is). */
  async waitForLines(count: number, timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs
    while (this.lines().length < count) {
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(
          `kubectl printed ${this.lines().length} of ${count} lines (exit ${this.child.exitCode})\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        )
      await new Promise((r) => setTimeout(r, 25))
    }
    return this.lines()
  }

  /** Kills kubectl and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
  }
}

const running = new Set<ChildProcess>()

/** Kills any kubectl still running and removes the scratch directories of every Kubectl created so far (tests call it in afterAll). */
export function removeKubectlHomes(): void {
  for (const child of running) child.kill('SIGKILL')
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true })
}
