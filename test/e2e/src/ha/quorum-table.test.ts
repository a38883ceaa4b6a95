import { afterAll, describe, expect, it } from 'vitest'
import { HaCluster, put, seconds, until } from './harness.js'

// Goal (issue 12, section 3, the seeds' quorum table): a store of N members needs ⌊N/2⌋+1 of them
// to write. So 4 members tolerate one failure like 3 do, not two; 6 members split 3/3 by a partition
// write on neither side; 5 members survive two failures; 2 members lose writes when either dies (one
// master more than one, and worse). Method: clusters side by side, each with its own addresses:
// external-etcd with one master so that only the store members vary (6 members on 127.0.1.15-21, 4 on
// 127.0.1.24-28, then 5 on 127.0.1.24-29 once the 4 are down), and the 2-member store as the stacked
// cluster of two masters it stands for (127.0.1.22-23); faults with `hakube kill`/`start`/`partition`/
// `heal`, writes with `etcdctl put` (3 s command timeout) at each member.

/** Puts at every endpoint at once; the failures' outputs (empty when all wrote). */
async function putAt(endpoints: readonly string[], key: string): Promise<string[]> {
  const results = await Promise.all(endpoints.map((e) => put(e, key, e)))
  return results.flatMap((r, i) => (r.ok ? [] : [`${endpoints[i]}: ${r.output}`]))
}

/** Every endpoint refuses a put (within etcdctl's 3 s command timeout): the error texts. */
async function refusedAt(endpoints: readonly string[], key: string): Promise<string[]> {
  const results = await Promise.all(endpoints.map((e) => put(e, key, e)))
  expect(
    results.flatMap((r, i) => (r.ok ? [endpoints[i]] : [])),
    'members that accepted a write without quorum',
  ).toEqual([])
  return results.map((r) => r.output.split('\n').at(-1) ?? '')
}

/** Puts at every endpoint until all write; ms from `since` until they did. */
async function writesAgain(endpoints: readonly string[], key: string, since: number): Promise<number> {
  await until(
    `writes at ${endpoints.join(',')}`,
    async () => ((await putAt(endpoints, key)).length === 0 ? true : undefined),
    60_000,
    200,
  )
  return Date.now() - since
}

/** An external-etcd cluster of one master (api-server) and `etcd` store members. */
function store(etcd: number, firstAddress: string, lbHost: string): HaCluster {
  return new HaCluster({ topology: 'external-etcd', masters: 1, etcd, firstAddress, lbHost })
}

/** The store endpoints except those of `hosts`. */
function others(c: HaCluster, hosts: readonly string[]): string[] {
  return [...c.endpoints()].filter(([n]) => !hosts.includes(n)).map(([, e]) => e)
}

async function leaderOf(c: HaCluster): Promise<string> {
  const s = await c.statusUntil(
    'a quorum',
    (x) => x.quorum.hasQuorum && x.quorum.healthy === x.quorum.members,
  )
  return s.quorum.leader!
}

