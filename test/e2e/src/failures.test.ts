import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  etcdctl,
  findLeader,
  memberLogs,
  requireTool,
  type StoreMember,
  StoreProcessCluster,
  waitFor,
} from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Goal: a 3-member hakube-store cluster fails like etcd 3.4 when it loses its quorum and recovers when
// the quorum is back, without losing an acknowledged write; and a member that was down while the others
// compacted their logs comes back through a Raft snapshot. Method: real processes, SIGKILL, the real
// etcdctl. The expected error texts were taken from etcdctl 3.4.23 against a real etcd 3.4.23 cluster
// in the same situation.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }

const lines = (s: string): string[] => s.split('\n').filter(Boolean)

/** One row of `etcdctl endpoint status` (simple format). */
interface EndpointStatus {
  endpoint: string
  id: string
  isLeader: boolean
  raftIndex: number
  appliedIndex: number
  errors: string
}

async function endpointStatus(m: StoreMember): Promise<EndpointStatus | undefined> {
  const r = await etcdctl([`--endpoints=${m.clientUrl}`, '--command-timeout=2s', 'endpoint', 'status'])
  const cols = lines(r.stdout)[0]?.split(', ')
  if (r.code !== 0 || cols === undefined || cols.length < 10) return undefined
  return {
    endpoint: cols[0]!,
    id: cols[1]!,
    isLeader: cols[4] === 'true',
    raftIndex: Number(cols[7]),
    appliedIndex: Number(cols[8]),
    errors: cols.slice(9).join(', ').trim(),
  }
}

async function leaderOf(cluster: StoreProcessCluster, among: readonly StoreMember[]): Promise<StoreMember> {
  const endpoint = await waitFor(
    () => findLeader(among.map((m) => m.endpoint)),
    20_000,
    () => `no leader among ${among.map((m) => m.name).join(',')}\n${memberLogs(cluster)}`,
  )
  return among.find((m) => m.endpoint === endpoint)!
}

describe('losing two of three members', () => {
  let cluster: StoreProcessCluster
  const logs = (): string => memberLogs(cluster)
  const at = (m: StoreMember, ...args: string[]) => etcdctl([`--endpoints=${m.clientUrl}`, ...args])

  beforeAll(async () => {
    requireTool('etcdctl')
    cluster = new StoreProcessCluster(3, 55, TIMING)
    cluster.startAll()
    await leaderOf(cluster, cluster.members)
  })

  afterAll(() => {
    cluster?.destroy()
  })

  it('the survivor refuses writes and linearizable reads within the command timeout, serves serializable reads; one member back restores service with every acknowledged write', async () => {
    const acked: string[] = []
    for (let i = 0; i < 30; i++) {
      const m = cluster.members[i % 3]!
      const r = await at(m, 'put', `/ack/${String(i).padStart(2, '0')}`, `v${i}`)
      expect(r.stdout, `${r.stderr}\n${logs()}`).toBe('OK\n')
      acked.push(`/ack/${String(i).padStart(2, '0')}`)
    }

    // Kill the leader and one follower: the survivor is a follower that loses its leader and its quorum.
    const leader = await leaderOf(cluster, cluster.members)
    const survivor = cluster.members.find((m) => m !== leader)!
    const otherFollower = cluster.members.find((m) => m !== leader && m !== survivor)!
    cluster.kill(leader)
    cluster.kill(otherFollower)

    // etcd 3.4 holds a proposal while it has no leader and a ReadIndex without a quorum until the
    // request's deadline: with --command-timeout=5s etcdctl prints "Error: context deadline exceeded".
    for (const args of [
      ['put', '/during/outage', 'x'],
      ['get', '/ack/00'],
    ]) {
      const started = Date.now()
      const r = await at(survivor, '--command-timeout=5s', ...args)
      const tookMs = Date.now() - started
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).not.toBe(0)
      expect(r.stdout).toBe('')
      expect(r.stderr, `${args.join(' ')}\n${logs()}`).toContain('Error: context deadline exceeded')
      // Within the command timeout (plus starting etcdctl on a busy machine), not hanging beyond it.
      expect(tookMs).toBeLessThan(8000)
    }

    // A serializable read is answered from the survivor's own state: everything acknowledged.
    const local = await at(
      survivor,
      '--command-timeout=5s',
      'get',
      '/ack/',
      '--prefix',
      '--keys-only',
      '--consistency=s',
    )
    expect(local.code, local.stderr).toBe(0)
    expect(lines(local.stdout)).toEqual(acked)

    // As etcd 3.4, `endpoint status` still answers, with "etcdserver: no leader" in its errors column.
    const leaderless = await waitFor(
      async () => {
        const s = await endpointStatus(survivor)
        return s?.errors === 'etcdserver: no leader' ? s : undefined
      },
      10_000,
      () => `survivor never reported "no leader"\n${logs()}`,
      200,
    )
    expect(leaderless.isLeader).toBe(false)

    // One member back with its data dir: a quorum again. etcd needed ~0.3 s here; allow far more.
    const restartedAt = Date.now()
    cluster.start(leader)
    await waitFor(
      async () => {
        const r = await at(survivor, '--command-timeout=2s', 'put', '/after/restart', 'ok')
        return r.code === 0 && r.stdout === 'OK\n' ? true : undefined
      },
      20_000,
      () => `writes did not resume after restarting ${leader.name}\n${logs()}`,
      200,
    )
    expect(Date.now() - restartedAt).toBeLessThan(20_000)

    for (const m of [survivor, leader]) {
      const after = await at(m, '--command-timeout=5s', 'get', '/after/restart')
      expect(after.code, `${m.name}: ${after.stderr}\n${logs()}`).toBe(0)
      expect(lines(after.stdout)).toEqual(['/after/restart', 'ok'])
      const all = await at(m, '--command-timeout=5s', 'get', '/ack/', '--prefix', '--keys-only')
      expect(all.code, all.stderr).toBe(0)
      expect(lines(all.stdout), `${m.name} lost acknowledged writes`).toEqual(acked)
    }
    const status = await endpointStatus(survivor)
    expect(status?.errors).toBe('')
  }, 120_000)
})

