/**
 * Goal: the hakube-controller-manager binary: bad flags exit 2 with one line; two instances elect one
 * leader on kube-system/kube-controller-manager and only it runs the controllers (a new namespace
 * gets its ServiceAccount); /healthz, /readyz and /metrics answer; SIGTERM on the leader exits 0 and
 * releases the lock so the standby takes over at once and reconciles; a leader that loses its lock
 * exits 1 ("leaderelection lost"), as kube-controller-manager does.
 * Method: the compiled binary (built here if needed) against an in-process api-server; health ports
 * on 127.0.2.120-121; short election timings (lease 2 s, renew 1.5 s, retry 0.5 s).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import {
  call,
  type Json,
  startTestServer,
  stopTestServers,
  type TestServer,
} from '@hakube/api-server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from './testing/cluster.js'

const pkgDir = fileURLToPath(new URL('..', import.meta.url))
const BIN = fileURLToPath(new URL('../bin/hakube-controller-manager.js', import.meta.url))
const LOCK = 'control-plane.alpha.kubernetes.io/leader'
const children: ChildProcess[] = []

beforeAll(() => {
  // Incremental: a no-op when dist/ is current.
  execFileSync(
    process.execPath,
    [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'],
    {
      cwd: pkgDir,
      stdio: 'inherit',
    },
  )
}, 120_000)

afterAll(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await stopTestServers()
})

interface Instance {
  child: ChildProcess
  identity: string
  port: number
  host: string
  stderr: () => string
  exited: Promise<number | null>
}

function start(args: string[], host: string): Promise<Instance> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, `--bind-address=${host}`, '--port=0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let all = ''
    let buf = ''
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    child.stderr?.on('data', (d: Buffer) => {
      all += d.toString()
      buf += d.toString()
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        nl = buf.indexOf('\n')
        const rec = JSON.parse(line) as { msg?: string; identity?: string; port?: number }
        if (rec.msg === 'serving')
          resolve({
            child,
            identity: rec.identity ?? '',
            port: rec.port ?? 0,
            host,
            stderr: () => all,
            exited,
          })
      }
    })
    child.on('exit', (code) => reject(new Error(`exited ${code} before serving: ${all}`)))
  })
}

function run(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(c)
    let stdout = ''
    let stderr = ''
    c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    c.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

async function http(i: Instance, path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://${i.host}:${i.port}${path}`)
  return { status: r.status, text: await r.text() }
}

async function holder(t: TestServer): Promise<{ holder: string; rv: string; ep: Json }> {
  const r = await call('GET', `${t.base}/api/v1/namespaces/kube-system/endpoints/kube-controller-manager`)
  const ep = r.body
  const rec = JSON.parse(ep['metadata']?.annotations?.[LOCK] ?? '{}') as { holderIdentity?: string }
  return { holder: rec.holderIdentity ?? '', rv: ep['metadata']?.resourceVersion, ep }
}

const hasDefaultSa = async (t: TestServer, ns: string) =>
  (await call('GET', `${t.base}/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200

describe('hakube-controller-manager binary', () => {
  it('refuses bad flags with exit 2 and one line; prints its version', async () => {
    const bad = await run(['--master=http://127.0.0.1:1', '--controllers=nosuch'])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/^hakube-controller-manager: --controllers: "nosuch"/)
    const none = await run([])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/--kubeconfig or --master/)
    const v = await run(['--version'])
    expect(v).toMatchObject({ code: 0, stdout: 'hakube-controller-manager v0.1.0\n' })
  })

  it('one leader runs the controllers; SIGTERM hands over at once; a lost lock exits 1', async () => {
    const t = await startTestServer({ namespaces: ['default', 'kube-system'], discovery: true })
    const args = [
      `--master=${t.base}`,
      '--leader-elect-lease-duration=2s',
      '--leader-elect-renew-deadline=1500ms',
      '--leader-elect-retry-period=500ms',
      '--controllers=*,-garbagecollector',
    ]
    const [a, b] = await Promise.all([start(args, '127.0.2.120'), start(args, '127.0.2.121')])
    if (a === undefined || b === undefined) throw new Error('not started')
    const first = await eventually('a leader', async () => {
      const h = (await holder(t)).holder
      return h === a.identity ? a : h === b.identity ? b : undefined
    })
    const second = first === a ? b : a
    expect((await http(first, '/healthz')).text).toBe('ok')
    await eventually('readyz', async () => (await http(second, '/readyz')).status === 200)
    await eventually('leader metric', async () =>
      (await http(first, '/metrics')).text.includes(
        'leader_election_master_status{name="kube-controller-manager"} 1',
      ),
    )
    expect((await http(second, '/metrics')).text).toContain(
      'leader_election_master_status{name="kube-controller-manager"} 0',
    )
    await call('POST', `${t.base}/api/v1/namespaces`, { metadata: { name: 'one' } })
    await eventually('one/default', () => hasDefaultSa(t, 'one'))
    // Only the leader wrote (each instance counts its own writes).
    expect((await http(first, '/metrics')).text).toMatch(
      /hakube_controller_actions_total\{controller="serviceaccount",verb="create"\} [1-9]/,
    )
    expect((await http(second, '/metrics')).text).not.toMatch(/hakube_controller_actions_total\{/)

    // SIGTERM: exit 0 and release; the standby takes over within about a retry period.
    const stoppedAt = Date.now()
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    await eventually('the standby leads', async () => (await holder(t)).holder === second.identity, 5000)
    expect(Date.now() - stoppedAt).toBeLessThan(4000)
    await call('POST', `${t.base}/api/v1/namespaces`, { metadata: { name: 'two' } })
    await eventually('two/default', () => hasDefaultSa(t, 'two'))

    // Someone else takes the lock: the leader stops and exits 1.
    const { ep } = await holder(t)
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    const record = {
      holderIdentity: 'intruder',
      leaseDurationSeconds: 60,
      acquireTime: now,
      renewTime: now,
      leaderTransitions: 9,
    }
    const put = await call(
      'PUT',
      `${t.base}/api/v1/namespaces/kube-system/endpoints/kube-controller-manager`,
      {
        ...ep,
        metadata: { ...ep['metadata'], annotations: { [LOCK]: JSON.stringify(record) } },
      },
    )
    expect(put.status).toBe(200)
    expect(await second.exited).toBe(1)
    expect(second.stderr()).toContain('leaderelection lost')
  }, 40_000)
})
