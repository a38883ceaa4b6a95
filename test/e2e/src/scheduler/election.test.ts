/**
 * hakube-scheduler replicas as real processes against a real hakube-apiserver (memory storage),
 * for each lock kind (`endpoints`, `leases`, `endpointsleases`), with the issue's short durations
 * (lease 3 s, renew 2 s, retry 0.5 s). Each replica reaches the api-server through a TCP proxy of
 * its own, so one can be cut off while it keeps running. Goal and method, in order:
 * 1. Exactly one acts: the lock object names it, only its log shows bindings, every pod is bound.
 * 2. SIGKILL of the leader: a standby acquires within lease + 2.2 × retry (+1 s of slack for this
 *    loaded machine) and pods created afterwards are bound by it.
 * 3. The leader cut off from the api-server (its proxy blackholed): it stops leading before any
 *    other replica acquires (times from the replicas' own logs: no overlap), exits 1 as
 *    kube-scheduler does, and the other binds the pods created meanwhile.
 * 4. SIGTERM of the leader: it releases the lock and exits 0; a standby acquires within about one
 *    retry period (2.2 × retry + 1 s).
 * With `endpoints`, the real kubectl shows the record (`kubectl get endpoints kube-scheduler -n
 * kube-system -o yaml`).
 */
import { ApiClient } from '@hakube/api'
import { Kubectl, removeKubectlHomes } from '@hakube/api-server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiServerProcess } from '../apiserver.js'
import {
  APISERVER_HOST,
  cleanup,
  createNode,
  createPod,
  ELECTION,
  ELECTION_FLAGS,
  LEADER_ANNOTATION,
  lockHolder,
  SchedulerProcess,
  sleep,
  startApiServer,
  TcpProxy,
  waitBound,
  waitLeader,
} from './harness.js'

const SLACK_MS = 1000
const LOCKS = ['endpoints', 'leases', 'endpointsleases'] as const

