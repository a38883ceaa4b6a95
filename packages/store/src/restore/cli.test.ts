import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MvccStore, type Result, serialize } from '../mvcc/index.js'
import { deriveClusterId, deriveMemberId } from '../server/member-id.js'
import { StoreServer } from '../server/store-server.js'
import { MemoryNetwork } from '../server/testing/memory-transport.js'
import { dec, enc, until } from '../server/testing/test-cluster.js'
import { humanizeBytes, renderTable, runSnapshotCommand } from './cli.js'
import { encodeBackupImage, frameForEtcdctl } from './snapshot-file.js'

function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error
  return r.response
}

const root = mkdtempSync(join(tmpdir(), 'hakube-restore-cli-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runSnapshotCommand(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    now: () => 1,
  })
  return { code, stdout, stderr }
}

const LEASE = 0x694d77aa12345678n

/** A snapshot file as `etcdctl snapshot save` writes it from a member holding this state (revision 6). */
function snapshotFile(): string {
  const st = new MvccStore({ leaseExists: () => true })
  unwrap(st.put({ key: enc('a'), value: enc('1') }))
  unwrap(st.put({ key: enc('b'), value: enc('2') }))
  unwrap(st.put({ key: enc('a'), value: enc('3') }))
  unwrap(st.compact(3))
  unwrap(st.put({ key: enc('leased'), value: enc('v'), lease: LEASE }))
  unwrap(st.deleteRange({ key: enc('b') }))
  const path = join(root, `snap-${Math.random().toString(36).slice(2)}.db`)
  writeFileSync(path, frameForEtcdctl(encodeBackupImage(serialize(st), [{ id: LEASE.toString(), ttl: 300 }])))
  return path
}

