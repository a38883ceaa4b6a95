import { afterEach, describe, expect, it } from 'vitest'
import { loadEtcdProto } from './proto.js'
import { LocalBackend } from './testing/local-backend.js'
import { WatchStream, watchResponseSize } from './watch-stream.js'

const b = (s: string): Buffer => Buffer.from(s)
const MiB = 1024 * 1024
type SizedResponse = Parameters<typeof watchResponseSize>[0]

let backend: LocalBackend | undefined
afterEach(() => {
  backend?.close()
  backend = undefined
})

function open(maxRequestBytes?: number) {
  backend = new LocalBackend()
  const got: Array<Record<string, unknown>> = []
  const stream = new WatchStream(
    backend,
    { write: (r) => got.push(r) > 0, pending: () => 0 },
    maxRequestBytes,
  )
  return { backend, stream, got }
}

/** Drops proto3 default values, which protobufjs would encode when present (etcd's gogoproto never does). */
function canonical(v: unknown): unknown {
  if (Buffer.isBuffer(v) || Array.isArray(v)) return Array.isArray(v) ? v.map(canonical) : v
  if (v === null || typeof v !== 'object') return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    const isDefault =
      x === null ||
      x === false ||
      x === '0' ||
      x === 0 ||
      x === '' ||
      x === 'PUT' ||
      (Buffer.isBuffer(x) && x.length === 0)
    if (!isDefault) out[k] = canonical(x)
  }
  return out
}

/** The canonical encoded size of a WatchResponse (etcd's `Size()`), to check watchResponseSize against. */
function encodedSize(r: Record<string, unknown>): number {
  const method = loadEtcdProto().services.Watch['Watch'] as { responseSerialize(v: unknown): Buffer }
  return method.responseSerialize(canonical(r)).length
}

describe('WatchStream ids', () => {
  it('does not use up an automatic id on a refused create (as etcd)', () => {
    const { stream, got } = open()
    stream.handle({ create_request: { key: b('z'), range_end: b('a') } })
    stream.handle({ create_request: { key: b('a') } })
    expect(got.map((r) => [r['watch_id'], r['canceled'], r['cancel_reason'] ?? ''])).toEqual([
      ['-1', true, 'mvcc: watcher range is empty'],
      ['0', false, ''],
    ])
  })
})

describe('WatchStream fragments (etcd 3.4 v3rpc/watch.go sendFragments)', () => {
  it('splits a replay of two 1 MiB values into two fragments when asked, and only then', async () => {
    // Found by the e2e conformance suite: the `fragment` flag was ignored.
    const { backend, stream, got } = open()
    for (const k of ['big1', 'big2']) await backend.put({ key: b(k), value: Buffer.alloc(MiB, k) })
    stream.handle({
      create_request: { key: b('big'), range_end: b('bih'), start_revision: '2', fragment: true },
    })
    stream.handle({ create_request: { key: b('big'), range_end: b('bih'), start_revision: '2' } })
    const shape = got.map((r) => [
      r['watch_id'],
      r['created'],
      r['fragment'] ?? false,
      (r['events'] as []).length,
    ])
    expect(shape).toEqual([
      ['0', true, false, 0],
      ['0', false, true, 1],
      ['0', false, false, 1],
      ['1', true, false, 0],
      ['1', false, false, 2],
    ])
  })

  it('keeps a fragment growing until one more event would reach the limit', async () => {
    const { backend, stream, got } = open(1000)
    for (let i = 0; i < 10; i++) await backend.put({ key: b(`k${i}`), value: Buffer.alloc(200, 'v') })
    stream.handle({ create_request: { key: b('k'), range_end: b('l'), start_revision: '2', fragment: true } })
    const replies = got.slice(1)
    expect(replies.map((r) => (r['events'] as []).length)).toEqual([4, 4, 2])
    expect(replies.map((r) => r['fragment'])).toEqual([true, true, false])
    for (const r of replies) expect(encodedSize(r)).toBeLessThan(1000)
  })

  it('computes the protobuf size of a response exactly', async () => {
    const { backend, stream, got } = open()
    const lease = await backend.leaseGrant(60, 0n)
    if (!lease.ok) throw lease.error
    await backend.put({ key: b('a'), value: b('1'), lease: lease.response.id })
    await backend.put({ key: b('a'), value: Buffer.alloc(300, 'x') })
    await backend.deleteRange({ key: b('a') })
    stream.handle({ create_request: { key: b('a'), start_revision: '2', prev_kv: true, fragment: true } })
    stream.handle({ progress_request: {} })
    expect(got.length).toBeGreaterThan(2)
    for (const r of got) {
      const wire = { compact_revision: '0', events: [], ...r } as unknown as SizedResponse
      expect(watchResponseSize(wire), JSON.stringify(r).slice(0, 200)).toBe(encodedSize(r))
    }
  })
})