/** Accumulates everything a member's process writes from now on (the cluster keeps only a tail). */
function collectOutput(m: StoreMember): { text: string } {
  const sink = { text: '' }
  const add = (b: Buffer): void => {
    sink.text += b.toString()
  }
  m.proc?.stdout?.on('data', add)
  m.proc?.stderr?.on('data', add)
  return sink
}

/** The fields of hakube-store's JSON log lines that these tests read. */
interface LogLine {
  msg: string
  index?: number
  compactIndex?: number
  to?: number
}

/** The complete JSON log lines of a member's output with the given message. */
function logLines(text: string, msg: string): LogLine[] {
  const out: LogLine[] = []
  for (const line of text.split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue
    try {
      out.push(JSON.parse(line) as LogLine)
    } catch {
      // a line still being written
    }
  }
  return out
}

describe('a member that missed more than the others keep in their logs rejoins by snapshot', () => {
  let cluster: StoreProcessCluster
  let perf: ChildProcess | undefined
  const logs = (): string => memberLogs(cluster)
  const at = (m: StoreMember, ...args: string[]) => etcdctl([`--endpoints=${m.clientUrl}`, ...args])

  beforeAll(async () => {
    requireTool('etcdctl')
    cluster = new StoreProcessCluster(3, 90, TIMING, ['--snapshot-count=100'])
    cluster.startAll()
    await leaderOf(cluster, cluster.members)
  })

  afterAll(() => {
    perf?.kill('SIGKILL')
    cluster?.destroy()
  })

  it("SIGKILL a follower, write past the survivors' log compaction, restart it: it installs a snapshot and catches up", async () => {
    const outputs = new Map(cluster.members.map((m) => [m, collectOutput(m)] as const))
    const leader = await leaderOf(cluster, cluster.members)
    const follower = cluster.members.find((m) => m !== leader)!
    const survivors = cluster.members.filter((m) => m !== follower)
    const survivorEndpoints = `--endpoints=${survivors.map((m) => m.clientUrl).join(',')}`
    const followerId = (await endpointStatus(follower))?.id
    expect(followerId, logs()).toBeDefined()

    for (let i = 0; i < 10; i++)
      expect((await at(leader, 'put', `/before/${i}`, `b${i}`)).stdout).toBe('OK\n')
    cluster.kill(follower)
    // The follower cannot hold an entry beyond what the survivors had when it died.
    const followerLast = Math.max(
      ...(await Promise.all(survivors.map(async (m) => (await endpointStatus(m))?.raftIndex ?? 0))),
    )

    // Load through the survivors until both have compacted their logs past everything the follower
    // has. They keep 5000 entries behind each snapshot for slow followers (etcd's
    // SnapshotCatchUpEntries), so this takes more than 5000 entries: `etcdctl check perf` writes ~1000
    // keys a second; it is stopped with SIGKILL once enough is written.
    perf = spawn('etcdctl', [survivorEndpoints, 'check', 'perf', '--load=m'], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let perfOut = ''
    perf.stdout?.on('data', (b: Buffer) => {
      perfOut += b.toString()
    })
    perf.stderr?.on('data', (b: Buffer) => {
      perfOut += b.toString()
    })
    const compactedPast = (m: StoreMember): boolean =>
      logLines(outputs.get(m)!.text, 'saved snapshot').some((l) => Number(l.compactIndex) > followerLast)
    await waitFor(
      async () => {
        if (survivors.every(compactedPast)) return true
        if (perf?.exitCode !== null)
          throw new Error(`etcdctl check perf exited ${perf?.exitCode}: ${perfOut.slice(-2000)}\n${logs()}`)
        return undefined
      },
      120_000,
      () => `the survivors did not compact past index ${followerLast}\n${logs()}`,
      200,
    )
    perf.kill('SIGKILL')
    perf = undefined

    // --snapshot-count=100 took effect: a snapshot once 100 entries were applied since the last one (the
    // check runs once per batch of entries), where etcd's default is 100 000.
    for (const m of survivors) {
      const saved = logLines(outputs.get(m)!.text, 'saved snapshot').map((l) => Number(l.index))
      expect(saved.length, `${m.name} snapshots: ${saved.join(',')}`).toBeGreaterThanOrEqual(10)
      expect(saved[0]).toBeLessThan(1000)
      for (let i = 1; i < saved.length; i++) expect(saved[i]! - saved[i - 1]!).toBeGreaterThanOrEqual(100)
      expect(readdirSync(join(m.dataDir, 'member', 'snap')).some((f) => f.endsWith('.snap'))).toBe(true)
    }

    for (let i = 0; i < 10; i++)
      expect((await etcdctl([survivorEndpoints, 'put', `/after/${i}`, `a${i}`])).stdout).toBe('OK\n')

    const restartedAt = Date.now()
    cluster.start(follower)
    const followerOut = collectOutput(follower)
    // The follower's own state (serializable reads) has the newest keys and the oldest ones.
    await waitFor(
      async () => {
        const r = await at(follower, 'get', '/after/', '--prefix', '--keys-only', '--consistency=s')
        return lines(r.stdout).length === 10 ? true : undefined
      },
      60_000,
      () => `${follower.name} did not catch up\n${followerOut.text.slice(-4000)}\n${logs()}`,
      250,
    )
    const catchUpMs = Date.now() - restartedAt
    const before = await at(follower, 'get', '/before/', '--prefix', '--consistency=s')
    expect(lines(before.stdout)).toEqual(
      Array.from({ length: 10 }, (_, i) => [`/before/${i}`, `b${i}`]).flat(),
    )

    // Every member reports the same raft index and applied index, and the same KV hash.
    const statuses = await waitFor(
      async () => {
        const s = await Promise.all(cluster.members.map(endpointStatus))
        if (s.some((x) => x === undefined)) return undefined
        const indexes = new Set(s.map((x) => `${x!.raftIndex}/${x!.appliedIndex}`))
        return indexes.size === 1 ? (s as EndpointStatus[]) : undefined
      },
      30_000,
      () => `raft indexes never matched\n${logs()}`,
      250,
    )
    expect(statuses[0]!.raftIndex).toBeGreaterThan(followerLast + 5000)
    const hashes = await etcdctl([
      `--endpoints=${cluster.members.map((m) => m.clientUrl).join(',')}`,
      'endpoint',
      'hashkv',
    ])
    expect(hashes.code, hashes.stderr).toBe(0)
    const byMember = lines(hashes.stdout).map((l) => l.split(', ')[1])
    expect(byMember).toHaveLength(3)
    expect(new Set(byMember).size, hashes.stdout).toBe(1)

    // By snapshot: the follower installed one newer than anything it had, a survivor logged sending it
    // one, and the snapshot was saved in the follower's snap dir.
    const installed = logLines(followerOut.text, 'installed snapshot')
      .map((l) => Number(l.index))
      .filter((index) => index > followerLast)
    expect(installed.length, `${follower.name} log:\n${followerOut.text.slice(-4000)}`).toBeGreaterThan(0)
    const sent = survivors.flatMap((m) =>
      logLines(outputs.get(m)!.text, 'sent snapshot').filter(
        (l) => Number(l.to).toString(16) === followerId && Number(l.index) === installed[0],
      ),
    )
    expect(sent.length, logs()).toBeGreaterThan(0)
    const snapName = `${(installed[0] ?? 0).toString(16).padStart(16, '0')}.snap`
    const snapDir = join(follower.dataDir, 'member', 'snap')
    expect(existsSync(snapDir) && readdirSync(snapDir).some((f) => f.endsWith(`-${snapName}`))).toBe(true)
    // Generous: a snapshot of several MB over the peer transport on a shared 2-core machine.
    expect(catchUpMs).toBeLessThan(60_000)
  }, 240_000)
})
