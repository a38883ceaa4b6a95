import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { ClusterState } from './cluster-state.js'
import { httpRequest } from './probes.js'
import type { ClusterSnapshot } from './snapshot.js'

// Real processes: `hakube up` through the built command (bin/hakube.js -> dist/; the test task builds
// first), then status, faults and down as a user runs them. Addresses: 127.0.1.201-204 + 127.0.1.250
// (stacked, one worker), 127.0.1.234-238 + 127.0.1.248 (external-etcd, no worker), 127.0.1.184-189
// (errors). The schedulers' election and the nodes are test/e2e/src/cli-scheduler's.

const HAKUBE = fileURLToPath(new URL('../bin/hakube.js', import.meta.url))
const dirs: string[] = []
/** Each scenario starts and stops whole clusters on a shared 2-core machine. */
const SCENARIO_TIMEOUT_MS = 300_000

interface Run {
  code: number
  stdout: string
  stderr: string
}

function hakube(args: string[], timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [HAKUBE, ...args],
      { timeout: timeoutMs, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

async function status(dir: string): Promise<ClusterSnapshot> {
  const r = await hakube(['status', '-o', 'json', '--dir', dir])
  expect(r.stderr).toBe('')
  return JSON.parse(r.stdout) as ClusterSnapshot
}

async function eventually(
  dir: string,
  what: string,
  ok: (s: ClusterSnapshot) => boolean,
  timeoutMs = 60_000,
): Promise<ClusterSnapshot> {
  const deadline = Date.now() + timeoutMs
  let last: ClusterSnapshot | undefined
  while (Date.now() < deadline) {
    last = await status(dir)
    if (ok(last)) return last
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new Error(`timed out waiting for ${what}; last status:\n${JSON.stringify(last, null, 2)}`)
}

/** Every pid the cluster ran: supervisors from cluster.json, components from the last status. */
function pidsOf(dir: string, snap: ClusterSnapshot): number[] {
  const state = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterState
  return [
    ...Object.values(state.hosts).flatMap((h) => (h.pid === null ? [] : [h.pid])),
    ...snap.hosts.flatMap((h) => h.components.flatMap((c) => (c.pid === null ? [] : [c.pid]))),
  ]
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Leaves nothing behind even when a test failed half-way: down, then SIGKILL to any host group left. */
async function cleanup(dir: string): Promise<void> {
  await hakube(['down', '--dir', dir, '--grace-period=5'])
  try {
    const state = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterState
    for (const h of Object.values(state.hosts))
      if (h.pid !== null)
        try {
          process.kill(-h.pid, 'SIGKILL')
        } catch {
          // gone
        }
  } catch {
    // no state
  }
  rmSync(dir, { recursive: true, force: true })
}

function tmpDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hakube-cli-'))
  dirs.push(d)
  return d
}

// `hakube down` of a whole cluster (SIGTERM, then SIGKILL after a grace) outlasts vitest's 10 s default.
afterAll(async () => {
  for (const d of dirs) await cleanup(d)
}, 180_000)

describe('hakube up, status, faults, down (stacked, 3 masters, hakube-store)', () => {
  const dir = tmpDir()
  const lb = 'http://127.0.1.250:6443'
  const common = ['--dir', dir]

  it(
    'comes up healthy, reachable through the balancer, survives faults, and goes down leaving nothing',
    async () => {
      const t0 = Date.now()
      const up = await hakube([
        'up',
        ...common,
        '--first-address',
        '127.0.1.201',
        '--lb-address',
        '127.0.1.250:6443',
        '--lb-stats-port',
        '6444',
        '--workers=1',
      ])
      const upSeconds = (Date.now() - t0) / 1000
      console.log(
        `hakube up (stacked, 3 masters) to healthy: ${upSeconds.toFixed(1)} s\n${up.stdout}${up.stderr}`,
      )
      expect(up.code, up.stderr).toBe(0)
      expect(up.stdout).toMatch(
        /master-1 +store member joined, api-server ready, scheduler healthy, controller-manager healthy/,
      )
      expect(up.stdout).toMatch(/worker-1 +node worker-1 Ready/)
      expect(up.stdout).toMatch(
        /scheduler leader master-[123], controller-manager leader master-[123], 1 node Ready/,
      )
      expect(up.stdout).toMatch(/cluster healthy in [\d.]+ s/)
      expect(up.stdout).toContain(`kubectl --kubeconfig`)

      let s = await status(dir)
      expect(s.quorum).toMatchObject({
        members: 3,
        quorum: 2,
        tolerates: 1,
        healthy: 3,
        hasQuorum: true,
        moreMayFail: 1,
      })
      expect(s.storeMembers.filter((m) => m.isLeader)).toHaveLength(1)
      expect(s.apiServers.map((a) => a.ready)).toEqual([true, true, true])
      expect(s.hosts.map((h) => [h.name, h.state])).toEqual([
        ['master-1', 'up'],
        ['master-2', 'up'],
        ['master-3', 'up'],
        ['lb', 'up'],
        ['worker-1', 'up'],
      ])
      expect(s.hosts[0]?.components.map((c) => c.name)).toEqual([
        'store',
        'apiserver',
        'scheduler',
        'controller-manager',
      ])
      expect(s.hosts[4]?.components.map((c) => c.name)).toEqual(['node-sim'])
      expect(s.nodes.nodes.map((n) => [n.name, n.worker, n.status])).toEqual([
        ['worker-1', 'worker-1', 'Ready'],
      ])

      expect(await httpRequest(`${lb}/readyz`)).toEqual({ status: 200, text: 'ok' })
      const ns = await httpRequest(`${lb}/api/v1/namespaces`)
      expect(ns.status).toBe(200)
      expect(
        (JSON.parse(ns.text) as { items: Array<{ metadata: { name: string } }> }).items.map(
          (i) => i.metadata.name,
        ),
      ).toContain('default')
      expect(readFileSync(join(dir, 'kubeconfig'), 'utf8')).toContain(`server: ${lb}`)

      // A second `up` in the same directory is refused.
      const again = await hakube([
        'up',
        ...common,
        '--first-address',
        '127.0.1.201',
        '--lb-address',
        '127.0.1.250:6443',
        '--workers=1',
      ])
      expect(again.code).toBe(1)
      expect(again.stderr).toMatch(
        /^hakube: a cluster is already up in .* \(hosts master-1, master-2, master-3, lb, worker-1 running\)/,
      )

      // One component SIGKILLed: its supervisor restarts it (restart count 1).
      const before = s.hosts
        .find((h) => h.name === 'master-2')
        ?.components.find((c) => c.name === 'apiserver')?.pid
      const killed = await hakube(['kill', 'master-2/apiserver', ...common])
      expect(killed.stdout).toBe('master-2/apiserver: apiserver restarting\n')
      s = await eventually(dir, 'master-2/apiserver restarted and ready', (x) => {
        const c = x.hosts.find((h) => h.name === 'master-2')?.components.find((c) => c.name === 'apiserver')
        return c?.state === 'running' && c.restarts === 1 && x.apiServers.every((a) => a.ready)
      })
      expect(
        s.hosts.find((h) => h.name === 'master-2')?.components.find((c) => c.name === 'apiserver')?.pid,
      ).not.toBe(before)

      // A whole host killed: down, its member unreachable, quorum kept with no failure to spare; reads go on.
      const pidsBefore = pidsOf(dir, s)
      expect((await hakube(['kill', 'master-3', ...common])).code).toBe(0)
      s = await status(dir)
      expect(s.hosts.find((h) => h.name === 'master-3')?.state).toBe('down')
      expect(s.storeMembers.find((m) => m.name === 'master-3')?.reachable).toBe(false)
      s = await eventually(
        dir,
        'quorum of 2 after master-3 died',
        (x) => x.quorum.hasQuorum && x.quorum.healthy === 2,
      )
      expect(s.quorum.moreMayFail).toBe(0)
      expect((await httpRequest(`${lb}/api/v1/namespaces/default`, { timeoutMs: 10_000 })).status).toBe(200)
      expect((await hakube(['status', ...common])).stdout).toMatch(
        /master-3 +127\.0\.1\.203 +stacked-master +DOWN/,
      )

      // Paused on purpose: shown paused, not restarted.
      expect((await hakube(['pause', 'master-1/store', ...common])).stdout).toBe(
        'master-1/store: store paused\n',
      )
      s = await status(dir)
      expect(
        s.hosts.find((h) => h.name === 'master-1')?.components.find((c) => c.name === 'store'),
      ).toMatchObject({ state: 'paused', restarts: 0 })
      expect((await hakube(['resume', 'master-1/store', ...common])).stdout).toBe(
        'master-1/store: store running\n',
      )

      // start brings the killed host back.
      expect((await hakube(['start', 'master-3', ...common])).stdout).toMatch(
        /^master-3: started \(supervisor pid \d+\)/,
      )
      s = await eventually(
        dir,
        'all healthy again',
        (x) =>
          x.quorum.healthy === 3 &&
          x.apiServers.every((a) => a.ready) &&
          x.balancer.backends.every((b) => b.state === 'up'),
      )

      const pids = [...new Set([...pidsBefore, ...pidsOf(dir, s)])]
      const down = await hakube(['down', ...common])
      expect(down.code, down.stderr).toBe(0)
      expect(down.stdout).toMatch(/cluster down; nothing left running/)
      expect(pids.filter(alive)).toEqual([])
      const after = await hakube(['status', ...common])
      expect(after.stdout).toMatch(/master-1 +127\.0\.1\.201 +stacked-master +stopped/)
    },
    SCENARIO_TIMEOUT_MS,
  )
})

describe('hakube up --topology external-etcd --store etcd', () => {
  const dir = tmpDir()
  const common = ['--dir', dir]

  it(
    'runs real etcd members on their own hosts behind two api-servers; a partition and a killed member show in status',
    async () => {
      const t0 = Date.now()
      const up = await hakube([
        'up',
        ...common,
        '--topology=external-etcd',
        '--masters=2',
        '--etcd=3',
        '--store=etcd',
        '--first-address=127.0.1.234',
        '--lb-address=127.0.1.248:6443',
        '--lb-stats-port=6444',
        '--workers=0',
      ])
      console.log(
        `hakube up (external-etcd, etcd, 2 masters + 3 members): ${((Date.now() - t0) / 1000).toFixed(1)} s\n${up.stdout}${up.stderr}`,
      )
      expect(up.code, up.stderr).toBe(0)
      let s = await status(dir)
      expect(s.store).toBe('etcd')
      expect(s.hosts.map((h) => [h.name, h.role, h.address])).toEqual([
        ['etcd-1', 'etcd', '127.0.1.236'],
        ['etcd-2', 'etcd', '127.0.1.237'],
        ['etcd-3', 'etcd', '127.0.1.238'],
        ['master-1', 'master', '127.0.1.234'],
        ['master-2', 'master', '127.0.1.235'],
        ['lb', 'lb', '127.0.1.248'],
      ])
      expect(s.quorum).toMatchObject({ members: 3, healthy: 3, hasQuorum: true })
      const ns = await httpRequest('http://127.0.1.248:6443/api/v1/namespaces/kube-system')
      expect(ns.status).toBe(200)
      expect(readFileSync(join(dir, 'logs', 'etcd-1', 'store.log'), 'utf8')).toMatch(/etcd/)

      // A store member partitioned from every other host: shown, and it loses its leader.
      const part = await hakube(['partition', 'etcd-1', ...common])
      if (part.code !== 0) {
        // Only where iptables is not permitted; the message must say so.
        expect(part.stderr).toMatch(/^hakube: cannot partition: iptables/)
      } else {
        s = await eventually(
          dir,
          'etcd-1 isolated',
          (x) => {
            const m = x.storeMembers.find((m) => m.name === 'etcd-1')
            return m?.reachable === true && m.leaderId === '0' && x.quorum.healthy === 2
          },
          30_000,
        )
        expect(s.hosts.find((h) => h.name === 'etcd-1')?.partitioned).toBe(true)
        expect(s.partitions).toEqual([{ hosts: ['etcd-1'], from: [] }])
        expect((await hakube(['heal', ...common])).stdout).toBe('healed 1 partition\n')
        await eventually(dir, 'etcd-1 back', (x) => x.quorum.healthy === 3)
      }

      // A component stopped on purpose stays stopped (no restart), until its host is started.
      expect((await hakube(['stop', 'master-1/apiserver', ...common])).stdout).toBe(
        'master-1/apiserver: apiserver stopped\n',
      )
      await new Promise((r) => setTimeout(r, 2500)) // beyond the first restart backoff (1 s)
      s = await status(dir)
      expect(s.hosts.find((h) => h.name === 'master-1')?.components[0]).toMatchObject({
        name: 'apiserver',
        state: 'stopped',
        restarts: 0,
      })
      expect(s.apiServers.find((a) => a.host === 'master-1')?.ready).toBe(false)
      // Its scheduler and controller-manager lost their own api-server meanwhile: one that led lost its
      // lease and exited (as kube's do), so the supervisor may have restarted it.
      expect((await hakube(['start', 'master-1', ...common])).stdout).toMatch(
        /^master-1: apiserver running, scheduler running( \(\d+ restarts\))?, controller-manager running( \(\d+ restarts\))?\n$/,
      )
      await eventually(dir, 'master-1 ready again', (x) => x.apiServers.every((a) => a.ready))

      expect((await hakube(['stop', 'etcd-2', ...common])).stdout).toBe('etcd-2: stopped\n')
      s = await status(dir)
      expect(s.hosts.find((h) => h.name === 'etcd-2')?.state).toBe('stopped')
      expect(s.quorum).toMatchObject({ healthy: 2, hasQuorum: true, moreMayFail: 0 })

      const pids = pidsOf(dir, s)
      const down = await hakube(['down', '--purge', ...common])
      expect(down.code, down.stderr).toBe(0)
      expect(pids.filter(alive)).toEqual([])
      expect(down.stdout).toMatch(/deleted/)
    },
    SCENARIO_TIMEOUT_MS,
  )
})

describe('hakube up: clear errors before anything starts', () => {
  it(
    'bad counts, an even member count, busy ports',
    async () => {
      const dir = tmpDir()
      const zero = await hakube(['up', '--dir', dir, '--masters=0'])
      expect(zero).toMatchObject({ code: 1, stderr: 'hakube: --masters must be at least 1 (got 0)\n' })
      const stackedEtcd = await hakube(['up', '--dir', dir, '--etcd=5'])
      expect(stackedEtcd.stderr).toMatch(/--etcd applies to --topology external-etcd/)
      const badStore = await hakube(['up', '--dir', dir, '--store=zookeeper'])
      expect(badStore.stderr).toBe(`hakube: --store must be 'hakube' or 'etcd' (got "zookeeper")\n`)
      const badWorkers = await hakube(['up', '--dir', dir, '--workers=-1'])
      expect(badWorkers.stderr).toBe('hakube: --workers must be 0 or more (got -1)\n')
      const badLease = await hakube(['up', '--dir', dir, '--leader-elect-lease-duration=5s'])
      expect(badLease.stderr).toBe(
        'hakube: --leader-elect-lease-duration must be greater than --leader-elect-renew-deadline\n',
      )

      // A port in use: the even-count warning comes first, then the refusal naming the address.
      const blocker = net.createServer()
      await new Promise<void>((r) => blocker.listen(2379, '127.0.1.186', r))
      try {
        const busy = await hakube([
          'up',
          '--dir',
          dir,
          '--topology=external-etcd',
          '--masters=1',
          '--etcd=4',
          '--first-address=127.0.1.184',
          '--lb-address=127.0.1.189:6443',
          '--workers=0',
        ])
        expect(busy.code).toBe(1)
        expect(busy.stderr).toContain(
          'warning: 4 store members: an even number adds no fault tolerance. A quorum of 4 is 3, so 4 members tolerate 1 failure, like 3 (quorum 2)',
        )
        expect(busy.stderr).toContain('127.0.1.186:2379 (etcd-2 store client): in use')
      } finally {
        blocker.close()
      }
      const none = await hakube(['status', '--dir', dir])
      expect(none.stderr).toMatch(/^hakube: no cluster in /)
    },
    SCENARIO_TIMEOUT_MS,
  )
})
