/**
 * Goal: every request passes kube-apiserver's filters as a client expects: health endpoints in
 * kube's text format, following the storage; max-in-flight 429 with Retry-After; 504 after
 * --request-timeout; 413/400/415/404 as Kubernetes Status bodies; metrics; and a graceful shutdown
 * where /readyz fails first and watches are ended.
 * Method: the real ApiServer on 127.0.0.1 (port 0) over the memory storage (or an etcd3 storage with no
 * server behind it), with test routes standing in for resource handlers.
 */
import { connect } from 'node:net'
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { createEtcd3Storage } from '@hakube/storage/etcd3'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { type ApiServerConfig, parseApiServerFlags } from './options.js'
import { ApiServer } from './server.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }
const open: Array<{ server: ApiServer; storage: Storage }> = []
afterEach(async () => {
  for (const { server, storage } of open.splice(0)) {
    await server.shutdown()
    await storage.close()
  }
})

function config(argv: string[]): ApiServerConfig {
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0', ...argv])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  return r.config
}

async function start(argv: string[] = [], storage: Storage = createMemoryStorage()) {
  const server = new ApiServer({ config: config(argv), storage, logger: silent })
  open.push({ server, storage })
  let release: () => void = () => {}
  const held = new Promise<void>((r) => {
    release = r
  })
  server.app.post('/test/echo', async (req) => ({ got: req.body }))
  server.app.post('/test/hold', async () => {
    await held
    return { held: true }
  })
  server.app.get('/test/hold', async () => {
    await held
    return { held: true }
  })
  server.app.get('/api/v1/pods', async (req, reply) => {
    const q = req.query as Record<string, string>
    if (q['watch'] === 'true') {
      server.trackLongRunning(reply)
      reply.hijack()
      reply.raw.writeHead(200, { 'content-type': 'application/json' })
      reply.raw.write('{"type":"BOOKMARK","object":{}}\n')
      return reply
    }
    return { kind: 'PodList', items: [] }
  })
  const port = await server.listen()
  return { server, base: `http://127.0.0.1:${port}`, release }
}

const get = async (url: string) => {
  const r = await request(url)
  return { status: r.statusCode, headers: r.headers, text: await r.body.text() }
}
const post = async (url: string, body: string, contentType = 'application/json') => {
  const r = await request(url, { method: 'POST', body, headers: { 'content-type': contentType } })
  return { status: r.statusCode, headers: r.headers, text: await r.body.text() }
}
const statusOf = (text: string) =>
  JSON.parse(text) as { kind: string; code: number; reason: string; message: string }

describe('health, version and metrics', () => {
  it('answers ok, lists checks with ?verbose, runs one check by name', async () => {
    const { base } = await start()
    for (const ep of ['healthz', 'livez', 'readyz'])
      expect(await get(`${base}/${ep}`)).toMatchObject({ status: 200, text: 'ok' })
    const v = await get(`${base}/readyz?verbose`)
    expect(v.text).toBe('[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n')
    expect(await get(`${base}/readyz/etcd`)).toMatchObject({ status: 200, text: 'ok' })
    expect((await get(`${base}/readyz/nope`)).status).toBe(404)
    const ver = JSON.parse((await get(`${base}/version`)).text) as { major: string; minor: string }
    expect(ver).toMatchObject({ major: '1', minor: '32' })
    const m = await get(`${base}/metrics`)
    expect(m.text).toMatch(/apiserver_request_total\{verb="GET",resource="",code="200"\} \d+/)
  })

  it('fails /readyz (and /livez) while the store cannot be reached', async () => {
    const storage = createEtcd3Storage({ endpoints: ['http://127.0.1.199:2379'], requestTimeoutMs: 1000 })
    const { base } = await start([], storage)
    const r = await get(`${base}/readyz`)
    expect(r.status).toBe(500)
    expect(r.text).toBe(
      '[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]shutdown ok\nreadyz check failed\n',
    )
    expect((await get(`${base}/livez`)).status).toBe(500)
    expect((await get(`${base}/readyz?exclude=etcd`)).status).toBe(200)
  })
})

describe('bad input as Kubernetes Status', () => {
  it('404 for unknown paths, 413 over 3 MiB, 400 for malformed JSON, 415 for other content types', async () => {
    const { base } = await start()
    const nf = await get(`${base}/api/v1/nothing/here`)
    expect(nf.status).toBe(404)
    expect(statusOf(nf.text)).toMatchObject({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
      message: 'the server could not find the requested resource',
    })
    const big = await post(`${base}/test/echo`, JSON.stringify({ x: 'y'.repeat(3 * 1024 * 1024) }))
    expect(big.status).toBe(413)
    expect(statusOf(big.text)).toMatchObject({ code: 413, reason: 'RequestEntityTooLarge' })
    const bad = await post(`${base}/test/echo`, '{"a": ')
    expect(bad.status).toBe(400)
    expect(statusOf(bad.text)).toMatchObject({ code: 400, reason: 'BadRequest' })
    const ct = await post(`${base}/test/echo`, 'a=b', 'application/x-www-form-urlencoded')
    expect(ct.status).toBe(415)
    expect(statusOf(ct.text)).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' })
    // ...and the server keeps serving.
    expect(await post(`${base}/test/echo`, '{"a":1}')).toMatchObject({ status: 200, text: '{"got":{"a":1}}' })
  })
})

