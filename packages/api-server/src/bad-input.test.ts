/**
 * Goal (issue 4's bad-input suite): every kind of bad request gets the status code and Kubernetes
 * `Status` a real kube-apiserver gives, and the server keeps serving afterwards.
 * Method: the real ApiServer with its REST routes on 127.0.0.1 over the memory storage; raw HTTP
 * requests (undici), so nothing in a client library smooths the input.
 */
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseApiServerFlags } from './options.js'
import { registerResourceRoutes } from './rest/index.js'
import { ApiServer } from './server.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }
let server: ApiServer
let storage: Storage
let base = ''

interface StatusBody {
  kind: string
  code: number
  reason: string
  message: string
  details?: { causes?: Array<{ field?: string; reason?: string; message?: string }> }
}

async function send(method: string, path: string, body?: string, contentType = 'application/json') {
  const r = await request(`${base}${path}`, {
    method: method as 'POST',
    ...(body === undefined ? {} : { body, headers: { 'content-type': contentType } }),
  })
  const text = await r.body.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return {
    status: r.statusCode,
    headers: r.headers,
    text,
    json: json as StatusBody & Record<string, unknown>,
  }
}

const podJson = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] },
    ...extra,
  })

beforeAll(async () => {
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  storage = createMemoryStorage()
  server = new ApiServer({ config: r.config, storage, logger: silent })
  registerResourceRoutes(server, storage)
  base = `http://127.0.0.1:${await server.listen()}`
  expect(
    (await send('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: 'demo' } }))).status,
  ).toBe(201)
})
afterAll(async () => {
  await server?.shutdown()
  await storage?.close()
})

const PODS = '/api/v1/namespaces/demo/pods'

describe('bad input gets the right code and Status, and the server keeps serving', () => {
  it.each([
    ['malformed JSON', 'POST', PODS, '{"apiVersion": "v1", "kind": ', 'application/json', 400, 'BadRequest'],
    ['an empty body', 'POST', PODS, '', 'application/json', 400, 'BadRequest'],
    ['a JSON array instead of an object', 'POST', PODS, '[]', 'application/json', 400, 'BadRequest'],
    [
      'a wrong type (containers as a string)',
      'POST',
      PODS,
      podJson('p1', { spec: { containers: 'nginx' } }),
      'application/json',
      400,
      'BadRequest',
    ],
    ['an unsupported content type', 'POST', PODS, podJson('p2'), 'text/plain', 415, 'UnsupportedMediaType'],
    [
      'an unknown resource',
      'GET',
      '/api/v1/namespaces/demo/widgets',
      undefined,
      'application/json',
      404,
      'NotFound',
    ],
    [
      'an unknown group',
      'GET',
      '/apis/example.com/v1/things',
      undefined,
      'application/json',
      404,
      'NotFound',
    ],
    ['a missing object', 'GET', `${PODS}/nope`, undefined, 'application/json', 404, 'NotFound'],
    [
      'a missing namespace',
      'POST',
      '/api/v1/namespaces/nowhere/pods',
      podJson('p3'),
      'application/json',
      404,
      'NotFound',
    ],
    [
      'a verb the resource lacks (POST to a named object)',
      'POST',
      `${PODS}/x`,
      podJson('x'),
      'application/json',
      405,
      'MethodNotAllowed',
    ],
  ])('%s → %s', async (_what, method, path, body, contentType, code, reason) => {
    const r = await send(method, path, body, contentType)
    expect(r.status, r.text).toBe(code)
    expect(r.json?.kind, r.text).toBe('Status')
    expect(r.json?.code).toBe(code)
    expect(r.json?.reason).toBe(reason)
    expect(typeof r.json?.message).toBe('string')
  })

  it('missing required fields and odd names are 422 Invalid with field causes', async () => {
    const noContainers = await send(
      'POST',
      PODS,
      JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'empty' }, spec: {} }),
    )
    expect(noContainers.status).toBe(422)
    expect(noContainers.json.reason).toBe('Invalid')
    expect(noContainers.json.message).toContain('spec.containers: Required value')
    expect(noContainers.json.details?.causes?.some((c) => c.field === 'spec.containers')).toBe(true)

    const oddName = await send('POST', PODS, podJson('Bad_Name'))
    expect(oddName.status).toBe(422)
    expect(oddName.json.message).toContain(
      'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters',
    )
    const tooLong = await send('POST', PODS, podJson('a'.repeat(254)))
    expect(tooLong.status).toBe(422)
    expect(tooLong.json.details?.causes?.[0]?.field).toBe('metadata.name')
    const noName = await send(
      'POST',
      PODS,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {},
        spec: { containers: [{ name: 'c', image: 'i' }] },
      }),
    )
    expect(noName.status).toBe(422)
    expect(noName.json.message).toContain('metadata.name: Required value')
  })

  it('unknown fields: Strict refuses with 400, Ignore accepts', async () => {
    const body = podJson('strict', {
      spec: { containers: [{ name: 'c', image: 'nginx:1.27', imagee: 'typo' }] },
    })
    const strict = await send('POST', `${PODS}?fieldValidation=Strict`, body)
    expect(strict.status).toBe(400)
    expect(strict.json.message).toContain('unknown field "spec.containers[0].imagee"')
    const ignore = await send('POST', `${PODS}?fieldValidation=Ignore`, body)
    expect(ignore.status).toBe(201)
  })

  it('a body over 3 MiB is 413', async () => {
    const huge = podJson('huge', {
      metadata: { name: 'huge', annotations: { a: 'x'.repeat(3 * 1024 * 1024) } },
    })
    const r = await send('POST', PODS, huge)
    expect(r.status).toBe(413)
    expect(r.json.reason).toBe('RequestEntityTooLarge')
  })

  it('a stale resourceVersion is 409 Conflict with the optimistic-lock text; a duplicate create 409 AlreadyExists', async () => {
    const created = await send('POST', PODS, podJson('rv'))
    expect(created.status).toBe(201)
    const obj = created.json as unknown as { metadata: Record<string, unknown> }
    const first = await send(
      'PUT',
      `${PODS}/rv`,
      JSON.stringify({ ...obj, metadata: { ...obj.metadata, labels: { a: 'b' } } }),
    )
    expect(first.status).toBe(200)
    const stale = await send(
      'PUT',
      `${PODS}/rv`,
      JSON.stringify({ ...obj, metadata: { ...obj.metadata, labels: { a: 'c' } } }),
    )
    expect(stale.status).toBe(409)
    expect(stale.json.reason).toBe('Conflict')
    expect(stale.json.message).toBe(
      'Operation cannot be fulfilled on pods "rv": the object has been modified; please apply your changes to the latest version and try again',
    )
    const dup = await send('POST', PODS, podJson('rv'))
    expect(dup.status).toBe(409)
    expect(dup.json.message).toBe('pods "rv" already exists')
  })

  it("bad selectors and list options are 400 with kube's texts", async () => {
    const badLabel = await send('GET', `${PODS}?labelSelector=${encodeURIComponent('a in (b')}`)
    expect(badLabel.status).toBe(400)
    expect(badLabel.json.reason).toBe('BadRequest')
    const badField = await send('GET', `${PODS}?fieldSelector=spec.unknown%3Dx`)
    expect(badField.status).toBe(400)
    expect(badField.json.message).toContain('field label not supported: spec.unknown')
    const badContinue = await send('GET', `${PODS}?limit=1&continue=garbage`)
    expect(badContinue.status).toBe(400)
  })

  it('still serves after all of the above', async () => {
    expect((await send('GET', '/readyz')).status).toBe(200)
    const list = await send('GET', PODS)
    expect(list.status).toBe(200)
    expect((list.json as unknown as { kind: string }).kind).toBe('PodList')
  })
})
