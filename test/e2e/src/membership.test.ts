import {
  etcdctl,
  findLeader,
  memberLogs,
  type StoreMember,
  StoreProcessCluster,
  waitFor,
} from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Goal: the membership changes an operator makes with etcdctl on a running cluster work with real
// processes: remove a member, add a new one (`member add` prints the flags to start it with), start it
// with `--initial-cluster-state existing`, and it joins, catches up and serves. The new member's flags
// do not list the removed founding member, so it must learn the cluster id from a running peer (as etcd's
// GetClusterFromRemotePeers does) rather than derive it from the members it was given.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }

describe('membership changes on a running hakube-store cluster, with etcdctl', () => {
  let cluster: StoreProcessCluster
  const at = (m: StoreMember, ...args: string[]) =>
    etcdctl([`--endpoints=${m.clientUrl}`, '--command-timeout=5s', ...args])

  beforeAll(async () => {
    cluster = new StoreProcessCluster(3, 100, TIMING)
    cluster.startAll()
    await waitFor(
      () => findLeader(cluster.members.map((m) => m.endpoint)),
      20_000,
      () => `no leader\n${memberLogs(cluster)}`,
    )
  })

  afterAll(() => {
    cluster?.destroy()
  })

  it('removes a founding member, adds a new one that joins with `existing`, catches up and serves', async () => {
    const [m1, m2, m3] = cluster.members as [StoreMember, StoreMember, StoreMember]
    for (let i = 0; i < 20; i++) expect((await at(m1, 'put', `before/${i}`, String(i))).code).toBe(0)

    // Remove m2 (its id from the member list); it stops by itself, as etcd does.
    const list = JSON.parse((await at(m1, 'member', 'list', '-w', 'json')).stdout) as {
      members: Array<{ ID: number | string; name: string }>
    }
    const m2Id = BigInt(list.members.find((m) => m.name === m2.name)?.ID ?? 0).toString(16)
    const removed = await at(m1, 'member', 'remove', m2Id)
    expect(removed.stdout, removed.stderr).toMatch(new RegExp(`Member\\s+${m2Id} removed from cluster`))
    const exited = await Promise.race([
      new Promise<number | null>((resolve) =>
        m2.proc === undefined ? resolve(null) : m2.proc.once('exit', (code) => resolve(code)),
      ),
      new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 10_000)),
    ])
    expect(exited, memberLogs(cluster)).toBe(0)
    expect(m2.output.join('')).toContain('the member has been permanently removed from the cluster')
    // If m2 led, the others elect a new leader first; a membership change proposed before that leader has
    // applied its first entry is refused by Raft (one change at a time), as an operator would see etcd time
    // out. Wait for a leader, as `etcdctl endpoint status` shows it.
    await waitFor(
      () => findLeader([m1.endpoint, m3.endpoint]),
      20_000,
      () => `no leader after removing m2\n${memberLogs(cluster)}`,
    )
    expect((await at(m3, 'put', 'settled', 'yes')).code).toBe(0)

    // Add m4; etcdctl prints the environment to start it with.
    const m4 = cluster.addJoiner('m4', 4)
    const added = await at(m3, 'member', 'add', 'm4', `--peer-urls=http://${m4.host}:2380`)
    expect(added.code, `${added.stderr}\n${memberLogs(cluster)}`).toBe(0)
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(added.stdout)?.[1]
    expect(initialCluster?.split(',').sort()).toEqual([
      `m1=http://${m1.host}:2380`,
      `m3=http://${m3.host}:2380`,
      `m4=http://${m4.host}:2380`,
    ])
    expect(added.stdout).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"')

    cluster.start(m4, { initialCluster: initialCluster ?? '' })
    // It catches up: a serializable read on m4 sees what was written before it existed.
    await waitFor(
      async () => {
        const r = await at(m4, 'get', 'before/19', '--consistency=s', '--print-value-only')
        return r.stdout.trim() === '19' ? true : undefined
      },
      20_000,
      () => `m4 did not catch up\n${memberLogs(cluster)}`,
    )
    // ...and serves writes and linearizable reads, seen by the others.
    expect((await at(m4, 'put', 'after', 'm4')).stdout.trim()).toBe('OK')
    expect((await at(m1, 'get', 'after', '--print-value-only')).stdout.trim()).toBe('m4')
    const keys = (await at(m4, 'get', 'before/', '--prefix', '--keys-only')).stdout
      .split('\n')
      .filter(Boolean)
    expect(keys).toHaveLength(20)
    // m4 publishes its name and client URLs through Raft once it runs (etcd's publish), then it is listed.
    const members = await waitFor(
      async () => {
        const r = await at(m4, 'member', 'list')
        const names = r.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(', ')[2])
        return names.sort().join(',') === 'm1,m3,m4' ? r : undefined
      },
      10_000,
      () => `m4 never listed as started\n${memberLogs(cluster)}`,
    )
    expect(members.stdout).not.toContain(', m2,')
    const status = await etcdctl([
      `--endpoints=${[m1, m3, m4].map((m) => m.endpoint).join(',')}`,
      'endpoint',
      'status',
    ])
    expect(status.stdout.split('\n').filter((l) => l.split(', ')[4] === 'true')).toHaveLength(1)
    // The same cluster id everywhere (endpoint status does not print it; the response header does).
    const ids = await Promise.all(
      [m1, m3, m4].map(
        async (m) =>
          (
            JSON.parse((await at(m, 'endpoint', 'status', '-w', 'json')).stdout) as Array<{
              Status: { header: { cluster_id: number } }
            }>
          )[0]?.Status.header.cluster_id,
      ),
    )
    expect(new Set(ids).size).toBe(1)
  })

  it('member update gives a member more peer URLs, on every member', async () => {
    const [m1, , m3] = cluster.members as [StoreMember, StoreMember, StoreMember]
    const list = JSON.parse((await at(m1, 'member', 'list', '-w', 'json')).stdout) as {
      header: { cluster_id: number | string }
      members: Array<{ ID: number | string; name: string; peerURLs: string[] }>
    }
    const id = BigInt(list.members.find((m) => m.name === m3.name)?.ID ?? 0).toString(16)
    const urls = [`http://${m3.host}:2380`, `http://${m3.host}:12380`]
    const r = await at(m1, 'member', 'update', id, `--peer-urls=${urls.join(',')}`)
    expect(r.stdout, r.stderr).toMatch(new RegExp(`^Member\\s+${id} updated in cluster\\s+[0-9a-f]+$`, 'm'))
    for (const m of cluster.members.filter((x) => x.proc !== undefined)) {
      await waitFor(
        async () => {
          const l = JSON.parse((await at(m, 'member', 'list', '-w', 'json')).stdout) as typeof list
          const got = l.members.find((x) => x.name === m3.name)?.peerURLs ?? []
          return got.length === 2 ? got : undefined
        },
        10_000,
        () => `${m.name} did not apply the update\n${memberLogs(cluster)}`,
      )
    }
    expect((await at(m3, 'put', 'updated', 'yes')).stdout.trim()).toBe('OK')
  })

  it('a member started with `existing` that was never added refuses to start, saying why', async () => {
    const m5 = cluster.addJoiner('m5', 5)
    const [m1] = cluster.members as [StoreMember]
    cluster.start(m5, { initialCluster: `m1=http://${m1.host}:2380,m5=http://${m5.host}:2380` })
    const code = await new Promise<number | null>((resolve) => m5.proc?.once('exit', (c) => resolve(c)))
    expect(code).not.toBe(0)
    expect(m5.output.join('')).toMatch(
      /is not in the running cluster: add it first with `etcdctl member add`/,
    )
  })
})
