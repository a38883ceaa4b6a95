import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
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

// Goal: the etcdctl commands an operator uses beyond get/put (old revisions, prefix deletes, leases,
// transactions, snapshots, compaction) print against a 3-member hakube-store cluster exactly what they
// print against etcd 3.4, and have etcd's effect. The expected texts were taken from etcdctl 3.4.23
// talking to a real etcd 3.4.23 cluster. Requests go to different members, so followers must forward
// what only the leader can answer (lease keep-alive and time-to-live).

const TIMING = { heartbeatMs: 100, electionMs: 1000 }

describe('etcdctl commands against a 3-member hakube-store cluster', () => {
  let cluster: StoreProcessCluster
  let m1: StoreMember
  let m2: StoreMember
  let m3: StoreMember
  let scratch: string

  const at = (m: StoreMember, args: readonly string[], input?: string) =>
    etcdctl([`--endpoints=${m.clientUrl}`, ...args], input)
  const logs = (): string => memberLogs(cluster)
  const lines = (s: string): string[] => s.split('\n').filter(Boolean)

  /** Runs etcdctl and requires exit code 0, reporting its stderr and the members' logs otherwise. */
  async function ok(m: StoreMember, args: readonly string[], input?: string): Promise<string> {
    const r = await at(m, args, input)
    if (r.code !== 0)
      throw new Error(`etcdctl ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}\n${logs()}`)
    return r.stdout
  }

  /** `put -w json` and the revision it created (header.revision). */
  async function putRev(m: StoreMember, key: string, value: string): Promise<number> {
    const out = await ok(m, ['put', key, value, '-w', 'json'])
    const rev = /"revision":(\d+)/.exec(out)?.[1]
    if (rev === undefined) throw new Error(`no revision in ${out}`)
    return Number(rev)
  }

  beforeAll(async () => {
    requireTool('etcdctl')
    cluster = new StoreProcessCluster(3, 50, TIMING)
    ;[m1, m2, m3] = cluster.members as [StoreMember, StoreMember, StoreMember]
    scratch = mkdtempSync(join(tmpdir(), 'hakube-e2e-etcdctl-'))
    cluster.startAll()
    await waitFor(
      () => findLeader(cluster.members.map((m) => m.endpoint)),
      20_000,
      () => `no leader\n${logs()}`,
    )
  })

  afterAll(() => {
    cluster?.destroy()
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
  })

  it('get --rev=<n> returns the value as of revision n after an overwrite', async () => {
    const r1 = await putRev(m1, '/rev/k', 'v1')
    const r2 = await putRev(m2, '/rev/k', 'v2')
    expect(r2).toBeGreaterThan(r1)
    expect(lines(await ok(m3, ['get', '/rev/k', `--rev=${r1}`]))).toEqual(['/rev/k', 'v1'])
    expect(lines(await ok(m1, ['get', '/rev/k', `--rev=${r2}`]))).toEqual(['/rev/k', 'v2'])
    expect(lines(await ok(m2, ['get', '/rev/k']))).toEqual(['/rev/k', 'v2'])
    // Before the key existed: nothing, and no error.
    expect(await ok(m3, ['get', '/rev/k', `--rev=${r1 - 1}`])).toBe('')
  })

  it('del --prefix prints how many keys it deleted and deletes exactly those', async () => {
    for (const k of ['/del/a', '/del/b', '/del/c', '/delete-me-not']) await ok(m1, ['put', k, 'x'])
    expect(await ok(m2, ['del', '/del/', '--prefix'])).toBe('3\n')
    expect(await ok(m3, ['get', '/del/', '--prefix'])).toBe('')
    expect(lines(await ok(m3, ['get', '/delete-me-not']))).toEqual(['/delete-me-not', 'x'])
    expect(await ok(m1, ['del', '/del/', '--prefix'])).toBe('0\n')
  })

  it('lease grant, put --lease, keep-alive --once, timetolive --keys, revoke', async () => {
    const grant = await ok(m1, ['lease', 'grant', '60'])
    const id = /^lease ([0-9a-f]+) granted with TTL\(60s\)$/.exec(grant.trim())?.[1]
    expect(id, grant).toBeDefined()
    const leaseId = id!

    expect(await ok(m2, ['put', `--lease=${leaseId}`, '/lease/k', 'leased'])).toBe('OK\n')
    // The key carries the lease (etcdctl prints its id in decimal in JSON).
    const kv = await ok(m3, ['get', '/lease/k', '-w', 'json'])
    expect(/"lease":(\d+)/.exec(kv)?.[1], kv).toBe(BigInt(`0x${leaseId}`).toString())

    // Sent to followers (m2, m3) as well as whichever member leads: they forward to the leader.
    for (const m of [m2, m3]) {
      expect(await ok(m, ['lease', 'keep-alive', '--once', leaseId])).toBe(
        `lease ${leaseId} keepalived with TTL(60)\n`,
      )
      const ttl = (await ok(m, ['lease', 'timetolive', '--keys', leaseId])).trim()
      const remaining = new RegExp(
        `^lease ${leaseId} granted with TTL\\(60s\\), remaining\\((\\d+)s\\), attached keys\\(\\[/lease/k\\]\\)$`,
      ).exec(ttl)?.[1]
      expect(remaining, ttl).toBeDefined()
      expect(Number(remaining)).toBeGreaterThanOrEqual(50)
      expect(Number(remaining)).toBeLessThanOrEqual(60)
    }

    expect(await ok(m3, ['lease', 'revoke', leaseId])).toBe(`lease ${leaseId} revoked\n`)
    // The attached key went with the lease, on every member.
    for (const m of cluster.members) expect(await ok(m, ['get', '/lease/k'])).toBe('')
    expect(await ok(m1, ['lease', 'timetolive', leaseId])).toBe(`lease ${leaseId} already expired\n`)
    const again = await at(m2, ['lease', 'revoke', leaseId])
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('Error: failed to revoke lease (etcdserver: requested lease not found)')
  })

  it('txn reads compares, success ops and failure ops from stdin and runs the right branch', async () => {
    await ok(m1, ['put', '/txn/user1', 'bad'])
    // etcdctl's interactive format: compares, a blank line, success ops, a blank line, failure ops.
    const script = 'value("/txn/user1") = "bad"\n\ndel /txn/user1\nput /txn/ok yes\n\nput /txn/user1 good\n\n'

    // The compare holds: the success branch runs (a delete prints its count, a put OK).
    expect(await ok(m2, ['txn'], script)).toBe('SUCCESS\n\n1\n\nOK\n')
    expect(await ok(m3, ['get', '/txn/user1'])).toBe('')
    expect(lines(await ok(m3, ['get', '/txn/ok']))).toEqual(['/txn/ok', 'yes'])

    // Now /txn/user1 is gone, so the same script takes the failure branch.
    expect(await ok(m3, ['txn'], script)).toBe('FAILURE\n\nOK\n')
    expect(lines(await ok(m1, ['get', '/txn/user1']))).toEqual(['/txn/user1', 'good'])
    expect(lines(await ok(m1, ['get', '/txn/ok']))).toEqual(['/txn/ok', 'yes'])

    // -w json: etcd omits "succeeded" when false; a get in a branch returns its kvs (base64 keys).
    const b64 = (s: string): string => Buffer.from(s).toString('base64')
    const failed = JSON.parse(
      await ok(m1, ['txn', '-w', 'json'], 'value("/txn/user1") = "bad"\n\n\nput /txn/f 1\nget /txn/ok\n\n'),
    ) as {
      succeeded?: boolean
      header: { revision: number }
      responses: Array<{
        Response: { ResponsePut?: object; ResponseRange?: { kvs?: Array<{ key: string; value: string }> } }
      }>
    }
    expect(failed.succeeded).toBeUndefined()
    expect(failed.responses.map((r) => Object.keys(r.Response))).toEqual([['ResponsePut'], ['ResponseRange']])
    expect(failed.responses[1]?.Response.ResponseRange?.kvs?.[0]).toMatchObject({
      key: b64('/txn/ok'),
      value: b64('yes'),
    })

    const succeeded = JSON.parse(
      await ok(m2, ['txn', '-w', 'json'], 'mod("/txn/f") > "0"\n\nget /txn/f\n\n\n'),
    ) as typeof failed
    expect(succeeded.succeeded).toBe(true)
    expect(succeeded.responses[0]?.Response.ResponseRange?.kvs?.[0]).toMatchObject({
      key: b64('/txn/f'),
      value: b64('1'),
    })
    expect(succeeded.header.revision).toBe(failed.header.revision)
  })

  it('snapshot save writes a non-empty snapshot file holding the data', async () => {
    await ok(m1, ['put', '/snap/marker', 'in-the-snapshot'])
    const file = join(scratch, 'backup.db')
    expect(await ok(m2, ['snapshot', 'save', file])).toBe(`Snapshot saved at ${file}\n`)
    expect(statSync(file).size).toBeGreaterThan(0)
    expect(readFileSync(file).includes(Buffer.from('/snap/marker'))).toBe(true)
  })

  it('compaction <rev> makes older revisions unreadable on every member, keeps <rev> itself', async () => {
    const r1 = await putRev(m1, '/cmp/k', 'a')
    const r2 = await putRev(m1, '/cmp/k', 'b')
    await putRev(m1, '/cmp/k', 'c')
    expect(await ok(m2, ['compaction', String(r2)])).toBe(`compacted revision ${r2}\n`)
    for (const m of cluster.members) {
      const old = await at(m, ['get', '/cmp/k', `--rev=${r1}`])
      expect(old.code, `${m.name}: ${old.stdout}`).not.toBe(0)
      expect(old.stderr).toContain('Error: etcdserver: mvcc: required revision has been compacted')
      expect(lines(await ok(m, ['get', '/cmp/k', `--rev=${r2}`]))).toEqual(['/cmp/k', 'b'])
      expect(lines(await ok(m, ['get', '/cmp/k']))).toEqual(['/cmp/k', 'c'])
    }
    // Compacting again at an older revision is refused as etcd refuses it.
    const back = await at(m3, ['compaction', String(r1)])
    expect(back.code).not.toBe(0)
    expect(back.stderr).toContain('Error: etcdserver: mvcc: required revision has been compacted')
  })
})

