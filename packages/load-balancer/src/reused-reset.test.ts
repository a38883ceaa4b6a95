/**
 * Goal: a reset met on a reused keep-alive connection (the backend closed it idle, or died) costs no
 * idempotent request: it is retried once on a fresh connection, to the same backend or another; a
 * non-idempotent request that may have reached the backend is still never replayed; and when every
 * backend dies at once the client gets the 503 "no healthy api-server" Status, not a 502.
 * Raw backends on 127.0.1.167 (they count what reached them), balancer on 127.0.1.169.
 */
import http from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startBalancer } from './testing/fake-backend.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/**
 * A keep-alive backend that, once `die` is set, resets a reused connection as soon as a request
 * arrives on it (after counting it as received) and stops listening: as a process killed under load.
 */
class RawBackend {
  port = 0
  die = false
  /** When dying, stop listening too (a dead process); false: only the reused connection is reset. */
  closeOnDie = true
  /** Non-health requests that reached it, as `METHOD path`. */
  readonly received: string[] = []
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()

  constructor(private readonly name: string) {
    this.server = net.createServer((s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
      s.on('error', () => s.destroy())
      let served = 0
      s.on('data', (d: Buffer) => {
        const line = d.toString().split('\r\n')[0] ?? ''
        const [method, path] = line.split(' ')
        if (path === '/readyz') {
          s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok')
          return
        }
        this.received.push(`${method} ${path}`)
        if (this.die && served > 0) {
          if (this.closeOnDie) this.server.close()
          s.resetAndDestroy()
          return
        }
        served++
        const body = `${this.name} ${method}`
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`)
      })
    })
  }

  get url(): string {
    return `http://127.0.1.167:${this.port}`
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.1.167', resolve))
    this.port = (this.server.address() as net.AddressInfo).port
    cleanups.push(() => this.stop())
    return this
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    return new Promise((r) => this.server.close(() => r()))
  }
}

function request(url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false })
    req.on('response', (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(method === 'GET' ? undefined : '{}')
  })
}

async function balancer(urls: string[]) {
  // Checks once at start only: what happens here is found by the proxied requests themselves.
  const r = await startBalancer('127.0.1.169', urls, ['--health-interval=1h', '--health-timeout=5s'])
  cleanups.push(() => r.lb.shutdown(0))
  return r
}

describe('a reset on a reused keep-alive connection', () => {
  it('is retried on a fresh connection to the same backend when it is the only one', async () => {
    const b = await new RawBackend('b0').start()
    const { url } = await balancer([b.url])
    expect(await request(`${url}/warm`)).toEqual({ status: 200, body: 'b0 GET' })
    b.die = true
    // The pooled socket is reset; a fresh one is refused: the backend is gone, the answer says so.
    const a = await request(`${url}/api/v1/pods`)
    expect(a.status).toBe(503)
    expect(JSON.parse(a.body)).toMatchObject({ kind: 'Status', code: 503 })
    expect(JSON.parse(a.body).message).toMatch(/no healthy api-server/)
  })

  it('a GET goes through when the backend only closed the idle connection', async () => {
    const b = await new RawBackend('b0').start()
    const { url } = await balancer([b.url])
    expect(await request(`${url}/warm`)).toEqual({ status: 200, body: 'b0 GET' })
    // Resets the reused socket but keeps listening: a fresh connection is answered.
    b.die = true
    b.closeOnDie = false
    expect(await request(`${url}/api/v1/pods`)).toEqual({ status: 200, body: 'b0 GET' })
    expect(b.received).toEqual(['GET /warm', 'GET /api/v1/pods', 'GET /api/v1/pods'])
  })

  it('a GET meeting a reset pooled socket and then a refusal on its backend still reaches the live one', async () => {
    // Three backends (a budget of three attempts); b0 and b1 die, b2 lives. Each attempt is one of the
    // budget: reset on b0's pooled socket (the free retry), refused by b0, refused by b1, served by b2.
    const bs = [
      await new RawBackend('b0').start(),
      await new RawBackend('b1').start(),
      await new RawBackend('b2').start(),
    ]
    const { url } = await balancer(bs.map((b) => b.url))
    for (let i = 0; i < 3; i++) expect((await request(`${url}/warm`)).status).toBe(200)
    for (const b of bs.slice(0, 2)) {
      b.die = true
    }
    await bs[1]?.stop()
    const got = await request(`${url}/api/v1/pods`)
    expect(got).toEqual({ status: 200, body: 'b2 GET' })
  })

  it('every backend dying at once: a GET gets the 503 Status, a POST that reached one a 502 and is not replayed', async () => {
    const bs = [await new RawBackend('b0').start(), await new RawBackend('b1').start()]
    const { url } = await balancer(bs.map((b) => b.url))
    for (let i = 0; i < 4; i++) expect((await request(`${url}/warm`)).status).toBe(200)
    for (const b of bs) b.die = true
    const post = await request(`${url}/api/v1/namespaces/default/configmaps`, 'POST')
    expect(post.status).toBe(502)
    expect(JSON.parse(post.body)).toMatchObject({ kind: 'Status', code: 502 })
    const posts = bs.flatMap((b) => b.received.filter((r) => r.startsWith('POST')))
    expect(posts).toHaveLength(1)
    const get = await request(`${url}/api/v1/pods`)
    expect(get.status).toBe(503)
    expect(JSON.parse(get.body).message).toMatch(/no healthy api-server/)
  })
})
