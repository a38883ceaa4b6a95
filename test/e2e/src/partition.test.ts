import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { etcdctl, StoreProcessCluster, sleep } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Firewall } from './firewall.js'

// Goal: a network partition with real packet loss (iptables DROP between the members' own 127.0.1.x
// addresses, not a flag inside a member) behaves on a 3-member hakube-store cluster exactly as on a
// 3-member etcd 3.4: the majority keeps serving; the isolated member refuses linearizable reads and
// writes with the error etcd gives (the client's deadline: etcd blocks such requests, it does not
// answer them); serializable reads there still answer (stale); on return the member catches up without
// deposing the leader (PreVote + CheckQuorum) and never bumped its term while isolated. An isolated
// leader steps down (CheckQuorum) while the majority elects a new one.
// Method: the same scenario runs first against real etcd processes (the oracle; etcd 3.4 defaults to
// --pre-vote=false, so it gets --pre-vote=true, which hakube-store always has), then against
// hakube-store, and both must satisfy the same assertions and print the same error text.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }
/**
 * What etcdctl 3.4 prints last on stderr when a request to an isolated etcd member reaches
 * --command-timeout: etcd holds the request (no leader: the proposal or the ReadIndex round never
 * completes) until the deadline. Usually the client's own deadline fires first ("context deadline
 * exceeded"); when the server's copy of the deadline (grpc-timeout) wins the race, etcd answers with
 * its ctx.Err(), which its error mapping does not know, so it arrives as code Unknown. Both occur.
 */
const DEADLINE_ERROR = /^Error: (rpc error: code = Unknown desc = )?context deadline exceeded$/
/*
 * A member holds a request while it has no leader, but both etcd and hakube-store drop it once the
 * client's deadline cancels the gRPC call: a put that failed on the isolated member must never be applied
 * later, even when the partition heals right after the failure (before the member's own request timeout).
 */

interface Member {
  name: string
  host: string
  /** host:2379 */
  endpoint: string
  output: string[]
}

interface Cluster {
  readonly members: Member[]
  /**
   * How the member logs Raft's transitions, when its `endpoint status` term is not Raft's term: etcd
   * reports the term of the last applied entry (etcdserver's setTerm on apply), so an isolated member's
   * term bump would not show there, only in its log. hakube-store reports Raft's current term.
   */
  readonly raftLog?: { preCandidate: RegExp; candidate: RegExp }
  startAll(): void
  destroy(): void
}

/**
 * A 3-member etcd 3.4 on 127.0.1.<base+i>. etcd dials its peers from 127.0.0.1; each member runs with
 * its own group id so that the firewall can pin its peer connections to its own address (SNAT), the
 * way hakube-store binds them itself. Then the same DROP pairs partition both.
 */
class EtcdProcessCluster implements Cluster {
  readonly raftLog = {
    preCandidate: /became pre-candidate at term \d+/,
    candidate: /became candidate at term/,
  }
  readonly members: Array<Member & { gid: number; dataDir: string; proc: ChildProcess | undefined }> = []
  private readonly root = mkdtempSync(join(tmpdir(), 'hakube-e2e-etcd-'))
  private readonly killAll = (): void => {
    for (const m of this.members) m.proc?.kill('SIGKILL')
  }

  constructor(hostBase: number, gidBase: number, firewall: Firewall) {
    for (let i = 1; i <= 3; i++) {
      const host = `127.0.1.${hostBase + i}`
      const gid = gidBase + i
      firewall.pinSourceAddress(gid, 2380, host)
      this.members.push({
        name: `e${i}`,
        host,
        endpoint: `${host}:2379`,
        output: [],
        gid,
        dataDir: join(this.root, `e${i}`),
        proc: undefined,
      })
    }
  }