describe('--quota-backend-bytes and the NOSPACE alarm, through etcdctl', () => {
  // Expected texts from etcdctl 3.4.23 against a real etcd 3.4.23 that ran out of its quota.
  let cluster: StoreProcessCluster
  const at = (m: StoreMember, args: string[], input?: string) =>
    etcdctl([`--endpoints=${m.clientUrl}`, '--command-timeout=5s', ...args], input)

  beforeAll(async () => {
    requireTool('etcdctl')
    cluster = new StoreProcessCluster(3, 120, TIMING, ['--quota-backend-bytes=262144'])
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

  it("refuses puts past the quota with etcd's error, lists and disarms the alarm, allows deletes", async () => {
    const [m1, m2, m3] = cluster.members as [StoreMember, StoreMember, StoreMember]
    const value = 'x'.repeat(20_000)
    let failed: { i: number; stderr: string } | undefined
    for (let i = 0; i < 40 && failed === undefined; i++) {
      const r = await at(m1, ['put', `q/${String(i).padStart(2, '0')}`], value)
      if (r.code !== 0) failed = { i, stderr: r.stderr }
    }
    expect(failed, memberLogs(cluster)).toBeDefined()
    expect(failed?.stderr.trim().split('\n').at(-1)).toBe('Error: etcdserver: mvcc: database space exceeded')
    const alarms = await waitFor(
      async () => {
        const r = await at(m2, ['alarm', 'list'])
        return /^memberID:\d+ alarm:NOSPACE $/m.test(r.stdout) ? r.stdout : undefined
      },
      10_000,
      () => `no NOSPACE alarm listed\n${memberLogs(cluster)}`,
    )
    expect(alarms.split('\n').filter(Boolean)).toHaveLength(1)
    // Every member refuses growth now, even a small put; endpoint status shows the alarm.
    const small = await at(m3, ['put', 'small', 'x'])
    expect(small.stderr.trim().split('\n').at(-1)).toBe('Error: etcdserver: mvcc: database space exceeded')
    const status = JSON.parse((await at(m3, ['endpoint', 'status', '-w', 'json'])).stdout) as Array<{
      Status: { errors?: string[] }
    }>
    expect(status[0]?.Status.errors?.some((e) => /^memberID:\d+ alarm:NOSPACE $/.test(e))).toBe(true)
    // Free space (delete + compact), disarm: writes work again.
    expect((await at(m1, ['del', 'q/', '--prefix'])).stdout.trim()).toBe(String(failed?.i))
    const rev = /"revision":(\d+)/.exec((await at(m1, ['get', 'small', '-w', 'json'])).stdout)?.[1]
    expect((await at(m1, ['compaction', rev ?? '0'])).code).toBe(0)
    const disarmed = await at(m2, ['alarm', 'disarm'])
    expect(disarmed.stdout).toMatch(/^memberID:\d+ alarm:NOSPACE $/m)
    expect((await at(m3, ['put', 'after', 'ok'])).stdout.trim()).toBe('OK')
  })
})
