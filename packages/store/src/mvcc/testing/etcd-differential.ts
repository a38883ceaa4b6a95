/**
 * The shared half of the differential conformance tests against a real etcd 3.4 (mvcc/etcd-*.test.ts):
 * starting and stopping etcd processes on loopback, the JSON gateway encoding of our requests and the
 * rendering of our responses in the gateway's form, and the seeded request generator. Test code only.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SeededRandom } from '@hakube/raft'
import type { MvccStore } from '../kv-store.js'
import type {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  KeyValue,
  PutRequest,
  RangeRequest,
  RequestOp,
  ResponseOp,
  Result,
  SortOrder,
  SortTarget,
  TxnRequest,
} from '../types.js'

export const OPS_PER_SEED = Number(process.env['MVCC_OPS'] ?? 1000)
export const REGRESSION_SEEDS = [1, 20260522]
export const GRANTED_LEASE = 1000n
export const MISSING_LEASE = 999n

// ---------------------------------------------------------------- etcd process

export interface Etcd {
  url: string
  proc: ChildProcess
  dataDir: string
  stderr: string[]
}

const running = new Set<Etcd>()

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

export function etcdBinary(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error(
      'etcd binary not found: install the Debian package etcd-server (apt-get install etcd-server)',
    )
  }
}

export async function startEtcd(): Promise<Etcd> {
  const bin = etcdBinary()
  const clientPort = await freePort()
  const peerPort = await freePort()
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
  const dataDir = mkdtempSync(join(base, 'hakube-mvcc-etcd-'))
  const url = `http://127.0.0.1:${clientPort}`
  const peer = `http://127.0.0.1:${peerPort}`
  const proc = spawn(
    bin,
    [
      '--name=conformance',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=conformance=${peer}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const etcd: Etcd = { url, proc, dataDir, stderr: [] }
  running.add(etcd)
  proc.stderr?.on('data', (d: Buffer) => {
    etcd.stderr.push(d.toString())
    if (etcd.stderr.length > 50) etcd.stderr.shift()
  })
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) break
    try {
      const res = await fetch(`${url}/health`)
      const body = (await res.json()) as { health?: string }
      if (body.health === 'true') return etcd
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  await stopEtcd(etcd)
  throw new Error(`etcd did not become healthy:\n${etcd.stderr.join('')}`)
}

export async function stopEtcd(etcd: Etcd): Promise<void> {
  if (etcd.proc.exitCode === null && etcd.proc.signalCode === null) {
    const exited = new Promise((r) => etcd.proc.once('exit', r))
    etcd.proc.kill('SIGKILL')
    await exited
  }
  running.delete(etcd)
  rmSync(etcd.dataDir, { recursive: true, force: true })
}

/** Stops every etcd still running (each test file's afterAll). */
export async function stopAllEtcds(): Promise<void> {
  for (const etcd of [...running]) await stopEtcd(etcd)
}

// ---------------------------------------------------------------- JSON gateway encoding

export type Json = Record<string, unknown>

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')

export function setIf(o: Json, name: string, v: unknown, skip: unknown): void {
  if (v !== undefined && v !== skip) o[name] = v
}

export function encRange(r: RangeRequest): Json {
  const o: Json = { key: b64(r.key) }
  if (r.rangeEnd !== undefined) o['range_end'] = b64(r.rangeEnd)
  setIf(o, 'limit', r.limit?.toString(), '0')
  setIf(o, 'revision', r.revision?.toString(), '0')
  setIf(o, 'sort_order', r.sortOrder, 'NONE')
  setIf(o, 'sort_target', r.sortTarget, 'KEY')
  setIf(o, 'keys_only', r.keysOnly, false)
  setIf(o, 'count_only', r.countOnly, false)
  setIf(o, 'min_mod_revision', r.minModRevision?.toString(), '0')
  setIf(o, 'max_mod_revision', r.maxModRevision?.toString(), '0')
  setIf(o, 'min_create_revision', r.minCreateRevision?.toString(), '0')
  setIf(o, 'max_create_revision', r.maxCreateRevision?.toString(), '0')
  return o
}

