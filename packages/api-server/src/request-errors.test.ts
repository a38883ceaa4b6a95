/**
 * Goal (issue 10 §3): the inputs a real client and a fuzzer found answered wrongly get kube 1.32's
 * exact code and Status: HTTP framing errors, bad percent-encodings and oversized headers below the
 * REST layer; query options kube refuses (ints that do not parse or overflow int64, dryRun,
 * fieldManager, fieldValidation); a PUT naming another namespace; methods no route takes.
 * Method: the real ApiServer with its REST routes on 127.0.0.1 over the memory storage; raw HTTP
 * (undici, or bytes on a socket where a client library would refuse to send them).
 */
import { connect } from 'node:net'
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseApiServerFlags } from './options.js'
import { registerResourceRoutes } from './rest/index.js'
import { MAX_BODY_DEPTH, MAX_YAML_BODY_DEPTH } from './rest/nesting.js'
import { ApiServer } from './server.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }
let server: ApiServer
let storage: Storage
let port = 0
let base = ''

interface StatusBody {
  kind: string
  apiVersion: string
  status: string
  code: number
  reason: string
  message: string
  details?: {
    kind?: string
    group?: string
    causes?: Array<{ field?: string; reason?: string; message?: string }>
  }
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
  return { status: r.statusCode, text, json: json as StatusBody & Record<string, unknown> }
}

/** Sends raw bytes and resolves with everything the server wrote before it closed the connection. */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no close within 5 s; got ${Buffer.concat(chunks).toString()}`))
    }, 5000)
    socket.on('data', (c) => chunks.push(c))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('utf8'))
    })
    socket.write(bytes)
  })
}

/** The status code and JSON body of a raw HTTP/1.1 response. */
function parseRaw(text: string): { code: number; body: StatusBody } {
  const code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1])
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as StatusBody
  return { code, body }
}

function expectStatus(body: StatusBody | undefined, code: number, reason: string): void {
  expect(body?.kind).toBe('Status')
  expect(body?.apiVersion).toBe('v1')
  expect(body?.status).toBe('Failure')
  expect(body?.code).toBe(code)
  expect(body?.reason).toBe(reason)
  expect(typeof body?.message).toBe('string')
}

const cm = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: 'b' }, ...extra })

beforeAll(async () => {
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  storage = createMemoryStorage()
  server = new ApiServer({ config: r.config, storage, logger: silent })
  registerResourceRoutes(server, storage)
  port = await server.listen()
  base = `http://127.0.0.1:${port}`
  for (const ns of ['demo', 'other'])
    expect(
      (await send('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: ns } }))).status,
    ).toBe(201)
  expect((await send('POST', '/api/v1/namespaces/demo/configmaps', cm('one'))).status).toBe(201)
})
afterAll(async () => {
  await server?.shutdown()
  await storage?.close()
})

const CMS = '/api/v1/namespaces/demo/configmaps'

