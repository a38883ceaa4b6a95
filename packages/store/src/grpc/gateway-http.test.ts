/**
 * The client URL's answers below the gateway's error form (unknown paths, other methods, unclean paths,
 * bad percent-encodings, bodies over the gRPC limit, undecodable streaming requests), compared with a
 * real etcd 3.4: the same status, body and redirect target.
 */
import { request } from 'node:http'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClientServer, startClientServer } from './client-server.js'
import { Processes, startRealEtcd } from './testing/etcdctl.js'
import { LocalBackend } from './testing/local-backend.js'

interface Answer {
  status: number
  body: string
  location: string | undefined
}

/** One raw HTTP/1.1 request (fetch would refuse `%zz` and follow redirects). */
function send(base: string, method: string, path: string, body: string): Promise<Answer> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            location: res.headers.location,
          }),
        )
      },
    )
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to ${method} ${path}`)))
    req.end(body)
  })
}

const CASES: Array<[string, string, string]> = [
  ['POST', '/v3/nope', '{}'],
  ['POST', '/v3/', '{}'],
  ['POST', '/v3/kv/range/', '{}'],
  ['POST', '/v3/auth/status', '{}'],
  ['POST', '/', '{}'],
  ['POST', '/v2/keys/a', '{}'],
  ['GET', '/v3/kv/range', ''],
  ['DELETE', '/v3/kv/put', ''],
  ['PUT', '/v3beta/lease/grant', ''],
  ['OPTIONS', '/v3/kv/range', ''],
  ['POST', '/health', ''],
  ['POST', '/version', ''],
  ['POST', '//v3/kv/range', '{}'],
  ['POST', '/v3/./kv/range', '{}'],
  ['POST', '/v3/kv/%zz', '{}'],
  ['POST', '/v3/kv/r%61nge', '{}'],
  ['POST', '/v3/watch', '{"create_request":0}'],
  ['POST', '/v3/lease/keepalive', '{"ID":[1]}'],
  ['POST', '/v3/kv/put', `{"key":"YQ==","value":"${'A'.repeat(2_200_000)}"}`],
  ['POST', '/v3/kv/put', `{"key":"YQ==","value":"${'A'.repeat(4_000_000)}"}`],
]

/** Bodies that are not JSON: etcd's gateway answers Go's encoding/json syntax errors. */
const NOT_JSON = [
  '{bad',
  '{',
  '{"a"',
  '{"a":',
  '{"a":}',
  '{"a" 1}',
  '{"a":1 "b":2}',
  '[1 2]',
  '[1,]',
  'x',
  'tru',
  'nul}',
  '-',
  '-x',
  '1.',
  '1.e5',
  '1e',
  '1e+',
  '{"key":01}',
  '"\\q"',
  '"\\u12g4"',
  '"a\u0001b"',
  '{"key":"YQ==",}',
  '\u0000',
  "'",
  '[[[[[[[[[[[',
  `${'['.repeat(10_001)}${']'.repeat(10_001)}`,
  `{"key":${'['.repeat(20_000)}`,
]

describe('the client URL below the gateway, compared with a real etcd 3.4', () => {
  const procs = new Processes()
  let etcd: { url: string; stop(): Promise<void> }
  let backend: LocalBackend
  let server: ClientServer
  let ours: string

  beforeAll(async () => {
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

  it("answers bodies that are not JSON with Go's syntax errors, on unary and streaming paths", async () => {
    for (const path of ['/v3/kv/range', '/v3/watch', '/v3/lease/keepalive'])
      for (const body of NOT_JSON) {
        const theirs = await send(etcd.url, 'POST', path, body)
        const got = await send(ours, 'POST', path, body)
        expect(got, `${path} ${JSON.stringify(body.slice(0, 40))}`).toEqual(theirs)
      }
  })

  it('answers unknown paths, other methods, unclean paths and oversized messages as etcd', async () => {
    for (const [method, path, body] of CASES) {
      const theirs = await send(etcd.url, method, path, body)
      const got = await send(ours, method, path, body)
      expect(got, `${method} ${path} ${body.slice(0, 60)}`).toEqual(theirs)
    }
  })
})
