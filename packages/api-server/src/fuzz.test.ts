/**
 * Goal (issue 10 §3): no input a client can send makes the api-server answer a client error with a
 * 5xx, answer any error with a body that is not a Kubernetes `Status`, crash or hang.
 * Method: a seeded fuzzer against the real ApiServer on the memory backend over real sockets on
 * 127.0.0.1: random methods, paths (known and unknown resources, subresources, bad encodings),
 * query parameters (every one kube reads, with wrong types and huge values), headers (content types,
 * odd Accept) and bodies (objects with wrong types, malformed JSON and YAML, deep nesting, huge
 * strings, bodies over the limit, protobuf garbage, patches), plus raw bytes with broken HTTP
 * framing. A bounded number of requests, each with a deadline.
 *
 * Prints `SEED=<n>`; `FUZZ_SEED=<n>` replays a run, `FUZZ_REQUESTS=<n>` changes its length.
 */
import { connect } from 'node:net'
import { RESOURCES } from '@hakube/api'
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { parseApiServerFlags } from './options.js'
import { registerResourceRoutes } from './rest/index.js'
import { ApiServer } from './server.js'

const SEED = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31)
const REQUESTS = process.env['FUZZ_REQUESTS'] ? Number(process.env['FUZZ_REQUESTS']) : 1500
/** A request unanswered after this long is a hang. */
const REQUEST_DEADLINE_MS = 15_000

