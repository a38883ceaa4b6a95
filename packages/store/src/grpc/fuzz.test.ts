/**
 * Seeded fuzzing of the store's client inputs (JSON gateway and gRPC), run by the package's normal
 * `vitest run`. Requests are malformed or odd on purpose: bad JSON, values of the wrong type, huge
 * numbers, non-base64 bytes, deep nesting, unknown paths, other methods, oversized bodies; raw bytes
 * that are not (or not quite) protobuf to the KV, Lease and Watch methods (and the Cluster, Maintenance
 * and Auth methods that cannot take the test cluster's quorum away).
 *
 * It fails on a 5xx answer (501 Unimplemented aside: documented as not supported), on an error body
 * that is not etcd's (`{"error","message","code"}` from the gateway, with grpc-gateway's plain-text
 * 404/405), on a gRPC status etcd would not send (Unknown, or Internal other than grpc-go's
 * "grpc: error unmarshalling request" / "failed to unmarshal the received message"), on a crash, or on
 * a request left unanswered. The one 5xx etcd itself gives a client error is kept: a streaming path
 * (`/v3/watch`, `/v3/lease/keepalive`) whose first request does not decode answers 500 with code 2
 * (grpc-gateway 1.9's stream error), observed on etcd 3.4.23.
 *
 * `FUZZ_SEED=<n>` replays one run; `FUZZ_CASES=<n>` changes the number of requests per part.
 */
import { randomInt } from 'node:crypto'
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js'
import { SeededRandom } from '@hakube/raft'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EtcdBackend } from '../backend.js'
import { STORE_ERRORS } from '../errors.js'
import { TestCluster } from '../server/testing/test-cluster.js'
import { type ClientServer, startClientServer } from './client-server.js'
import { GATEWAY_ROUTES } from './gateway.js'
import { loadEtcdProto } from './proto.js'
import { LocalBackend } from './testing/local-backend.js'

const SEED = Number(process.env['FUZZ_SEED'] ?? randomInt(1, 2 ** 31))
const CASES = Number(process.env['FUZZ_CASES'] ?? 300)
/** A request not answered within this is a hang. */
const ANSWER_MS = 5000

interface Field {
  name: string
  type: string
  label: string
  typeName: string
}