describe.each(LOCKS)('hakube-scheduler replicas with --leader-elect-resource-lock %s', (lock) => {
  let api: ApiServerProcess
  let client: ApiClient
  const replicas: SchedulerProcess[] = []
  const proxies = new Map<SchedulerProcess, TcpProxy>()
  // The object the checks read: a MultiLock's primary is the Endpoints.
  const lockObject = lock === 'leases' ? 'leases' : 'endpoints'
  let leader: SchedulerProcess
  let podSeq = 0
  const describeAll = () =>
    `${replicas.map((r) => r.output()).join('\n')}\n--- api-server ---\n${api.logs().slice(-3000)}`

  async function startReplica(name: string, index: number): Promise<SchedulerProcess> {
    const proxy = new TcpProxy(`127.0.2.${21 + index}`, { host: APISERVER_HOST, port: 6443 })
    await proxy.listen()
    const r = new SchedulerProcess(name, `127.0.2.${31 + index}`, proxy.url, [
      ...ELECTION_FLAGS,
      `--leader-elect-resource-lock=${lock}`,
    ])
    replicas.push(r)
    proxies.set(r, proxy)
    return r
  }

  async function createPods(n: number): Promise<string[]> {
    const names: string[] = []
    for (let i = 0; i < n; i++) {
      const name = `pod-${podSeq++}`
      await createPod(client, { name, cpu: '10m', memory: '16Mi' })
      names.push(name)
    }
    return names
  }

  beforeAll(async () => {
    api = await startApiServer()
    client = new ApiClient({ baseUrl: api.base })
    for (let i = 0; i < 3; i++) await createNode(client, { name: `worker-${i}` })
    await Promise.all([
      startReplica('replica-a', 0),
      startReplica('replica-b', 1),
      startReplica('replica-c', 2),
    ])
  })

  afterAll(async () => {
    cleanup()
    await client?.close()
    removeKubectlHomes()
  })

  it('exactly one replica acts, and the lock names it', async () => {
    leader = await waitLeader(client, replicas, lockObject, 20_000)
    const names = await createPods(20)
    await waitBound(client, names, 20_000, describeAll)
    expect(await leader.waitBoundLogged(20)).toHaveLength(20)
    for (const r of replicas) if (r !== leader) expect(r.logs('bound')).toHaveLength(0)
    expect(await lockHolder(client, lockObject)).toBe(leader.identity())
    if (lock === 'endpointsleases') expect(await lockHolder(client, 'leases')).toBe(leader.identity())
    // The health and metrics endpoints: the leader reports itself as master.
    const base = `http://${leader.host}:10259`
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok')
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/leader_election_master_status\{name="kube-scheduler"\} 1/)
    expect(metrics).toMatch(
      /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 20/,
    )
    const standby = replicas.find((r) => r !== leader) as SchedulerProcess
    const standbyMetrics = await (await fetch(`http://${standby.host}:10259/metrics`)).text()
    expect(standbyMetrics).toMatch(/leader_election_master_status\{name="kube-scheduler"\} 0/)
  })

  // Only the Endpoints lock has a record kubectl shows on the Endpoints (registered for it alone).
  if (lock === 'endpoints') {
    it('kubectl shows the record on the Endpoints', async () => {
      const kubectl = new Kubectl(api.base, '1.32')
      const yaml = await kubectl.ok(['get', 'endpoints', 'kube-scheduler', '-n', 'kube-system', '-o', 'yaml'])
      expect(yaml).toContain(`${LEADER_ANNOTATION}:`)
      expect(yaml).toContain(`"holderIdentity":"${leader.identity()}"`)
      expect(yaml).toMatch(/"leaseDurationSeconds":3/)
    })
  }

  it('SIGKILL of the leader: a standby acquires within lease + 2.2 × retry and schedules', async () => {
    const killed = leader
    const killedAtMs = Date.now()
    killed.kill('SIGKILL')
    leader = await waitLeader(client, replicas, lockObject, 20_000, killed)
    const acquiredAtMs = leader.logs('successfully acquired lease')[0]?.time ?? Number.NaN
    expect(acquiredAtMs - killedAtMs).toBeLessThanOrEqual(
      ELECTION.leaseMs + 2.2 * ELECTION.retryMs + SLACK_MS,
    )
    const names = await createPods(10)
    await waitBound(client, names, 20_000, describeAll)
    expect(await leader.waitBoundLogged(10)).toHaveLength(10)
  })

  it('a leader cut off from the api-server stops before another acquires, and exits 1', async () => {
    const cut = leader
    const other = replicas.find((r) => r.alive() && r !== cut) as SchedulerProcess
    const cutAtMs = Date.now()
    proxies.get(cut)?.blackhole()
    // Pods keep arriving while the leadership moves.
    const names: string[] = []
    const creating = (async () => {
      for (let i = 0; i < 10; i++) {
        names.push(...(await createPods(1)))
        await sleep(300)
      }
    })()
    leader = await waitLeader(client, [other], lockObject, 20_000)
    await creating
    const exit = await cut.exited
    expect(exit.code).toBe(1)
    expect(cut.logs('leaderelection lost')).toHaveLength(1)
    const stoppedAtMs = cut.logs('stopped leading')[0]?.time ?? Number.NaN
    const acquiredAtMs = leader.logs('successfully acquired lease')[0]?.time ?? Number.NaN
    // No overlap: the cut-off leader stopped (within the renew deadline) before the other began.
    expect(stoppedAtMs - cutAtMs).toBeLessThanOrEqual(ELECTION.renewMs + SLACK_MS)
    expect(stoppedAtMs).toBeLessThan(acquiredAtMs)
    for (const t of cut.boundTimes()) expect(t).toBeLessThan(stoppedAtMs)
    await waitBound(client, names, 20_000, describeAll)
    const firstBindingOfNew = Math.min(...(await leader.waitBoundLogged(names.length)))
    expect(Math.max(...cut.boundTimes())).toBeLessThan(firstBindingOfNew)
  })

  it('SIGTERM of the leader releases the lock: a standby acquires within about one retry period', async () => {
    const fresh = await startReplica(`replica-d`, 3)
    await fetchUntilReady(`http://${fresh.host}:10259/readyz`)
    // Let the fresh replica observe the current record first.
    await sleep(2 * ELECTION.retryMs)
    const stopping = leader
    const termAtMs = Date.now()
    stopping.kill('SIGTERM')
    leader = await waitLeader(client, [fresh], lockObject, 20_000)
    const acquiredAtMs = leader.logs('successfully acquired lease')[0]?.time ?? Number.NaN
    expect(acquiredAtMs - termAtMs).toBeLessThanOrEqual(2.2 * ELECTION.retryMs + SLACK_MS)
    const exit = await stopping.exited
    expect(exit.code).toBe(0)
    expect(stopping.logs('released the lock')).toHaveLength(1)
    const names = await createPods(5)
    await waitBound(client, names, 20_000, describeAll)
    expect(await leader.waitBoundLogged(5)).toHaveLength(5)
  })
})

async function fetchUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} never answered 200`)
    await sleep(100)
  }
}
