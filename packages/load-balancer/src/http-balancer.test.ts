/**
 * Goal: in http mode, clients do not see a backend's death: idempotent requests never fail, a
 * non-idempotent one in flight gets a 502 Status, no backend gives a 503 Status and service resumes
 * by itself, streams end promptly when their backend dies or hangs, upgrades pass through.
 * Real sockets on 127.0.1.150-169; fake backends are started and killed inside each test.
 */
import http from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { LoadBalancer } from './load-balancer.js'
import { captureLog, FakeBackend, startBalancer } from './testing/fake-backend.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function backends(n: number, firstHost = 150): Promise<FakeBackend[]> {
  const out: FakeBackend[] = []
  for (let i = 0; i < n; i++) {
    const b = await new FakeBackend(`b${i}`, `127.0.1.${firstHost + i}`).start()
    cleanups.push(() => b.kill())
    out.push(b)
  }
  return out
}

async function balancer(bs: FakeBackend[], extra: string[] = [], log?: Parameters<typeof startBalancer>[3]) {
  const r = await startBalancer(
    '127.0.1.160',
    bs.map((b) => b.url),
    extra,
    log,
  )
  cleanups.push(() => r.lb.shutdown(0))
  return r
}

interface Answer {
  status: number
  body: string
}

function request(url: string, method = 'GET', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      agent: false,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(10)
  }
}

/** Requests each backend was sent so far, in the order of the --backends list. */
function servedBy(lb: LoadBalancer): number[] {
  return lb.pool.stats().map((s) => s.requests)
}

function stateOf(lb: LoadBalancer, b: FakeBackend): string | undefined {
  return lb.pool.stats().find((s) => s.url === b.url)?.state
}