class Fuzz {
  private readonly r: SeededRandom
  constructor(seed: number) {
    this.r = new SeededRandom(seed)
  }
  int(n: number): number {
    return this.r.intn(n)
  }
  chance(p: number): boolean {
    return this.r.float() < p
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

const ODD_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0,
  '',
  'a',
  '%%%',
  'YQ==',
  'YQ',
  '====',
  '\u0000',
  '99999999999999999999',
  '-9223372036854775809',
  '18446744073709551616',
  '1e400',
  'NaN',
  [],
  [1, 'x'],
  {},
  { a: { b: [] } },
]
/** Numbers whose text matters (kept exact by the gateway's parser): spliced in as raw JSON. */
const RAW_NUMBERS = ['99999999999999999999', '1e400', '-1e-400', '9223372036854775808', '0.5', '-0', '1E2']

function fieldsOf(type: string): Field[] {
  const def = loadEtcdProto().packageDefinition[type] as { type?: { field?: Field[] } } | undefined
  return def?.type?.field ?? []
}

/** A well-typed value for a field, sometimes. */
function typedValue(f: Fuzz, field: Field): unknown {
  switch (field.type) {
    case 'TYPE_BYTES':
      return Buffer.from(f.pick(['a', 'k', '', '\u00ff', 'z'.repeat(f.int(40))])).toString('base64')
    case 'TYPE_STRING':
      return f.pick(['', 'alice', 'r', 'http://127.0.0.1:1', 'x'.repeat(f.int(300))])
    case 'TYPE_BOOL':
      return f.chance(0.5)
    case 'TYPE_ENUM':
      return f.pick(['NONE', 'ASCEND', 'GET', 'PUT', 'NOPUT', 'EQUAL', 'VALUE', 'BOGUS', 0, 1, 7, -1])
    case 'TYPE_MESSAGE':
      return f.chance(0.5) ? {} : { key: 'YQ==' }
    default:
      return f.pick([0, 1, -1, 5, '3', '-7', 2 ** 53, '9223372036854775807'])
  }
}

/** A JSON body for `reqType`: sometimes sane, mostly odd. */
function jsonBody(f: Fuzz, reqType: string): string {
  const p = f.int(100)
  if (p < 8)
    return f.pick(['', '{', '{bad', '}', 'null', '[]', '"str"', '7', '{"a":}', '{}{}', '{} x', '\u0000'])
  if (p < 12) return f.bytes(f.int(64)).toString('latin1')
  if (p < 14) {
    const depth = f.pick([100, 10_000, 100_000])
    return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
  }
  if (p < 16) {
    const depth = f.pick([1000, 100_000])
    return `{"key":${'['.repeat(depth)}${']'.repeat(depth)}}`
  }
  const fields = fieldsOf(`etcdserverpb.${reqType}`)
  const obj: Record<string, unknown> = {}
  const raw: string[] = []
  for (const field of fields) {
    if (!f.chance(0.5)) continue
    const name = f.chance(0.2)
      ? field.name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
      : field.name
    const q = f.int(10)
    if (q < 4) obj[name] = typedValue(f, field)
    else if (q < 8) obj[name] = f.pick(ODD_VALUES)
    else if (q < 9) raw.push(`"${name}":${f.pick(RAW_NUMBERS)}`)
    else obj[name] = field.label === 'LABEL_REPEATED' ? [typedValue(f, field), f.pick(ODD_VALUES)] : [1]
  }
  if (f.chance(0.1)) obj['unknown_field'] = f.pick(ODD_VALUES)
  const text = JSON.stringify(obj)
  return raw.length === 0 ? text : `${text.slice(0, -1)}${text === '{}' ? '' : ','}${raw.join(',')}}`
}

const METHODS = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const
const ODD_PATHS = [
  '/v3/nope',
  '/v3',
  '/v3/',
  '/v3/kv',
  '/v3/kv/range/',
  '/v3/kv/range/extra',
  '/v2/keys/a',
  '/v3alpha/kv/range',
  '/v3/auth/status',
  '/v3/kv/%zz',
  '/v3/kv/r%61nge',
  '//v3/kv/range',
  '/',
]

interface GatewayCase {
  method: string
  path: string
  body: string
}

function gatewayCase(f: Fuzz): GatewayCase {
  const routes = GATEWAY_ROUTES.map(([path, , , reqType]) => [path, reqType] as const)
  routes.push(['/watch', 'WatchRequest'], ['/lease/keepalive', 'LeaseKeepAliveRequest'])
  const [path, reqType] = f.pick(routes)
  const prefix = f.chance(0.9) ? '/v3' : '/v3beta'
  const p = f.int(100)
  if (p < 8) return { method: 'POST', path: f.pick(ODD_PATHS), body: jsonBody(f, reqType) }
  if (p < 14) return { method: f.pick(METHODS), path: prefix + path, body: '' }
  if (p < 16) {
    // Over the gateway's body limit (2 MiB).
    const big = `{"key":"YQ==","value":"${'A'.repeat(2 * 1024 * 1024 + f.int(1024))}"}`
    return { method: 'POST', path: `${prefix}/kv/put`, body: big }
  }
  return { method: 'POST', path: prefix + path, body: jsonBody(f, reqType) }
}

/** The codes and messages an etcd error may carry (ours, from STORE_ERRORS, or grpc-gateway's decoding). */
function checkGatewayAnswer(c: GatewayCase, statusCode: number, text: string): string | undefined {
  if (statusCode === 200) {
    // One JSON value, or newline-delimited ones for the streaming paths.
    for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
      try {
        JSON.parse(line)
      } catch {
        return `200 with a body that is not JSON: ${text.slice(0, 200)}`
      }
    }
    return undefined
  }
  // Go's net/http and grpc-gateway's mux answer these in plain text (gateway-http.ts).
  if (statusCode === 404 && (text === 'Not Found\n' || text === '404 page not found\n')) return undefined
  if (statusCode === 405 && text === 'Method Not Allowed\n') return undefined
  if (statusCode === 400 && text === '400 Bad Request') return undefined
  if (statusCode === 301 && text === '') return undefined
  if (statusCode === 200 && c.method === 'OPTIONS' && text === '') return undefined
  const streamed = c.path.endsWith('/watch') || c.path.endsWith('/lease/keepalive')
  if (statusCode === 500 && streamed && /^\{"error":.*,"code":2\}$/.test(text)) return undefined
  if (statusCode >= 500 && statusCode !== 501)
    return `${statusCode} for a client request: ${text.slice(0, 300)}`
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return `${statusCode} with a body that is not JSON: ${text.slice(0, 200)}`
  }
  const b = body as Record<string, unknown>
  const keys = Object.keys(b).sort().join(',')
  if (keys === 'error' && streamed) return undefined // grpc-gateway's stream error chunk
  if (keys !== 'code,error,message')
    return `${statusCode} with a body not in etcd's error form: ${text.slice(0, 300)}`
  if (typeof b['error'] !== 'string' || b['error'] !== b['message'] || typeof b['code'] !== 'number')
    return `${statusCode} with an error body of the wrong types: ${text.slice(0, 300)}`
  if (b['code'] === status.UNKNOWN || b['code'] === status.INTERNAL)
    return `${statusCode} with gRPC code ${String(b['code'])}: ${text.slice(0, 300)}`
  return undefined
}