  startAll(): void {
    process.on('exit', this.killAll)
    const initialCluster = this.members.map((m) => `${m.name}=http://${m.host}:2380`).join(',')
    for (const m of this.members) {
      const proc = spawn(
        'setpriv',
        [
          `--regid=${m.gid}`,
          '--clear-groups',
          'etcd',
          `--name=${m.name}`,
          `--data-dir=${m.dataDir}`,
          `--listen-peer-urls=http://${m.host}:2380`,
          `--initial-advertise-peer-urls=http://${m.host}:2380`,
          `--listen-client-urls=http://${m.host}:2379`,
          `--advertise-client-urls=http://${m.host}:2379`,
          `--initial-cluster=${initialCluster}`,
          '--initial-cluster-state=new',
          `--heartbeat-interval=${TIMING.heartbeatMs}`,
          `--election-timeout=${TIMING.electionMs}`,
          // etcd 3.4's default is false; hakube-store always runs Raft with PreVote and CheckQuorum.
          '--pre-vote=true',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      const keep = (b: Buffer): void => {
        m.output.push(b.toString())
        if (m.output.length > 3000) m.output.shift()
      }
      proc.stdout?.on('data', keep)
      proc.stderr?.on('data', keep)
      m.proc = proc
    }
  }

  destroy(): void {
    this.killAll()
    process.off('exit', this.killAll)
    rmSync(this.root, { recursive: true, force: true })
  }
}

interface Status {
  memberId: string
  /** "0" when the member knows no leader. */
  leader: string
  term: number
  errors: string[]
}

/**
 * `endpoint status -w json` of one member. Ids are parsed from the text: they are uint64, beyond a
 * JavaScript number's exact range.
 */
async function status(m: Member): Promise<Status | undefined> {
  const r = await etcdctl([
    `--endpoints=${m.endpoint}`,
    '--command-timeout=2s',
    'endpoint',
    'status',
    '-w',
    'json',
  ])
  if (r.code !== 0) return undefined
  const memberId = /"member_id":(\d+)/.exec(r.stdout)?.[1]
  const term = /"raftTerm":(\d+)/.exec(r.stdout)?.[1]
  if (memberId === undefined || term === undefined) return undefined
  const errors = /"errors":(\[[^\]]*\])/.exec(r.stdout)?.[1]
  return {
    memberId,
    leader: /"leader":(\d+)/.exec(r.stdout)?.[1] ?? '0',
    term: Number(term),
    errors: errors === undefined ? [] : (JSON.parse(errors) as string[]),
  }
}

const put = (m: Member, key: string, value: string, timeout = '5s') =>
  etcdctl([`--endpoints=${m.endpoint}`, `--command-timeout=${timeout}`, 'put', key, value], undefined, 20_000)
const get = (m: Member, key: string, consistency: 'l' | 's', timeout = '5s') =>
  etcdctl(
    [`--endpoints=${m.endpoint}`, `--command-timeout=${timeout}`, 'get', key, `--consistency=${consistency}`],
    undefined,
    20_000,
  )
/** The last `Error: ...` line etcdctl printed. */
const errorLine = (stderr: string): string | undefined =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('Error:'))
    .at(-1)

function logsOf(c: Cluster): string {
  return c.members.map((m) => `--- ${m.name}\n${m.output.join('').slice(-4000)}`).join('\n')
}

