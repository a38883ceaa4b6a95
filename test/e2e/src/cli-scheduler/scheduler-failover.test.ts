import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sleep, until } from '../ha/harness.js'
import { groupAlive, listening, SchedulerCluster, type Status } from './cluster.js'

// Goal: through `hakube up` alone, every master runs a scheduler replica and a controller-manager
// replica, exactly one of each leads (named by the kube-system/kube-scheduler and
// kube-system/kube-controller-manager Endpoints annotations), the workers' simulated nodes are
// Ready, pods created through the balancer get scheduled and run; killing the master host whose
// scheduler leads hands the lock to a standby on another master within lease + 2.2 × retry, after which
// new pods are scheduled again; `hakube fail-node` stops a node's Lease renewals; a Deployment of 3
// replicas created with the real kubectl reaches 3 Running pods, also after the loss of a master, and
// `hakube status` shows the controller-managers' leader and the pods by phase; `hakube down` leaves
// nothing running.
// Method: a stacked cluster of 3 masters and 2 workers on 127.0.2.160-164, balancer 127.0.2.150:6443
// (stats 6451), started with short election durations (`hakube up --leader-elect-lease-duration=4s
// --leader-elect-renew-deadline=3s --leader-elect-retry-period=1s`, passed to every scheduler and
// controller-manager) so that
// a takeover takes seconds instead of 15-20 s. The lock is polled through the balancer every 100 ms;
// the takeover time runs from the moment `hakube kill` returns (the host's processes are gone then).

const LEASE_S = 4
const RETRY_S = 1
/** client-go's bound: the record must stay unchanged for the lease, then attempts come every retry × [1, 2.2]. */
const TAKEOVER_BOUND_S = LEASE_S + 2.2 * RETRY_S
/** Polling (100 ms), the api's latency and a loaded 2-core machine. */
const SLACK_S = 1.5

const cluster = new SchedulerCluster('127.0.2.160', '127.0.2.150:6443', 6451)
const MASTERS = ['master-1', 'master-2', 'master-3']
const NODES = ['worker-1', 'worker-2']

beforeAll(async () => {
  await cluster.up([
    '--masters=3',
    '--workers=2',
    `--leader-elect-lease-duration=${LEASE_S}s`,
    '--leader-elect-renew-deadline=3s',
    `--leader-elect-retry-period=${RETRY_S}s`,
  ])
  console.log(`hakube up (3 masters, 2 workers): ${cluster.upSeconds.toFixed(1)} s\n${cluster.upRun?.stdout}`)
}, 200_000)

afterAll(async () => {
  await cluster.destroy()
}, 150_000)

/** Waits until every pod of `namespace` is bound to one of our nodes and Running. */
async function allRunning(namespace: string, count: number): Promise<Array<{ name: string; node: string }>> {
  return until(
    `${count} pods of ${namespace} bound and Running`,
    async () => {
      const pods = await cluster.pods(namespace)
      return pods.length === count && pods.every((p) => NODES.includes(p.node) && p.phase === 'Running')
        ? pods
        : undefined
    },
    40_000,
    300,
  )
}