describe('http mode', () => {
  it('balances round robin over the backends, and leastconn toward the idle one', async () => {
    const bs = await backends(3)
    const { url, lb } = await balancer(bs)
    const names: string[] = []
    for (let i = 0; i < 6; i++) names.push((await request(`${url}/echo`)).body.split(' ')[0] as string)
    expect(names).toEqual(['b0', 'b1', 'b2', 'b0', 'b1', 'b2'])
    await lb.shutdown(0)
    const lc = await startBalancer(
      '127.0.1.161',
      bs.map((b) => b.url),
      ['--balance=leastconn'],
    )
    cleanups.push(() => lc.lb.shutdown(0))
    const slow = [request(`${lc.url}/slow?delay=400`), request(`${lc.url}/slow?delay=400`)]
    await sleep(50)
    expect((await request(`${lc.url}/echo`)).body).toMatch(/^b2 /)
    await Promise.all(slow)
  })

  it('a refused backend is marked down at once and its requests go elsewhere', async () => {
    const bs = await backends(2)
    const dead = bs[1] as FakeBackend
    dead.kill()
    const { url, lb } = await balancer(bs, ['--health-interval=1h'])
    const answers = await Promise.all([0, 1, 2, 3].map(() => request(`${url}/echo`)))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
    expect(answers.every((a) => a.body.startsWith('b0 '))).toBe(true)
    expect(stateOf(lb, dead)).toBe('down')
  })

  it('no idempotent request fails while a backend is killed under load', async () => {
    const bs = await backends(3)
    // Checks slow enough to never time out on a loaded machine: the kill is found passively here.
    const { url, lb } = await balancer(bs, ['--health-timeout=5s'])
    const victim = bs[1] as FakeBackend
    const failures: string[] = []
    let sent = 0
    let answered = 0
    let stop = false
    const worker = async (): Promise<void> => {
      while (!stop) {
        sent++
        try {
          const a = await request(`${url}/work?delay=15`)
          answered++
          if (a.status !== 200) failures.push(`${a.status} ${a.body}`)
        } catch (err) {
          failures.push(String(err))
        }
      }
    }
    const workers = Array.from({ length: 8 }, worker)
    await until(() => servedBy(lb).every((n) => n >= 3), 15_000)
    victim.kill()
    const atKill = servedBy(lb)
    await until(
      () =>
        stateOf(lb, victim) === 'down' &&
        servedBy(lb).every((n, i) => bs[i] === victim || n >= (atKill[i] as number) + 3),
      15_000,
    )
    stop = true
    await Promise.all(workers)
    expect(failures).toEqual([])
    expect(answered).toBe(sent)
    expect(stateOf(lb, victim)).toBe('down')
  })

  it('mixed load through a kill: GETs never fail, POSTs fail only as 502 Status, watches on it end', async () => {
    const bs = await backends(3)
    // Checks slow enough to never time out on a loaded machine: the kill is found passively here.
    const { url, lb } = await balancer(bs, ['--health-timeout=5s'])
    const victim = bs[2] as FakeBackend
    const getFailures: string[] = []
    const postFailures: string[] = []
    let postsOk = 0
    let stop = false
    const loop = async (fn: () => Promise<void>): Promise<void> => {
      while (!stop) await fn()
    }
    const getter = () =>
      loop(async () => {
        const a = await request(`${url}/api/v1/pods?delay=10`).catch((e: Error) => ({
          status: 0,
          body: e.message,
        }))
        if (a.status !== 200) getFailures.push(`${a.status} ${a.body}`)
      })
    const poster = () =>
      loop(async () => {
        const a = await request(`${url}/api/v1/namespaces/default/configmaps?delay=30`, 'POST', '{}').catch(
          (e: Error) => ({ status: 0, body: e.message }),
        )
        if (a.status === 200) postsOk++
        else postFailures.push(a.body)
      })
    const watchEnds: Array<Promise<number>> = []
    let killedAt = 0
    for (let i = 0; i < 3; i++)
      watchEnds.push(
        new Promise((resolve, reject) => {
          http
            .get(`${url}/api/v1/pods?watch=true`, { agent: false }, (res) => {
              res.setEncoding('utf8')
              let text = ''
              res.on('data', (d: string) => (text += d))
              res.on('end', () =>
                resolve(text.includes(`"backend":"${victim.name}"`) ? Date.now() - killedAt : -1),
              )
            })
            .on('error', reject)
        }),
      )
    const workers = [getter(), getter(), getter(), getter(), poster(), poster()]
    await until(() => servedBy(lb).every((n) => n >= 3), 15_000)
    killedAt = Date.now()
    victim.kill()
    const atKill = servedBy(lb)
    const postsOkAtKill = postsOk
    // Service goes on: the victim is out and the others keep answering GETs and POSTs.
    await until(
      () =>
        stateOf(lb, victim) === 'down' &&
        postsOk >= postsOkAtKill + 2 &&
        servedBy(lb).every((n, i) => bs[i] === victim || n >= (atKill[i] as number) + 3),
      15_000,
    )
    stop = true
    await Promise.all(workers)
    expect(getFailures).toEqual([])
    // Only POSTs in flight on the victim when it died may fail (at most one per poster), each a 502 Status.
    expect(postFailures.length).toBeLessThanOrEqual(2)
    for (const body of postFailures) expect(JSON.parse(body)).toMatchObject({ kind: 'Status', code: 502 })
    // Round robin put one of the three watches on the victim; it ended within a second.
    for (const b of bs) if (b !== victim) b.kill()
    const ends = await Promise.all(watchEnds)
    const onVictim = ends.filter((ms) => ms >= 0)
    expect(onVictim.length).toBe(1)
    expect(onVictim[0]).toBeLessThan(1000)
  })

  it('a non-idempotent request that reached a dying backend gets a 502 Status; an idempotent one is retried', async () => {
    const bs = await backends(2)
    const { url } = await balancer(bs, ['--health-interval=1h'])
    const post = await request(`${url}/die`, 'POST', '{"kind":"Pod"}')
    expect(post.status).toBe(502)
    const status = JSON.parse(post.body)
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 502 })
    expect(status.message).toMatch(/failed \(ECONNRESET\).*not retried because it is not idempotent/)
    // Exactly one backend saw the POST: it was not replayed.
    expect(bs.flatMap((b) => b.received)).toEqual(['{"kind":"Pod"}'])
  })

  it('a POST whose connection could not be made goes to another backend with its body', async () => {
    const bs = await backends(2)
    ;(bs[0] as FakeBackend).kill()
    const { url } = await balancer(bs, ['--health-interval=1h'])
    const a = await request(`${url}/api/v1/namespaces/default/pods`, 'POST', '{"x":1}')
    expect(a).toEqual({ status: 200, body: 'b1 POST /api/v1/namespaces/default/pods' })
    expect((bs[1] as FakeBackend).received).toEqual(['{"x":1}'])
  })

  it('streams a body over the replay bound through whole', async () => {
    const bs = await backends(1)
    const { url } = await balancer(bs)
    const big = 'x'.repeat(300 * 1024)
    const a = await request(`${url}/api/v1/namespaces/default/configmaps`, 'POST', big)
    expect(a.status).toBe(200)
    expect((bs[0] as FakeBackend).received.map((r) => r.length)).toEqual([big.length])
  })

  it('no backend up: 503 Status, then service resumes by itself when one returns', async () => {
    const bs = await backends(2)
    const { url, lb } = await balancer(bs, ['--rise=2'])
    for (const b of bs) b.kill()
    const a = await request(`${url}/api/v1/pods`)
    expect(a.status).toBe(503)
    expect(JSON.parse(a.body)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'no healthy api-server behind the load balancer',
      reason: 'ServiceUnavailable',
      details: { retryAfterSeconds: 1 },
      code: 503,
    })
    await until(() => lb.pool.backends.every((b) => !b.up))
    await (bs[0] as FakeBackend).restart()
    const back = Date.now()
    await until(() => stateOf(lb, bs[0] as FakeBackend) === 'up')
    // rise 2 × interval 100ms, with slack for a loaded machine.
    expect(Date.now() - back).toBeLessThan(1000)
    expect(await request(`${url}/echo`)).toEqual({ status: 200, body: 'b0 GET /echo' })
  })

  it('a watch ends cleanly within a second of its backend dying; a plain stream is cut', async () => {
    const bs = await backends(2)
    const { url } = await balancer(bs)
    const open = (path: string) =>
      new Promise<{ res: http.IncomingMessage; first: string }>((resolve, reject) => {
        const req = http.get(`${url}${path}`, { agent: false }, (res) => {
          res.setEncoding('utf8')
          res.once('data', (first: string) => resolve({ res, first }))
        })
        req.on('error', reject)
      })
    const w = await open('/api/v1/pods?watch=true')
    const owner = bs.find((b) => w.first.includes(`"backend":"${b.name}"`)) as FakeBackend
    const ended = new Promise<string>((resolve) => {
      w.res.on('end', () => resolve('end'))
      w.res.on('error', () => resolve('error'))
      w.res.resume()
    })
    const killedAt = Date.now()
    owner.kill()
    expect(await ended).toBe('end')
    expect(Date.now() - killedAt).toBeLessThan(1000)

    // Not a watch: the client must not take a truncated body for a whole one, so it is cut.
    const s = await open('/stream')
    const streamOwner = bs.find((b) => s.first.includes(`"backend":"${b.name}"`)) as FakeBackend
    const cut = new Promise<string>((resolve) => {
      s.res.on('end', () => resolve('end'))
      s.res.on('error', () => resolve('error'))
      s.res.on('aborted', () => resolve('error'))
      s.res.resume()
    })
    const cutAt = Date.now()
    streamOwner.kill()
    expect(await cut).toBe('error')
    expect(Date.now() - cutAt).toBeLessThan(1000)
  })

  it('a watch with no event yet has its headers passed on at once', async () => {
    // An api-server flushes a watch's headers before any event exists; a client waits for them.
    const quiet = http.createServer((req, res) => {
      if (req.url === '/readyz') return void res.end('ok')
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
      res.flushHeaders()
      const t = setTimeout(() => res.end('{"type":"ADDED","object":{}}\n'), 2000)
      res.on('close', () => clearTimeout(t))
    })
    await new Promise<void>((resolve) => quiet.listen(0, '127.0.1.112', resolve))
    cleanups.push(() => new Promise((resolve) => quiet.close(resolve)))
    cleanups.push(() => quiet.closeAllConnections())
    const { port } = quiet.address() as net.AddressInfo
    const { url, lb } = await startBalancer('127.0.1.113', [`http://127.0.1.112:${port}`])
    cleanups.push(() => lb.shutdown(0))
    const started = Date.now()
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(`${url}/api/v1/pods?watch=true`, { agent: false }, resolve)
      req.on('error', reject)
    })
    cleanups.push(() => res.destroy())
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('application/json')
    // Well before the first event (2 s): the headers did not wait for a body chunk.
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('a hung backend (like SIGSTOP) is found by the check timeout; its requests end, idempotent ones elsewhere', async () => {
    const bs = await backends(2)
    const { url, lb } = await balancer(bs, ['--fall=2'])
    const hung = bs[0] as FakeBackend
    hung.hung = true
    const started = Date.now()
    // Round robin sends the first of these to the hung backend.
    const [get, post] = await Promise.all([
      request(`${url}/echo`),
      request(`${url}/api/v1/pods`, 'POST', '{}'),
    ])
    const answers = [get, post]
    expect(Date.now() - started).toBeLessThan(2000)
    expect(stateOf(lb, hung)).toBe('down')
    const fromHung = answers.filter((a) => a.status !== 200)
    // The request that met the hung backend: a GET is retried (200 from b1), a POST gets a 502 Status.
    for (const a of fromHung) expect(JSON.parse(a.body)).toMatchObject({ kind: 'Status', code: 502 })
    expect(get.status === 200 || post.status === 200).toBe(true)
    expect(answers.filter((a) => a.status === 200).every((a) => a.body.startsWith('b1 '))).toBe(true)
  })

  it('a busy backend (checks time out, answers still arrive) is not cut, and serves when nothing is up', async () => {
    // Loaded api-servers answer /readyz after the check timeout while they still answer requests:
    // taking such a backend for hung and cutting its requests would overload the others in turn.
    const busy = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x')
      if (u.pathname === '/readyz') return // never answered in time
      setTimeout(() => res.end('busy'), Number(u.searchParams.get('delay') ?? '0'))
    })
    await new Promise<void>((resolve) => busy.listen(0, '127.0.1.229', resolve))
    cleanups.push(() => new Promise((resolve) => busy.close(resolve)))
    cleanups.push(() => busy.closeAllConnections())
    const { port } = busy.address() as net.AddressInfo
    const { url, lb } = await startBalancer(
      '127.0.1.229',
      [`http://127.0.1.229:${port}`],
      ['--health-interval=100ms', '--health-timeout=300ms', '--fall=2'],
    )
    cleanups.push(() => lb.shutdown(0))
    // Answers arrive every 25 ms for about a second: every check's window sees some.
    const answers = Promise.all(
      Array.from({ length: 32 }, (_, i) => request(`${url}/work?delay=${200 + 25 * i}`)),
    )
    await until(() => lb.pool.stats()[0]?.state === 'down', 5000)
    expect(lb.pool.stats()[0]?.activeConnections).toBeGreaterThan(0)
    // Nothing is up, but a busy backend is alive: a new request is sent to it, not answered 503.
    expect(await request(`${url}/work?delay=0`)).toEqual({ status: 200, body: 'busy' })
    const got = await answers
    expect(got.filter((a) => a.status !== 200 || a.body !== 'busy')).toEqual([])
  })

  it('passes HTTP/1.1 upgrades through', async () => {
    const bs = await backends(1)
    const { url } = await balancer(bs)
    const echoed = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${url}/api/v1/namespaces/default/pods/p/exec`, {
        agent: false,
        headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1' },
      })
      req.on('upgrade', (res, socket, head: Buffer) => {
        expect(res.statusCode).toBe(101)
        expect(res.headers.upgrade).toBe('SPDY/3.1')
        let got = head.toString()
        socket.setEncoding('utf8')
        socket.on('data', (d: string) => {
          got += d
          if (got.includes('ping')) {
            socket.destroy()
            resolve(got)
          }
        })
        socket.write('ping')
      })
      req.on('error', reject)
      req.end()
    })
    expect(echoed).toBe('hello from b0\nping')
  })

  it('a backend dropped from the list (it left the Endpoints) finishes what is in flight on it', async () => {
    const bs = await backends(2)
    const { url, lb } = await balancer(bs)
    const slow = request(`${url}/slow?delay=300`)
    await sleep(50)
    lb.pool.setBackends([new URL((bs[1] as FakeBackend).url)])
    expect(await slow).toEqual({ status: 200, body: 'b0 GET /slow' })
    expect((await request(`${url}/echo`)).body).toBe('b1 GET /echo')
  })

  it('--max-connections refuses connections over the limit', async () => {
    const bs = await backends(1)
    const { url } = await balancer(bs, ['--max-connections=1'])
    const { hostname, port } = new URL(url)
    const first = net.connect(Number(port), hostname)
    await new Promise((r) => first.once('connect', r))
    await sleep(50)
    await expect(request(`${url}/echo`)).rejects.toThrow(/socket hang up|ECONNRESET/)
    first.destroy()
    await sleep(50)
    expect((await request(`${url}/echo`)).status).toBe(200)
  })

  it('logs one line per backend state change', async () => {
    const bs = await backends(1)
    const { log, lines } = captureLog()
    const { lb } = await balancer(bs, ['--rise=1', '--fall=1'], log)
    const b = bs[0] as FakeBackend
    b.ready = false
    await until(() => stateOf(lb, b) === 'down')
    b.ready = true
    await until(() => stateOf(lb, b) === 'up')
    await sleep(250)
    const changes = lines.filter((l) => l['msg'] === 'backend down' || l['msg'] === 'backend up')
    expect(changes.map((l) => [l['msg'], l['backend']])).toEqual([
      ['backend down', b.url],
      ['backend up', b.url],
    ])
    expect(changes[0]?.['error']).toBe('HTTP 500')
  })
})
