/**
 * Goal: with --backends-from-endpoints the backends follow the default/kubernetes Endpoints, read and
 * watched through the api-servers (fake ones here, answering the standard Endpoints shape), so an
 * api-server added later is balanced without a restart and one removed leaves rotation; a broken
 * watch is followed by a new list.
 */
import http from 'node:http'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { followEndpoints } from './endpoints-follower.js'
import { startBalancer } from './testing/fake-backend.js'

const PORT = 16458
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function endpoints(rv: number, ips: string[]) {
  return {
    kind: 'Endpoints',
    apiVersion: 'v1',
    metadata: { name: 'kubernetes', namespace: 'default', resourceVersion: String(rv) },
    subsets: [
      { addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'https', port: PORT, protocol: 'TCP' }] },
    ],
  }
}

/** A fake api-server: /readyz, the kubernetes Endpoints, and a watch the test feeds. */
class FakeApiServer {
  current = endpoints(1, [])
  readonly watchers = new Set<http.ServerResponse>()
  lists = 0
  private readonly server: http.Server

  constructor(readonly host: string) {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname === '/readyz') return void res.end('ok')
      if (url.pathname === '/api/v1/namespaces/default/endpoints/kubernetes') {
        this.lists++
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(this.current))
      }
      if (
        url.pathname === '/api/v1/namespaces/default/endpoints' &&
        url.searchParams.get('watch') === 'true'
      ) {
        expect(url.searchParams.get('fieldSelector')).toBe('metadata.name=kubernetes')
        res.writeHead(200, { 'content-type': 'application/json' })
        res.flushHeaders()
        this.watchers.add(res)
        res.on('close', () => this.watchers.delete(res))
        return
      }
      res.writeHead(200).end(`${host} ${url.pathname}`)
    })
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(PORT, this.host, r))
    cleanups.push(() => {
      this.server.closeAllConnections()
      return new Promise((r) => this.server.close(r))
    })
    return this
  }

  modify(ep: ReturnType<typeof endpoints>): void {
    this.current = ep
    for (const w of this.watchers) w.write(`${JSON.stringify({ type: 'MODIFIED', object: ep })}\n`)
  }

  breakWatches(): void {
    for (const w of this.watchers) w.destroy()
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(10)
  }
}

describe('followEndpoints', () => {
  it('balances the addresses the kubernetes Endpoints lists, as it changes', async () => {
    const a = await new FakeApiServer('127.0.1.158').start()
    const b = await new FakeApiServer('127.0.1.159').start()
    a.current = endpoints(5, ['127.0.1.158', '127.0.1.159'])
    b.current = a.current
    const { lb, url } = await startBalancer('127.0.1.165', [`http://127.0.1.158:${PORT}`])
    cleanups.push(() => lb.shutdown(0))
    const f = followEndpoints({
      pool: lb.pool,
      seeds: [new URL(`http://127.0.1.158:${PORT}`)],
      ca: undefined,
      log: pino({ level: 'silent' }),
      retryMs: 50,
    })
    cleanups.push(() => f.stop())
    const keys = () => lb.pool.backends.map((x) => x.key)
    await until(() => keys().length === 2)
    expect(keys()).toEqual([`http://127.0.1.158:${PORT}`, `http://127.0.1.159:${PORT}`])
    const seen = new Set<string>()
    for (let i = 0; i < 4; i++) seen.add((await (await fetch(`${url}/x`)).text()).split(' ')[0] as string)
    expect([...seen].sort()).toEqual(['127.0.1.158', '127.0.1.159'])

    // The seed leaves the Endpoints (its api-server died): it leaves rotation.
    await until(() => a.watchers.size + b.watchers.size === 1)
    const next = endpoints(6, ['127.0.1.159'])
    a.modify(next)
    b.modify(next)
    await until(() => keys().length === 1)
    expect(keys()).toEqual([`http://127.0.1.159:${PORT}`])

    // A broken watch is followed by a new list, which brings the added api-server back.
    const listsBefore = b.lists
    a.current = endpoints(7, ['127.0.1.158', '127.0.1.159'])
    b.current = a.current
    a.breakWatches()
    b.breakWatches()
    await until(() => keys().length === 2)
    expect(b.lists).toBeGreaterThan(listsBefore)
  })

  it('ignores an Endpoints without addresses instead of emptying the backends', async () => {
    const a = await new FakeApiServer('127.0.1.158').start()
    a.current = endpoints(3, [])
    const { lb } = await startBalancer('127.0.1.165', [`http://127.0.1.158:${PORT}`])
    cleanups.push(() => lb.shutdown(0))
    const f = followEndpoints({
      pool: lb.pool,
      seeds: [new URL(`http://127.0.1.158:${PORT}`)],
      ca: undefined,
      log: pino({ level: 'silent' }),
      retryMs: 50,
    })
    cleanups.push(() => f.stop())
    await until(() => a.lists > 0 && a.watchers.size === 1)
    expect(lb.pool.backends.map((x) => x.key)).toEqual([`http://127.0.1.158:${PORT}`])
  })
})