describe('hakube-store snapshot: command line', () => {
  const file = snapshotFile()
  const ic = 'x1=http://127.0.1.96:2380,x2=http://127.0.1.97:2380'

  it.each([
    [['restore'], 'snapshot restore requires exactly one argument'],
    [['restore', file, 'other'], 'snapshot restore requires exactly one argument'],
    [['restore', file, '--bogus'], 'unknown flag: --bogus'],
    [
      ['restore', file, '--wal-dir=/w'],
      'flag --wal-dir is an etcd 3.4 flag that hakube-store does not support',
    ],
    [['restore', file, '--name'], 'flag needs an argument: --name'],
    [
      ['restore', file, '--skip-hash-check=maybe'],
      'invalid argument "maybe" for "--skip-hash-check" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
    ],
    [
      ['restore', file, '--name', 'x9', `--initial-cluster=${ic}`],
      `couldn't find local name "x9" in the initial cluster configuration`,
    ],
    // etcdctl does not derive --initial-cluster from --name (unlike the server).
    [['restore', file, '--name=m1'], `couldn't find local name "m1" in the initial cluster configuration`],
    [
      ['restore', file, '--name=x1', `--initial-cluster=${ic}`],
      '--initial-cluster has x1=http://127.0.1.96:2380 but missing from --initial-advertise-peer-urls=http://localhost:2380',
    ],
    [
      [
        'restore',
        file,
        '--name=x1',
        '--initial-cluster=x1=http://127.0.1.96:2380',
        '--initial-advertise-peer-urls=http://127.0.1.96:2380,http://127.0.1.96:2381',
      ],
      '--initial-advertise-peer-urls has http://127.0.1.96:2381 but missing from --initial-cluster=x1=http://127.0.1.96:2380,x1=http://127.0.1.96:2381',
    ],
    [
      [
        'restore',
        file,
        '--name=x1',
        '--initial-cluster=x1=http://127.0.1.96:2380,x2=http://127.0.1.96:2380',
        '--initial-advertise-peer-urls=http://127.0.1.96:2380',
      ],
      'initial cluster x1=http://127.0.1.96:2380,x2=http://127.0.1.96:2380 has duplicate url',
    ],
    [
      ['restore', file, '--initial-cluster=default=ftp://h:1'],
      '--initial-cluster: URL scheme must be http or https: ftp://h:1',
    ],
    [
      ['restore', file, '--initial-advertise-peer-urls=http://h'],
      '--initial-advertise-peer-urls: URL address does not have the form "host:port": http://h',
    ],
    [['status'], 'snapshot status requires exactly one argument'],
    [['status', file, '-w', 'yaml'], 'unsupported output format "yaml" (json, simple, table)'],
    [['status', file, '-x'], "unknown shorthand flag: 'x' in -x"],
    [
      ['save', file],
      'snapshot save: use ETCDCTL_API=3 etcdctl --endpoints=<member client URL> snapshot save <file>',
    ],
    [['frobnicate'], 'unknown command "frobnicate" for "hakube-store snapshot" (restore, status)'],
  ])('%j exits 2 with one line', async (argv, message) => {
    const r = await run(...argv)
    expect(r).toEqual({ code: 2, stdout: '', stderr: `hakube-store: ${message}\n` })
  })

  it('prints help and exits 0', async () => {
    const top = await run()
    expect(top.code).toBe(0)
    expect(top.stdout).toContain('hakube-store snapshot <subcommand>')
    for (const argv of [
      ['restore', '--help'],
      ['restore', file, '-h'],
    ]) {
      const r = await run(...argv)
      expect(r.code).toBe(0)
      for (const flag of [
        '--data-dir',
        '--initial-advertise-peer-urls',
        '--initial-cluster=',
        '--initial-cluster-token',
        '--name',
        '--skip-hash-check',
      ])
        expect(r.stdout).toContain(flag)
    }
    expect((await run('status', '-h')).stdout).toContain('--write-out')
  })

  it('fails with exit code 1 on a missing file, a bad hash and an existing data dir, creating nothing', async () => {
    const flags = [
      '--name=x1',
      `--initial-cluster=${ic}`,
      '--initial-advertise-peer-urls=http://127.0.1.96:2380',
    ]
    const dir = join(root, 'fail')
    const missing = await run('restore', join(root, 'nope.db'), `--data-dir=${dir}`, ...flags)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(
      `hakube-store: open ${join(root, 'nope.db')}: no such file or directory\n`,
    )
    const bad = join(root, 'bad.db')
    const bytes = frameForEtcdctl(encodeBackupImage(serialize(new MvccStore()), []))
    bytes[3]! ^= 1
    writeFileSync(bad, bytes)
    const hash = await run('restore', bad, `--data-dir=${dir}`, ...flags)
    expect(hash.code).toBe(1)
    expect(hash.stderr).toMatch(/\nhakube-store: expected sha256 \[[\d ]+\], got \[[\d ]+\]\n$/)
    expect(existsSync(dir)).toBe(false)
    expect(readdirSync(root).filter((n) => n.startsWith('fail'))).toEqual([])
    mkdirSync(dir)
    const exists = await run('restore', file, `--data-dir=${dir}`, ...flags)
    expect(exists.code).toBe(1)
    expect(exists.stderr).toContain(`hakube-store: data-dir "${dir}" exists\n`)
    expect(readdirSync(dir)).toEqual([])
  })

  it('status prints hash, revision, total keys and total size like etcdctl', async () => {
    const simple = await run('status', file)
    expect(simple.code).toBe(0)
    // 5 key records (a ×2, b put + delete, leased) and 1 lease; the file's body is 512 bytes.
    expect(simple.stdout).toMatch(/^[0-9a-f]+, 6, 6, 512 B\n$/)
    const hash = simple.stdout.split(',')[0] as string
    const json = JSON.parse((await run('status', file, '-w', 'json')).stdout)
    expect(json).toEqual({ hash: Number.parseInt(hash, 16), revision: 6, totalKey: 6, totalSize: 512 })
    const table = await run('status', '--write-out=table', file)
    expect(table.stdout).toBe(
      renderTable(['hash', 'revision', 'total keys', 'total size'], [[hash, '6', '6', '512 B']]),
    )
    // etcdctl's tablewriter: centred upper-case header, right-aligned cells.
    const hw = Math.max(4, hash.length)
    const bar = `+${'-'.repeat(hw + 2)}+----------+------------+------------+`
    const head = `| ${' '.repeat(Math.floor((hw - 4) / 2))}HASH${' '.repeat(hw - 4 - Math.floor((hw - 4) / 2))} | REVISION | TOTAL KEYS | TOTAL SIZE |`
    expect(table.stdout).toBe(
      [bar, head, bar, `| ${hash.padStart(hw)} |        6 |          6 |      512 B |`, bar, ''].join('\n'),
    )
    expect([
      humanizeBytes(0),
      humanizeBytes(512),
      humanizeBytes(2_121_728),
      humanizeBytes(20_480),
      humanizeBytes(21_500),
    ]).toEqual(['0 B', '512 B', '2.1 MB', '20 kB', '22 kB'])
  })
})

