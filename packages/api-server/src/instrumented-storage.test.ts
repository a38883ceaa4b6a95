/**
 * Goal: the storage wrapper records kube-apiserver's storage metrics on the ApiServer's registry:
 * each request through the server grows etcd_request_duration_seconds{operation,type}; failures count
 * in etcd_request_errors_total; apiserver_storage_objects counts stored objects per resource.
 * Method: the real ApiServer over the wrapped memory storage, requests and /metrics through undici.
 */
import { createMemoryStorage } from '@hakube/storage'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InstrumentedStorage, instrumentStorage, resourceOfKey } from './instrumented-storage.js'
import { parseApiServerFlags } from './options.js'
import { registerResourceRoutes } from './rest/index.js'
import { ApiServer } from './server.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }
let storage: InstrumentedStorage
let server: ApiServer
let base = ''

beforeAll(async () => {
  storage = instrumentStorage(createMemoryStorage())
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  server = new ApiServer({ config: r.config, storage, logger: silent })
  storage.registerMetrics(server.registry)
  storage.registerMetrics(server.registry) // idempotent
  registerResourceRoutes(server, storage)
  base = `http://127.0.0.1:${await server.listen()}`
})
afterAll(async () => {
  await server.shutdown()
  await storage.close()
})

async function metrics(): Promise<string> {
  return (await request(`${base}/metrics`)).body.text()
}
function sample(text: string, name: string, labels: string): number {
  const escaped = labels.replace(/[{}"]/g, (c) => `\\${c}`)
  const m = new RegExp(`^${name}${escaped} (\\S+)$`, 'm').exec(text)
  return m === null ? 0 : Number(m[1])
}
async function post(path: string, body: unknown): Promise<number> {
  const r = await request(`${base}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  })
  await r.body.dump()
  return r.statusCode
}

describe('instrumented storage', () => {
  it('maps keys to resources', () => {
    expect(resourceOfKey('/registry/pods/ns/p')).toBe('pods')
    expect(resourceOfKey('/registry/namespaces/')).toBe('namespaces')
    expect(resourceOfKey('/other')).toBe('')
    expect(resourceOfKey(undefined)).toBe('')
  })

  it('a request through the server grows etcd_request_duration_seconds in /metrics', async () => {
    const before = await metrics()
    expect(before).toContain('# TYPE etcd_request_duration_seconds histogram')
    const created = sample(
      before,
      'etcd_request_duration_seconds_count',
      '{operation="create",type="namespaces"}',
    )
    expect(await post('/api/v1/namespaces', { metadata: { name: 'm1' } })).toBe(201)
    expect(
      await post('/api/v1/namespaces/m1/configmaps', { metadata: { name: 'cm' }, data: { k: 'v' } }),
    ).toBe(201)
    await (await request(`${base}/api/v1/namespaces/m1/configmaps`)).body.dump()
    const after = await metrics()
    expect(
      sample(after, 'etcd_request_duration_seconds_count', '{operation="create",type="namespaces"}'),
    ).toBe(created + 1)
    expect(
      sample(after, 'etcd_request_duration_seconds_count', '{operation="create",type="configmaps"}'),
    ).toBe(1)
    expect(
      sample(after, 'etcd_request_duration_seconds_count', '{operation="list",type="configmaps"}'),
    ).toBeGreaterThanOrEqual(1)
    expect(
      sample(after, 'etcd_request_duration_seconds_bucket', '{le="60",operation="create",type="configmaps"}'),
    ).toBe(1)
    expect(sample(after, 'apiserver_storage_objects', '{resource="configmaps"}')).toBe(1)
    expect(sample(after, 'apiserver_storage_objects', '{resource="namespaces"}')).toBe(1)
  })

  it('failed storage calls count in etcd_request_errors_total', async () => {
    expect(await post('/api/v1/namespaces', { metadata: { name: 'dup' } })).toBe(201)
    expect(await post('/api/v1/namespaces', { metadata: { name: 'dup' } })).toBe(409)
    const text = await metrics()
    expect(
      sample(text, 'etcd_request_errors_total', '{operation="create",type="namespaces"}'),
    ).toBeGreaterThanOrEqual(1)
  })
})