async function send(base: string, c: GatewayCase): Promise<{ status: number; text: string } | 'hang'> {
  const ac = new AbortController()
  const streaming = c.path.endsWith('/watch')
  const timer = setTimeout(() => ac.abort(), ANSWER_MS)
  try {
    const res = await fetch(base + c.path, {
      method: c.method,
      body: c.method === 'GET' || c.method === 'OPTIONS' ? undefined : c.body,
      redirect: 'manual',
      signal: ac.signal,
    })
    if (streaming && res.status === 200) {
      // A watch stays open: its first line is enough.
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      const first = await reader.read()
      ac.abort()
      return {
        status: 200,
        text:
          Buffer.from(first.value ?? [])
            .toString('utf8')
            .split('\n')[0] ?? '',
      }
    }
    return { status: res.status, text: await res.text() }
  } catch (err) {
    if (ac.signal.aborted && !streaming) return 'hang'
    if (ac.signal.aborted) return { status: 200, text: '' }
    throw err
  } finally {
    clearTimeout(timer)
  }
}

// -- gRPC -------------------------------------------------------------------------------------------

const UNARY = [
  '/etcdserverpb.KV/Range',
  '/etcdserverpb.KV/Put',
  '/etcdserverpb.KV/DeleteRange',
  '/etcdserverpb.KV/Txn',
  '/etcdserverpb.KV/Compact',
  '/etcdserverpb.Lease/LeaseGrant',
  '/etcdserverpb.Lease/LeaseRevoke',
  '/etcdserverpb.Lease/LeaseTimeToLive',
  '/etcdserverpb.Lease/LeaseLeases',
  // Not MemberAdd: a member added to the one-member cluster would take its quorum away.
  '/etcdserverpb.Cluster/MemberList',
  '/etcdserverpb.Cluster/MemberRemove',
  '/etcdserverpb.Cluster/MemberUpdate',
  '/etcdserverpb.Cluster/MemberPromote',
  '/etcdserverpb.Maintenance/Alarm',
  '/etcdserverpb.Maintenance/Status',
  '/etcdserverpb.Maintenance/Hash',
  '/etcdserverpb.Maintenance/HashKV',
  '/etcdserverpb.Maintenance/Defragment',
  '/etcdserverpb.Maintenance/MoveLeader',
  '/etcdserverpb.Auth/AuthDisable',
  '/etcdserverpb.Auth/Authenticate',
  '/etcdserverpb.Auth/UserGet',
  '/etcdserverpb.Auth/UserList',
  '/etcdserverpb.Auth/RoleGet',
  '/etcdserverpb.Auth/RoleRevokePermission',
]
const STREAMS = ['/etcdserverpb.Watch/Watch', '/etcdserverpb.Lease/LeaseKeepAlive']
const ETCD_MESSAGES = new Set<string>(Object.values(STORE_ERRORS).map((e) => e.message))

/** Bytes that are not protobuf, or protobuf with odd field values. */
function protoBytes(f: Fuzz): Buffer {
  const p = f.int(10)
  if (p < 4) return f.bytes(f.int(40))
  if (p < 6) {
    // A field tag with an invalid wire type, or a length past the end.
    return Buffer.from([
      f.pick([0x0f, 0x0e, 0x0b, 0x0c, 0x0a, 0x12]),
      f.pick([0x7f, 0xff, 0x05]),
      ...f.bytes(f.int(4)),
    ])
  }
  if (p < 8) {
    // Varint fields 1..14 with extreme values (revisions, limits, lease ids, TTLs, enums).
    const out: number[] = []
    for (let i = 0; i < 1 + f.int(4); i++) {
      out.push(((1 + f.int(14)) << 3) | 0)
      const n = f.pick([
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        [0x80, 0x80, 0x80, 0x80, 0x08],
        [0x7f],
        [0x00],
      ])
      out.push(...n)
    }
    return Buffer.from(out)
  }
  // Nested messages (txn compare/success, watch create_request) with random contents.
  const inner = f.bytes(f.int(20))
  return Buffer.from([((1 + f.int(4)) << 3) | 2, inner.length, ...inner])
}

function checkGrpcStatus(err: ServiceError | null): string | undefined {
  if (err === null) return undefined
  // grpc-go's words for a message that does not decode (unary, then stream), as etcd 3.4 answers.
  if (err.code === status.INTERNAL && err.details.startsWith('grpc: error unmarshalling request: '))
    return undefined
  if (
    err.code === status.INTERNAL &&
    err.details.startsWith('grpc: failed to unmarshal the received message ')
  )
    return undefined
  if (err.code === status.UNKNOWN || err.code === status.INTERNAL)
    return `gRPC ${status[err.code]}: ${err.details}`
  if (err.code === status.UNIMPLEMENTED || err.code === status.CANCELLED) return undefined
  if (!ETCD_MESSAGES.has(err.details))
    return `gRPC ${status[err.code]} with a message etcd does not send: ${err.details}`
  return undefined
}