export function encPut(r: PutRequest): Json {
  const o: Json = { key: b64(r.key) }
  if (r.value !== undefined) o['value'] = b64(r.value)
  setIf(o, 'lease', r.lease?.toString(), '0')
  setIf(o, 'prev_kv', r.prevKv, false)
  setIf(o, 'ignore_value', r.ignoreValue, false)
  setIf(o, 'ignore_lease', r.ignoreLease, false)
  return o
}

export function encDelete(r: DeleteRangeRequest): Json {
  const o: Json = { key: b64(r.key) }
  if (r.rangeEnd !== undefined) o['range_end'] = b64(r.rangeEnd)
  setIf(o, 'prev_kv', r.prevKv, false)
  return o
}

export function encCompare(c: Compare): Json {
  const o: Json = { key: b64(c.key), target: c.target, result: c.result }
  if (c.rangeEnd !== undefined) o['range_end'] = b64(c.rangeEnd)
  if (c.value !== undefined) o['value'] = b64(c.value)
  if (c.version !== undefined) o['version'] = c.version.toString()
  if (c.createRevision !== undefined) o['create_revision'] = c.createRevision.toString()
  if (c.modRevision !== undefined) o['mod_revision'] = c.modRevision.toString()
  if (c.lease !== undefined) o['lease'] = c.lease.toString()
  return o
}

export function encOp(op: RequestOp): Json {
  switch (op.op) {
    case 'range':
      return { request_range: encRange(op.request) }
    case 'put':
      return { request_put: encPut(op.request) }
    case 'deleteRange':
      return { request_delete_range: encDelete(op.request) }
    case 'txn':
      return { request_txn: encTxn(op.request) }
  }
}

export function encTxn(t: TxnRequest): Json {
  const o: Json = {}
  if (t.compare?.length) o['compare'] = t.compare.map(encCompare)
  if (t.success?.length) o['success'] = t.success.map(encOp)
  if (t.failure?.length) o['failure'] = t.failure.map(encOp)
  return o
}

// Our responses, rendered as etcd's gateway renders protobuf (jsonpb, OrigName, defaults omitted).

export function renderKv(kv: KeyValue): Json {
  const o: Json = { key: b64(kv.key) }
  setIf(o, 'create_revision', String(kv.createRevision), '0')
  setIf(o, 'mod_revision', String(kv.modRevision), '0')
  setIf(o, 'version', String(kv.version), '0')
  setIf(o, 'value', b64(kv.value), '')
  setIf(o, 'lease', kv.lease.toString(), '0')
  return o
}

export function renderHeader(h: { revision: number }): Json {
  return h.revision === 0 ? {} : { revision: String(h.revision) }
}

export function renderResponse(kind: ResponseOp['op'], resp: ResponseOp['response']): Json {
  const o: Json = { header: renderHeader(resp.header) }
  if (kind === 'range' && 'kvs' in resp) {
    if (resp.kvs.length > 0) o['kvs'] = resp.kvs.map(renderKv)
    setIf(o, 'more', resp.more, false)
    setIf(o, 'count', String(resp.count), '0')
  } else if (kind === 'put' && !('kvs' in resp) && !('deleted' in resp) && !('succeeded' in resp)) {
    if (resp.prevKv !== undefined) o['prev_kv'] = renderKv(resp.prevKv)
  } else if (kind === 'deleteRange' && 'deleted' in resp) {
    setIf(o, 'deleted', String(resp.deleted), '0')
    if (resp.prevKvs.length > 0) o['prev_kvs'] = resp.prevKvs.map(renderKv)
  } else if (kind === 'txn' && 'succeeded' in resp) {
    setIf(o, 'succeeded', resp.succeeded, false)
    if (resp.responses.length > 0) {
      const names = {
        range: 'response_range',
        put: 'response_put',
        deleteRange: 'response_delete_range',
        txn: 'response_txn',
      }
      o['responses'] = resp.responses.map((r) => ({ [names[r.op]]: renderResponse(r.op, r.response) }))
    }
  }
  return o
}

