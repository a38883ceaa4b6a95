import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeJson, encodeJson } from './codec.js'
import { deriveClusterId, deriveMemberId } from './member-id.js'
import { StoreServer } from './store-server.js'
import { MemoryNetwork } from './testing/memory-transport.js'
import { enc, TestCluster } from './testing/test-cluster.js'

describe('member and cluster ids', () => {
  it('are deterministic, order-independent, non-zero and below 2^53', () => {
    const a = deriveMemberId(['http://b:2380', 'http://a:2380'], 'tok')
    expect(a).toBe(deriveMemberId(['http://a:2380', 'http://b:2380'], 'tok'))
    expect(a).not.toBe(deriveMemberId(['http://a:2380', 'http://b:2380'], 'other'))
    expect(Number.isSafeInteger(a) && a > 0).toBe(true)
    const c = deriveClusterId([3, 1, 2])
    expect(c).toBe(deriveClusterId([1, 2, 3]))
    expect(Number.isSafeInteger(c) && c > 0).toBe(true)
  })
})

describe('entry codec', () => {
  it('round-trips bytes (also Buffers) and bigints', () => {
    const v = { k: new Uint8Array([0, 255]), b: Buffer.from('hi'), n: 2n ** 62n, s: 'x', a: [1n] }
    const back = decodeJson<typeof v>(encodeJson(v))
    expect(back.k).toEqual(new Uint8Array([0, 255]))
    expect(back.b).toEqual(new Uint8Array(Buffer.from('hi')))
    expect(back.n).toBe(2n ** 62n)
    expect(back.a).toEqual([1n])
    expect(back.s).toBe('x')
  })
})

describe('request checks before Raft', () => {
  it('refuses oversized requests, too many txn ops and empty keys with etcd errors', async () => {
    const cluster = await TestCluster.start(1, { maxRequestBytes: 1024, maxTxnOps: 2 })
    try {
      const s = await cluster.leader()
      const big = await s.put({ key: enc('k'), value: new Uint8Array(4096) })
      expect(!big.ok && big.error.code).toBe('STORE_ERR_REQUEST_TOO_LARGE')
      const ops = [1, 2, 3].map((i) => ({
        op: 'put' as const,
        request: { key: enc(`k${i}`), value: enc('v') },
      }))
      const txn = await s.txn({ success: ops })
      expect(!txn.ok && txn.error.code).toBe('STORE_ERR_TOO_MANY_OPS')
      const empty = await s.put({ key: new Uint8Array(0), value: enc('v') })
      expect(!empty.ok && empty.error.code).toBe('STORE_ERR_EMPTY_KEY')
      // The limit applies to the request's bytes, not to the (base64) entry envelope.
      expect((await s.put({ key: enc('k'), value: new Uint8Array(900) })).ok).toBe(true)
    } finally {
      await cluster.destroy()
    }
  })

  it('refuses a data dir that belongs to another member', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hakube-store-server-'))
    const net = new MemoryNetwork()
    const base = {
      dataDir: join(root, 'd'),
      initialCluster: { a: ['http://a:2380'], b: ['http://b:2380'] },
      initialClusterToken: 't',
      initialClusterState: 'new' as const,
    }
    try {
      const a = await StoreServer.start({ ...base, name: 'a', transport: net.transport(1) })
      await a.stop()
      await expect(StoreServer.start({ ...base, name: 'b', transport: net.transport(2) })).rejects.toThrow(
        /belongs to member/,
      )
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
