/**
 * The etcd3 client's edges without a cluster: endpoint parsing, and the retry rule's "nothing was
 * sent" case: with no endpoint reachable (127.0.1.161, a port nobody listens on), a write fails by its
 * deadline with Timeout and `outcomeUnknown: false`, and a watch ends with one ERROR Unavailable.
 */
import { describe, expect, it } from 'vitest'
import { parseEndpoint } from '../src/etcd3-client.js'
import { createEtcd3Storage, createStorage } from '../src/etcd3-entry.js'
import { isStorageError, MemoryStorage } from '../src/index.js'
import { EventLog, expectError } from './contract.js'

const DEAD = ['http://127.0.1.161:2399', '127.0.1.162:2399']

describe('etcd3 client edges', () => {
  it('parses --etcd-servers URLs and refuses TLS and garbage', () => {
    expect(parseEndpoint('http://127.0.0.1:2379')).toBe('127.0.0.1:2379')
    expect(parseEndpoint('127.0.0.1:2379/')).toBe('127.0.0.1:2379')
    expect(() => parseEndpoint('https://127.0.0.1:2379')).toThrow(/TLS/)
    expect(() => parseEndpoint('http://')).toThrow(/bad etcd endpoint/)
    expect(() => createEtcd3Storage({ endpoints: [] })).toThrow(/no etcd endpoints/)
  })

  it('selects the backend as kube-apiserver flags do', async () => {
    const m = createStorage({})
    expect(m).toBeInstanceOf(MemoryStorage)
    await m.close()
    expect(() => createStorage({ backend: 'etcd3' })).toThrow(/--etcd-servers/)
    const e = createStorage({ etcdServers: DEAD })
    expect(e.backend).toBe('etcd3')
    await e.close()
  })

  it('unreachable endpoints: a write times out never sent; readiness says unreachable', async () => {
    const s = createEtcd3Storage({ endpoints: DEAD, dialTimeoutMs: 200, backoffMs: 50 })
    try {
      const t0 = Date.now()
      const err = await expectError(s.create('/registry/pods/ns/a', {}, { timeoutMs: 1_500 }), 'Timeout')
      expect(err.outcomeUnknown).toBe(false)
      expect(Date.now() - t0).toBeLessThan(1_500 + 1_000)
      await expectError(s.get('/registry/pods/ns/a', { timeoutMs: 500 }), 'Timeout')
      const r = await s.readiness({ timeoutMs: 500 })
      expect(r.ok).toBe(false)
      expect(r.ok ? '' : r.reason).toMatch(/unreachable/)
    } finally {
      await s.close()
    }
  })

  it('a watch that cannot be established ends with one ERROR Unavailable', async () => {
    const s = createEtcd3Storage({ endpoints: DEAD, dialTimeoutMs: 200, watchReconnectTimeoutMs: 1_000 })
    try {
      const log = new EventLog()
      await s.watch({ prefix: '/registry/pods/', afterRevision: 0 }, log.handler)
      const [ev] = await log.until(1, 10_000)
      expect(ev?.type === 'ERROR' && isStorageError(ev.error, 'Unavailable')).toBe(true)
      await new Promise((r) => setTimeout(r, 300))
      expect(log.events).toHaveLength(1)
    } finally {
      await s.close()
    }
  })
})