export function renderResult(
  kind: ResponseOp['op'] | 'compact',
  res: Result<ResponseOp['response'] | { header: { revision: number } }>,
): Json {
  if (!res.ok) return { error: { code: res.error.grpcCode, message: res.error.message } }
  if (kind === 'compact') return { header: renderHeader(res.response.header) }
  return renderResponse(kind, res.response as ResponseOp['response'])
}

export function normalizeEtcd(status: number, body: Json): Json {
  if (status !== 200) return { error: { code: body['code'], message: body['message'] } }
  const header = body['header'] as Json | undefined
  if (header !== undefined) {
    delete header['cluster_id']
    delete header['member_id']
    delete header['raft_term']
  }
  return body
}

export async function call(etcd: Etcd, path: string, body: Json): Promise<Json> {
  let res: Response
  try {
    res = await fetch(`${etcd.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  } catch (err) {
    await new Promise((r) => setTimeout(r, 100))
    throw new Error(
      `etcd request failed (${String(err)}); etcd stderr:\n${etcd.stderr.join('').slice(-4000)}`,
    )
  }
  return normalizeEtcd(res.status, (await res.json()) as Json)
}

// ---------------------------------------------------------------- seeded generator

/** Uniform floats in [0, 1) from the project's seeded generator, so a failing sequence replays. */
export function seededFloats(seed: number): () => number {
  const r = new SeededRandom(seed)
  return () => r.float()
}

export const bin = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'))
export const KEYS = ['a', 'a/1', 'a/2', 'ab', 'b', 'b/1', 'c', 'd', '\x00k', 'z\xff'].map(bin)
export const ALL_KEYS = { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) }
export const VALUES = ['', 'v1', 'v2', 'x', 'yy', '\x00\xff'].map(bin)

export class Gen {
  readonly rnd: () => number
  constructor(
    seed: number,
    private readonly store: MvccStore,
  ) {
    this.rnd = seededFloats(seed)
  }
  int(n: number): number {
    return Math.floor(this.rnd() * n)
  }
  chance(p: number): boolean {
    return this.rnd() < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T
  }
  /** A revision near the interesting edges: compacted, current, future. */
  rev(): number {
    const lo = Math.max(1, this.store.compactRevision - 1)
    return lo + this.int(this.store.revision + 2 - lo + 1)
  }
  key(): Uint8Array {
    return this.chance(0.01) ? new Uint8Array(0) : this.pick(KEYS)
  }
  /** [key, rangeEnd] covering the single key, a range, a prefix, from-key or all keys. */
  span(): { key: Uint8Array; rangeEnd?: Uint8Array } {
    const key = this.key()
    switch (this.int(6)) {
      case 0:
      case 1:
        return { key }
      case 2:
        return { key, rangeEnd: this.pick(KEYS) }
      case 3: {
        const end = Uint8Array.from(key)
        if (end.length > 0) end[end.length - 1] = ((end[end.length - 1] as number) + 1) & 0xff
        return { key, rangeEnd: end }
      }
      case 4:
        return { key, rangeEnd: Uint8Array.of(0) }
      default:
        return { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) }
    }
  }
  range(): RangeRequest {
    const r: RangeRequest = { ...this.span() }
    if (this.chance(0.3)) r.limit = this.int(5)
    if (this.chance(0.25)) r.revision = this.rev()
    if (this.chance(0.3)) r.sortOrder = this.pick<SortOrder>(['NONE', 'ASCEND', 'DESCEND'])
    if (this.chance(0.3)) r.sortTarget = this.pick<SortTarget>(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'])
    if (this.chance(0.1)) r.keysOnly = true
    if (this.chance(0.1)) r.countOnly = true
    if (this.chance(0.1)) r.minModRevision = this.rev()
    if (this.chance(0.1)) r.maxModRevision = this.rev()
    if (this.chance(0.1)) r.minCreateRevision = this.rev()
    if (this.chance(0.1)) r.maxCreateRevision = this.rev()
    return r
  }
  put(): PutRequest {
    const r: PutRequest = { key: this.key() }
    const ignoreValue = this.chance(0.1)
    if (!ignoreValue || this.chance(0.2)) r.value = this.pick(VALUES)
    if (ignoreValue) r.ignoreValue = true
    if (this.chance(0.15)) r.lease = this.chance(0.8) ? GRANTED_LEASE : MISSING_LEASE
    if (this.chance(0.08)) r.ignoreLease = true
    if (this.chance(0.4)) r.prevKv = true
    return r
  }
  deleteRange(): DeleteRangeRequest {
    const r: DeleteRangeRequest = { ...this.span() }
    if (this.chance(0.5)) r.prevKv = true
    return r
  }
  compare(): Compare {
    const target = this.pick<CompareTarget>(['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'])
    const result = this.pick<CompareResult>(['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'])
    const c: Compare = { key: this.pick(KEYS), target, result }
    if (this.chance(0.2)) c.rangeEnd = this.span().rangeEnd ?? this.pick(KEYS)
    if (target === 'VALUE') c.value = this.pick(VALUES)
    if (target === 'VERSION') c.version = this.int(4)
    if (target === 'CREATE') c.createRevision = this.chance(0.3) ? 0 : this.rev()
    if (target === 'MOD') c.modRevision = this.chance(0.3) ? 0 : this.rev()
    if (target === 'LEASE') c.lease = this.pick([0n, GRANTED_LEASE])
    return c
  }
  ops(depth: number): RequestOp[] {
    const ops: RequestOp[] = []
    const n = this.int(4)
    for (let i = 0; i < n; i++) {
      const k = this.int(depth < 2 ? 7 : 6)
      if (k < 2) ops.push({ op: 'range', request: this.range() })
      else if (k < 4) ops.push({ op: 'put', request: this.put() })
      else if (k < 6) ops.push({ op: 'deleteRange', request: this.deleteRange() })
      else ops.push({ op: 'txn', request: this.txn(depth + 1) })
    }
    return ops
  }
  txn(depth = 0): TxnRequest {
    const compare: Compare[] = []
    const n = this.int(3)
    for (let i = 0; i < n; i++) compare.push(this.compare())
    return { compare, success: this.ops(depth), failure: this.ops(depth) }
  }
}

export function allOps(t: TxnRequest): RequestOp[] {
  return [...(t.success ?? []), ...(t.failure ?? [])].flatMap((op) =>
    op.op === 'txn' ? [op, ...allOps(op.request)] : [op],
  )
}

/**
 * etcd 3.4 crashes (panic "unexpected error during txn") on a txn that deletes a key with a from-key
 * delete and then puts it with ignore_value/ignore_lease: its duplicate-key check ignores from-key
 * deletes and its ignore_* check reads the pre-txn state. Keep such txns away from the real etcd.
 */
export function avoidEtcdPanic(t: TxnRequest): TxnRequest {
  const ops = allOps(t)
  const fromKeyDelete = ops.some(
    (op) => op.op === 'deleteRange' && op.request.rangeEnd?.length === 1 && op.request.rangeEnd[0] === 0,
  )
  if (fromKeyDelete) {
    for (const op of ops) {
      if (op.op === 'put') {
        delete op.request.ignoreValue
        delete op.request.ignoreLease
      }
    }
  }
  return t
}

export function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    typeof x === 'bigint'
      ? `${x}n`
      : x instanceof Uint8Array
        ? `bytes(${Buffer.from(x).toString('latin1')})`
        : x,
  )
}

// ---------------------------------------------------------------- watch differential

export interface EtcdWatch {
  results: Json[]
  waitFor(pred: (results: Json[]) => boolean): Promise<void>
  close(): void
}

export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error
  return r.response
}
