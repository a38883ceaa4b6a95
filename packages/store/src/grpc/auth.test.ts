/**
 * The Auth service, compared with a real etcd 3.4 with authentication disabled and no users or roles:
 * every `/v3/auth/*` path of its JSON gateway answers the same status and body, and etcdctl's auth, user
 * and role commands print the same over gRPC. Adding a user or a role (which etcd stores) is the one
 * request hakube-store refuses: gRPC Unimplemented, HTTP 501, in the gateway's error form.
 */
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClientServer, startClientServer } from './client-server.js'
import { ETCDCTL, etcdctl, Processes, requireBinary, startRealEtcd } from './testing/etcdctl.js'
import { LocalBackend } from './testing/local-backend.js'

const b64 = (s: string): string => Buffer.from(s).toString('base64')

function normalize(body: unknown): unknown {
  return JSON.parse(
    JSON.stringify(body, (k, v: unknown) =>
      ['cluster_id', 'member_id', 'raft_term'].includes(k) && typeof v === 'string' ? '<id>' : v,
    ),
  )
}

/** Every auth path of etcd 3.4's gateway, with bodies that leave etcd's auth store empty. */
const AUTH_REQUESTS: Array<[string, string]> = [
  ['/v3/auth/enable', '{}'],
  ['/v3/auth/enable', ''],
  ['/v3/auth/disable', '{}'],
  ['/v3/auth/authenticate', '{}'],
  ['/v3/auth/authenticate', '{"name":"root","password":"secret"}'],
  ['/v3/auth/user/add', '{}'],
  ['/v3/auth/user/add', '{"password":"p"}'],
  ['/v3/auth/user/get', '{}'],
  ['/v3/auth/user/get', '{"name":"alice"}'],
  ['/v3/auth/user/list', '{}'],
  ['/v3/auth/user/delete', '{"name":"alice"}'],
  ['/v3/auth/user/changepw', '{"name":"alice","password":"x"}'],
  ['/v3/auth/user/grant', '{"user":"alice","role":"r"}'],
  ['/v3/auth/user/revoke', '{"name":"alice","role":"r"}'],
  ['/v3/auth/role/add', '{}'],
  ['/v3/auth/role/get', '{"role":"r"}'],
  ['/v3/auth/role/list', '{}'],
  ['/v3/auth/role/delete', '{"role":"r"}'],
  ['/v3/auth/role/grant', `{"name":"r","perm":{"permType":"WRITE","key":"${b64('a')}"}}`],
  ['/v3/auth/role/revoke', `{"role":"r","key":"${b64('a')}"}`],
  ['/v3beta/auth/authenticate', '{}'],
  // Decoding errors come before the auth store is asked.
  ['/v3/auth/user/get', '{"name":5}'],
  ['/v3/auth/role/revoke', '{"role":"r","key":"%%%"}'],
  ['/v3/auth/role/grant', '{"name":"r","perm":{"permType":"BOGUS"}}'],
  ['/v3/auth/user/add', '{"name":"u","options":{"no_password":"x"}}'],
]

describe('the Auth service, compared with a real etcd 3.4 (auth disabled)', () => {
  const procs = new Processes()
  let etcd: { url: string; stop(): Promise<void> }
  let backend: LocalBackend
  let server: ClientServer
  let ours: string

  beforeAll(async () => {
    requireBinary(ETCDCTL)
    etcd = await startRealEtcd(procs)
    backend = new LocalBackend()
    server = await startClientServer({ host: '127.0.0.1', port: 0, backend, registry: new Registry() })
    ours = `http://127.0.0.1:${server.port}`
  }, 15_000)
  afterAll(async () => {
    await etcd?.stop()
    await server?.close()
    backend?.close()
    await procs.killAll()
  })

  const post = async (base: string, path: string, body: string) => {
    const res = await fetch(base + path, { method: 'POST', body })
    return { status: res.status, body: normalize(await res.json()) }
  }

  it('answers every /v3/auth path with etcd status and body', async () => {
    for (const [path, body] of AUTH_REQUESTS) {
      const theirs = await post(etcd.url, path, body)
      const got = await post(ours, path, body)
      expect(got, `${path} ${body}`).toEqual(theirs)
    }
  })

  it("answers a body that is not JSON with a 400 InvalidArgument, as etcd (its text is Go's)", async () => {
    const theirs = await post(etcd.url, '/v3/auth/user/get', '{bad')
    const got = await post(ours, '/v3/auth/user/get', '{bad')
    const shape = (r: { status: number; body: unknown }) => {
      const b = r.body as { error: string; message: string; code: number }
      return { status: r.status, code: b.code, same: b.error === b.message, keys: Object.keys(b).sort() }
    }
    expect(shape(got)).toEqual(shape(theirs))
  })

  it('refuses to add a user or a role as unimplemented, in the gateway error form', async () => {
    for (const path of ['/v3/auth/user/add', '/v3/auth/role/add']) {
      const res = await fetch(ours + path, { method: 'POST', body: '{"name":"alice","password":"p"}' })
      expect(res.status).toBe(501)
      const body = (await res.json()) as { error: string; message: string; code: number }
      expect(body.code).toBe(12)
      expect(body.message).toBe(body.error)
      expect(body.message).toContain('not supported')
    }
  })

  it('etcdctl auth, user and role commands print what they print against etcd', async () => {
    const etcdPort = Number(new URL(etcd.url).port)
    const commands = [
      ['auth', 'enable'],
      ['auth', 'disable'],
      ['user', 'list'],
      ['user', 'get', 'alice'],
      ['user', 'delete', 'alice'],
      ['user', 'grant-role', 'alice', 'r'],
      ['role', 'list'],
      ['role', 'get', 'r'],
      ['role', 'delete', 'r'],
      ['role', 'revoke-permission', 'r', 'a'],
    ]
    // etcdctl logs its retries with timestamps and client ids to stderr; its verdict is the last line.
    const verdict = (r: { code: number; stdout: string; stderr: string }) => ({
      code: r.code,
      stdout: r.stdout,
      error: r.stderr.trim().split('\n').at(-1),
    })
    for (const args of commands) {
      const theirs = verdict(await etcdctl(etcdPort, args))
      const got = verdict(await etcdctl(server.port, args))
      expect(got, args.join(' ')).toEqual(theirs)
    }
  })
})
