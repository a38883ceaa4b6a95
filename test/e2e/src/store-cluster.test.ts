import {
  etcdctl,
  findLeader,
  requireTool,
  type StoreMember,
  StoreProcessCluster,
  sleep,
} from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Goal: a real 3-member hakube-store cluster (three processes, each on its own 127.0.1.x host) behaves
// for the unmodified etcdctl like an etcd cluster, and survives losing its leader without losing an
// acknowledged write. Method: drive it only through etcdctl and signals, as a user would.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }

describe('a 3-member hakube-store cluster driven by etcdctl', () => {
  let cluster: StoreProcessCluster
  let all: string

  const endpointsOf = (ms: readonly StoreMember[]): string => ms.map((m) => m.endpoint).join(',')
  const at = (m: StoreMember, ...args: string[]) => etcdctl([`--endpoints=${m.clientUrl}`, ...args])
  const logs = (): string =>
    cluster.members.map((m) => `--- ${m.name}\n${m.output.join('').slice(-3000)}`).join('\n')

  async function waitForLeader(endpoints: readonly string[], timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const leader = await findLeader(endpoints)
      if (leader !== undefined) return leader
      await sleep(50)
    }
    throw new Error(`no leader among ${endpoints.join(',')} within ${timeoutMs} ms\n${logs()}`)
  }

  beforeAll(async () => {
    requireTool('etcdctl')
    cluster = new StoreProcessCluster(3, 20, TIMING)
    all = endpointsOf(cluster.members)
    cluster.startAll()
    await waitForLeader(
      cluster.members.map((m) => m.endpoint),
      20_000,
    )
  })

  afterAll(() => {
    cluster?.destroy()
  })

  it('reads and writes through any member; lists members; reports exactly one leader; is healthy', async () => {
    const [m1, m2, m3] = cluster.members as [StoreMember, StoreMember, StoreMember]
    expect((await at(m1, 'put', 'name', 'john')).stdout.trim()).toBe('OK')
    expect((await at(m3, 'get', 'name')).stdout.trim().split('\n')).toEqual(['name', 'john'])
    expect((await at(m2, 'put', '/registry/a', '1')).code).toBe(0)
    expect((await at(m2, 'put', '/registry/b', '2')).code).toBe(0)
    expect(
      (await at(m1, 'get', '/registry', '--prefix', '--keys-only')).stdout.split('\n').filter(Boolean),
    ).toEqual(['/registry/a', '/registry/b'])

    const members = await at(m2, 'member', 'list', '-w', 'table')
    for (const m of cluster.members)
      expect(members.stdout).toMatch(new RegExp(`started \\|\\s+${m.name} \\|`))

    const status = await etcdctl([`--endpoints=${all}`, 'endpoint', 'status'])
    expect(status.code, status.stderr).toBe(0)
    const leaders = status.stdout
      .split('\n')
      .filter(Boolean)
      .filter((l) => l.split(', ')[4] === 'true')
    expect(leaders).toHaveLength(1)

    // `--cluster` probes the client URLs each member published through Raft after it started; wait until
    // m1 has applied all three publications (as with etcd), then every member must answer healthy.
    let healthy = 0
    let last = ''
    const deadline = Date.now() + 10_000
    while (healthy < 3 && Date.now() < deadline) {
      const health = await at(m1, 'endpoint', 'health', '--cluster')
      // etcdctl 3.4 prints each endpoint's verdict on stderr.
      last = `${health.stdout}${health.stderr}`
      healthy = health.code === 0 ? (last.match(/is healthy/g) ?? []).length : 0
      if (healthy < 3) await sleep(200)
    }
    expect(healthy, last).toBe(3)

    // etcdctl dials the members' published http:// client URLs here (":authority" carries the scheme).
    const table = await at(m2, 'endpoint', 'status', '--cluster', '-w', 'table')
    expect(table.code, table.stderr).toBe(0)
    const rows = table.stdout.split('\n').filter((l) => /^\| http:\/\/127\.0\.1\./.test(l))
    expect(rows).toHaveLength(3)
    expect(rows.filter((r) => r.split('|')[5]?.trim() === 'true')).toHaveLength(1)
  })

  it('serves Prometheus metrics under etcd names on every client URL: one leader, all see it', async () => {
    const texts = await Promise.all(
      cluster.members.map(async (m) => (await fetch(`${m.clientUrl}/metrics`)).text()),
    )
    const metric = (text: string, name: string): number =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${name} `))
          ?.split(' ')[1],
      )
    expect(texts.map((t) => metric(t, 'etcd_server_has_leader'))).toEqual([1, 1, 1])
    expect(texts.map((t) => metric(t, 'etcd_server_is_leader')).sort()).toEqual([0, 0, 1])
    for (const t of texts) {
      expect(metric(t, 'etcd_server_proposals_applied_total')).toBeGreaterThan(0)
      expect(metric(t, 'etcd_disk_wal_fsync_duration_seconds_count')).toBeGreaterThan(0)
    }
  })

  it('a watch on one member sees a put made through another', async () => {
    const [, m2, m3] = cluster.members as [StoreMember, StoreMember, StoreMember]
    const { spawn } = await import('node:child_process')
    const watch = spawn('etcdctl', [`--endpoints=${m2.clientUrl}`, 'watch', '/w/', '--prefix'], {
      env: { ...process.env, ETCDCTL_API: '3' },
    })
    try {
      let out = ''
      watch.stdout.on('data', (b: Buffer) => {
        out += b.toString()
      })
      await sleep(500)
      expect((await at(m3, 'put', '/w/x', 'seen')).code).toBe(0)
      const deadline = Date.now() + 5000
      while (!out.includes('seen') && Date.now() < deadline) await sleep(50)
      expect(out.split('\n').filter(Boolean)).toEqual(['PUT', '/w/x', 'seen'])
    } finally {
      watch.kill('SIGKILL')
    }
  })

  it('SIGKILL of the leader under writes: a new leader within two election timeouts, no acknowledged write lost, the old leader catches up', async () => {
    const leaderEndpoint = await waitForLeader(
      cluster.members.map((m) => m.endpoint),
      5000,
    )
    const leader = cluster.members.find((m) => m.endpoint === leaderEndpoint)!
    const others = cluster.members.filter((m) => m !== leader)

    // A closed-loop writer through the surviving members; each put acknowledged with OK is recorded.
    const acked: string[] = []
    let writing = true
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const r = await etcdctl([
          `--endpoints=${endpointsOf(others)}`,
          '--command-timeout=2s',
          'put',
          `/load/${i}`,
          `v${i}`,
        ])
        if (r.code === 0 && r.stdout.trim() === 'OK') acked.push(`/load/${i}`)
      }
    })()
    await sleep(500)
    const ackedBeforeKill = acked.length
    const killedAt = Date.now()
    cluster.kill(leader)
    const newLeader = await waitForLeader(
      others.map((m) => m.endpoint),
      4 * TIMING.electionMs,
    )
    const failoverMs = Date.now() - killedAt
    expect(newLeader).not.toBe(leaderEndpoint)
    // Two election timeouts, plus the polling interval and one etcdctl round trip of slack.
    expect(failoverMs).toBeLessThan(2 * TIMING.electionMs + 500)
    // Writes resume: a put in flight when the leader died can only time out (its forwarded proposal was
    // lost with the leader, as with etcd), so allow a few command timeouts for the next one to land.
    const ackedAtFailover = acked.length
    const resumeDeadline = Date.now() + 3 * 2000 + 1000
    while (acked.length <= Math.max(ackedBeforeKill, ackedAtFailover) && Date.now() < resumeDeadline)
      await sleep(100)
    writing = false
    await writer
    expect(acked.length).toBeGreaterThan(Math.max(ackedBeforeKill, ackedAtFailover)) // writes resumed

    cluster.start(leader)
    // Every acknowledged write is on every member, including the restarted one (serializable reads
    // show what each member itself has applied).
    for (const m of cluster.members) {
      const deadline = Date.now() + 10_000
      let keys: string[] = []
      while (Date.now() < deadline) {
        const r = await at(m, 'get', '/load/', '--prefix', '--keys-only', '--consistency=s')
        keys = r.stdout.split('\n').filter(Boolean)
        if (acked.every((k) => keys.includes(k))) break
        await sleep(200)
      }
      expect(
        acked.filter((k) => !keys.includes(k)),
        `${m.name} misses acknowledged writes`,
      ).toEqual([])
    }
  })

  it('SIGTERM of the leader: it hands leadership over and exits 0', async () => {
    const leaderEndpoint = await waitForLeader(
      cluster.members.map((m) => m.endpoint),
      5000,
    )
    const leader = cluster.members.find((m) => m.endpoint === leaderEndpoint)!
    const code = await cluster.terminate(leader, 10_000)
    expect(code).toBe(0)
    const others = cluster.members.filter((m) => m !== leader)
    const next = await waitForLeader(
      others.map((m) => m.endpoint),
      2 * TIMING.electionMs,
    )
    expect(next).not.toBe(leaderEndpoint)
    expect((await at(others[0]!, 'put', 'after-term', 'ok')).stdout.trim()).toBe('OK')
  })
})
