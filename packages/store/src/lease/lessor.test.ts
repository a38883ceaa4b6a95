import { describe, expect, it } from 'vitest'
import { Lessor, MAX_LEASE_TTL_SECONDS } from './lessor.js'

// The lessor's split (etcd server/lease/lessor.go): existence and TTLs are replicated and clock-free;
// expiry belongs to the primary (leader) and its clock alone.

function errorOf<T>(r: { ok: true; response: T } | { ok: false; error: { message: string } }): string {
  if (r.ok) throw new Error('expected a failure')
  return r.error.message
}

describe('Lessor: replicated state', () => {
  it('grants at least the minimum TTL and refuses duplicates and oversized TTLs with etcd errors', () => {
    const l = new Lessor({ minTtlSeconds: 2 })
    expect(l.grant(7n, 1, 0)).toEqual({ ok: true, response: { id: 7n, ttl: 2 } })
    expect(l.grant(8n, 60, 0)).toEqual({ ok: true, response: { id: 8n, ttl: 60 } })
    expect(errorOf(l.grant(7n, 10, 0))).toBe('etcdserver: lease already exists')
    expect(errorOf(l.grant(9n, MAX_LEASE_TTL_SECONDS + 1, 0))).toBe('etcdserver: too large lease TTL')
    expect(l.ids()).toEqual([7n, 8n])
    expect(l.grantedTtl(8n)).toBe(60)
    expect(() => l.grant(0n, 10, 0)).toThrow(/reserved/)
  })

  it('revokes known leases only', () => {
    const l = new Lessor({ minTtlSeconds: 2 })
    l.grant(5n, 10, 0)
    expect(l.revoke(5n).ok).toBe(true)
    expect(l.has(5n)).toBe(false)
    expect(errorOf(l.revoke(5n))).toBe('etcdserver: requested lease not found')
  })

  it('orders ids as signed 64-bit values would sort, not as strings', () => {
    const l = new Lessor({ minTtlSeconds: 1 })
    for (const id of [10n, 9n, 0x7fff_ffff_ffff_ffffn, 100n]) l.grant(id, 5, 0)
    expect(l.ids()).toEqual([9n, 10n, 100n, 0x7fff_ffff_ffff_ffffn])
  })

  it('round-trips its replicated state through a snapshot', () => {
    const a = new Lessor({ minTtlSeconds: 2 })
    a.grant(3n, 30, 0)
    a.grant(0x7fff_ffff_ffff_fff0n, 5, 0)
    const b = new Lessor({ minTtlSeconds: 2 })
    b.grant(99n, 5, 0)
    b.restore(JSON.parse(JSON.stringify(a.toSnapshot())), 0)
    expect(b.ids()).toEqual(a.ids())
    expect(b.grantedTtl(3n)).toBe(30)
    expect(b.has(99n)).toBe(false)
  })
})

describe('Lessor: expiry on the primary only', () => {
  it('a follower never expires a lease and reports its granted TTL', () => {
    const l = new Lessor({ minTtlSeconds: 1 })
    l.grant(1n, 5, 0)
    expect(l.expired(1_000_000, 1000)).toEqual([])
    expect(l.remainingSeconds(1n, 1_000_000)).toBe(5)
    expect(errorOf(l.renew(1n, 0))).toBe('etcdserver: not leader')
  })

  it('promotion gives every lease its full TTL plus the extension (a leader change does not expire leases)', () => {
    const l = new Lessor({ minTtlSeconds: 1 })
    l.grant(1n, 5, 0)
    l.grant(2n, 10, 0)
    l.promote(100_000, 1_000)
    expect(l.remainingSeconds(1n, 100_000)).toBe(6)
    expect(l.expired(105_999, 1000)).toEqual([])
    expect(l.expired(106_000, 1000)).toEqual([1n])
    expect(l.expired(111_000, 1000)).toEqual([1n, 2n])
  })

  it('keep-alive renews the full TTL; an expired lease cannot be renewed', () => {
    const l = new Lessor({ minTtlSeconds: 1 })
    l.promote(0, 0)
    l.grant(1n, 5, 0)
    expect(l.renew(1n, 4_000)).toEqual({ ok: true, response: { ttl: 5 } })
    expect(l.remainingSeconds(1n, 4_000)).toBe(5)
    expect(l.remainingSeconds(1n, 8_500)).toBe(1)
    expect(l.expired(8_999, 10)).toEqual([])
    expect(l.remainingSeconds(1n, 9_000)).toBe(-1)
    expect(errorOf(l.renew(1n, 9_000))).toBe('etcdserver: requested lease not found')
  })

  it('lists expired leases earliest first and at most the limit', () => {
    const l = new Lessor({ minTtlSeconds: 1 })
    l.promote(0, 0)
    for (let i = 1n; i <= 5n; i++) l.grant(i, Number(6n - i), 0) // lease 5 expires first
    expect(l.expired(10_000, 3)).toEqual([5n, 4n, 3n])
  })

  it('demotion stops expiry decisions', () => {
    const l = new Lessor({ minTtlSeconds: 1 })
    l.promote(0, 0)
    l.grant(1n, 1, 0)
    l.demote()
    expect(l.isPrimary()).toBe(false)
    expect(l.expired(60_000, 10)).toEqual([])
  })

  it('rejects a non-positive minimum TTL at construction', () => {
    expect(() => new Lessor({ minTtlSeconds: 0 })).toThrow(/minTtlSeconds/)
  })
})
