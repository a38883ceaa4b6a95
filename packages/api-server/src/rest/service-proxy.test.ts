import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { call, startTestServer, stopTestServers } from '../testing/harness.js'

const backends: Server[] = []
afterEach(async () => {
  await stopTestServers()
  for (const b of backends.splice(0)) await new Promise((r) => b.close(r))
})

/** A loopback HTTP server that echoes the method, path and body it got. */
async function echoBackend(): Promise<number> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (b: Buffer) => {
      body += b.toString()
    })
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': 'echo' })
      res.end(`${req.method} ${req.url} ${body}`)
    })
  })
  backends.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as AddressInfo).port
}

async function withService(base: string, name: string, ports: Array<{ name?: string; port: number }>) {
  const r = await call('POST', `${base}/api/v1/namespaces/default/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { ports: ports.map((p) => ({ ...p, targetPort: 8080 })) },
  })
  expect(r.status).toBe(201)
}

async function withEndpoints(
  base: string,
  name: string,
  ip: string,
  ports: Array<{ name?: string; port: number }>,
) {
  const r = await call('POST', `${base}/api/v1/namespaces/default/endpoints`, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name },
    subsets: [{ addresses: [{ ip }], ports }],
  })
  expect(r.status).toBe(201)
}

const proxy = (base: string, id: string, rest = '/') =>
  `${base}/api/v1/namespaces/default/services/${id}/proxy${rest}`

describe('services/proxy', () => {
  it('forwards method, path, query and body to a ready endpoint and streams the answer back', async () => {
    const { base } = await startTestServer({ namespaces: ['default'] })
    const port = await echoBackend()
    await withService(base, 'echo', [{ name: 'http', port: 80 }])
    await withEndpoints(base, 'echo', '127.0.0.1', [{ name: 'http', port }])
    for (const id of ['echo:http', 'echo:80', 'http:echo:http']) {
      const r = await request(`${proxy(base, id, '/hello/there')}?x=1`, { method: 'POST', body: 'payload' })
      expect(r.statusCode).toBe(200)
      expect(r.headers['x-backend']).toBe('echo')
      expect(await r.body.text()).toBe('POST /hello/there?x=1 payload')
    }
    // As in kube, a named port has to be named: the unnamed one does not exist.
    expect((await call('GET', proxy(base, 'echo'))).status).toBe(503)
  })

  it('is 503 ServiceUnavailable without endpoints, an unknown port or an unreachable address', async () => {
    const { base } = await startTestServer({ namespaces: ['default'] })
    await withService(base, 'web', [{ port: 80 }])
    const none = await call('GET', proxy(base, 'web'))
    expect(none).toMatchObject({
      status: 503,
      body: {
        kind: 'Status',
        reason: 'ServiceUnavailable',
        message: 'no endpoints available for service "web"',
      },
    })
    expect((await call('GET', proxy(base, 'web:81'))).body['message']).toBe(
      'no service port 81 found for service "web"',
    )
    // A port no process listens on (the echo backend's, closed again).
    const port = await echoBackend()
    await new Promise((r) => backends.pop()?.close(r))
    await withEndpoints(base, 'web', '127.0.0.1', [{ port }])
    const dead = await call('GET', proxy(base, 'web'))
    expect(dead.status).toBe(503)
    expect(dead.body['message']).toMatch(/^error trying to reach service: .*ECONNREFUSED/)
    expect((await call('GET', proxy(base, 'nope'))).body).toMatchObject({ reason: 'NotFound', code: 404 })
  })
})
