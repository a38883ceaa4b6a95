import { StoreError } from '../errors.js'
import type { Result } from '../mvcc/index.js'

/**
 * Leases, as etcd's lessor (server/lease/lessor.go) splits them:
 *
 * - Replicated state — which leases exist and their granted TTL — changes only through Raft-applied
 *   requests (`grant`, `revoke`), identically on every member, with no clock involved.
 * - Expiry is decided by the leader alone (the "primary" lessor) from its own clock: `promote` on
 *   becoming leader gives every lease a fresh deadline extended by an election timeout (so a lease does
 *   not expire merely because leadership moved), `renew` handles keep-alives, `expired` lists leases
 *   past their deadline, which the leader then revokes through Raft. Followers never expire anything.
 *
 * Pure: times are milliseconds passed in by the caller; no timers.
 *
 * Not guaranteed: leases are wall-clock TTLs and do not by themselves give mutual exclusion
 * (etcd's "Notes on the usage of lock and lease"); remaining TTLs are not checkpointed, so after a
 * leader change every lease gets its full TTL again (plus the extension), as in etcd 3.4 by default.
 */

/** etcd's MaxLeaseTTL (seconds). */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000

export interface LessorOptions {
  /** The minimum TTL granted (etcd: ceil(1.5 × election timeout)). */
  minTtlSeconds: number
}

interface Lease {
  readonly id: bigint
  readonly ttlSeconds: number
  /** Primary only: when the lease expires (ms on the primary's clock). */
  expiryMs: number
}

const ok = <T>(response: T): Result<T> => ({ ok: true, response })
const fail = <T>(code: ConstructorParameters<typeof StoreError>[0]): Result<T> => ({
  ok: false,
  error: new StoreError(code),
})

export class Lessor {
  private readonly leases = new Map<bigint, Lease>()
  private primary = false
  private readonly minTtlSeconds: number

  constructor(opts: LessorOptions) {
    if (!Number.isInteger(opts.minTtlSeconds) || opts.minTtlSeconds <= 0) {
      throw new Error(`minTtlSeconds must be a positive integer, got ${opts.minTtlSeconds}`)
    }
    this.minTtlSeconds = opts.minTtlSeconds
  }

  // -- Replicated: applied on every member in log order ------------------------------------------

  /**
   * Creates lease `id` (non-zero; the server draws ids before proposing) with at least the minimum TTL.
   * On the primary the new lease's deadline starts at `nowMs`.
   */
  grant(id: bigint, ttlSeconds: number, nowMs: number): Result<{ id: bigint; ttl: number }> {
    if (id === 0n) throw new Error('lease id 0 is reserved for "no lease"')
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) return fail('STORE_ERR_LEASE_TTL_TOO_LARGE')
    if (this.leases.has(id)) return fail('STORE_ERR_LEASE_EXISTS')
    const ttl = Math.max(ttlSeconds, this.minTtlSeconds)
    this.leases.set(id, {
      id,
      ttlSeconds: ttl,
      expiryMs: this.primary ? nowMs + ttl * 1000 : Number.POSITIVE_INFINITY,
    })
    return ok({ id, ttl })
  }

  /** Removes lease `id`; the caller deletes its keys (MvccStore.revokeLease) in the same apply step. */
  revoke(id: bigint): Result<void> {
    if (!this.leases.delete(id)) return fail('STORE_ERR_LEASE_NOT_FOUND')
    return ok(undefined)
  }

  has(id: bigint): boolean {
    return this.leases.has(id)
  }

  /** Lease ids in ascending order. */
  ids(): bigint[] {
    return [...this.leases.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  }

  grantedTtl(id: bigint): number | undefined {
    return this.leases.get(id)?.ttlSeconds
  }

  // -- Primary (leader) only -----------------------------------------------------------------------

  isPrimary(): boolean {
    return this.primary
  }

  /** This member became leader: every lease expires `extendMs` after its full TTL from now. */
  promote(nowMs: number, extendMs: number): void {
    this.primary = true
    for (const l of this.leases.values()) l.expiryMs = nowMs + l.ttlSeconds * 1000 + extendMs
  }

  /** This member is no longer leader: it stops deciding expiry. */
  demote(): void {
    this.primary = false
    for (const l of this.leases.values()) l.expiryMs = Number.POSITIVE_INFINITY
  }

  /** A keep-alive reached the primary: the lease gets its full TTL again. */
  renew(id: bigint, nowMs: number): Result<{ ttl: number }> {
    if (!this.primary) return fail('STORE_ERR_NOT_LEADER')
    const l = this.leases.get(id)
    if (l === undefined || l.expiryMs <= nowMs) return fail('STORE_ERR_LEASE_NOT_FOUND')
    l.expiryMs = nowMs + l.ttlSeconds * 1000
    return ok({ ttl: l.ttlSeconds })
  }

  /**
   * Remaining whole seconds of lease `id` (rounded up, as etcd), -1 once expired; on a non-primary the
   * granted TTL (it cannot know better). Undefined for an unknown lease.
   */
  remainingSeconds(id: bigint, nowMs: number): number | undefined {
    const l = this.leases.get(id)
    if (l === undefined) return undefined
    if (!this.primary) return l.ttlSeconds
    const ms = l.expiryMs - nowMs
    return ms <= 0 ? -1 : Math.ceil(ms / 1000)
  }

  /** Primary only: leases past their deadline, earliest first, at most `limit` (etcd revokes ≤ 1000/s). */
  expired(nowMs: number, limit: number): bigint[] {
    if (!this.primary) return []
    const out: Lease[] = []
    for (const l of this.leases.values()) if (l.expiryMs <= nowMs) out.push(l)
    out.sort((a, b) => a.expiryMs - b.expiryMs || (a.id < b.id ? -1 : 1))
    return out.slice(0, limit).map((l) => l.id)
  }

  // -- Snapshots -------------------------------------------------------------------------------------

  /** The replicated state (ids and granted TTLs) as JSON-safe data for the member's Raft snapshot. */
  toSnapshot(): Array<{ id: string; ttl: number }> {
    return this.ids().map((id) => ({ id: id.toString(), ttl: this.leases.get(id)!.ttlSeconds }))
  }

  /** Replaces the replicated state from a snapshot; on the primary, deadlines restart at `nowMs`. */
  restore(leases: ReadonlyArray<{ id: string; ttl: number }>, nowMs: number): void {
    this.leases.clear()
    for (const { id, ttl } of leases) {
      this.leases.set(BigInt(id), {
        id: BigInt(id),
        ttlSeconds: ttl,
        expiryMs: this.primary ? nowMs + ttl * 1000 : Number.POSITIVE_INFINITY,
      })
    }
  }
}
