import { findLeader, memberLogs, StoreProcessCluster, sleep, waitFor } from '@hakube/store/testing'
import { Pool } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiServerProcess } from './apiserver.js'

// Goal (issue 4): killing the store's leader during a stream of writes through hakube-apiserver loses no
// acknowledged write, every failed request gets a clear Kubernetes Status, and writes resume. Method: a
// real 3-member hakube-store, one hakube-apiserver listing all three in --etcd-servers, a closed loop of
// ConfigMap creates over HTTP, SIGKILL of the store leader in the middle, then a list.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }
const API = '127.0.1.239'

interface Outcome {
  name: string
  status: number
  body: { kind?: string; reason?: string; message?: string; code?: number; metadata?: { name?: string } }
}

describe('hakube-apiserver writes while the store loses its leader', () => {
  let store: StoreProcessCluster
  let api: ApiServerProcess | undefined
  const pool = new Pool(`http://${API}:6443`, { connections: 8 })

  beforeAll(async () => {
    store = new StoreProcessCluster(3, 230, TIMING)
    store.startAll()
    api = new ApiServerProcess(API, [`--etcd-servers=${store.clientUrls.join(',')}`, '--request-timeout=10s'])
    await waitFor(
      async () => {
        try {
          const r = await pool.request({ path: '/readyz', method: 'GET' })
          await r.body.text()
          return r.statusCode === 200 ? true : undefined
        } catch {
          return undefined
        }
      },
      30_000,
      () => `${api?.logs()}\n${memberLogs(store)}`,
    )
  })
  afterAll(async () => {
    api?.stop()
    store?.destroy()
    await pool.close()
  })

  const post = async (path: string, body: unknown): Promise<{ status: number; body: Outcome['body'] }> => {
    const r = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { status: r.statusCode, body: (await r.body.json()) as Outcome['body'] }
  }

  it('loses no acknowledged create and answers every failure with a Status', async () => {
    expect((await post('/api/v1/namespaces', { metadata: { name: 'load' } })).status).toBe(201)
    const outcomes: Outcome[] = []
    let writing = true
    const writer = async (w: number) => {
      for (let i = 0; writing; i++) {
        const name = `cm-${w}-${i}`
        try {
          const r = await post('/api/v1/namespaces/load/configmaps', {
            metadata: { name },
            data: { i: String(i) },
          })
          outcomes.push({ name, ...r })
        } catch (err) {
          outcomes.push({ name, status: 0, body: { message: String(err) } })
        }
      }
    }
    const writers = [0, 1, 2, 3].map(writer)
    await sleep(1000)
    const leader = await findLeader(store.members.map((m) => m.endpoint))
    expect(leader, memberLogs(store)).toBeDefined()
    const before = outcomes.filter((o) => o.status === 201).length
    store.kill(store.member(leader as string))
    // Writes resume once the others have elected a leader (a request in flight to the dead leader can
    // only time out, bounded by --request-timeout).
    const resumed = await waitFor(
      async () => (outcomes.slice(before).filter((o) => o.status === 201).length > 20 ? true : undefined),
      30_000,
      () => `writes did not resume:\n${api?.logs().slice(-3000)}\n${memberLogs(store)}`,
    )
    expect(resumed).toBe(true)
    writing = false
    await Promise.all(writers)

    // Every failure is a Kubernetes Status with a reason (no transport errors, no bare 500s).
    const failed = outcomes.filter((o) => o.status !== 201)
    for (const f of failed) {
      expect(f.status, JSON.stringify(f)).toBeGreaterThanOrEqual(400)
      expect(f.body.kind, JSON.stringify(f)).toBe('Status')
      expect(f.body.reason, JSON.stringify(f)).toMatch(
        /^(Timeout|ServiceUnavailable|InternalError|ServerTimeout|AlreadyExists)$/,
      )
    }
    // Every acknowledged create is stored.
    const list = await pool.request({ path: '/api/v1/namespaces/load/configmaps', method: 'GET' })
    const stored = new Set(
      ((await list.body.json()) as { items: Array<{ metadata: { name: string } }> }).items.map(
        (i) => i.metadata.name,
      ),
    )
    const lost = outcomes.filter((o) => o.status === 201 && !stored.has(o.name)).map((o) => o.name)
    expect(lost).toEqual([])
    console.log(
      `apiserver failover: ${outcomes.filter((o) => o.status === 201).length} acknowledged, ${failed.length} failed (${[...new Set(failed.map((f) => `${f.status} ${f.body.reason}`))].join(', ')})`,
    )
  })
})