/** Polls `probe` until it returns a value (not undefined); fails with `what` and the logs after `timeoutMs`. */
async function until<T>(
  c: Cluster,
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${logsOf(c)}`)
    await sleep(100)
  }
}

/** Every member answers status and all name the same leader; returns the statuses in member order. */
async function stableLeader(c: Cluster, timeoutMs: number): Promise<Status[]> {
  return until(c, 'one leader known to all members', timeoutMs, async () => {
    const all = await Promise.all(c.members.map(status))
    if (all.some((s) => s === undefined)) return undefined
    const ss = all as Status[]
    const leader = ss[0]!.leader
    if (leader === '0' || ss.some((s) => s.leader !== leader || s.term !== ss[0]!.term)) return undefined
    if (!ss.some((s) => s.memberId === leader)) return undefined
    return ss
  })
}

/** Polls a serializable get of `key` on `m` until it returns `value`. */
async function sees(c: Cluster, m: Member, key: string, value: string, timeoutMs: number): Promise<void> {
  await until(c, `${m.name} sees ${key}=${value}`, timeoutMs, async () => {
    const r = await get(m, key, 's', '2s')
    return r.code === 0 && r.stdout.trim() === `${key}\n${value}` ? true : undefined
  })
}

/** The majority's put and linearizable get through each of `majority`. */
async function majorityServes(
  c: Cluster,
  majority: readonly Member[],
  prefix: string,
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const via = majority[i % majority.length]!
    const w = await put(via, `${prefix}${i}`, `v${i}`)
    expect(w.code, `put through ${via.name}: ${w.stderr}\n${logsOf(c)}`).toBe(0)
    expect(w.stdout.trim()).toBe('OK')
    for (const m of majority) {
      const r = await get(m, `${prefix}${i}`, 'l')
      expect(r.code, `linearizable get through ${m.name}: ${r.stderr}`).toBe(0)
      expect(r.stdout.trim()).toBe(`${prefix}${i}\nv${i}`)
    }
  }
}

/** A put and a linearizable get on `m` (concurrently) both fail exactly as with etcd: the client's deadline. */
async function refusesLinearizable(m: Member, key: string): Promise<number> {
  const startedAt = Date.now()
  const [w, r] = await Promise.all([put(m, key, 'refused'), get(m, key, 'l')])
  const elapsedMs = Date.now() - startedAt
  expect(w.code, `put on the isolated ${m.name} must fail: ${w.stdout}`).not.toBe(0)
  expect(errorLine(w.stderr), w.stderr).toMatch(DEADLINE_ERROR)
  expect(r.code, `linearizable get on the isolated ${m.name} must fail: ${r.stdout}`).not.toBe(0)
  expect(errorLine(r.stderr), r.stderr).toMatch(DEADLINE_ERROR)
  // Held until the 5 s deadline (as etcd does), not refused early with another error.
  expect(elapsedMs).toBeGreaterThanOrEqual(4500)
  return startedAt
}

function definePartitionSuite(label: string, fw: () => Firewall, makeCluster: () => Cluster): void {
  describe(label, () => {
    let c: Cluster

    beforeAll(async () => {
      c = makeCluster()
      c.startAll()
      await stableLeader(c, 30_000)
    })

    afterAll(() => {
      fw().heal()
      c?.destroy()
    })

    it('an isolated follower: the majority serves, the follower refuses linearizable requests, serves stale serializable reads, and rejoins without deposing the leader', async () => {
      const before = await stableLeader(c, 10_000)
      const leaderId = before[0]!.leader
      const term = before[0]!.term
      const leader = c.members[before.findIndex((s) => s.memberId === leaderId)]!
      const follower = c.members.find((m) => m !== leader)!
      const majority = c.members.filter((m) => m !== follower)
      const key = `/p/${follower.name}/`

      expect((await put(leader, `${key}before`, 'b')).stdout.trim()).toBe('OK')
      await sees(c, follower, `${key}before`, 'b', 10_000)

      const marker = `\n--- isolated at ${Date.now()} ---\n`
      follower.output.push(marker)
      fw().isolate(
        follower.host,
        majority.map((m) => m.host),
      )
      try {
        // The follower loses its leader (it becomes a pre-candidate after an election timeout) and says so.
        const lost = await until(c, `${follower.name} loses its leader`, 10_000, async () => {
          const s = await status(follower)
          return s !== undefined && s.leader === '0' ? s : undefined
        })
        expect(lost.errors).toEqual(['etcdserver: no leader'])

        await majorityServes(c, majority, `${key}during/`, 4)
        await refusesLinearizable(follower, `${key}refused`)

        // A serializable get still answers from the isolated member's own (stale) state.
        const stale = await get(follower, `${key}before`, 's')
        expect(stale.code, stale.stderr).toBe(0)
        expect(stale.stdout.trim()).toBe(`${key}before\nb`)
        const missing = await get(follower, `${key}during/0`, 's')
        expect(missing.code, missing.stderr).toBe(0)
        expect(missing.stdout.trim()).toBe('')

        // Many election timeouts later, PreVote has kept the isolated member at the leader's term.
        const isolated = await status(follower)
        expect(isolated?.term, 'the isolated member bumped its term').toBe(term)
        expect(isolated?.leader).toBe('0')
        if (c.raftLog !== undefined) {
          const log = follower.output.join('').split(marker)[1] ?? ''
          expect(log, 'the isolated member must campaign with pre-votes').toMatch(c.raftLog.preCandidate)
          expect(log, 'the isolated member started a real election').not.toMatch(c.raftLog.candidate)
        }
        for (const m of majority) {
          const s = await status(m)
          expect(s?.leader, `${m.name} changed leader during the partition`).toBe(leaderId)
          expect(s?.term).toBe(term)
        }
      } finally {
        fw().heal()
      }

      // It catches up, follows the same leader again, and the leader and term never changed.
      for (let i = 0; i < 4; i++) await sees(c, follower, `${key}during/${i}`, `v${i}`, 20_000)
      const rejoined = await until(c, `${follower.name} follows the leader again`, 10_000, async () => {
        const s = await status(follower)
        return s !== undefined && s.leader === leaderId ? s : undefined
      })
      expect(rejoined.term).toBe(term)
      expect(rejoined.errors).toEqual([])
      await sleep(3 * TIMING.electionMs)
      const after = await stableLeader(c, 10_000)
      expect(after.map((s) => [s.leader, s.term])).toEqual(c.members.map(() => [leaderId, term]))
      const r = await get(follower, `${key}during/3`, 'l')
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trim()).toBe(`${key}during/3\nv3`)
      const w = await put(follower, `${key}after`, 'a')
      expect(w.stdout.trim(), w.stderr).toBe('OK')
      // The put that hit its deadline on the isolated member was not applied after the heal.
      const refused = await get(leader, `${key}refused`, 'l')
      expect(refused.code, refused.stderr).toBe(0)
      expect(refused.stdout.trim(), 'a put whose client gave up was applied after the heal').toBe('')
    })

    it('an isolated leader: the majority elects a new leader within a few election timeouts, the old one steps down (CheckQuorum), refuses puts, then rejoins as a follower', async () => {
      const before = await stableLeader(c, 10_000)
      const oldId = before[0]!.leader
      const term = before[0]!.term
      const old = c.members[before.findIndex((s) => s.memberId === oldId)]!
      const majority = c.members.filter((m) => m !== old)
      const key = `/p/${old.name}-leader/`

      fw().isolate(
        old.host,
        majority.map((m) => m.host),
      )
      let newId: string
      let newTerm: number
      try {
        const isolatedAt = Date.now()
        const elected = await until(
          c,
          'the majority elects a new leader',
          10 * TIMING.electionMs,
          async () => {
            const ss = await Promise.all(majority.map(status))
            const l = ss[0]?.leader
            if (l === undefined || l === '0' || l === oldId) return undefined
            return ss.every((s) => s?.leader === l) ? ss : undefined
          },
        )
        const electedMs = Date.now() - isolatedAt
        newId = elected[0]!.leader
        newTerm = elected[0]!.term
        expect(elected[0]!.term).toBeGreaterThan(term)
        // Detection (one randomized election timeout, up to 2×), a pre-vote and a vote round, polling slack.
        expect(electedMs).toBeLessThan(4 * TIMING.electionMs + 1000)

        const down = await until(c, `${old.name} steps down`, 4 * TIMING.electionMs, async () => {
          const s = await status(old)
          return s !== undefined && s.leader !== oldId ? s : undefined
        })
        expect(down.leader).toBe('0')
        expect(down.term).toBe(term)

        await majorityServes(c, majority, `${key}during/`, 2)
        const w = await put(old, `${key}refused`, 'x')
        expect(w.code, `put on the isolated old leader must fail: ${w.stdout}`).not.toBe(0)
        expect(errorLine(w.stderr), w.stderr).toMatch(DEADLINE_ERROR)
      } finally {
        fw().heal()
      }

      for (let i = 0; i < 2; i++) await sees(c, old, `${key}during/${i}`, `v${i}`, 20_000)
      // The returning old leader (a pre-candidate at its old term) did not disrupt the new one.
      await sleep(3 * TIMING.electionMs)
      const after = await stableLeader(c, 10_000)
      expect(after.map((s) => [s.leader, s.term])).toEqual(c.members.map(() => [newId, newTerm]))
      const refused = await get(majority[0]!, `${key}refused`, 'l')
      expect(refused.stdout.trim(), 'the refused put must not have been applied').toBe('')
    })
  })
}

describe('a network partition with real packet loss (iptables), etcd 3.4 as the oracle', () => {
  const firewall = new Firewall()
  const fw = (): Firewall => firewall

  beforeAll(() => {
    for (const tool of ['etcd', 'etcdctl', 'setpriv'])
      if (spawnSync(tool, ['--version']).error !== undefined)
        throw new Error(
          `${tool} is not installed: apt-get install etcd-server etcd-client util-linux (see .ci/run)`,
        )
    firewall.install() // throws unless iptables works: apt-get install iptables; needs root/CAP_NET_ADMIN
  })

  afterAll(() => {
    firewall.remove()
  })

  definePartitionSuite(
    'etcd 3.4 with --pre-vote=true (the oracle), 127.0.1.86-88',
    fw,
    () => new EtcdProcessCluster(85, 3_000_000 + (process.pid % 1_000_000) * 4, firewall),
  )

  definePartitionSuite('hakube-store, 127.0.1.81-83', fw, () => new StoreProcessCluster(3, 80, TIMING))
})