describe('max-in-flight and timeouts', () => {
  it('429 with Retry-After once a limit is reached; watches are not counted', async () => {
    const { base, release } = await start(['--max-mutating-requests-inflight=1', '--max-requests-inflight=1'])
    const first = post(`${base}/test/hold`, '{}')
    const firstRead = get(`${base}/test/hold`)
    await new Promise((r) => setTimeout(r, 100))
    const second = await post(`${base}/test/hold`, '{}')
    expect(second.status).toBe(429)
    expect(second.headers['retry-after']).toBe('1')
    expect(statusOf(second.text)).toMatchObject({
      reason: 'TooManyRequests',
      message: 'Too many requests, please try again later.',
    })
    expect((await get(`${base}/api/v1/pods`)).status).toBe(429)
    const watch = await request(`${base}/api/v1/pods?watch=true`)
    expect(watch.statusCode).toBe(200)
    watch.body.destroy()
    release()
    expect((await first).status).toBe(200)
    expect((await firstRead).status).toBe(200)
    expect((await post(`${base}/test/hold`, '{}')).status).toBe(200)
  })

  it('504 Timeout after --request-timeout', async () => {
    const { base } = await start(['--request-timeout=300ms'])
    const t0 = Date.now()
    const r = await get(`${base}/test/hold`)
    expect(r.status).toBe(504)
    expect(statusOf(r.text)).toMatchObject({
      reason: 'Timeout',
      message: 'Timeout: request did not complete within requested timeout - context deadline exceeded',
    })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
  })

  it('?timeout= shortens --request-timeout, never lengthens it; a malformed one is 400 (WithRequestDeadline)', async () => {
    const { base, release } = await start(['--request-timeout=2s'])
    let t0 = Date.now()
    const short = await get(`${base}/test/hold?timeout=300ms`)
    expect(short.status).toBe(504)
    expect(statusOf(short.text)).toMatchObject({ reason: 'Timeout' })
    expect(Date.now() - t0).toBeLessThan(1900)
    // Longer than the server's, or 0: the server's own deadline applies.
    t0 = Date.now()
    const long = await get(`${base}/test/hold?timeout=1h`)
    expect(long.status).toBe(504)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900)
    const bad = await get(`${base}/api/v1/pods?timeout=soon`)
    expect(bad.status).toBe(400)
    expect(statusOf(bad.text)).toMatchObject({
      reason: 'BadRequest',
      message: 'invalid timeout specified in the request URL - time: invalid duration "soon"',
    })
    expect((await get(`${base}/api/v1/pods?timeout=32s`)).status).toBe(200)
    release()
  })
})

describe('graceful shutdown', () => {
  it('fails /readyz first while still serving, then closes and ends watches', async () => {
    const { server, base } = await start(['--shutdown-delay-duration=500ms'])
    const watch = await request(`${base}/api/v1/pods?watch=true`)
    const ended = watch.body.text()
    const done = server.shutdown()
    await new Promise((r) => setTimeout(r, 100))
    const r = await get(`${base}/readyz`)
    expect(r.status).toBe(500)
    expect(r.text).toContain('[-]shutdown failed: reason withheld')
    expect((await get(`${base}/api/v1/pods`)).status).toBe(200)
    await done
    expect(await ended).toContain('BOOKMARK')
    await expect(get(`${base}/healthz`)).rejects.toThrow()
  })

  it('while in-flight requests drain: new connections are refused, a request on a busy one gets 503', async () => {
    const { server, base, release } = await start()
    const port = Number(new URL(base).port)
    const socket = connect({ host: '127.0.0.1', port })
    let received = ''
    socket.on('data', (b: Buffer) => {
      received += b.toString()
    })
    const closed = new Promise((r) => socket.once('close', r))
    await new Promise((r) => socket.once('connect', r))
    // The connection is busy with a held request, so closing the listener leaves it open.
    socket.write('GET /test/hold HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise((r) => setTimeout(r, 50))
    const done = server.shutdown()
    await new Promise((r) => setTimeout(r, 100))
    await expect(get(`${base}/healthz`)).rejects.toThrow(/ECONNREFUSED/)
    socket.write('GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await new Promise((r) => setTimeout(r, 100))
    release()
    await done
    await closed
    const responses = received.split(/(?=HTTP\/1\.1 )/)
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 /)
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503 /)
    expect(responses[1]).toMatch(/\r\nretry-after: 1\r\n/i)
    expect(statusOf(responses[1]?.split('\r\n\r\n')[1] ?? '')).toMatchObject({
      kind: 'Status',
      code: 503,
      reason: 'ServiceUnavailable',
      message: 'apiserver is shutting down',
    })
  })
})
