import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  endpointStatus,
  etcdctl,
  HaCluster,
  kubectlProbe,
  leaderSeen,
  type Probe,
  probeLoop,
  put,
  seconds,
  sleep,
  timeline,
  until,
} from './harness.js'

// Goal (issue 12, section 3): with the store on hosts of its own (external-etcd), losing a store
// member costs kubectl reads through the balancer nothing beyond the election window, losing a master
// host leaves the store untouched and costs kubectl at most one retry, and losing two of the three
// store members stops writes with the api-server's Timeout error and shows the quorum lost until one
// member returns. Method: `hakube up --topology external-etcd --masters 2 --etcd 3` (masters on
// 127.0.1.15-16, store members on 127.0.1.17-19, balancer on 127.0.1.35:6443), faults with `hakube
// kill`/`start`, kubectl through the balancer and etcdctl at the members.

describe('external-etcd, 2 masters and 3 store members', () => {
  const cluster = new HaCluster({
    topology: 'external-etcd',
    masters: 2,
    etcd: 3,
    firstAddress: '127.0.1.15',
    lbHost: '127.0.1.35',
  })
  const endpoints = (): string[] => [...cluster.endpoints().values()]
  const failedOf = (ps: readonly Probe[]) => ps.filter((p) => !p.ok)

  /** Waits until every member answers etcdctl with the same raft index and the cluster is healthy. */
  async function caughtUp(): Promise<number> {
    const rows = await until(
      'every member at the same raft index',
      async () => {
        const rows = await endpointStatus(endpoints())
        return rows.length === 3 && new Set(rows.map((r) => r.raftIndex)).size === 1 ? rows : undefined
      },
      90_000,
      300,
    )
    await cluster.statusUntil('healthy', (s) => cluster.healthy(s))
    return rows[0]!.raftIndex
  }

  beforeAll(async () => {
    await cluster.up()
    const seed = await cluster.k(['create', 'configmap', 'ha-seed', '--from-literal=k=v'])
    if (seed.code !== 0) throw new Error(seed.stderr)
    console.log(
      `[ha] hakube up (external-etcd, 2 masters + 3 store members, hakube-store) healthy in ${cluster.upSeconds.toFixed(1)} s`,
    )
  }, 200_000)
  afterAll(async () => {
    await cluster.destroy()
  }, 200_000)

  it('a killed store member (the leader) fails no kubectl read beyond the election window', async () => {
    const s = await cluster.statusUntil('healthy', (x) => cluster.healthy(x))
    const victim = s.storeMembers.find((m) => m.isLeader)!.name
    const survivors = [...cluster.endpoints()].filter(([n]) => n !== victim).map(([, e]) => e)
    const reads = probeLoop(200, 3, () =>
      kubectlProbe(cluster, ['get', 'configmap', 'ha-seed', '-o', 'jsonpath={.data.k}'], (o) => o === 'v'),
    )
    await sleep(1500)
    const killedAt = await cluster.kill(victim)
    const [electedAt] = await Promise.all([leaderSeen(survivors), sleep(8000)])
    const probes = await reads.stop()
    const window = electedAt - killedAt
    const failed = failedOf(probes)
    // A read that failed was sent before the new leader was there (the election window).
    const late = failed.filter((p) => p.sent > electedAt)
    const slowest = Math.max(...probes.filter((p) => p.sent >= killedAt).map((p) => p.answered - p.sent))
    console.log(
      `[ha] external-etcd, store leader ${victim} killed: election window ${seconds(window)} (new leader seen by etcdctl); ` +
        `${failed.length}/${probes.length} kubectl reads through the balancer failed, ${late.length} after the window; slowest read ${seconds(slowest)}\n` +
        `[ha]   reads (sent+duration s from the kill, ! failed): ${timeline(probes, killedAt)}`,
    )
    expect(late.map((p) => p.output)).toEqual([])

    await cluster.run('start', victim)
    const index = await caughtUp()
    console.log(`[ha]   ${victim} back and caught up at raft index ${index}`)
  }, 200_000)

  it('a killed master host leaves the store untouched, and kubectl never needs more than one retry', async () => {
    await cluster.statusUntil('healthy', (x) => cluster.healthy(x))
    const retried: string[] = []
    /** A kubectl run retried once on failure, as a client would; ok if either attempt worked. */
    const withOneRetry = async (what: string, args: string[], check?: (o: string) => boolean) => {
      const first = await kubectlProbe(cluster, args, check)
      if (first.ok) return first
      retried.push(`${what}: ${first.output}`)
      const second = await kubectlProbe(cluster, args, check)
      return { ...second, sentAt: first.sentAt ?? second.sentAt }
    }
    const reads = probeLoop(250, 2, () =>
      withOneRetry('read', ['get', 'configmap', 'ha-seed', '-o', 'jsonpath={.data.k}'], (o) => o === 'v'),
    )
    const writes = probeLoop(250, 2, (i) =>
      withOneRetry('write', ['create', 'configmap', `ha-m-${i}`, `--from-literal=n=${i}`]),
    )
    await sleep(1500)
    const killedAt = await cluster.kill('master-1')
    const health = await etcdctl([`--endpoints=${endpoints().join(',')}`, 'endpoint', 'health'])
    const rows = await endpointStatus(endpoints())
    await sleep(6000)
    const [readProbes, writeProbes] = await Promise.all([reads.stop(), writes.stop()])
    console.log(
      `[ha] external-etcd, master-1 killed: etcdctl endpoint health ${health.code === 0 ? 'all 3 healthy' : 'FAILED'}, ` +
        `${rows.filter((r) => r.isLeader).length} leader, same term as before; kubectl through the balancer: ` +
        `${readProbes.length} reads and ${writeProbes.length} writes, ${retried.length} needed a retry, ` +
        `${failedOf(readProbes).length + failedOf(writeProbes).length} failed after one retry\n` +
        `[ha]   reads: ${timeline(readProbes, killedAt)}\n[ha]   writes: ${timeline(writeProbes, killedAt)}`,
    )
    // etcdctl 3.4 prints each endpoint's verdict on stderr.
    expect(health.code, health.stderr).toBe(0)
    expect(health.stderr.match(/is healthy/g)).toHaveLength(3)
    expect(rows).toHaveLength(3)
    expect(failedOf(readProbes).map((p) => p.output)).toEqual([])
    expect(failedOf(writeProbes).map((p) => p.output)).toEqual([])

    await cluster.run('start', 'master-1')
    await cluster.statusUntil('healthy', (x) => cluster.healthy(x))
  }, 200_000)

  it("two of three store members down: writes fail with the api-server's Timeout, status shows quorum lost, one member back recovers all", async () => {
    const s = await cluster.statusUntil('healthy', (x) => cluster.healthy(x))
    const [a, b, c] = s.storeMembers.map((m) => m.name) as [string, string, string]
    // Writes from before the second member dies until the balancer has taken every api-server out:
    // those that reach an api-server wait for a store that cannot commit, until the api-server's
    // request timeout (60 s), and get its Timeout; once the api-servers report not ready (their store
    // check fails) the balancer answers 503 itself, which kubectl retries (Retry-After) and reports.
    const writes = probeLoop(150, 30, (i) =>
      kubectlProbe(
        cluster,
        ['create', 'configmap', `ha-nq-${i}`, `--from-literal=n=${i}`],
        undefined,
        150_000,
      ),
    )
    await cluster.kill(a)
    const killedAt = await cluster.kill(b)

    const lost = await cluster.statusUntil('quorum lost', (x) => !x.quorum.hasQuorum, 30_000)
    expect(lost.quorum).toMatchObject({
      members: 3,
      quorum: 2,
      hasQuorum: false,
      moreMayFail: 0,
      leader: null,
    })
    expect(lost.hosts.filter((h) => h.state === 'down').map((h) => h.name)).toEqual([a, b])
    expect(await cluster.run('status')).toMatch(/QUORUM LOST: [01] of 3 healthy, 2 needed/)
    const survivor = cluster.endpoints().get(c)!
    const refused = await put(survivor, '/ha/no-quorum', 'x')
    expect(refused.ok, refused.output).toBe(false)
    const out = await cluster.statusUntil(
      'every api-server not ready',
      (x) =>
        x.apiServers.every((api) => !api.ready) && x.balancer.backends.every((bk) => bk.state === 'down'),
      30_000,
    )
    expect(out.quorum.hasQuorum).toBe(false)
    await sleep(1500)
    const probes = (await writes.stop()).filter((p) => p.sent >= killedAt)
    const timeout = /^POST \S+\/configmaps\S* 504 Gateway Timeout in (\d+) milliseconds$/
    const timedOut = probes.filter((p) => !p.ok && timeout.test(p.lastAnswer))
    const balancer = probes.filter((p) => !p.ok && / 503 Service Unavailable /.test(p.lastAnswer))
    const detail = probes.map((p) => `${p.ok ? 'ok' : 'failed'} ${p.lastAnswer}\n${p.output}`).join('\n')
    expect(
      probes.filter((p) => p.ok).map((p) => p.lastAnswer),
      detail,
    ).toEqual([])
    expect(timedOut.length + balancer.length, detail).toBe(probes.length)
    expect(timedOut.length, detail).toBeGreaterThan(0)
    for (const p of timedOut)
      expect(p.output).toContain(
        'Timeout: request did not complete within requested timeout - context deadline exceeded',
      )
    const timeoutMs = Number(timeout.exec(timedOut[0]!.lastAnswer)![1])

    // One member back: quorum (2 of 3) again, the api-servers ready, kubectl writes through.
    const startedAt = Date.now()
    await cluster.run('start', a)
    const after = probeLoop(300, 2, (i) =>
      kubectlProbe(cluster, ['create', 'configmap', `ha-q-${i}`, `--from-literal=n=${i}`]),
    )
    const back = await cluster.statusUntil(
      'quorum and a ready api-server behind the balancer',
      (x) => x.quorum.hasQuorum && x.balancer.backends.some((bk) => bk.state === 'up'),
      90_000,
    )
    expect(back.quorum).toMatchObject({ healthy: 2, hasQuorum: true, moreMayFail: 0 })
    await sleep(3000)
    const firstOk = (await after.stop()).filter((p) => p.ok).sort((x, y) => x.answered - y.answered)[0]
    console.log(
      `[ha] external-etcd, ${a} and ${b} killed (quorum lost): of ${probes.length} kubectl writes, ${timedOut.length} reached an api-server and got its 504 Timeout ` +
        `after ${seconds(timeoutMs)} (its --request-timeout), ${balancer.length} got the balancer's 503 (no api-server ready); status: QUORUM LOST; ` +
        `after hakube start ${a}, the first kubectl write went through ${firstOk === undefined ? 'never' : seconds(firstOk.answered - startedAt)} after the start ` +
        `(killed at ${seconds(startedAt - killedAt)})\n` +
        `[ha]   writes (sent+duration s from the second kill, ! failed): ${timeline(probes, killedAt, 0, 10_000)}`,
    )
    expect(firstOk).toBeDefined()

    await cluster.run('start', b)
    await caughtUp()
  }, 300_000)
})
