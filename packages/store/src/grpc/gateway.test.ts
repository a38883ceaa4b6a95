import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClientServer, startClientServer } from './client-server.js'
import { Processes, startRealEtcd } from './testing/etcdctl.js'
import { LocalBackend } from './testing/local-backend.js'

const b64 = (s: string): string => Buffer.from(s).toString('base64')

/** Replaces the member-specific header values so the two servers' bodies compare. */
function normalize(body: unknown): unknown {
  return JSON.parse(
    JSON.stringify(body, (k, v: unknown) =>
      ['cluster_id', 'member_id', 'raft_term', 'ID', 'leader'].includes(k) && typeof v === 'string'
        ? '<id>'
        : v,
    ),
  )
}

describe('the JSON gateway, compared with a real etcd 3.4', () => {
  const procs = new Processes()
  let etcd: { url: string; stop(): Promise<void> }
  let backend: LocalBackend
  let server: ClientServer
  let ours: string
  const registry = new Registry()

  beforeAll(async () => {
    etcd = await startRealEtcd(procs)
    backend = new LocalBackend()
    server = await startClientServer({ host: '127.0.0.1', port: 0, backend, registry })
    ours = `http://127.0.0.1:${server.port}`
  }, 15_000)
  afterAll(async () => {
    await etcd?.stop()
    await server?.close()
    backend?.close()
  })

  const post = async (base: string, path: string, body: unknown) => {
    const res = await fetch(base + path, { method: 'POST', body: JSON.stringify(body) })
    return { status: res.status, body: (await res.json()) as unknown }
  }
  /** The same request on both; returns both normalized results. */
  const both = async (path: string, body: unknown) => {
    const [a, b] = [await post(etcd.url, path, body), await post(ours, path, body)]
    return {
      theirs: { status: a.status, body: normalize(a.body) },
      ours: { status: b.status, body: normalize(b.body) },
    }
  }

  it('KV requests answer the same bodies as etcd', async () => {
    const steps: Array<[string, unknown]> = [
      ['/v3/kv/put', { key: b64('foo'), value: b64('bar') }],
      ['/v3/kv/put', { key: b64('foo'), value: b64('baz'), prev_kv: true }],
      ['/v3/kv/range', { key: b64('foo') }],
      ['/v3/kv/range', { key: b64('none') }],
      ['/v3/kv/range', { key: b64('f'), range_end: b64('g'), keys_only: true }],
      ['/v3/kv/range', { key: b64('foo'), revision: 1000 }],
      [
        '/v3/kv/txn',
        {
          compare: [{ key: b64('foo'), result: 'EQUAL', target: 'VALUE', value: b64('baz') }],
          success: [
            { requestRange: { key: b64('foo') } },
            { request_put: { key: b64('t'), value: b64('1') } },
          ],
        },
      ],
      ['/v3/kv/deleterange', { key: b64('foo'), prev_kv: true }],
      ['/v3/kv/compaction', { revision: 3 }],
      ['/v3beta/kv/range', { key: b64('foo'), revision: 2 }],
      ['/v3/kv/put', { key: '' }],
    ]
    for (const [path, body] of steps) {
      const r = await both(path, body)
      expect(r.ours, `${path} ${JSON.stringify(body)}`).toEqual(r.theirs)
    }
  })

  it('lease, cluster and maintenance requests have etcd shapes', async () => {
    for (const [path, body] of [
      ['/v3/lease/grant', { TTL: 30, ID: 77 }],
      ['/v3/lease/timetolive', { ID: 78 }],
      ['/v3/kv/lease/leases', {}],
      ['/v3/lease/revoke', { ID: 78 }],
      ['/v3/kv/lease/revoke', { ID: 77 }],
    ] as Array<[string, unknown]>) {
      const r = await both(path, body)
      expect(r.ours, path).toEqual(r.theirs)
    }
    const ml = await both('/v3/cluster/member/list', {})
    expect(Object.keys(ml.ours.body as object)).toEqual(Object.keys(ml.theirs.body as object))
    const st = await both('/v3/maintenance/status', {})
    expect(Object.keys(st.ours.body as object).sort()).toEqual(Object.keys(st.theirs.body as object).sort())
  })

  it('serves /health, /version and /metrics', async () => {
    expect(await (await fetch(`${ours}/health`)).json()).toEqual(
      await (await fetch(`${etcd.url}/health`)).json(),
    )
    const v = (await (await fetch(`${ours}/version`)).json()) as Record<string, string>
    expect(Object.keys(v)).toEqual(['etcdserver', 'etcdcluster'])
    const m = await fetch(`${ours}/metrics`)
    expect(m.headers.get('content-type')).toContain('text/plain')
  })

  it('rejects a body that is not JSON with code 3', async () => {
    const res = await fetch(`${ours}/v3/kv/put`, { method: 'POST', body: 'notjson' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { code: number }).code).toBe(3)
  })
})