/** mulberry32: small, seedable, good enough to pick inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = this.int(256)
    return b
  }
}

const silent = { debug() {}, info() {}, warn() {}, error() {} }
let server: ApiServer
let storage: Storage
let port = 0
const agent = new Agent({
  connections: 4,
  headersTimeout: REQUEST_DEADLINE_MS,
  bodyTimeout: REQUEST_DEADLINE_MS,
})

beforeAll(async () => {
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  storage = createMemoryStorage()
  server = new ApiServer({ config: r.config, storage, logger: silent })
  registerResourceRoutes(server, storage)
  port = await server.listen()
  const base = `http://127.0.0.1:${port}`
  const post = async (path: string, body: unknown) => {
    const res = await request(`${base}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    })
    await res.body.text()
    expect(res.statusCode).toBe(201)
  }
  await post('/api/v1/namespaces', { metadata: { name: 'demo' } })
  await post('/api/v1/namespaces/demo/configmaps', { metadata: { name: 'cm' }, data: { a: 'b' } })
  await post('/api/v1/namespaces/demo/pods', {
    metadata: { name: 'pod', labels: { app: 'x' } },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
  })
  await post('/apis/apps/v1/namespaces/demo/deployments', {
    metadata: { name: 'dep' },
    spec: {
      selector: { matchLabels: { app: 'x' } },
      template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  })
})
afterAll(async () => {
  await agent.close()
  await server?.shutdown()
  await storage?.close()
})

// Inputs ----------------------------------------------------------------------------------------

const METHODS = [
  'GET',
  'GET',
  'POST',
  'POST',
  'PUT',
  'PUT',
  'PATCH',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PROPFIND',
  'QUERY',
  'MKCOL',
]

const ODD_SEGMENTS = [
  '%zz',
  '%',
  '%2',
  '%00',
  '%2F',
  '..',
  '.',
  '',
  'ü',
  '%C3%BC',
  '%FF',
  'a%20b',
  'UPPER',
  '-',
  'x'.repeat(300),
  '😀',
  'a.b',
  '%0d%0a',
]

function pathFor(g: Gen): string {
  const r = g.int(20)
  if (r === 0)
    return g.pick([
      '/healthz',
      '/livez',
      '/readyz',
      '/version',
      '/api',
      '/apis',
      '/apis/apps',
      '/openapi/v2',
      '/openapi/v3',
      '/',
      '/nope',
      '/api/v1',
      '/apis/apps/v1',
    ])
  if (r === 1) return `/${Array.from({ length: g.int(6) }, () => g.pick(ODD_SEGMENTS)).join('/')}`
  const res = g.chance(0.85) ? g.pick(RESOURCES) : undefined
  const plural = res?.plural ?? g.pick(['widgets', 'pod', 'Pods', 'namespace', ''])
  const gv =
    res === undefined
      ? g.pick(['/api/v1', '/apis/apps/v1', '/apis/example.com/v1', '/api/v2', '/apis/apps/v1beta1'])
      : res.group === ''
        ? '/api/v1'
        : `/apis/${res.group}/${res.version}`
  const parts = [gv]
  if (g.chance(0.1)) parts.push('watch')
  if ((res?.namespaced ?? true) && g.chance(0.7))
    parts.push('namespaces', g.pick(['demo', 'demo', 'missing', '%zz', 'Bad_NS']))
  parts.push(plural)
  if (g.chance(0.6))
    parts.push(g.chance(0.2) ? g.pick(ODD_SEGMENTS) : g.pick(['cm', 'pod', 'dep', 'demo', 'x', 'new']))
  if (g.chance(0.2))
    parts.push(g.pick(['status', 'scale', 'binding', 'log', 'exec', 'proxy', 'finalize', 'bogus', '%zz']))
  if (g.chance(0.03)) parts.push(g.pick(ODD_SEGMENTS))
  return parts.join('/')
}

const QUERY_PARAMS: Record<string, readonly string[]> = {
  limit: ['1', '2', '0', '-1', '500'],
  continue: ['', 'garbage', 'eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiJ4In0', 'eyJ2IjoieCJ9'],
  resourceVersion: ['', '0', '1', '999999999', 'abc', '-1'],
  resourceVersionMatch: ['', 'Exact', 'NotOlderThan', 'Bogus'],
  timeoutSeconds: ['1', '0', '-5'],
  watch: ['true', 'false', '1', '0', 'maybe', ''],
  allowWatchBookmarks: ['true', 'false', 'yes'],
  sendInitialEvents: ['true', 'false', 'x'],
  labelSelector: ['app=x', 'app in (x', '!!', 'a,b', 'app notin (a,b)', `${'a'.repeat(70)}=b`],
  fieldSelector: ['metadata.name=cm', 'spec.nodeName=', 'bogus=1', 'metadata.name!=x', '=='],
  dryRun: ['All', 'Bogus', ''],
  fieldManager: ['m', '', 'kubectl', 'a\u0001b', 'm'.repeat(200)],
  fieldValidation: ['Strict', 'Warn', 'Ignore', 'Bogus', ''],
  force: ['true', 'false', 'x'],
  gracePeriodSeconds: ['0', '30', '-1', 'x'],
  propagationPolicy: ['Foreground', 'Background', 'Orphan', 'Bogus'],
  orphanDependents: ['true', 'false', 'x'],
  pretty: ['true', '1'],
  includeObject: ['None', 'Metadata', 'Object', 'Bogus'],
}

const WRONG_VALUES = [
  'abc',
  '1.5',
  '1e3',
  '99999999999999999999',
  '-99999999999999999999',
  '0x10',
  ' 1',
  '%zz',
  '%00',
  '☃',
  'x'.repeat(5000),
  '',
]

function queryFor(g: Gen): string {
  const names = Object.keys(QUERY_PARAMS)
  const n = g.chance(0.3) ? 0 : 1 + g.int(4)
  const parts: string[] = []
  for (let i = 0; i < n; i++) {
    const name = g.chance(0.05) ? g.pick(['bogus', '%zz', 'a[b]', '']) : g.pick(names)
    const good = QUERY_PARAMS[name] ?? ['x']
    const value = g.chance(0.6) ? g.pick(good) : g.pick(WRONG_VALUES)
    const enc = value.includes('%') && g.chance(0.5) ? value : encodeURIComponent(value)
    parts.push(`${name}=${enc}`)
    if (g.chance(0.05)) parts.push(`${name}=${encodeURIComponent(g.pick(good))}`)
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`
}

const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
  'application/json; charset=utf-8',
  'text/plain',
  'a/b/c',
  ';;;',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  undefined,
]

const ACCEPTS = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'application/json;as=Table;v=v1;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
  'application/json;as=Bogus;v=v9;g=x',
  '*/*',
  'text/html',
  'application/json;q=0',
  ',,,;q=x',
  'application/*;q=0.5, */*;q=0.1',
  undefined,
]

const TEMPLATES: Record<string, Record<string, unknown>> = {
  ConfigMap: { data: { a: 'b' }, binaryData: { b: 'YQ==' } },
  Secret: { data: { a: 'YQ==' }, stringData: { s: 'x' }, type: 'Opaque' },
  Pod: { spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] } },
  Service: { spec: { selector: { app: 'x' }, ports: [{ port: 80, targetPort: 8080 }] } },
  Deployment: {
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'x' } },
      template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  },
  Lease: { spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
  Event: { involvedObject: { kind: 'Pod', name: 'pod' }, reason: 'R', message: 'm' },
}

