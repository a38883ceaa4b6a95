import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SchedulerCluster } from '../cli-scheduler/cluster.js'
import { sleep, until } from '../ha/harness.js'
import { active, controllerOf, type Pod } from './watch.js'
import { deployment, Kube, type Node, RolloutSampler, readyCondition, service } from './workloads.js'

// Goal (issue 14, "Done when"): with three controller-manager replicas, two schedulers, the node
// simulator and api-servers on a 3-member hakube-store, all through the balancer and driven by the real
// kubectl, the controllers do what kube's do: a Deployment reaches its replicas spread over the nodes,
// replaces a deleted pod, scales to 0 and back, rolls out within maxSurge/maxUnavailable, rolls back;
// deletion cascades (background, foreground, a Namespace's content); a standby takes over within
// lease + 2.2 × retry when the leader is SIGKILLed mid-rollout, with no pod ever created twice; a failed
// node goes Unknown and tainted, its pods are evicted after their toleration and recreated elsewhere,
// and its taints go when it is back; Endpoints follow the pods; with every master stopped the pods keep
// running on the workers, and once two masters (a store quorum) are back the control plane reconciles.
// Method: ONE `hakube up` cluster for the whole file (tests run in order and build on each other):
// stacked, 3 masters on 127.0.2.181-183, 3 workers of 2 simulated nodes each on 127.0.2.184-186,
// balancer 127.0.2.180:6443 (stats 6452); short election flags (lease 4 s, renew 3 s, retry 1 s) and a
// short node grace period (20 s, monitor period 1 s: the simulated kubelets renew their Lease every
// 10 s, so a grace below that would turn healthy nodes Unknown) through `hakube up`'s pass-through
// flags. One scheduler replica is stopped, so two run. Pods and ReplicaSets are watched through the
// balancer to sample the rollout bounds at every state and to count the pods each ReplicaSet created.

const LEASE_S = 4
const RETRY_S = 1
const TAKEOVER_BOUND_S = LEASE_S + 2.2 * RETRY_S
const GRACE_S = 20
const MONITOR_PERIOD_S = 1
const NODE_RENEW_S = 10
const TOLERATION_S = 3
/** Polling, the api's latency and a loaded 2-core machine. */
const SLACK_S = 2

const cluster = new SchedulerCluster('127.0.2.181', '127.0.2.180:6443', 6452)
const kube = new Kube(cluster)
const MASTERS = ['master-1', 'master-2', 'master-3']
const WORKERS = ['127.0.2.184', '127.0.2.185', '127.0.2.186']
const NODES = ['worker-1-1', 'worker-1-2', 'worker-2-1', 'worker-2-2', 'worker-3-1', 'worker-3-2']
const NS = 'apps'

beforeAll(async () => {
  await cluster.up([
    '--masters=3',
    '--workers=3',
    '--nodes-per-worker=2',
    `--leader-elect-lease-duration=${LEASE_S}s`,
    '--leader-elect-renew-deadline=3s',
    `--leader-elect-retry-period=${RETRY_S}s`,
    `--node-monitor-period=${MONITOR_PERIOD_S}s`,
    `--node-monitor-grace-period=${GRACE_S}s`,
  ])
  console.log(`hakube up (3 masters, 3 workers × 2 nodes): ${cluster.upSeconds.toFixed(1)} s`)
}, 200_000)