describe('hakube-store snapshot restore: restored data dirs form a cluster', () => {
  it('three members restored from one file elect a leader and serve the key space, revision and lease', async () => {
    const file = snapshotFile()
    const token = 'restored-token'
    const cluster: Record<string, string[]> = {
      r1: ['http://127.0.1.96:2380'],
      r2: ['http://127.0.1.97:2380'],
      r3: ['http://127.0.1.98:2380'],
    }
    const ic = Object.entries(cluster)
      .map(([n, [u]]) => `${n}=${u}`)
      .join(',')
    const dirs: Record<string, string> = {}
    for (const [name, [url]] of Object.entries(cluster)) {
      dirs[name] = join(root, 'cluster', name)
      const r = await run(
        'restore',
        file,
        `--name=${name}`,
        `--data-dir=${dirs[name]}`,
        `--initial-cluster=${ic}`,
        `--initial-cluster-token=${token}`,
        `--initial-advertise-peer-urls=${url}`,
      )
      expect(r.code, r.stderr).toBe(0)
      const lines = r.stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      expect(lines.map((l) => l.msg)).toEqual([
        'restoring snapshot',
        'added member',
        'added member',
        'added member',
        'restored snapshot',
      ])
      expect(lines[4]).toMatchObject({ revision: 6, leases: 1, 'data-dir': dirs[name] })
      expect(lines[4]['member-id']).toBe(deriveMemberId([url as string], token).toString(16))
    }

    const network = new MemoryNetwork()
    const servers: StoreServer[] = []
    try {
      for (const name of Object.keys(cluster)) {
        const id = deriveMemberId(cluster[name] ?? [], token)
        servers.push(
          await StoreServer.start({
            name,
            dataDir: dirs[name] as string,
            initialCluster: cluster,
            initialClusterToken: token,
            initialClusterState: 'new',
            heartbeatIntervalMs: 10,
            electionTimeoutMs: 100,
            requestTimeoutMs: 2000,
            transport: network.transport(id),
          }),
        )
      }
      const leader = await until(
        'a leader',
        () => {
          const lead = servers[0]?.leader()
          if (lead === undefined || lead === 0 || !servers.every((s) => s.leader() === lead)) return undefined
          return servers.find((s) => s.memberId === lead)
        },
        10_000,
      )
      const ids = Object.values(cluster).map((urls) => deriveMemberId(urls, token))
      for (const s of servers) {
        expect(s.header().clusterId).toBe(deriveClusterId(ids))
        const got = unwrap(await s.range({ key: enc('a'), rangeEnd: enc('z') }))
        expect(got.header.revision).toBe(6)
        expect(got.kvs.map((kv) => [dec(kv.key), dec(kv.value), kv.modRevision])).toEqual([
          ['a', '3', 4],
          ['leased', 'v', 5],
        ])
        // History and compaction survive: revision 3 is readable, 2 was compacted.
        expect(dec(unwrap(await s.range({ key: enc('a'), revision: 3 })).kvs[0]?.value)).toBe('1')
        expect(unwrap(await s.range({ key: enc('b'), revision: 3 })).kvs.map((kv) => dec(kv.value))).toEqual([
          '2',
        ])
        expect((await s.range({ key: enc('a'), revision: 2 })).ok).toBe(false)
        expect(unwrap(await s.memberList()).map((m) => [m.name, m.peerUrls])).toEqual(
          expect.arrayContaining(Object.entries(cluster).map(([n, u]) => [n, u])),
        )
      }
      const ttl = unwrap(await leader.leaseTimeToLive(LEASE, true))
      expect(ttl.grantedTtl).toBe(300)
      expect(ttl.ttl).toBeGreaterThan(290)
      expect(ttl.keys.map(dec)).toEqual(['leased'])
      const put = unwrap(await leader.put({ key: enc('new'), value: enc('w') }))
      expect(put.header.revision).toBe(7)
      // Revoking the restored lease deletes its key: the lease is live, not just a number on a key.
      unwrap(await leader.leaseRevoke(LEASE))
      expect(unwrap(await leader.range({ key: enc('leased') })).kvs).toEqual([])
    } finally {
      await Promise.all(servers.map((s) => s.stop()))
    }
  })
})