function sampleObject(g: Gen, res = g.pick(RESOURCES)): Record<string, unknown> {
  return {
    apiVersion: res.group === '' ? res.version : `${res.group}/${res.version}`,
    kind: res.kind,
    metadata: {
      name: g.pick(['cm', 'pod', 'dep', 'new', 'x', `n${g.int(1000)}`]),
      ...(g.chance(0.3) && { labels: { app: 'x' } }),
      ...(g.chance(0.1) && { namespace: g.pick(['demo', 'other']) }),
      ...(g.chance(0.05) && {
        managedFields: [
          {
            manager: 'm',
            operation: g.pick(['Update', 'Apply', 'Bogus']),
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:data': {} },
          },
        ],
      }),
    },
    ...structuredClone(TEMPLATES[res.kind] ?? {}),
  }
}

/** A request that makes sense (a known resource, a fitting body), with one thing perhaps wrong. */
function coherent(g: Gen): { method: string; path: string; contentType: string; body: string } {
  const res = g.pick(RESOURCES)
  const gv = res.group === '' ? '/api/v1' : `/apis/${res.group}/${res.version}`
  const coll = `${gv}${res.namespaced ? '/namespaces/demo' : ''}/${res.plural}`
  const obj = sampleObject(g, res)
  const name = (obj['metadata'] as { name: string }).name
  const body = g.chance(0.5) ? mutate(g, obj) : obj
  const q = queryFor(g)
  switch (g.int(5)) {
    case 0:
      return {
        method: 'POST',
        path: `${coll}${q}`,
        contentType: 'application/json',
        body: JSON.stringify(body),
      }
    case 1:
      return {
        method: 'PUT',
        path: `${coll}/${name}${q}`,
        contentType: 'application/json',
        body: JSON.stringify(body),
      }
    case 2:
      return {
        method: 'PATCH',
        path: `${coll}/${name}${g.chance(0.3) ? '/status' : ''}${q}`,
        contentType: g.pick(['application/merge-patch+json', 'application/strategic-merge-patch+json']),
        body: JSON.stringify(mutate(g, { metadata: { labels: { a: 'b' } }, spec: {} })),
      }
    case 3:
      return {
        method: 'PATCH',
        path: `${coll}/${name}?fieldManager=${g.pick(['m', 'n'])}&${q.slice(1)}`,
        contentType: 'application/apply-patch+yaml',
        body: JSON.stringify(body),
      }
    default:
      return {
        method: g.pick(['GET', 'DELETE']),
        path: `${coll}${g.chance(0.5) ? `/${name}` : ''}${q}`,
        contentType: 'application/json',
        body: '',
      }
  }
}

/** A JSON value with one member somewhere set to something of the wrong type. */
function mutate(g: Gen, v: unknown, depth = 0): unknown {
  if (depth > 4 || v === null || typeof v !== 'object') {
    return g.pick([
      null,
      1,
      -1,
      1.5,
      1e300,
      true,
      'x',
      [],
      {},
      [1, 'a'],
      { a: { b: [] } },
      'x'.repeat(10_000),
    ])
  }
  const entries = Object.entries(v as Record<string, unknown>)
  if (entries.length === 0 || g.chance(0.2)) return g.pick([[], 'str', 7, { extra: 1 }])
  const [k, child] = g.pick(entries)
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string, unknown>
  copy[k] = mutate(g, child, depth + 1)
  if (g.chance(0.1))
    copy[
      g.pick([
        'managedFields',
        'finalizers',
        'ownerReferences',
        'labels',
        'annotations',
        'status',
        'spec',
        'binaryData',
        'data',
      ])
    ] = mutate(g, undefined, 5)
  return copy
}

function deepJson(g: Gen): string {
  const depth = g.pick([50, 499, 501, 2000, 10_001, 100_000])
  const open = g.chance(0.5) ? '{"x":' : '['
  const close = open === '[' ? ']' : '}'
  return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":${open.repeat(depth)}1${close.repeat(depth)}}`
}