afterAll(async () => {
  const t0 = Date.now()
  await cluster.destroy()
  console.log(`hakube down --purge: ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}, 180_000)

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const byNode = (pods: readonly Pod[]): Map<string, number> => {
  const m = new Map<string, number>()
  for (const p of pods) m.set(p.spec.nodeName ?? '', (m.get(p.spec.nodeName ?? '') ?? 0) + 1)
  return m
}
const uids = (pods: readonly Pod[]): string[] => pods.map((p) => p.metadata.uid).sort()

describe('hakube-controller-manager × 3, two schedulers, 6 simulated nodes, through the balancer', () => {
  it('runs three controller-managers (one leader) and, once one scheduler is stopped, two schedulers; every node Ready', async () => {
    const s = await cluster.status()
    expect(s.controllerManager.replicas.map((r) => [r.host, r.healthy])).toEqual(
      MASTERS.map((m) => [m, true]),
    )
    expect(s.controllerManager.replicas.filter((r) => r.role === 'leader')).toHaveLength(1)
    // Stop a standby scheduler, master-3's when it is one (master-3 stays down at the end of the file).
    const standbys = s.scheduler.replicas.filter((r) => r.role === 'standby').map((r) => r.host)
    const victim = standbys.includes('master-3') ? 'master-3' : (standbys[0] as string)
    expect((await cluster.run('stop', `${victim}/scheduler`, '--grace-period=5')).trim()).toMatch(
      new RegExp(`^${victim}/scheduler: `),
    )
    const after = await until(
      'two schedulers, one leading',
      async () => {
        const x = await cluster.status()
        const running = x.hosts.flatMap((h) =>
          h.components.filter((c) => c.name === 'scheduler' && c.state === 'running').map(() => h.name),
        )
        return running.length === 2 && x.scheduler.leader?.expired === false ? { x, running } : undefined
      },
      20_000,
      300,
    )
    console.log(
      `schedulers running on ${after.running.join(', ')} (leader ${after.x.scheduler.leader?.holderHost}), ${victim}'s stopped; controller-manager leader ${s.controllerManager.leader?.holderHost}`,
    )
    expect(after.running).not.toContain(victim)
    expect(after.x.nodes.nodes.map((n) => [n.name, n.status])).toEqual(NODES.map((n) => [n, 'Ready']))
    await kube.kc(['create', 'namespace', NS])
  })

  it('a Deployment of 10 reaches 10 Running pods spread over the nodes; a deleted pod is replaced; scale to 0 and back', async () => {
    const t0 = Date.now()
    expect(
      await kube.kc(['create', 'deployment', 'web', '-n', NS, '--image=nginx:1.27', '--replicas=10']),
    ).toBe('deployment.apps/web created\n')
    expect(await kube.rolloutStatus(NS, 'web')).toMatch(/deployment "web" successfully rolled out\n$/)
    const pods = await kube.settled(NS, 'web', 10)
    const spread = byNode(pods)
    console.log(
      `10 replicas Running in ${seconds(Date.now() - t0)}, per node: ${JSON.stringify([...spread])}`,
    )
    expect(spread.size).toBeGreaterThan(1)
    for (const n of spread.keys()) expect(NODES).toContain(n)
    expect(Math.max(...spread.values())).toBeLessThanOrEqual(Math.ceil(10 / NODES.length) + 1)

    // A deleted pod: the ReplicaSet creates exactly one replacement.
    const rs = await kube.replicaSets(NS, 'web')
    expect(rs).toHaveLength(1)
    const victim = pods[0]?.metadata.name as string
    const t1 = Date.now()
    expect(await kube.kc(['delete', 'pod', victim, '-n', NS])).toBe(`pod "${victim}" deleted\n`)
    const replaced = await kube.settled(NS, 'web', 10)
    console.log(`pod ${victim} deleted: 10 Running again ${seconds(Date.now() - t1)} later`)
    const names = replaced.map((p) => p.metadata.name)
    expect(names).not.toContain(victim)
    expect(names.filter((n) => !pods.some((p) => p.metadata.name === n))).toHaveLength(1)
    expect(replaced.every((p) => controllerOf(p) === rs[0]?.metadata.name)).toBe(true)

    // Scale to 0: every pod goes; back to 10: ten new ones.
    const t2 = Date.now()
    await kube.kc(['scale', 'deployment/web', '-n', NS, '--replicas=0'])
    await until(
      'no pod of web left',
      async () => ((await kube.pods(NS, 'web')).length === 0 ? true : undefined),
      30_000,
      300,
    )
    const t3 = Date.now()
    await kube.kc(['scale', 'deployment/web', '-n', NS, '--replicas=10'])
    await kube.rolloutStatus(NS, 'web')
    const again = await kube.settled(NS, 'web', 10)
    console.log(`scale to 0: ${seconds(t3 - t2)}; back to 10 Running: ${seconds(Date.now() - t3)}`)
    expect(again.filter((p) => names.includes(p.metadata.name))).toEqual([])
    expect(await kube.replicaSets(NS, 'web')).toHaveLength(1)
  }, 120_000)

  it('a rolling update stays within replicas - maxUnavailable ready and replicas + maxSurge; rollout undo restores the previous template', async () => {
    // 10 replicas, 25 %/25 %: at least 10 - floor(2.5) = 8 ready, at most 10 + ceil(2.5) = 13.
    const sampler = new RolloutSampler(cluster.lb, NS, 'web')
    await sampler.start()
    try {
      sampler.resetBounds()
      const t0 = Date.now()
      await kube.kc(['set', 'image', 'deployment/web', '-n', NS, 'nginx=nginx:1.28'])
      expect(await kube.rolloutStatus(NS, 'web')).toMatch(/successfully rolled out\n$/)
      const rolled = Date.now() - t0
      await kube.settled(NS, 'web', 10, 30_000, 'nginx:1.28')
      console.log(
        `rolling update to nginx:1.28: rollout status returned after ${seconds(rolled)}; over ${sampler.samples} pod states: fewest ready ${sampler.minReady}, most pods ${sampler.maxActive}, largest sum of ReplicaSet replicas ${sampler.maxReplicaSum}`,
      )
      expect(sampler.minReady).toBeGreaterThanOrEqual(8)
      expect(sampler.maxReplicaSum).toBeLessThanOrEqual(13)
      expect(sampler.maxActive).toBeLessThanOrEqual(13)
      expect(await kube.replicaSets(NS, 'web')).toHaveLength(2)

      sampler.resetBounds()
      const t1 = Date.now()
      expect(await kube.kc(['rollout', 'undo', 'deployment/web', '-n', NS])).toBe(
        'deployment.apps/web rolled back\n',
      )
      await kube.rolloutStatus(NS, 'web')
      const pods = await kube.settled(NS, 'web', 10, 30_000, 'nginx:1.27')
      console.log(
        `rollout undo: ${seconds(Date.now() - t1)}; fewest ready ${sampler.minReady}, most pods ${sampler.maxActive}, largest replica sum ${sampler.maxReplicaSum}`,
      )
      expect(sampler.minReady).toBeGreaterThanOrEqual(8)
      expect(sampler.maxReplicaSum).toBeLessThanOrEqual(13)
      const image = await kube.kc([
        'get',
        'deployment/web',
        '-n',
        NS,
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ])
      expect(image).toBe('nginx:1.27')
      // Back on the first ReplicaSet (revision 3 now), the 1.28 one at 0.
      const sets = await kube.replicaSets(NS, 'web')
      expect(sets.map((r) => [r.spec.template.spec.containers[0]?.image, r.spec.replicas]).sort()).toEqual([
        ['nginx:1.27', 10],
        ['nginx:1.28', 0],
      ])
      const current = sets.find((r) => r.spec.replicas === 10)?.metadata.name
      expect(pods.every((p) => controllerOf(p) === current)).toBe(true)
    } finally {
      await sampler.stop()
    }
  }, 120_000)

  it('deleting the Deployment removes its ReplicaSets and pods; foreground deletion completes', async () => {
    const t0 = Date.now()
    expect(await kube.kc(['delete', 'deployment', 'web', '-n', NS])).toBe('deployment.apps "web" deleted\n')
    await until(
      'web ReplicaSets and pods gone',
      async () =>
        (await kube.replicaSets(NS, 'web')).length === 0 && (await kube.pods(NS, 'web')).length === 0
          ? true
          : undefined,
      30_000,
      300,
    )
    console.log(
      `Deployment deleted (background): ReplicaSets and pods gone after ${seconds(Date.now() - t0)}`,
    )

    // Foreground: kubectl waits for the Deployment itself, which goes only after its dependents.
    await kube.apply('fg', [deployment(NS, 'fg', { replicas: 3 })])
    await kube.rolloutStatus(NS, 'fg')
    await kube.settled(NS, 'fg', 3)
    const t1 = Date.now()
    expect(await kube.kc(['delete', 'deployment', 'fg', '-n', NS, '--cascade=foreground'])).toBe(
      'deployment.apps "fg" deleted\n',
    )
    const fgS = Date.now() - t1
    expect((await cluster.k(['get', 'deployment', 'fg', '-n', NS])).stderr).toMatch(/NotFound/)
    expect(await kube.replicaSets(NS, 'fg')).toEqual([])
    expect(await kube.pods(NS, 'fg')).toEqual([])
    console.log(`kubectl delete --cascade=foreground returned after ${seconds(fgS)}, nothing left`)
  }, 120_000)

  it('kubectl delete -f of a file with a Namespace and objects in it returns once everything is gone', async () => {
    // The Namespace first, as a file must have it for `kubectl apply -f` to create what is in it.
    const configMaps = Array.from({ length: 8 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `settings-${i + 1}`, namespace: 'doomed' },
      data: { a: '1' },
    }))
    const file = kube.file('doomed', [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } },
      deployment('doomed', 'app', { replicas: 2 }),
      service('doomed', 'app'),
      ...configMaps,
    ])
    await kube.kc(['apply', '-f', file])
    await kube.rolloutStatus('doomed', 'app')
    await kube.settled('doomed', 'app', 2)
    const sa = await cluster.get<{ metadata: { name: string } }>(
      '/api/v1/namespaces/doomed/serviceaccounts/default',
    )
    expect(sa.metadata.name).toBe('default')
    const t0 = Date.now()
    const r = await cluster.k(['delete', '-f', file], 60_000)
    const nsMs = Date.now() - t0
    console.log(
      `kubectl delete -f (Namespace, Deployment, Service, 8 ConfigMaps) exited ${r.code} after ${seconds(nsMs)}:\n${r.stdout}${r.stderr}`,
    )
    expect(r.stdout).toContain('namespace "doomed" deleted\n')
    // kubectl deletes the file's objects one after the other, the Namespace first, then waits for
    // them all. kube's namespace controller starts emptying a Terminating namespace only
    // namespaceDeletionGracePeriod (5 s) after the event (pkg/controller/namespace/namespace_controller.go,
    // enqueueNamespace: queue.AddAfter), so kubectl deletes the rest itself, waits and exits 0. A
    // controller that empties it at once wins the race for some objects: kubectl gets NotFound, exits 1
    // without waiting.
    expect(r.stderr, 'the namespace controller must wait its 5 s grace before emptying it').not.toMatch(
      /NotFound/,
    )
    expect(r.code).toBe(0)
    // kubectl returned: nothing of the namespace is left.
    expect((await cluster.k(['get', 'namespace', 'doomed'])).stderr).toMatch(/NotFound/)
    expect(await kube.pods('doomed')).toEqual([])
    expect(nsMs).toBeLessThan(30_000)
    console.log(`namespace doomed gone ${seconds(Date.now() - t0)} after kubectl delete -f started`)
  }, 90_000)

  it('SIGKILL of the active controller-manager during a rollout: a standby takes over within lease + 2.2 × retry and the rollout completes without a pod created twice', async () => {
    const sampler = new RolloutSampler(cluster.lb, NS, 'roll')
    await sampler.start()
    try {
      // minReadySeconds stretches the rollout over several rounds, so the kill lands in its middle.
      await kube.apply('roll', [deployment(NS, 'roll', { replicas: 10, minReadySeconds: 2 })])
      await kube.rolloutStatus(NS, 'roll')
      const before = await kube.settled(NS, 'roll', 10)
      const oldRs = controllerOf(before[0] as Pod)
      const record = await cluster.lock('kube-controller-manager')
      const oldId = record?.holderIdentity as string
      const oldHost = oldId.split('_')[0] as string
      expect(MASTERS).toContain(oldHost)

      sampler.resetBounds()
      const t0 = Date.now()
      await kube.kc(['set', 'image', 'deployment/roll', '-n', NS, 'nginx=nginx:1.28'])
      // Mid-rollout: the new ReplicaSet has pods, the old one still has most of its own.
      await until(
        'the new ReplicaSet has pods',
        async () => ((await kube.pods(NS, 'roll')).some((p) => controllerOf(p) !== oldRs) ? true : undefined),
        20_000,
        100,
      )
      expect((await cluster.run('kill', `${oldHost}/controller-manager`)).trim()).toBe(
        `${oldHost}/controller-manager: controller-manager restarting`,
      )
      const killedAt = Date.now()
      const after = await until(
        'a new controller-manager leader',
        async () => {
          const r = await cluster.lock('kube-controller-manager').catch(() => undefined)
          return r !== undefined && r.holderIdentity !== '' && r.holderIdentity !== oldId ? r : undefined
        },
        30_000,
        100,
      )
      const takeoverS = (Date.now() - killedAt) / 1000
      expect(await kube.rolloutStatus(NS, 'roll')).toMatch(/successfully rolled out\n$/)
      const rolloutMs = Date.now() - t0
      const pods = await kube.settled(NS, 'roll', 10, 30_000, 'nginx:1.28')
      const newRs = controllerOf(pods[0] as Pod)
      console.log(
        `controller-manager leader ${oldId} SIGKILLed ${seconds(killedAt - t0)} into the rollout: ${after.holderIdentity} took over after ${takeoverS.toFixed(1)} s (bound ${TAKEOVER_BOUND_S} s); rollout complete after ${seconds(rolloutMs)}; fewest ready ${sampler.minReady}, most pods ${sampler.maxActive}, largest replica sum ${sampler.maxReplicaSum}`,
      )
      expect(after.leaderTransitions).toBe((record?.leaderTransitions ?? 0) + 1)
      expect(takeoverS).toBeLessThanOrEqual(TAKEOVER_BOUND_S + SLACK_S)
      expect(sampler.minReady).toBeGreaterThanOrEqual(8)
      expect(sampler.maxReplicaSum).toBeLessThanOrEqual(13)

      // Every ReplicaSet created exactly its replicas over the whole run: no pod created twice.
      const created = sampler.createdByReplicaSet()
      const counts = Object.fromEntries([...created].map(([rs, ps]) => [rs, ps.length]))
      console.log(`pods created per ReplicaSet over the run: ${JSON.stringify(counts)}`)
      expect(counts).toEqual({ [oldRs]: 10, [newRs]: 10 })
      // Who acted: each new pod's creator (its managedFields manager) was leading when it was made.
      const byManager = new Map<string, number>()
      for (const p of created.get(newRs) ?? []) {
        const manager = p.metadata.managedFields?.find((f) => f.operation === 'Update')?.manager ?? ''
        byManager.set(manager, (byManager.get(manager) ?? 0) + 1)
        const at = Date.parse(p.metadata.creationTimestamp ?? '')
        if (manager.endsWith(oldId)) expect(at).toBeLessThanOrEqual(killedAt + 1000)
        else if (manager.endsWith(after.holderIdentity))
          expect(at).toBeGreaterThanOrEqual(Date.parse(after.acquireTime) - 1000)
      }
      console.log(`new ReplicaSet's pods by creator: ${JSON.stringify([...byManager])}`)
      for (const manager of byManager.keys())
        expect([
          `kube-controller-manager/${oldId}`,
          `kube-controller-manager/${after.holderIdentity}`,
        ]).toContain(manager)
    } finally {
      await sampler.stop()
    }
  }, 120_000)

  it('a failed node goes Unknown and tainted after the grace period, its pods are evicted after their toleration and recreated elsewhere; recovered, its taints go', async () => {
    await kube.apply('tol', [deployment(NS, 'tol', { replicas: 6, tolerationSeconds: TOLERATION_S })])
    await kube.rolloutStatus(NS, 'tol')
    const tol = await kube.settled(NS, 'tol', 6)
    const counts = byNode(tol)
    const node = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as string
    const onNode = tol.filter((p) => p.spec.nodeName === node)
    // Pods with the default tolerations (300 s, added by admission) stay put.
    const patient = (await kube.pods(NS, 'roll')).filter((p) => p.spec.nodeName === node)

    expect(await cluster.run('fail-node', node)).toMatch(
      new RegExp(`^${node} \\(on worker-\\d\\): heartbeat stopped`),
    )
    const t0 = Date.now()
    const tainted = await until(
      `${node} Unknown and tainted unreachable`,
      async () => {
        const n = await kube.node(node)
        const taint = n.spec.taints?.find(
          (t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute',
        )
        return readyCondition(n) === 'Unknown' && taint !== undefined ? { n, taint } : undefined
      },
      (GRACE_S + 15) * 1000,
      250,
    )
    const unknownMs = Date.now() - t0
    expect(tainted.n.spec.taints?.map((t) => `${t.key}:${t.effect}`).sort()).toEqual([
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/unreachable:NoSchedule',
    ])
    const evicted = await until(
      `the tol pods on ${node} evicted`,
      async () => {
        const pods = (await kube.pods(NS, 'tol')).filter((p) =>
          onNode.some((o) => o.metadata.uid === p.metadata.uid),
        )
        return pods.every((p) => !active(p)) ? Date.now() : undefined
      },
      (TOLERATION_S + 15) * 1000,
      250,
    )
    // From the taint's timeAdded (whole seconds, so at most 1 s early): the toleration runs from there.
    const taintedAt = Date.parse(tainted.taint.timeAdded ?? '')
    expect(Number.isNaN(taintedAt), 'the NoExecute taint has its timeAdded').toBe(false)
    const evictMs = evicted - taintedAt
    const replaced = await until(
      '6 active tol pods Running on other nodes',
      async () => {
        const pods = (await kube.pods(NS, 'tol')).filter(active)
        return pods.length === 6 &&
          pods.every((p) => p.spec.nodeName !== node && p.status?.phase === 'Running')
          ? pods
          : undefined
      },
      30_000,
      300,
    )
    const replacedMs = Date.now() - t0
    console.log(
      `fail-node ${node} (${onNode.length} tol pods, ${patient.length} roll pods): Unknown and tainted after ${seconds(unknownMs)} (grace ${GRACE_S} s, Lease renewed every ${NODE_RENEW_S} s), tol pods evicted ${seconds(evictMs)} after the taint's timeAdded (toleration ${TOLERATION_S} s), all 6 Running elsewhere after ${seconds(replacedMs)}`,
    )
    expect(unknownMs / 1000).toBeGreaterThanOrEqual(GRACE_S - NODE_RENEW_S - SLACK_S)
    expect(unknownMs / 1000).toBeLessThanOrEqual(GRACE_S + MONITOR_PERIOD_S + SLACK_S + 2)
    expect(evictMs / 1000).toBeGreaterThanOrEqual(TOLERATION_S - 0.5)
    expect(evictMs / 1000).toBeLessThanOrEqual(TOLERATION_S + 1 + SLACK_S + 2)
    expect(replaced.filter((p) => onNode.some((o) => o.metadata.uid === p.metadata.uid))).toEqual([])
    const stillThere = (await kube.pods(NS, 'roll')).filter((p) => p.spec.nodeName === node)
    expect(
      stillThere
        .filter(active)
        .map((p) => p.metadata.uid)
        .sort(),
    ).toEqual(uids(patient))

    expect(await cluster.run('recover-node', node)).toMatch(
      new RegExp(`^${node} \\(on worker-\\d\\): heartbeat resumed`),
    )
    const t1 = Date.now()
    await until(
      `${node} Ready again without taints`,
      async () => {
        const n: Node = await kube.node(node)
        return readyCondition(n) === 'True' && (n.spec.taints ?? []).length === 0 ? true : undefined
      },
      30_000,
      250,
    )
    const backMs = Date.now() - t1
    // Its simulated kubelet catches up: the evicted pods finish deleting.
    await kube.settled(NS, 'tol', 6, 30_000)
    console.log(
      `recover-node ${node}: Ready and untainted after ${seconds(backMs)}; evicted pods gone after ${seconds(Date.now() - t1)}`,
    )
  }, 120_000)

  it("a Service's Endpoints follow its pods as they come and go", async () => {
    await kube.apply('ep', [deployment(NS, 'ep', { replicas: 3, httpPort: true }), service(NS, 'ep')])
    interface Endpoints {
      subsets?: Array<{
        addresses?: Array<{ ip: string; targetRef?: { name: string } }>
        notReadyAddresses?: Array<{ ip: string }>
        ports?: Array<{ name?: string; port: number }>
      }>
    }
    const follows = async (count: number, what: string): Promise<string[]> => {
      const t0 = Date.now()
      const ips = await until(
        `Endpoints ep with the ${count} ready pods' addresses (${what})`,
        async () => {
          const pods = (await kube.pods(NS, 'ep')).filter(
            (p) => active(p) && p.status?.phase === 'Running' && (p.status.podIP ?? '') !== '',
          )
          const ep = await cluster
            .get<Endpoints>(`/api/v1/namespaces/${NS}/endpoints/ep`)
            .catch(() => undefined)
          const addresses = (ep?.subsets ?? [])
            .flatMap((s) => (s.addresses ?? []).map((a) => `${a.ip} ${a.targetRef?.name}`))
            .sort()
          const want = pods.map((p) => `${p.status?.podIP} ${p.metadata.name}`).sort()
          return pods.length === count && JSON.stringify(addresses) === JSON.stringify(want)
            ? { ep, want }
            : undefined
        },
        30_000,
        250,
      )
      expect(ips.ep?.subsets?.map((s) => s.ports)).toEqual([[{ name: 'web', port: 8080, protocol: 'TCP' }]])
      console.log(`Endpoints follow (${what}): ${count} addresses after ${seconds(Date.now() - t0)}`)
      return ips.want
    }
    const three = await follows(3, 'created')
    await kube.kc(['scale', 'deployment/ep', '-n', NS, '--replicas=5'])
    const five = await follows(5, 'scaled up to 5')
    expect(five).toEqual(expect.arrayContaining(three))
    await kube.kc(['scale', 'deployment/ep', '-n', NS, '--replicas=2'])
    const two = await follows(2, 'scaled down to 2')
    // Entries are `IP POD`: a replacement may get the freed IP on the same node, never the name.
    const victim = (two[0] as string).split(' ')[1] as string
    await kube.kc(['delete', 'pod', victim, '-n', NS])
    const replaced = await follows(2, `pod ${victim} deleted`)
    expect(replaced).not.toContain(two[0])
    expect(replaced).toContain(two[1])
  }, 90_000)

  /** The pods running before the masters were stopped. */
  let before: Pod[] = []

  it('with every master stopped the pods keep running on the workers', async () => {
    before = (await kube.pods(NS)).filter(active)
    expect(before.length).toBe(10 + 6 + 2)
    const t0 = Date.now()
    await cluster.run('stop', ...MASTERS, '--grace-period=3')
    const stoppedMs = Date.now() - t0
    const ready = await fetch(`${cluster.lb}/readyz`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.status,
      () => 0,
    )
    expect(ready, 'the api answers with every master stopped').not.toBe(200)
    await sleep(3000)
    // No api-server: ask each worker's simulated kubelet what it runs.
    const running: Pod[] = []
    for (const w of WORKERS) {
      const list = (await (
        await fetch(`http://${w}:10250/pods`, { signal: AbortSignal.timeout(5000) })
      ).json()) as { items: Pod[] }
      running.push(...list.items.filter((p) => p.metadata.namespace === NS))
    }
    console.log(
      `all masters stopped in ${seconds(stoppedMs)}; the workers run ${running.length} pods of ${NS}, by node ${JSON.stringify(Object.fromEntries(byNode(running)))}`,
    )
    expect(uids(running.filter((p) => p.status?.phase === 'Running'))).toEqual(uids(before))
  }, 60_000)

  it('one master back has no store quorum: nothing resumes; two masters back, the control plane resumes and reconciles', async () => {
    expect(before).toHaveLength(18)
    // master-1 alone: one store member of three. Neither its api-server nor the balancer gets ready.
    await cluster.run('start', 'master-1')
    const statuses = new Set<string>()
    for (let i = 0; i < 8; i++) {
      const [direct, lb] = await Promise.all(
        ['http://127.0.2.181:6443', cluster.lb].map((base) =>
          fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
            (r) => String(r.status),
            () => 'no answer',
          ),
        ),
      )
      statuses.add(`master-1 ${direct}, balancer ${lb}`)
      expect(direct, "master-1's api-server ready without a store quorum").not.toBe('200')
      expect(lb, 'the balancer ready without a store quorum').not.toBe('200')
      await sleep(1000)
    }
    console.log(`master-1 alone, /readyz over 8 s: ${[...statuses].join('; ')}`)

    // The second member restores the quorum.
    const t1 = Date.now()
    await cluster.run('start', 'master-2')
    await until(
      'readyz through the balancer',
      async () =>
        (await fetch(`${cluster.lb}/readyz`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined))
          ?.status === 200
          ? true
          : undefined,
      60_000,
      500,
    )
    const apiMs = Date.now() - t1
    const leader = await until(
      'a controller-manager leader on master-1 or master-2',
      async () => {
        const r = await cluster.lock('kube-controller-manager').catch(() => undefined)
        const host = r?.holderIdentity.split('_')[0] ?? ''
        return ['master-1', 'master-2'].includes(host) &&
          Date.now() - Date.parse(r?.renewTime ?? '') < LEASE_S * 1000
          ? r
          : undefined
      },
      40_000,
      300,
    )
    const cmMs = Date.now() - t1
    // A change made now is carried out: two more roll pods, the 18 others untouched.
    await kube.kc(['scale', 'deployment/roll', '-n', NS, '--replicas=12'])
    await until(
      '12 roll pods created',
      async () => ((await kube.pods(NS, 'roll')).length === 12 ? true : undefined),
      40_000,
      300,
    )
    const createdMs = Date.now() - t1
    await until(
      '12 roll pods bound',
      async () =>
        (await kube.pods(NS, 'roll')).every((p) => (p.spec.nodeName ?? '') !== '') ? true : undefined,
      40_000,
      300,
    )
    const boundMs = Date.now() - t1
    const roll = await kube.settled(NS, 'roll', 12, 40_000)
    const reconciledMs = Date.now() - t1
    const after = (await kube.pods(NS)).filter(active)
    console.log(
      `two masters back: api ready after ${seconds(apiMs)}, controller-manager leader ${leader.holderIdentity} after ${seconds(cmMs)}, scale of roll to 12: pods created after ${seconds(createdMs)}, bound after ${seconds(boundMs)}, Running after ${seconds(reconciledMs)}`,
    )
    expect(roll.filter((p) => !before.some((b) => b.metadata.uid === p.metadata.uid))).toHaveLength(2)
    expect(uids(after.filter((p) => before.some((b) => b.metadata.uid === p.metadata.uid)))).toEqual(
      uids(before),
    )
    expect(after).toHaveLength(20)
  }, 90_000)
})