describe('hakube up: schedulers and controller-managers on every master, simulated workers', () => {
  it('reports one scheduler leader among the masters and every node Ready, in text and JSON', async () => {
    expect(cluster.upRun?.stdout).toMatch(/worker-1 +node worker-1 Ready/)
    expect(cluster.upRun?.stdout).toMatch(
      /master-1 +store member joined, api-server ready, scheduler healthy, controller-manager healthy/,
    )
    expect(cluster.upRun?.stdout).toMatch(
      /scheduler leader master-[123], controller-manager leader master-[123], 2 nodes Ready/,
    )
    const s = await cluster.status()
    const leader = s.scheduler.leader
    expect(leader?.lock).toBe('endpoints kube-system/kube-scheduler')
    expect(leader?.expired).toBe(false)
    expect(MASTERS).toContain(leader?.holderHost)
    expect(leader?.record?.holderIdentity).toMatch(new RegExp(`^${leader?.holderHost}_[0-9a-f-]{36}$`))
    expect(s.scheduler.replicas.map((r) => [r.host, r.healthy, r.role])).toEqual(
      MASTERS.map((m) => [m, true, m === leader?.holderHost ? 'leader' : 'standby']),
    )
    expect(s.nodes.nodes.map((n) => [n.name, n.worker, n.status])).toEqual(NODES.map((n) => [n, n, 'Ready']))
    for (const h of s.hosts.filter((h) => h.role === 'worker'))
      expect(h.components.map((c) => [c.name, c.state])).toEqual([['node-sim', 'running']])

    // The record as the api holds it names the same host.
    const record = await cluster.lock()
    expect(record?.holderIdentity.startsWith(`${leader?.holderHost}_`)).toBe(true)
    expect(record?.leaseDurationSeconds).toBe(LEASE_S)

    const text = await cluster.run('status')
    expect(text).toMatch(
      new RegExp(
        `SCHEDULER  leader ${leader?.holderHost}, renewed \\d+ s ago \\(lease ${LEASE_S} s\\), \\d+ transitions?; lock endpoints kube-system/kube-scheduler`,
      ),
    )
    expect(text).toMatch(/NODES {2}2 of 2 Ready/)

    // The controller-managers: one leader among the masters, the others standby, in JSON and text.
    const cm = s.controllerManager
    expect(cm.leader?.lock).toBe('endpoints kube-system/kube-controller-manager')
    expect(cm.leader?.expired).toBe(false)
    expect(MASTERS).toContain(cm.leader?.holderHost)
    expect(cm.leader?.record?.holderIdentity).toMatch(new RegExp(`^${cm.leader?.holderHost}_[0-9a-f-]{36}$`))
    expect(cm.replicas.map((r) => [r.host, r.url, r.healthy, r.role])).toEqual(
      MASTERS.map((m, i) => [
        m,
        `http://127.0.2.${160 + i}:10257`,
        true,
        m === cm.leader?.holderHost ? 'leader' : 'standby',
      ]),
    )
    for (const h of s.hosts.filter((h) => h.role === 'stacked-master'))
      expect(h.components.map((c) => [c.name, c.state])).toEqual([
        ['store', 'running'],
        ['apiserver', 'running'],
        ['scheduler', 'running'],
        ['controller-manager', 'running'],
      ])
    expect(text).toMatch(
      new RegExp(
        `CONTROLLER-MANAGER  leader ${cm.leader?.holderHost}, renewed \\d+ s ago \\(lease ${LEASE_S} s\\), \\d+ transitions?; lock endpoints kube-system/kube-controller-manager`,
      ),
    )
  })

  it('schedules pods created through the balancer onto the workers, and they run', async () => {
    await cluster.createPods('default', 'before', 6)
    const pods = await allRunning('default', 6)
    // Least-allocated scoring spreads six equal pods over two empty nodes.
    for (const n of NODES) expect(pods.filter((p) => p.node === n).length).toBeGreaterThan(0)
    const s = await cluster.status()
    expect(s.nodes.boundPods).toBe(6)
    expect(s.nodes.pendingPods).toBe(0)
    expect(s.nodes.nodes.reduce((sum, n) => sum + n.pods, 0)).toBe(6)
  })

  it('a standby scheduler SIGKILLed alone is restarted by its host', async () => {
    const s = await cluster.status()
    const standby = s.scheduler.replicas.find((r) => r.role === 'standby')?.host as string
    expect((await cluster.run('kill', `${standby}/scheduler`)).trim()).toBe(
      `${standby}/scheduler: scheduler restarting`,
    )
    await until(
      `${standby}/scheduler restarted and healthy`,
      async () => {
        const x = await cluster.status()
        const c = x.hosts.find((h) => h.name === standby)?.components.find((c) => c.name === 'scheduler')
        const r = x.scheduler.replicas.find((r) => r.host === standby)
        return c?.state === 'running' && c.restarts === 1 && r?.healthy === true ? true : undefined
      },
      30_000,
      300,
    )
  })

  it('killing the master whose scheduler leads: a standby on another master takes over within lease + 2.2 × retry, and new pods are scheduled', async () => {
    const before = await cluster.lock()
    const oldHost = before?.holderIdentity.split('_')[0] as string
    expect(MASTERS).toContain(oldHost)
    await cluster.run('kill', oldHost)
    const killedAt = Date.now()
    const after = await until(
      'a new scheduler leader',
      async () => {
        const r = await cluster.lock().catch(() => undefined)
        return r !== undefined && r.holderIdentity !== '' && !r.holderIdentity.startsWith(`${oldHost}_`)
          ? r
          : undefined
      },
      30_000,
      100,
    )
    const takeoverS = (Date.now() - killedAt) / 1000
    const newHost = after.holderIdentity.split('_')[0] as string
    console.log(
      `scheduler leader ${oldHost} killed: ${newHost} took over after ${takeoverS.toFixed(1)} s (bound ${TAKEOVER_BOUND_S} s), transitions ${before?.leaderTransitions} -> ${after.leaderTransitions}`,
    )
    expect(MASTERS.filter((m) => m !== oldHost)).toContain(newHost)
    expect(after.leaderTransitions).toBe((before?.leaderTransitions ?? 0) + 1)
    expect(takeoverS).toBeLessThanOrEqual(TAKEOVER_BOUND_S + SLACK_S)

    const s = await cluster.status()
    expect(s.scheduler.leader?.holderHost).toBe(newHost)
    expect(s.scheduler.replicas.find((r) => r.host === oldHost)).toMatchObject({ healthy: false, role: '-' })
    expect(s.hosts.find((h) => h.name === oldHost)?.state).toBe('down')

    await cluster.createPods('default', 'after', 4)
    const pods = await allRunning('default', 10)
    expect(pods.filter((p) => p.name.startsWith('after-')).length).toBe(4)
  })

  it('fail-node stops its Lease renewals while the other node goes on; recover-node resumes them; an unknown node is refused', async () => {
    const unknown = await cluster.hakube('fail-node', 'worker-9')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toBe('hakube: no node "worker-9" in this cluster (nodes: worker-1, worker-2)\n')

    const failed = await cluster.run('fail-node', 'worker-2')
    expect(failed).toMatch(/^worker-2 \(on worker-2\): heartbeat stopped/)
    const t0 = await cluster.nodeLeases()
    // A kubelet renews its Lease every 10 s (a quarter of its 40 s duration): wait out one renewal and more.
    await sleep(12_000)
    const t1 = await cluster.nodeLeases()
    expect(t1.get('worker-2'), 'the failed node renewed its Lease').toBe(t0.get('worker-2'))
    expect(t1.get('worker-1'), 'the healthy node stopped renewing').not.toBe(t0.get('worker-1'))
    const s: Status = await cluster.status()
    expect(s.nodes.nodes.find((n) => n.name === 'worker-2')?.reason).toContain(
      'heartbeat stopped (hakube fail-node)',
    )
    // Its pods stay as they were: evicting them is the node lifecycle controller's job.
    expect(s.nodes.nodes.find((n) => n.name === 'worker-2')?.pods).toBeGreaterThan(0)

    expect(await cluster.run('recover-node', 'worker-2')).toMatch(
      /^worker-2 \(on worker-2\): heartbeat resumed/,
    )
    await until(
      'worker-2 renewing its Lease again',
      async () => ((await cluster.nodeLeases()).get('worker-2') !== t1.get('worker-2') ? true : undefined),
      20_000,
      500,
    )
  }, 60_000)

  it('a standby controller-manager SIGKILLed alone is restarted by its host', async () => {
    const s = await cluster.status()
    const standby = s.controllerManager.replicas.find((r) => r.role === 'standby')?.host as string
    expect(standby).toBeDefined()
    expect((await cluster.run('kill', `${standby}/controller-manager`)).trim()).toBe(
      `${standby}/controller-manager: controller-manager restarting`,
    )
    await until(
      `${standby}/controller-manager restarted and healthy`,
      async () => {
        const x = await cluster.status()
        const c = x.hosts
          .find((h) => h.name === standby)
          ?.components.find((c) => c.name === 'controller-manager')
        const r = x.controllerManager.replicas.find((r) => r.host === standby)
        return c?.state === 'running' && c.restarts === 1 && r?.healthy === true ? true : undefined
      },
      30_000,
      300,
    )
  })

  it('kubectl create deployment --replicas=3 through the balancer: 3 Running pods on the workers, shown by phase in status', async () => {
    // One master is down (killed above): a controller-manager leader on another master must act.
    const leading = await until(
      'a controller-manager leader on a live master',
      async () => {
        const x = await cluster.status()
        const host = x.controllerManager.leader?.holderHost
        const live = x.hosts.find((h) => h.name === host)?.state === 'up'
        return x.controllerManager.leader?.expired === false && live ? x : undefined
      },
      30_000,
      300,
    )
    expect(leading.controllerManager.replicas.filter((r) => r.role === 'leader')).toHaveLength(1)
    expect((await cluster.k(['create', 'namespace', 'apps'])).code).toBe(0)
    const created = await cluster.k([
      'create',
      'deployment',
      'web',
      '-n',
      'apps',
      '--image=nginx',
      '--replicas=3',
    ])
    expect(created.stderr).toBe('')
    expect(created.stdout).toBe('deployment.apps/web created\n')
    const rollout = await cluster.k(
      ['rollout', 'status', 'deployment/web', '-n', 'apps', '--timeout=50s'],
      55_000,
    )
    expect(rollout.code, rollout.stderr).toBe(0)
    expect(rollout.stdout).toMatch(/deployment "web" successfully rolled out\n$/)
    const pods = await allRunning('apps', 3)
    expect(pods.every((p) => p.name.startsWith('web-'))).toBe(true)
    const s = await cluster.status()
    // 10 pods of `default` from above, 3 of the Deployment; none pending.
    expect(s.nodes.podPhases).toEqual({ Running: 13 })
    expect(s.nodes.pendingPods).toBe(0)
    expect(await cluster.run('status')).toMatch(/\nPODS {2}13 Running\n/)
    const rs = await cluster.k(['get', 'replicasets', '-n', 'apps', '-o', 'name'])
    expect(rs.stdout.trim()).toMatch(/^replicaset\.apps\/web-[0-9a-z]+$/)
  }, 90_000)

  it('hakube down leaves no process and no listener behind', async () => {
    const pids = cluster.hostPids()
    const down = await cluster.run('down', '--grace-period=5')
    expect(down).toMatch(/cluster down; nothing left running/)
    expect(pids.filter(groupAlive), 'process groups left').toEqual([])
    let left = ''
    try {
      left = execFileSync('pgrep', ['-af', cluster.dir], { encoding: 'utf8' })
    } catch {
      // pgrep exits 1 when nothing matches
    }
    expect(left).toBe('')
    const addresses: Array<[string, number]> = [
      ['127.0.2.150', 6443],
      ['127.0.2.150', 6451],
      ...['127.0.2.160', '127.0.2.161', '127.0.2.162'].flatMap(
        (a): Array<[string, number]> => [
          [a, 6443],
          [a, 10259],
          [a, 10257],
          [a, 2379],
        ],
      ),
      ['127.0.2.163', 10250],
      ['127.0.2.164', 10250],
    ]
    const open = await Promise.all(addresses.map(([h, p]) => listening(h, p)))
    expect(addresses.filter((_, i) => open[i])).toEqual([])
  }, 60_000)
})
