/**
 * End to end, with real processes and the real etcdctl: a single hakube-store member on 127.0.1.95 gets
 * data and a lease, `etcdctl snapshot save` takes its snapshot, `hakube-store snapshot restore` turns the
 * file into three data dirs with a new membership (127.0.1.96-98), and the three restored members form
 * a cluster that etcdctl finds holding the data, the revision and the lease, and that takes writes.
 *
 * hakube-store runs from the built packages/store/dist/main.js (turbo builds it before this package's
 * tests), as in the other e2e tests.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const BUNDLE = fileURLToPath(new URL('../../../packages/store/dist/main.js', import.meta.url))
const ETCDCTL = '/usr/bin/etcdctl'

const root = mkdtempSync(join(tmpdir(), 'hakube-restore-e2e-'))
const children = new Set<ChildProcess>()
const logs = new Map<string, string[]>()

interface Run {
  code: number
  stdout: string
  stderr: string
}

function exec(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      [...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

const ctl = (endpoint: string, ...args: string[]): Promise<Run> =>
  exec(ETCDCTL, [`--endpoints=http://${endpoint}:2379`, '--dial-timeout=3s', '--command-timeout=8s', ...args])

const hakube = (...args: string[]): Promise<Run> => exec(process.execPath, [BUNDLE, ...args], 60_000)

function startMember(
  name: string,
  host: string,
  dataDir: string,
  initialCluster: string,
  token: string,
): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      BUNDLE,
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-peer-urls=http://${host}:2380`,
      `--initial-advertise-peer-urls=http://${host}:2380`,
      `--listen-client-urls=http://${host}:2379`,
      `--advertise-client-urls=http://${host}:2379`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${token}`,
      '--initial-cluster-state=new',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const out: string[] = []
  logs.set(name, out)
  const keep = (b: Buffer): void => {
    out.push(b.toString())
    if (out.length > 100) out.shift()
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill(signal)
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Retries `fn` until it returns a value, or fails with the members' logs after `timeoutMs`. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) {
      const tail = [...logs].map(([n, l]) => `--- ${n}:\n${l.join('').slice(-2000)}`).join('\n')
      throw new Error(`timed out waiting for ${what}\n${tail}`)
    }
    await sleep(250)
  }
}

interface JsonKv {
  key: string
  value: string
  mod_revision: number
  create_revision: number
  version: number
  lease?: number
}

async function getJson(endpoint: string, ...args: string[]): Promise<{ revision: number; kvs: JsonKv[] }> {
  const r = await ctl(endpoint, 'get', ...args, '-w', 'json')
  expect(r.code, r.stderr).toBe(0)
  const j = JSON.parse(r.stdout) as { header: { revision: number }; kvs?: JsonKv[] }
  const b64 = (s: string): string => Buffer.from(s, 'base64').toString()
  return {
    revision: j.header.revision,
    kvs: (j.kvs ?? []).map((kv) => ({ ...kv, key: b64(kv.key), value: b64(kv.value) })),
  }
}

beforeAll(() => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: build the store first (npm run build)`)
})

afterAll(async () => {
  await Promise.all([...children].map((c) => stop(c, 'SIGKILL')))
  rmSync(root, { recursive: true, force: true })
}, 60_000)

describe('etcdctl snapshot save → hakube-store snapshot restore → a new 3-member cluster', () => {
  it('restores keys, history, revision and a lease under a new membership, and takes writes', async () => {
    // 1. A source member with data: overwrites, a delete, a compaction and a leased key.
    const src = '127.0.1.95'
    const source = startMember('src', src, join(root, 'src'), `src=http://${src}:2380`, 'source-token')
    await eventually('the source member', async () =>
      (await ctl(src, 'put', 'k/00', 'v0')).code === 0 ? true : undefined,
    )
    for (let i = 1; i < 20; i++)
      expect((await ctl(src, 'put', `k/${String(i).padStart(2, '0')}`, `v${i}`)).code).toBe(0)
    expect((await ctl(src, 'put', 'k/00', 'v0-again')).code).toBe(0)
    expect((await ctl(src, 'del', 'k/01')).stdout.trim()).toBe('1')
    expect((await ctl(src, 'compact', '5')).code).toBe(0)
    const grant = await ctl(src, 'lease', 'grant', '600')
    const leaseHex = /lease ([0-9a-f]+) granted with TTL\(600s\)/.exec(grant.stdout)?.[1]
    expect(leaseHex, grant.stdout + grant.stderr).toBeDefined()
    expect((await ctl(src, 'put', 'leased', 'lv', `--lease=${leaseHex}`)).code).toBe(0)
    const before = await getJson(src, 'k/', '--prefix')
    const leasedBefore = await getJson(src, 'leased')
    const snapRev = leasedBefore.revision
    expect(snapRev).toBe(24) // 1 + 20 puts + overwrite + delete + leased put
    expect(before.kvs).toHaveLength(19)
    const srcStatus = JSON.parse((await ctl(src, 'endpoint', 'status', '-w', 'json')).stdout)
    const srcClusterId: number = srcStatus[0].Status.header.cluster_id

    // 2. The real etcdctl saves the snapshot (and checks its size and hash trailer).
    const file = join(root, 'backup.db')
    const save = await ctl(src, 'snapshot', 'save', file)
    expect(save.code, save.stderr).toBe(0)
    expect(save.stdout).toContain(`Snapshot saved at ${file}`)
    await stop(source, 'SIGTERM')

    const status = await hakube('snapshot', 'status', file, '-w', 'json')
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ revision: snapRev })

    // 3. Restore into three new data dirs with a new membership and token.
    const hosts: Record<string, string> = { r1: '127.0.1.96', r2: '127.0.1.97', r3: '127.0.1.98' }
    const ic = Object.entries(hosts)
      .map(([n, h]) => `${n}=http://${h}:2380`)
      .join(',')
    const token = 'restored-cluster'
    const restoreArgs = (name: string): string[] => [
      'snapshot',
      'restore',
      file,
      `--name=${name}`,
      `--data-dir=${join(root, name)}`,
      `--initial-cluster=${ic}`,
      `--initial-cluster-token=${token}`,
      `--initial-advertise-peer-urls=http://${hosts[name]}:2380`,
    ]
    for (const name of Object.keys(hosts)) {
      const r = await hakube(...restoreArgs(name))
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain('"msg":"restored snapshot"')
    }
    const again = await hakube(...restoreArgs('r1'))
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`hakube-store: data-dir "${join(root, 'r1')}" exists`)
    const badFlag = await hakube('snapshot', 'restore', file, '--nope')
    expect([badFlag.code, badFlag.stderr]).toEqual([2, 'hakube-store: unknown flag: --nope\n'])

    // 4. Start the restored members; they elect a leader among themselves.
    for (const [name, host] of Object.entries(hosts)) startMember(name, host, join(root, name), ic, token)
    const all = Object.values(hosts)
    await eventually(
      'a leader of the restored cluster',
      async () => {
        const r = await exec(ETCDCTL, [
          `--endpoints=${all.map((h) => `http://${h}:2379`).join(',')}`,
          '--command-timeout=2s',
          'endpoint',
          'status',
          '-w',
          'json',
        ])
        if (r.code !== 0) return undefined
        const st = JSON.parse(r.stdout) as Array<{ Status: { leader: number } }>
        const leaders = new Set(st.map((s) => s.Status.leader))
        return st.length === 3 && leaders.size === 1 && !leaders.has(0) ? true : undefined
      },
      60_000,
    )

    // 5. Every member serves the restored key space at the snapshot's revision.
    for (const host of all) {
      const got = await eventually(`${host} to serve reads`, async () => {
        const r = await ctl(host, 'get', 'k/', '--prefix', '-w', 'json')
        return r.code === 0 ? getJson(host, 'k/', '--prefix') : undefined
      })
      expect(got.revision).toBe(snapRev)
      expect(got.kvs).toEqual(before.kvs)
      expect(got.kvs.find((kv) => kv.key === 'k/00')).toMatchObject({ value: 'v0-again', version: 2 })
      expect((await getJson(host, 'leased')).kvs).toEqual(leasedBefore.kvs)
      // History is kept (k/00 at revision 5 was v0) and so is the compaction (revision 4 is gone).
      expect((await getJson(host, 'k/00', '--rev=5')).kvs[0]?.value).toBe('v0')
      const compacted = await ctl(host, 'get', 'k/00', '--rev=4')
      expect(compacted.code).not.toBe(0)
      expect(compacted.stderr).toContain('required revision has been compacted')
    }

    // 6. The lease survived with its TTL and its key; membership and cluster id are the new ones.
    const leases = await ctl(all[1] as string, 'lease', 'list')
    expect(leases.stdout).toContain(leaseHex)
    const ttl = await ctl(all[2] as string, 'lease', 'timetolive', leaseHex as string, '--keys')
    expect(ttl.stdout).toMatch(
      new RegExp(
        `lease ${leaseHex} granted with TTL\\(600s\\), remaining\\(\\d+s\\), attached keys\\(\\[leased\\]\\)`,
      ),
    )
    const members = await ctl(all[0] as string, 'member', 'list', '-w', 'json')
    const list = JSON.parse(members.stdout) as {
      header: { cluster_id: number }
      members: Array<{ name: string; peerURLs: string[] }>
    }
    expect(list.members.map((m) => [m.name, m.peerURLs]).sort()).toEqual(
      Object.entries(hosts).map(([n, h]) => [n, [`http://${h}:2380`]]),
    )
    expect(list.header.cluster_id).not.toBe(srcClusterId)

    // 7. Writes work and continue from the snapshot's revision.
    expect((await ctl(all[0] as string, 'put', 'after-restore', 'yes')).code).toBe(0)
    const after = await getJson(all[2] as string, 'after-restore')
    expect(after.revision).toBe(snapRev + 1)
    expect(after.kvs[0]).toMatchObject({ value: 'yes', mod_revision: snapRev + 1 })
    expect((await ctl(all[1] as string, 'lease', 'revoke', leaseHex as string)).code).toBe(0)
    expect((await getJson(all[1] as string, 'leased')).kvs).toEqual([])
  }, 240_000)
})