function bodyFor(g: Gen, contentType: string | undefined): Buffer | string | undefined {
  switch (g.int(16)) {
    case 0:
      return undefined
    case 1:
      return ''
    case 2:
      return JSON.stringify(sampleObject(g)).slice(0, g.int(60))
    case 3:
      return deepJson(g)
    case 4:
      return `a:\n${'- '.repeat(g.pick([50, 150, 3000]))}x\n`
    case 5:
      return g.bytes(g.int(200))
    case 6:
      return Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), g.bytes(g.int(100))])
    case 7:
      return JSON.stringify({
        ...sampleObject(g),
        metadata: { name: 'big', annotations: { a: 'x'.repeat(g.pick([1000, 300_000])) } },
      })
    case 8:
      // Over the 3 MiB limit, rarely: each is slow to send.
      return g.chance(0.3) ? Buffer.alloc(3 * 1024 * 1024 + 10, 0x61) : JSON.stringify(sampleObject(g))
    case 9:
      return JSON.stringify([
        {
          op: g.pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus']),
          path: g.pick(['/metadata/labels/a', '', '/', '/x/y/z', 'nope', '/spec/containers/99']),
          from: g.pick(['/metadata', '/x', '']),
          value: mutate(g, undefined, 5),
        },
      ])
    case 10:
      return g.pick([
        'null',
        '1',
        '"s"',
        '[]',
        'true',
        '{}',
        '{"metadata":null}',
        '{"kind":1}',
        '{"apiVersion":"v2","kind":"Pod"}',
      ])
    case 11:
      return g.pick([
        ': : :',
        '- [',
        '{a: [}',
        '&a [*a, *a]',
        '!!binary x',
        'a: !!int b',
        '---\n---\n',
        '? [a]\n: b',
        '\t- x',
      ])
    case 12:
      // A copy bomb: each copy of a value into itself doubles it.
      return JSON.stringify(
        Array.from({ length: g.pick([5, 40, 10_001]) }, (_, i) => ({
          op: 'copy',
          from: '/metadata',
          path: `/metadata/c${i}`,
        })),
      )
    default: {
      const obj = g.chance(0.7) ? mutate(g, sampleObject(g)) : sampleObject(g)
      return contentType?.includes('yaml') && g.chance(0.5)
        ? `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n`
        : JSON.stringify(obj)
    }
  }
}

// Checks ----------------------------------------------------------------------------------------

interface Outcome {
  code: number
  text: string
}

/** Why an answer is wrong, or undefined when it is fine. */
function verdict(method: string, path: string, out: Outcome): string | undefined {
  // kube's own 5xx answers that are not about the request's form: a resourceVersion the store has
  // not reached (a valid uint64 from the future), and services/proxy to a service with no endpoints.
  const tooLarge = out.code === 504 && out.text.includes('"reason":"ResourceVersionTooLarge"')
  const noEndpoints =
    out.code === 503 && path.includes('/proxy') && out.text.includes('no endpoints available')
  if (out.code >= 500 && !tooLarge && !noEndpoints) return `a ${out.code} for a client's request`
  if (out.code < 400 || method === 'HEAD') return undefined
  let body: unknown
  try {
    body = parseYaml(out.text)
  } catch {
    return 'an error body that does not parse'
  }
  const s = body as Record<string, unknown> | null
  if (s === null || typeof s !== 'object') return 'an error body that is not an object'
  if (s['kind'] !== 'Status' || s['apiVersion'] !== 'v1' || s['status'] !== 'Failure')
    return 'an error body that is not a Status'
  if (typeof s['message'] !== 'string' || typeof s['reason'] !== 'string' || s['reason'] === '')
    return 'a Status without a message or reason'
  if (s['code'] !== out.code) return `a Status whose code ${String(s['code'])} is not the HTTP ${out.code}`
  return undefined
}

async function sendHttp(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | string | undefined,
): Promise<Outcome> {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), REQUEST_DEADLINE_MS)
  try {
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      method: method as 'GET',
      headers,
      dispatcher: agent,
      signal: ac.signal,
      ...(body !== undefined && method !== 'GET' && method !== 'HEAD' && { body }),
    })
    if (res.statusCode < 400 && (res.headers['transfer-encoding'] === 'chunked' || path.includes('watch'))) {
      // A watch (or any stream): the answer is what matters, not how long it lasts. Destroying an
      // unfinished undici body emits an AbortError; it is the expected end here, not a failure.
      res.body.on('error', () => {})
      res.body.destroy()
      return { code: res.statusCode, text: '' }
    }
    return { code: res.statusCode, text: await res.body.text() }
  } finally {
    clearTimeout(timer)
  }
}