describe('the quorum table', () => {
  const six = store(6, '127.0.1.15', '127.0.1.36')
  const two = new HaCluster({
    topology: 'stacked',
    masters: 2,
    firstAddress: '127.0.1.22',
    lbHost: '127.0.1.37',
  })
  const four = store(4, '127.0.1.24', '127.0.1.38')
  const five = store(5, '127.0.1.24', '127.0.1.40')
  let fourDone: () => void = () => {}
  /** The 5-member cluster takes the 4-member one's addresses once it is down. */
  const fourGone = new Promise<void>((resolve) => {
    fourDone = resolve
  })
  afterAll(async () => {
    await Promise.all([six, two, four, five].map((c) => c.destroy()))
  }, 240_000)

  it.concurrent('a 6-member store split 3/3 by a partition accepts no write on either side', async () => {
    try {
      await six.up()
      expect(six.upRun!.stderr).toContain('A quorum of 6 is 4, so 6 members tolerate 2 failures, like 5')
      const all = [...six.endpoints().values()]
      expect(await putAt(all, '/ha/before')).toEqual([])
      const out = await six.run('partition', 'etcd-1', 'etcd-2', 'etcd-3', '--from', 'etcd-4,etcd-5,etcd-6')
      expect(out).toMatch(/^etcd-1, etcd-2, etcd-3 cut off from etcd-4, etcd-5, etcd-6 \(18 DROP rules/)
      const cutAt = Date.now()
      const s = await six.statusUntil('quorum lost', (x) => !x.quorum.hasQuorum, 30_000)
      const lostMs = Date.now() - cutAt
      expect(s.quorum).toMatchObject({ members: 6, quorum: 4, hasQuorum: false })
      const errors = await refusedAt(all, '/ha/split')
      await six.run('heal')
      const healedAt = Date.now()
      const backMs = await writesAgain(all, '/ha/healed', healedAt)
      console.log(
        `[ha] quorum table: 6 members split 3/3 (hakube partition): all 6 refused writes (e.g. "${errors[0]}"), ` +
          `hakube status showed the quorum lost ${seconds(lostMs)} after the partition; after hakube heal every member wrote again within ${seconds(backMs)}`,
      )
    } finally {
      await six.destroy()
    }
  }, 300_000)

  it.concurrent('a 4-member store tolerates one failure like a 3-member one, not two', async () => {
    try {
      await four.up()
      expect(four.upRun!.stderr).toContain(
        'warning: 4 store members: an even number adds no fault tolerance. A quorum of 4 is 3, so 4 members tolerate 1 failure, like 3 (quorum 2)',
      )
      const first = await leaderOf(four)
      const killedAt = await four.kill(first)
      const oneMs = await writesAgain(others(four, [first]), '/ha/one-down', killedAt)
      const s1 = await four.statusUntil('3 of 4', (x) => x.quorum.hasQuorum && x.quorum.healthy === 3)
      expect(s1.quorum).toMatchObject({ members: 4, quorum: 3, moreMayFail: 0 })
      const second = [...four.endpoints().keys()].find((n) => n !== first)!
      await four.kill(second)
      const survivors = others(four, [first, second])
      const errors = await refusedAt(survivors, '/ha/two-down')
      const s2 = await four.statusUntil('quorum lost', (x) => !x.quorum.hasQuorum, 30_000)
      expect(s2.quorum).toMatchObject({ members: 4, quorum: 3, hasQuorum: false })
      console.log(
        `[ha] quorum table: 4 members, leader ${first} killed: the 3 left wrote again within ${seconds(oneMs)}; ` +
          `${second} killed too: the 2 left refused every write (e.g. "${errors[0]}"), status: quorum lost`,
      )
    } finally {
      await four.destroy()
      fourDone()
    }
  }, 300_000)

  it.concurrent('a 5-member store survives two failures (not three)', async () => {
    await fourGone
    try {
      await five.up()
      const first = await leaderOf(five)
      const second = [...five.endpoints().keys()].find((n) => n !== first)!
      const killedAt = await five.kill(first)
      await five.kill(second)
      const twoMs = await writesAgain(others(five, [first, second]), '/ha/two-down', killedAt)
      const s = await five.statusUntil('3 of 5', (x) => x.quorum.hasQuorum && x.quorum.healthy === 3)
      expect(s.quorum).toMatchObject({ members: 5, quorum: 3, moreMayFail: 0 })
      const third = [...five.endpoints().keys()].find((n) => n !== first && n !== second)!
      await five.kill(third)
      const errors = await refusedAt(others(five, [first, second, third]), '/ha/three-down')
      console.log(
        `[ha] quorum table: 5 members, leader ${first} and ${second} killed: the 3 left wrote again within ${seconds(twoMs)}; ` +
          `a third failure stops writes (e.g. "${errors[0]}")`,
      )
    } finally {
      await five.destroy()
    }
  }, 400_000)

  it.concurrent('a 2-member store (two stacked masters) loses writes when either member dies', async () => {
    try {
      await two.up()
      expect(two.upRun!.stderr).toContain(
        '2 masters (2 store members): an even number adds no fault tolerance',
      )
      expect(two.upRun!.stderr).toContain('two members lose writes when either dies, worse than one')
      const lines: string[] = []
      for (const victim of ['master-1', 'master-2']) {
        await leaderOf(two)
        await two.kill(victim)
        const errors = await refusedAt(others(two, [victim]), `/ha/${victim}-down`)
        const s = await two.statusUntil('quorum lost', (x) => !x.quorum.hasQuorum, 30_000)
        expect(s.quorum).toMatchObject({ members: 2, quorum: 2, tolerates: 0, hasQuorum: false })
        lines.push(`${victim} killed: the other refused writes ("${errors[0]}")`)
        const startedAt = Date.now()
        await two.run('start', victim)
        const backMs = await writesAgain([...two.endpoints().values()], `/ha/${victim}-back`, startedAt)
        lines.push(`writes again ${seconds(backMs)} after hakube start ${victim}`)
      }
      console.log(`[ha] quorum table: 2 members (stacked, two masters): ${lines.join('; ')}`)
    } finally {
      await two.destroy()
    }
  }, 300_000)
})