const raw = (b: Buffer): Buffer => b

function unaryCall(client: Client, path: string, body: Buffer): Promise<ServiceError | null | 'hang'> {
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + ANSWER_MS)
    client.makeUnaryRequest(path, raw, raw, body, new Metadata(), { deadline }, (err) => {
      if (err?.code === status.DEADLINE_EXCEEDED) resolve('hang')
      else resolve(err)
    })
  })
}

/** Writes `messages` on a stream; resolves with its error, or null once a response came (or it ended). */
function streamCall(client: Client, path: string, messages: Buffer[]): Promise<ServiceError | null | 'hang'> {
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest(path, raw, raw, new Metadata(), {
      deadline: new Date(Date.now() + ANSWER_MS),
    })
    let settled = false
    const done = (r: ServiceError | null | 'hang'): void => {
      if (settled) return
      settled = true
      call.cancel()
      resolve(r)
    }
    call.on('data', () => done(null))
    call.on('error', (err: ServiceError) => done(err.code === status.DEADLINE_EXCEEDED ? 'hang' : err))
    call.on('end', () => done(null))
    for (const m of messages) call.write(m)
    call.end()
    // A stream of undecodable requests answered nothing and ended quietly is fine; silence is not
    // checked here beyond the deadline (a watch that was created answers at once).
  })
}

/** The backends fuzzed: the edges over the test double, and over the real replicated server. */
const BACKENDS: Array<[string, () => Promise<{ backend: EtcdBackend; close(): Promise<void> }>]> = [
  [
    'LocalBackend',
    async () => {
      const backend = new LocalBackend()
      return { backend, close: async () => backend.close() }
    },
  ],
  [
    'a one-member StoreServer',
    async () => {
      const cluster = await TestCluster.start(1)
      return { backend: await cluster.leader(), close: () => cluster.destroy() }
    },
  ],
]

describe.each(BACKENDS)(
  `fuzzing the client inputs over %s (SEED=${SEED}; replay with FUZZ_SEED=${SEED})`,
  (_name, open) => {
    let opened: { backend: EtcdBackend; close(): Promise<void> } | undefined
    let server: ClientServer
    let base: string

    beforeAll(async () => {
      console.log(`SEED=${SEED} (replay: FUZZ_SEED=${SEED} npx vitest run src/grpc/fuzz.test.ts)`)
      opened = await open()
      server = await startClientServer({
        host: '127.0.0.1',
        port: 0,
        backend: opened.backend,
        registry: new Registry(),
      })
      base = `http://127.0.0.1:${server.port}`
    })
    afterAll(async () => {
      await server?.close()
      await opened?.close()
    })

    it("the JSON gateway answers every odd request in etcd's form, without a 5xx or a hang", {
      timeout: 120_000,
    }, async () => {
      const f = new Fuzz(SEED)
      const problems: string[] = []
      for (let i = 0; i < CASES; i++) {
        const c = gatewayCase(f)
        const got = await send(base, c)
        const problem = got === 'hang' ? 'no answer (hang)' : checkGatewayAnswer(c, got.status, got.text)
        if (problem !== undefined)
          problems.push(
            `case ${i}: ${c.method} ${c.path} ${JSON.stringify(c.body.slice(0, 200))} -> ${problem}`,
          )
      }
      // The server still serves.
      const health = await fetch(`${base}/health`)
      expect(health.status).toBe(200)
      expect(problems, `SEED=${SEED}`).toEqual([])
    })

    it("the gRPC services answer undecodable or odd messages with etcd's statuses, without a hang", {
      timeout: 120_000,
    }, async () => {
      const f = new Fuzz(SEED + 1)
      const client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure())
      const problems: string[] = []
      try {
        for (let i = 0; i < CASES / 2; i++) {
          const streaming = f.chance(0.25)
          const path = streaming ? f.pick(STREAMS) : f.pick(UNARY)
          const messages = Array.from({ length: streaming ? 1 + f.int(3) : 1 }, () => protoBytes(f))
          const got = streaming
            ? await streamCall(client, path, messages)
            : await unaryCall(client, path, messages[0] as Buffer)
          const problem = got === 'hang' ? 'no answer (hang)' : checkGrpcStatus(got)
          if (problem !== undefined)
            problems.push(
              `case ${i}: ${path} ${messages.map((m) => m.toString('hex')).join(' ')} -> ${problem}`,
            )
        }
      } finally {
        client.close()
      }
      const health = await fetch(`${base}/health`)
      expect(health.status).toBe(200)
      expect(problems, `SEED=${SEED}`).toEqual([])
    })
  },
)