/** Raw bytes with broken framing; the answer is the first response on the connection. */
function rawFraming(g: Gen, path: string): Buffer {
  const body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw"}}'
  const variants = [
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${g.pick(['abc', '-1', '1, 2', '99999999999999999999999'])}\r\nConnection: close\r\n\r\n${body}`,
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${g.pick(['zz', '-1', 'fffffffffffffffffff', '5;;;'])}\r\nhello\r\n0\r\n\r\n`,
    `${g.pick(['G ET', 'GET\u0000', 'FOO', '', 'get'])} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET ${path} HTTP/${g.pick(['9.9', '1', 'x', '1.1.1'])}\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: x\r\nBad Header\r\nConnection: close\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(g.pick([20_000, 1_100_000]))}\r\nConnection: close\r\n\r\n`,
    `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n b\r\nConnection: close\r\n\r\n`,
    `GET ${path.replace('/', ' /')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  ]
  return Buffer.from(g.pick(variants), 'latin1')
}

function sendRaw(bytes: Buffer): Promise<Outcome | 'closed'> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`hang: no answer and no close within ${REQUEST_DEADLINE_MS} ms`))
    }, REQUEST_DEADLINE_MS)
    socket.on('data', (c) => {
      chunks.push(c)
      // A success (a watch, say) may stream for ever: its status line is the answer.
      const head = Buffer.concat(chunks).toString('latin1')
      const code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
      if (code > 0 && code < 400 && head.includes('\r\n\r\n')) {
        clearTimeout(timer)
        socket.destroy()
        resolve({ code, text: '' })
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('utf8')
      if (text === '') return resolve('closed')
      const code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0)
      const headEnd = text.indexOf('\r\n\r\n')
      const head = text.slice(0, headEnd)
      let rest = text.slice(headEnd + 4)
      if (/transfer-encoding: chunked/i.test(head)) {
        // One chunked body: enough to read a Status.
        const m = /^([0-9a-f]+)\r\n/i.exec(rest)
        rest = m ? rest.slice(m[0].length, m[0].length + Number.parseInt(m[1] ?? '0', 16)) : rest
      }
      const len = /content-length: (\d+)/i.exec(head)
      resolve({ code, text: len ? Buffer.from(rest).subarray(0, Number(len[1])).toString() : rest })
    })
    socket.write(bytes)
  })
}

describe('fuzzing the api-server', () => {
  it('answers every client error with a 4xx Status, never a 5xx, a crash or a hang', async () => {
    console.log(`SEED=${SEED} (replay with FUZZ_SEED=${SEED}; ${REQUESTS} requests)`)
    const g = new Gen(rng(SEED))
    const failures: string[] = []
    const answers = new Map<string, number>()
    const count = (k: number | string) => answers.set(String(k), (answers.get(String(k)) ?? 0) + 1)
    const started = Date.now()
    for (let i = 0; i < REQUESTS && failures.length < 10; i++) {
      let method = g.pick(METHODS)
      let path = `${pathFor(g)}${queryFor(g)}`
      let what = `#${i}`
      let out: Outcome | 'closed'
      try {
        if (g.chance(0.4)) {
          const c = coherent(g)
          method = c.method
          path = c.path
          what = `#${i} ${method} ${path.slice(0, 300)} content-type=${c.contentType} body=${JSON.stringify(c.body.slice(0, 300))}`
          out = await sendHttp(
            method,
            path,
            { 'content-type': c.contentType },
            c.body === '' ? undefined : c.body,
          )
        } else if (g.chance(0.06)) {
          const bytes = rawFraming(g, path)
          what = `#${i} raw ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`
          out = await sendRaw(bytes)
          if (out === 'closed') {
            count('closed')
            continue
          }
          // Framing that still parsed is a normal request: its answer is checked the same way.
        } else {
          const contentType = g.pick(CONTENT_TYPES)
          const accept = g.pick(ACCEPTS)
          const body = bodyFor(g, contentType)
          const headers: Record<string, string> = {}
          if (contentType !== undefined) headers['content-type'] = contentType
          if (accept !== undefined) headers['accept'] = accept
          if (g.chance(0.05)) headers['user-agent'] = g.pick(['', 'x'.repeat(5000), 'kubectl/v1.32'])
          const shown =
            body === undefined ? '' : Buffer.isBuffer(body) ? `<${body.length} bytes>` : body.slice(0, 160)
          what = `#${i} ${method} ${path.slice(0, 300)} content-type=${contentType} accept=${accept} body=${JSON.stringify(shown)}`
          out = await sendHttp(method, path, headers, body)
        }
      } catch (err) {
        failures.push(`${what}\n   → ${err instanceof Error ? err.message : String(err)}`)
        continue
      }
      count(out.code)
      const bad = verdict(method, path, out)
      if (bad !== undefined) failures.push(`${what}\n   → ${bad}: ${out.code} ${out.text.slice(0, 400)}`)
    }
    // Still alive and serving.
    const ready = await sendHttp('GET', '/readyz', {}, undefined)
    expect(ready.code).toBe(200)
    expect(failures, `SEED=${SEED}:\n${failures.join('\n')}`).toEqual([])
    const summary = [...answers].sort().map(([k, n]) => `${k}×${n}`)
    console.log(`fuzz: ${REQUESTS} requests in ${Date.now() - started} ms; answers ${summary.join(' ')}`)
  }, 240_000)
})