describe('errors below the REST layer are Statuses too', () => {
  it('a bad percent-encoding in the path is 400 with Go url.EscapeError text', async () => {
    const r = await send('GET', `${CMS}/%zz`)
    expect(r.status).toBe(400)
    expectStatus(r.json, 400, 'BadRequest')
    expect(r.json.message).toBe('invalid URL escape "%zz"')
  })

  it.each([
    [
      'a non-numeric Content-Length',
      `POST ${CMS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
    ],
    [
      'a Content-Length together with chunked encoding',
      `POST ${CMS} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    ],
    [
      'a chunk size that is not hex',
      `POST ${CMS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    ],
    ['a method the HTTP parser does not know', `FROBNICATE ${CMS} HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a request line that is not HTTP', 'hello there\r\n\r\n'],
  ])('%s is 400 BadRequest', async (_what, bytes) => {
    const { code, body } = parseRaw(await raw(bytes))
    expect(code).toBe(400)
    expectStatus(body, 400, 'BadRequest')
  })

  it("headers over Go's 1 MiB are 431 with a Status; 100 kB of them are served", async () => {
    const { code, body } = parseRaw(
      await raw(`GET ${CMS} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1_100_000)}\r\n\r\n`),
    )
    expect(code).toBe(431)
    expectStatus(body, 431, 'BadRequest')
    const served = await request(`${base}${CMS}`, { headers: { 'x-big': 'a'.repeat(100_000) } })
    await served.body.text()
    expect(served.statusCode).toBe(200)
  })

  it('CONNECT gets 405 MethodNotAllowed', async () => {
    const { code, body } = parseRaw(await raw(`CONNECT ${CMS} HTTP/1.1\r\nHost: x\r\n\r\n`))
    expect(code).toBe(405)
    expectStatus(body, 405, 'MethodNotAllowed')
  })

  it.each(['TRACE', 'OPTIONS', 'PROPFIND'])(
    '%s on a collection is kube router 405; on an unknown resource 404',
    async (method) => {
      const r = await send(method, CMS)
      expect(r.status).toBe(405)
      expectStatus(r.json, 405, 'MethodNotAllowed')
      expect(r.json.message).toBe('the server does not allow this method on the requested resource')
      const unknown = await send(method, '/api/v1/namespaces/demo/widgets')
      expect(unknown.status).toBe(404)
      expectStatus(unknown.json, 404, 'NotFound')
    },
  )

  it('a long object name in the path reaches the handler (no router param limit)', async () => {
    const r = await send('GET', `${CMS}/${'a'.repeat(300)}`)
    expect(r.status).toBe(404)
    expectStatus(r.json, 404, 'NotFound')
  })
})

describe('query options are decoded and validated as kube does', () => {
  it.each([
    ['limit=99999999999999999999', 'strconv.ParseInt: parsing "99999999999999999999": value out of range'],
    ['limit=abc', 'strconv.ParseInt: parsing "abc": invalid syntax'],
    ['limit=', 'strconv.ParseInt: parsing "": invalid syntax'],
    ['timeoutSeconds=abc', 'strconv.ParseInt: parsing "abc": invalid syntax'],
    ['watch=1&timeoutSeconds=1.5', 'strconv.ParseInt: parsing "1.5": invalid syntax'],
  ])('list/watch with %s is 400', async (q, message) => {
    const r = await send('GET', `${CMS}?${q}`)
    expect(r.status).toBe(400)
    expectStatus(r.json, 400, 'BadRequest')
    expect(r.json.message).toBe(message)
  })

  it.each([
    ['99999999999999999999', 'value out of range'],
    ['abc', 'invalid syntax'],
  ])('resourceVersion=%s is 400 on get, list and watch, as ParseUint refuses it', async (rv, why) => {
    for (const path of [`${CMS}/one`, CMS, `${CMS}?watch=true&`]) {
      const r = await send('GET', `${path}${path.endsWith('&') ? '' : '?'}resourceVersion=${rv}`)
      expect(r.status).toBe(400)
      expect(r.json.message).toBe(
        `invalid resource version: resourceVersion: Invalid value: "${rv}": strconv.ParseUint: parsing "${rv}": ${why}`,
      )
    }
  })

  it('limit at int64 max is accepted', async () => {
    const r = await send('GET', `${CMS}?limit=9223372036854775807`)
    expect(r.status).toBe(200)
    expect((r.json as unknown as { items: unknown[] }).items).toHaveLength(1)
  })

  it('watch=maybe is a watch (only 0 and false are false)', async () => {
    const ac = new AbortController()
    const r = await request(`${base}${CMS}?watch=maybe`, { signal: ac.signal })
    expect(r.statusCode).toBe(200)
    const reader = r.body[Symbol.asyncIterator]()
    const first = await reader.next()
    expect(JSON.parse(String(first.value)).type).toBe('ADDED')
    ac.abort()
    await r.body.text().catch(() => {})
    const list = await send('GET', `${CMS}?watch=FALSE`)
    expect(list.status).toBe(200)
    expect(list.json.kind).toBe('ConfigMapList')
  })

  it.each([
    ['POST', CMS, 'CreateOptions'],
    ['PUT', `${CMS}/one`, 'UpdateOptions'],
  ])('%s with dryRun=Bogus is 422 on %s', async (method, path, kind) => {
    const r = await send(method, `${path}?dryRun=Bogus`, cm('one'))
    expect(r.status).toBe(422)
    expectStatus(r.json, 422, 'Invalid')
    expect(r.json.message).toBe(
      `${kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Bogus"}: supported values: "All"`,
    )
    expect(r.json.details).toEqual({
      group: 'meta.k8s.io',
      kind,
      causes: [
        {
          reason: 'FieldValueNotSupported',
          message: 'Unsupported value: []string{"Bogus"}: supported values: "All"',
          field: 'dryRun',
        },
      ],
    })
  })

  it('a fieldManager over 128 bytes is 422 (129 is refused, 128 taken)', async () => {
    const long = await send('POST', `${CMS}?fieldManager=${'m'.repeat(129)}`, cm('fm'))
    expect(long.status).toBe(422)
    expect(long.json.message).toBe(
      'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
    )
    const ok = await send('POST', `${CMS}?fieldManager=${'m'.repeat(128)}`, cm('fm'))
    expect(ok.status).toBe(201)
    const ctl = await send('PATCH', `${CMS}/fm?fieldManager=a%01b`, '{}', 'application/merge-patch+json')
    expect(ctl.status).toBe(422)
    expect(ctl.json.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\u0001b": invalid character U+0001 (at position 1)',
    )
  })

  it('every PatchOptions error comes at once, and fieldValidation=Bogus is 422', async () => {
    const r = await send(
      'PATCH',
      `${CMS}/one?force=true&dryRun=Bogus&fieldValidation=Bogus`,
      '{}',
      'application/merge-patch+json',
    )
    expect(r.status).toBe(422)
    expect(r.json.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: [force: Forbidden: may not be specified for non-apply patch, dryRun: Unsupported value: []string{"Bogus"}: supported values: "All", fieldValidation: Unsupported value: "Bogus": supported values: "", "Ignore", "Strict", "Warn"]',
    )
  })

  it('DELETE: dryRun=Bogus is 422 on DeleteOptions, a gracePeriodSeconds beyond int64 400', async () => {
    const dry = await send('DELETE', `${CMS}/one?dryRun=Bogus`)
    expect(dry.status).toBe(422)
    expect(dry.json.message).toBe(
      'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Bogus"}: supported values: "All"',
    )
    const grace = await send('DELETE', `${CMS}/one?gracePeriodSeconds=99999999999999999999`)
    expect(grace.status).toBe(400)
    expect(grace.json.message).toBe('strconv.ParseInt: parsing "99999999999999999999": value out of range')
    expect((await send('GET', `${CMS}/one`)).status).toBe(200)
  })
})

describe('object bodies', () => {
  it('a PUT whose body names another namespace is 400, before the object is looked up', async () => {
    const r = await send('PUT', `${CMS}/one`, cm('one', { metadata: { name: 'one', namespace: 'other' } }))
    expect(r.status).toBe(400)
    expectStatus(r.json, 400, 'BadRequest')
    expect(r.json.message).toBe(
      'the namespace of the provided object does not match the namespace sent on the request',
    )
    const missing = await send(
      'PUT',
      `${CMS}/nothere`,
      cm('nothere', { metadata: { name: 'nothere', namespace: 'other' } }),
    )
    expect(missing.status).toBe(400)
  })
})

/** `{"x":{"x":...}}` `depth` levels deep (the outermost object included). */
const nested = (depth: number, leaf = '1') =>
  `${'{"x":'.repeat(depth - 1)}{"x":${leaf}}${'}'.repeat(depth - 1)}`

describe('deeply nested bodies', () => {
  it("a ConfigMap nested 100,000 deep is kube's 400, word for word", async () => {
    const body = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"extra":${nested(100_000)}}`
    const r = await send('POST', CMS, body)
    expect(r.status).toBe(400)
    expectStatus(r.json, 400, 'BadRequest')
    expect(r.json.message).toBe(
      `the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: invalid character '{' exceeded max depth ({"apiVersion":"v1","kind":"Con ...)`,
    )
  })

  it.each([
    [
      'application/json',
      'POST',
      CMS,
      (d: number) =>
        `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},"x":${'['.repeat(d)}${']'.repeat(d)}}`,
    ],
    [
      'application/yaml',
      'POST',
      CMS,
      (d: number) =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\nx: ${'['.repeat(d)}${']'.repeat(d)}\n`,
    ],
    [
      'application/yaml',
      'POST',
      CMS,
      (d: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\nx:\n${'- '.repeat(d)}x\n`,
    ],
    ['application/merge-patch+json', 'PATCH', `${CMS}/one`, (d: number) => `{"x":${nested(d)}}`],
    ['application/strategic-merge-patch+json', 'PATCH', `${CMS}/one`, (d: number) => `{"x":${nested(d)}}`],
    [
      'application/json-patch+json',
      'PATCH',
      `${CMS}/one`,
      (d: number) => `[{"op":"add","path":"/x","value":${nested(d)}}]`,
    ],
    [
      'application/apply-patch+yaml',
      'PATCH',
      `${CMS}/one?fieldManager=m`,
      (d: number) => `{"apiVersion":"v1","kind":"ConfigMap","x":${nested(d)}}`,
    ],
  ])(
    '%s %s nested 100,000, 2,000 and just over the limit deep is 400; the server lives on',
    async (type, method, path, make) => {
      const limit = type.includes('yaml') ? MAX_YAML_BODY_DEPTH : MAX_BODY_DEPTH
      for (const depth of [100_000, 2_000, limit + 2]) {
        const r = await send(method, path, make(depth), type)
        expect(r.status, r.text.slice(0, 300)).toBe(400)
        expectStatus(r.json, 400, 'BadRequest')
        expect(r.json.message).toContain('exceeded max depth')
      }
      expect((await send('GET', `${CMS}/one`)).status).toBe(200)
    },
  )

  it('bodies just under the limits go through every write path without a 5xx', async () => {
    const depth = MAX_BODY_DEPTH - 2
    const deepCm = (name: string) =>
      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${name}"},"data":{"a":"b"},"x":${nested(depth)}}`
    expect((await send('POST', CMS, deepCm('under'))).status).toBe(201)
    expect((await send('POST', `${CMS}?fieldValidation=Strict`, deepCm('under2'))).status).toBe(400)
    expect((await send('PUT', `${CMS}/under`, deepCm('under'))).status).toBe(200)
    for (const [type, body] of [
      ['application/merge-patch+json', `{"x":${nested(depth)}}`],
      ['application/strategic-merge-patch+json', `{"x":${nested(depth)}}`],
      [
        'application/json-patch+json',
        `[{"op":"add","path":"/metadata/annotations","value":{"a":"b"}},{"op":"add","path":"/x","value":${nested(depth - 2)}}]`,
      ],
      [
        'application/apply-patch+yaml',
        `{"apiVersion":"v1","kind":"ConfigMap","x":${nested(MAX_YAML_BODY_DEPTH - 2)}}`,
      ],
    ] as const) {
      const r = await send('PATCH', `${CMS}/under?fieldManager=m`, body, type)
      expect(r.status, `${type}: ${r.text.slice(0, 300)}`).toBeLessThan(500)
    }
    const managed = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"mf","managedFields":[{"manager":"m","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":${nested(depth - 4, '{}')}}]}}`
    const mf = await send('POST', CMS, managed)
    expect(mf.status, mf.text.slice(0, 300)).toBeLessThan(500)
  })
})

describe('managedFields that do not decode are ignored, as the field manager ignores them', () => {
  const bogus = [
    { manager: 'x', operation: 'Bogus', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} },
    { manager: 'y', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV2', fieldsV1: {} },
  ]
  it.each(bogus)('a create with %j records only the writer', async (entry) => {
    const name = `mf-${entry.manager}`
    const r = await send(
      'POST',
      `${CMS}?fieldManager=writer`,
      cm(name, { metadata: { name, managedFields: [entry] } }),
    )
    expect(r.status).toBe(201)
    const managers = (r.json['metadata'] as { managedFields: Array<{ manager: string }> }).managedFields.map(
      (e) => e.manager,
    )
    expect(managers).toEqual(['writer'])
  })
  it('an update with them keeps the stored ones', async () => {
    const r = await send(
      'PUT',
      `${CMS}/mf-x?fieldManager=other`,
      cm('mf-x', { metadata: { name: 'mf-x', managedFields: bogus } }),
    )
    expect(r.status).toBe(200)
    const managers = (r.json['metadata'] as { managedFields: Array<{ manager: string }> }).managedFields.map(
      (e) => e.manager,
    )
    expect(managers).toEqual(['writer'])
  })
})

describe('JSON patches are bounded as kube bounds them', () => {
  it('more than 10,000 operations is 413', async () => {
    const ops = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/kind', value: 'ConfigMap' }))
    const r = await send('PATCH', `${CMS}/one`, JSON.stringify(ops), 'application/json-patch+json')
    expect(r.status).toBe(413)
    expectStatus(r.json, 413, 'RequestEntityTooLarge')
    expect(r.json.message).toBe(
      'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
    )
  })

  it('copies that grow the object past 3 MiB are 422 (a value copied into itself doubles)', async () => {
    const ops = [
      { op: 'add', path: '/data', value: { seed: 'x'.repeat(200_000) } },
      ...Array.from({ length: 12 }, (_, i) => ({ op: 'copy', from: '/data', path: `/data/c${i}` })),
    ]
    const r = await send('PATCH', `${CMS}/one`, JSON.stringify(ops), 'application/json-patch+json')
    expect(r.status).toBe(422)
    expect(r.json.message).toMatch(
      /^Unable to complete the copy, the accumulated size increase of copy is \d+, exceeding the limit 3145728$/,
    )
    expect((await send('GET', `${CMS}/one`)).status).toBe(200)
  })
})

describe('[]byte fields are base64, as Go decodes them', () => {
  it.each([
    ['ConfigMap', CMS, { binaryData: { k: 'not base64' } }, 'illegal base64 data at input byte 3'],
    ['ConfigMap', CMS, { binaryData: { k: 'YQ' } }, 'illegal base64 data at input byte 0'],
    [
      'Secret',
      '/api/v1/namespaces/demo/secrets',
      { data: { k: 'YQ==!' } },
      'illegal base64 data at input byte 4',
    ],
  ])('%s with %j is 400', async (kind, path, extra, detail) => {
    const r = await send(
      'POST',
      path,
      JSON.stringify({ apiVersion: 'v1', kind, metadata: { name: 'b64' }, ...extra }),
    )
    expect(r.status).toBe(400)
    expectStatus(r.json, 400, 'BadRequest')
    expect(r.json.message).toBe(`${kind} in version "v1" cannot be handled as a ${kind}: ${detail}`)
  })

  it('valid values are stored as Go encodes them back (newlines dropped, unused bits cleared)', async () => {
    const r = await send(
      'POST',
      '/api/v1/namespaces/demo/secrets',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's' },
        data: { a: 'YWJj\nZA==', b: 'YR==' },
      }),
    )
    expect(r.status).toBe(201)
    expect(r.json['data']).toEqual({ a: 'YWJjZA==', b: 'YQ==' })
  })
})
