import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type ClientServer, startClientServer } from './client-server.js'
import { ETCDCTL, etcdctl, Processes, requireBinary, tempDir, waitForOutput } from './testing/etcdctl.js'
import { LocalBackend } from './testing/local-backend.js'

describe('the real etcdctl against the client server over LocalBackend', () => {
  let backend: LocalBackend
  let server: ClientServer
  let port: number
  const procs = new Processes()
  const ctl = (args: string[], input?: string) => etcdctl(port, args, input)

  beforeAll(async () => {
    requireBinary(ETCDCTL)
    backend = new LocalBackend({ name: 'm1' })
    server = await startClientServer({ host: '127.0.0.1', port: 0, backend, registry: new Registry() })
    port = server.port
    backend.setClientUrls([`http://127.0.0.1:${port}`])
  })
  afterEach(async () => {
    await procs.killAll()
  })
  afterAll(async () => {
    await server?.close()
    backend?.close()
  })

  it('put, get, get -w json, keys-only prefix', async () => {
    expect((await ctl(['put', 'name', 'john'])).stdout).toBe('OK\n')
    expect((await ctl(['get', 'name'])).stdout).toBe('name\njohn\n')
    await ctl(['put', '/a', '1'])
    await ctl(['put', '/b', '2'])
    expect((await ctl(['get', '/', '--prefix', '--keys-only'])).stdout).toBe('/a\n\n/b\n\n')
    const j = JSON.parse((await ctl(['get', 'name', '-w', 'json'])).stdout)
    expect(j.header.revision).toBe(backend.revision)
    expect(j.header.cluster_id).toBe(0x1c2d3e4f5a6b)
    expect(j.header.member_id).toBe(0x8e9e05c52164)
    expect(j.header.raft_term).toBe(1)
    expect(j.count).toBe(1)
    expect(Buffer.from(j.kvs[0].key, 'base64').toString()).toBe('name')
    expect(Buffer.from(j.kvs[0].value, 'base64').toString()).toBe('john')
    expect(j.kvs[0].version).toBe(1)
    expect(j.kvs[0].create_revision).toBeGreaterThan(1)
  })

  it('get --rev, del --prefix, compaction and the compacted error text', async () => {
    const r1 = JSON.parse((await ctl(['put', 'k', 'v1', '-w', 'json'])).stdout).header.revision as number
    await ctl(['put', 'k', 'v2'])
    expect((await ctl(['get', 'k', `--rev=${r1}`])).stdout).toBe('k\nv1\n')
    await ctl(['put', 'p/1', 'x'])
    await ctl(['put', 'p/2', 'y'])
    expect((await ctl(['del', 'p/', '--prefix'])).stdout).toBe('2\n')
    const rev = backend.revision
    expect((await ctl(['compaction', String(rev)])).stdout).toBe(`compacted revision ${rev}\n`)
    const bad = await ctl(['get', 'k', `--rev=${r1}`])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('etcdserver: mvcc: required revision has been compacted')
  })

  it('watch --prefix sees a put made by another client', async () => {
    const w = procs.spawn(ETCDCTL, [`--endpoints=http://127.0.0.1:${port}`, 'watch', 'w/', '--prefix'], {
      ETCDCTL_API: '3',
    })
    // etcdctl prints nothing until an event arrives; retry the put until the watch has registered.
    const seen = waitForOutput(w, /PUT\nw\/x\nhello\n/, 8000)
    for (let i = 0; i < 30 && backend.watcherCount() === 0; i++) await new Promise((r) => setTimeout(r, 100))
    await ctl(['put', 'w/x', 'hello'])
    expect(await seen).toContain('PUT\nw/x\nhello\n')
  })

  it('lease grant, keep-alive --once, timetolive --keys, revoke', async () => {
    const grant = await ctl(['lease', 'grant', '60'])
    const m = /lease ([0-9a-f]+) granted with TTL\(60s\)/.exec(grant.stdout)
    expect(m, grant.stdout + grant.stderr).not.toBeNull()
    const id = m?.[1] ?? ''
    await ctl(['put', 'leased', 'v', `--lease=${id}`])
    const ka = await ctl(['lease', 'keep-alive', '--once', id])
    expect(ka.stdout).toBe(`lease ${id} keepalived with TTL(60)\n`)
    const ttl = await ctl(['lease', 'timetolive', id, '--keys'])
    expect(ttl.stdout).toMatch(
      new RegExp(
        `lease ${id} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[leased\\]\\)`,
      ),
    )
    expect((await ctl(['lease', 'list'])).stdout).toContain(id)
    expect((await ctl(['lease', 'revoke', id])).stdout).toBe(`lease ${id} revoked\n`)
    expect((await ctl(['get', 'leased'])).stdout).toBe('')
    expect((await ctl(['lease', 'timetolive', id])).stdout).toBe(`lease ${id} already expired\n`)
    const again = await ctl(['lease', 'revoke', id])
    expect(again.stderr).toContain('etcdserver: requested lease not found')
  })

  it('txn from stdin (interactive format)', async () => {
    await ctl(['put', 'tk', 'a'])
    const input = 'value("tk") = "a"\n\nput tk b\nget tk\n\nput tk fail\n\n'
    const res = await ctl(['txn'], input)
    expect(res.stdout).toBe('SUCCESS\n\nOK\n\ntk\nb\n')
    expect((await ctl(['txn'], input)).stdout).toBe('FAILURE\n\nOK\n')
  })

  it('member list, endpoint status, endpoint health (tables)', async () => {
    const ml = await ctl(['member', 'list', '-w', 'table'])
    expect(ml.stdout).toMatch(/\| 8e9e05c52164 \| started \|\s+m1 \| http:\/\/localhost:2380 \|/)
    expect(ml.stdout).toContain(`http://127.0.0.1:${port}`)
    // Scheme-less endpoint; the http:// forms are in the next test.
    const st = await etcdctl(0, [`--endpoints=127.0.0.1:${port}`, 'endpoint', 'status', '-w', 'table'])
    expect(st.stdout).toMatch(
      new RegExp(
        `127\\.0\\.0\\.1:${port} \\| 8e9e05c52164 \\|\\s+3\\.4\\.23 \\|.*\\|\\s+true \\|\\s+false \\|\\s+1 \\|`,
      ),
    )
    const h = await ctl(['endpoint', 'health'])
    expect(h.stdout + h.stderr).toMatch(
      new RegExp(`127\\.0\\.0\\.1:${port} is healthy: successfully committed proposal`),
    )
  })

  it('endpoint status / hashkv with http:// endpoints and --cluster (:authority carries the scheme)', async () => {
    // etcdctl 3.4 dials the endpoint string itself for Status/HashKV, sending `:authority: http://host:port`.
    const row = new RegExp(
      `\\| http://127\\.0\\.0\\.1:${port} \\| 8e9e05c52164 \\|\\s+3\\.4\\.23 \\|.*\\|\\s+true \\|\\s+false \\|\\s+1 \\|`,
    )
    const st = await ctl(['endpoint', 'status', '-w', 'table'])
    expect(st.stdout, st.stderr).toMatch(row)
    expect(st.code).toBe(0)
    const cl = await ctl(['endpoint', 'status', '--cluster', '-w', 'table'])
    expect(cl.code, cl.stderr).toBe(0)
    expect(cl.stdout).toMatch(row)
    expect(cl.stdout.split('\n').filter((l) => l.includes('8e9e05c52164'))).toHaveLength(1)
    const js = JSON.parse((await ctl(['endpoint', 'status', '--cluster', '-w', 'json'])).stdout)
    expect(js).toHaveLength(1)
    expect(js[0].Endpoint).toBe(`http://127.0.0.1:${port}`)
    expect(js[0].Status.leader).toBe(0x8e9e05c52164)
    await ctl(['put', 'hk', 'v'])
    const hk = await ctl(['endpoint', 'hashkv', '--cluster'])
    expect(hk.code, hk.stderr).toBe(0)
    expect(hk.stdout).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}, \\d+\\n$`))
  })

  it('snapshot save writes the image etcdctl checked', async () => {
    for (let i = 0; i < 300; i++)
      await backend.put({ key: Buffer.from(`big/${i}`), value: Buffer.alloc(300, 1) })
    const dir = tempDir('hakube-snap-')
    try {
      const file = join(dir.path, 'snap.db')
      const res = await ctl(['snapshot', 'save', file])
      expect(res.stdout + res.stderr).toContain(`Snapshot saved at ${file}`)
      expect(existsSync(file)).toBe(true)
      const data = readFileSync(file)
      const image = await backend.snapshot()
      // The image, zero-padded to a multiple of 512 bytes, then its SHA-256 (see SNAPSHOT_ALIGN_BYTES).
      expect(data.length % 512).toBe(32)
      const body = data.subarray(0, data.length - 32)
      expect(
        createHash('sha256')
          .update(body)
          .digest()
          .equals(data.subarray(data.length - 32)),
      ).toBe(true)
      expect(image.ok && body.subarray(0, image.response.length).equals(Buffer.from(image.response))).toBe(
        true,
      )
    } finally {
      dir.remove()
    }
  })
})
