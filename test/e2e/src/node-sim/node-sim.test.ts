/**
 * Goal: hakube-node-sim as a real process behind a real hakube-apiserver, seen through the real
 * kubectl: `kubectl get nodes` shows its nodes Ready, a pod bound to one runs, `kubectl logs` prints
 * the simulated output (`--tail`, `--timestamps`, `--follow` streaming new lines), `kubectl exec` gets
 * an error naming the simulation, a node failed through the admin endpoint stops renewing its Lease
 * while its pod stays as it was, and SIGTERM stops the simulator with exit 0, leaving the nodes.
 * Method: the api-server (memory backend) on 127.0.2.70:6443 and the simulator on 127.0.2.71:10250
 * (its api-server from a kubeconfig) with short lease and log intervals; kubectl 1.32 with its own cache dir.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kubectl, removeKubectlHomes } from '@hakube/api-server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiServerProcess } from '../apiserver.js'

const NODE_SIM_MAIN = fileURLToPath(new URL('../../../../packages/node-sim/dist/main.js', import.meta.url))
const SIM_HOST = '127.0.2.71'
const ADMIN = `http://${SIM_HOST}:10250/admin/nodes`

class NodeSimProcess {
  readonly proc: ChildProcess
  readonly output: string[] = []
  readonly exited: Promise<number | null>

  constructor(args: readonly string[]) {
    if (!existsSync(NODE_SIM_MAIN))
      throw new Error(`${NODE_SIM_MAIN} is missing: build first (npm run build)`)
    this.proc = spawn(process.execPath, [NODE_SIM_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc.stdout?.on('data', (b: Buffer) => this.output.push(b.toString()))
    this.proc.stderr?.on('data', (b: Buffer) => this.output.push(b.toString()))
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)))
  }

  logs(): string {
    return this.output.join('').slice(-4000)
  }

  stop(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
  }
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  logs: () => string,
): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < end) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`timed out waiting for ${what}: ${String(last)}\n${logs()}`)
}

describe('hakube-node-sim with kubectl', () => {
  let api: ApiServerProcess
  let sim: NodeSimProcess
  let kubectl: Kubectl
  let dir: string | undefined
  const logs = () => `--- api-server ---\n${api?.logs().slice(-3000)}\n--- node-sim ---\n${sim?.logs()}`

  beforeAll(async () => {
    api = new ApiServerProcess('127.0.2.70', ['--storage-backend=memory'])
    await api.ready()
    // The simulator reads its api-server from a kubeconfig, as hakube up hands it one.
    dir = mkdtempSync(join(tmpdir(), 'hakube-node-sim-'))
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "${api.base}"}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`,
    )
    sim = new NodeSimProcess([
      `--kubeconfig=${kubeconfig}`,
      `--bind-address=${SIM_HOST}`,
      '--nodes=2',
      '--node-name-prefix=sim',
      '--node-labels=disk=ssd',
      '--pod-start-delay=500ms',
      '--container-log-interval=1s',
      '--node-lease-duration=10s',
      '--node-lease-renew-interval=1s',
    ])
    kubectl = new Kubectl(api.base, '1.32')
  })
  afterAll(() => {
    sim?.stop()
    api?.stop()
    removeKubectlHomes()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('kubectl get nodes shows the simulated nodes Ready', async () => {
    const out = await until(
      'two Ready nodes',
      async () => {
        const o = await kubectl.ok(['get', 'nodes', '-l', 'disk=ssd'])
        return (o.match(/ Ready /g) ?? []).length === 2 ? o : undefined
      },
      20_000,
      logs,
    )
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split(/\s{2,}/))
    expect(rows[0]).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'])
    expect(rows.slice(1).map((r) => [r[0], r[1], r[4]])).toEqual([
      ['sim-1', 'Ready', 'v1.33.0-hakube'],
      ['sim-2', 'Ready', 'v1.33.0-hakube'],
    ])
  })

  it('runs a pod; kubectl logs prints its output, --follow streams it; exec is refused', async () => {
    const manifest = kubectl.file(
      'web.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  nodeName: sim-1\n  containers:\n  - name: nginx\n    image: nginx:1.27\n',
    )
    await kubectl.ok(['apply', '-f', manifest])
    await until(
      'web Running',
      async () =>
        (await kubectl.ok(['get', 'pod', 'web', '-o', 'jsonpath={.status.phase}'])) === 'Running'
          ? true
          : undefined,
      15_000,
      logs,
    )
    const ip = await kubectl.ok(['get', 'pod', 'web', '-o', 'jsonpath={.status.podIP} {.status.hostIP}'])
    expect(ip).toMatch(/^10\.\d+\.\d+\.\d+ 127\.0\.2\.71$/)
    const out = await kubectl.ok(['logs', 'web'])
    expect(out.split('\n')[0]).toBe(
      'hakube-node-sim: started container nginx (image nginx:1.27) of pod default/web on node sim-1, restart 0; a simulated container: no process runs',
    )
    await new Promise((r) => setTimeout(r, 1500))
    const tail = (await kubectl.ok(['logs', 'web', '--tail=1', '--timestamps'])).trim().split('\n')
    expect(tail).toHaveLength(1)
    expect(tail[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z simulated output \d+ from nginx in default\/web: up \d+s$/,
    )
    const follow = kubectl.start(['logs', 'web', '--follow', '--tail=1'])
    try {
      const lines = await follow.waitForLines(3, 10_000)
      const n = lines.map((l) => Number(/simulated output (\d+)/.exec(l)?.[1]))
      expect(n[1]).toBe((n[0] as number) + 1)
      expect(n[2]).toBe((n[0] as number) + 2)
    } finally {
      await follow.stop()
    }
    const exec = await kubectl.run(['exec', 'web', '--', 'ls'])
    expect(exec.code).toBe(1)
    expect(exec.stderr).toContain(
      'hakube-node-sim: node "sim-1" is simulated and runs no containers; its containers cannot exec',
    )
    // kubectl checks the container itself; the api-server's own answer shows through --raw.
    const missing = await kubectl.run(['logs', 'web', '-c', 'nope'])
    expect(missing.stderr.trim()).toBe('error: container nope is not valid for pod web')
    const raw = await kubectl.run(['get', '--raw', '/api/v1/namespaces/default/pods/web/log?container=nope'])
    expect(raw.stderr.trim()).toBe('Error from server (BadRequest): container nope is not valid for pod web')
  })

  it('a node failed through the admin endpoint stops renewing its Lease; its pod stays as it was', async () => {
    const renew = () =>
      kubectl.ok(['get', 'lease', 'sim-1', '-n', 'kube-node-lease', '-o', 'jsonpath={.spec.renewTime}'])
    const podBefore = await kubectl.ok(['get', 'pod', 'web', '-o', 'json'])
    const failed = await fetch(`${ADMIN}/sim-1/fail`, { method: 'POST' })
    expect(failed.status).toBe(200)
    expect(await failed.json()).toMatchObject({ name: 'sim-1', heartbeating: false, pods: 1 })
    await new Promise((r) => setTimeout(r, 500))
    const frozen = await renew()
    await new Promise((r) => setTimeout(r, 3000))
    expect(await renew()).toBe(frozen)
    const other = await kubectl.ok([
      'get',
      'lease',
      'sim-2',
      '-n',
      'kube-node-lease',
      '-o',
      'jsonpath={.spec.renewTime}',
    ])
    expect(Date.now() - Date.parse(other)).toBeLessThan(3000)
    const podAfter = JSON.parse(await kubectl.ok(['get', 'pod', 'web', '-o', 'json']))
    expect(podAfter.status).toEqual(JSON.parse(podBefore).status)
    const list = (await (await fetch(ADMIN)).json()) as Array<{ name: string; heartbeating: boolean }>
    expect(list.map((n) => [n.name, n.heartbeating])).toEqual([
      ['sim-1', false],
      ['sim-2', true],
    ])
    expect((await fetch(`${ADMIN}/sim-1/recover`, { method: 'POST' })).status).toBe(200)
    await until('renewed again', async () => ((await renew()) !== frozen ? true : undefined), 10_000, logs)
  })

  it('SIGTERM stops the simulator with exit 0 and leaves its nodes registered', async () => {
    sim.proc.kill('SIGTERM')
    expect(await sim.exited).toBe(0)
    const names = await kubectl.ok(['get', 'nodes', '-o', 'name'])
    expect(names.trim().split('\n')).toEqual(['node/sim-1', 'node/sim-2'])
  })
})
