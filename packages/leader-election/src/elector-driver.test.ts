/**
 * LeaderElector's own duties, over an in-memory lock (no sockets): the order of callbacks, the
 * leading signal aborted before onStoppedLeading and before the release, the release waiting for
 * the leader's work to settle, Events, healthz on a clock that jumps, and its argument checks.
 */
import { ApiClient } from '@hakube/api'
import { afterAll, describe, expect, it } from 'vitest'
import type { LockRead, WriteOutcome } from './election-core.js'
import { type LeaderCallbacks, LeaderElector } from './elector.js'
import type { EventOptions, ResourceLock } from './locks.js'
import { encodeRecord, type LeaderElectionRecord } from './record.js'

/** One lock object in memory, conditional writes by version, as the api-server does. */
class MemoryLock implements ResourceLock {
  readonly kind = 'leases' as const
  stored: { record: LeaderElectionRecord; rv: number } | undefined
  cached: number | undefined
  readonly log: string[] = []
  readonly events: string[] = []
  describe(): string {
    return 'kube-system/memory'
  }
  formatTime(ms: number): string {
    return new Date(ms).toISOString()
  }
  private raw(): string {
    const s = this.stored as { record: LeaderElectionRecord; rv: number }
    return `${encodeRecord(s.record)}|${s.rv}`
  }
  async get(): Promise<LockRead> {
    await Promise.resolve()
    if (this.stored === undefined) return { kind: 'notFound' }
    this.cached = this.stored.rv
    return { kind: 'found', record: { ...this.stored.record }, raw: this.raw() }
  }
  async create(record: LeaderElectionRecord): Promise<WriteOutcome> {
    await Promise.resolve()
    if (this.stored !== undefined) return { kind: 'conflict', message: 'AlreadyExists' }
    this.stored = { record, rv: 1 }
    this.cached = 1
    this.log.push(`create ${record.holderIdentity}`)
    return { kind: 'ok', raw: this.raw() }
  }
  async update(record: LeaderElectionRecord): Promise<WriteOutcome> {
    await Promise.resolve()
    if (this.stored === undefined || this.cached !== this.stored.rv)
      return { kind: 'conflict', message: 'Conflict' }
    this.stored = { record, rv: this.stored.rv + 1 }
    this.cached = this.stored.rv
    this.log.push(`update ${record.holderIdentity || '(released)'} ${record.leaseDurationSeconds}`)
    return { kind: 'ok', raw: this.raw() }
  }
  async recordEvent(message: string, _options: EventOptions): Promise<void> {
    this.events.push(message)
  }
}

const unusedClient = new ApiClient({ baseUrl: 'http://127.0.2.2:1' })
afterAll(() => unusedClient.close())

function make(lock: MemoryLock, callbacks: LeaderCallbacks, clock?: { now(): number }): LeaderElector {
  return new LeaderElector({
    client: unusedClient,
    lock: 'leases',
    name: 'memory',
    namespace: 'kube-system',
    identity: 'me_1',
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 500,
    resourceLock: lock,
    callbacks,
    ...(clock ? { clock } : {}),
  })
}

async function until(check: () => boolean, withinMs = 3_000): Promise<void> {
  const deadline = Date.now() + withinMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('LeaderElector', () => {
  it('aborts the leading signal, runs onStoppedLeading, waits for the work, then releases', async () => {
    const lock = new MemoryLock()
    const order: string[] = []
    const elector = make(lock, {
      async onStartedLeading(signal) {
        order.push('started')
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            order.push('signal aborted')
            resolve()
          }),
        )
        await new Promise((r) => setTimeout(r, 200)) // the leader's work winding down
        order.push(`work done (lock: ${lock.stored?.record.holderIdentity})`)
      },
      onStoppedLeading: () => order.push('onStoppedLeading'),
      onNewLeader: (id) => order.push(`new leader ${id}`),
    })
    const stop = new AbortController()
    const done = elector.run(stop.signal)
    await until(() => elector.isLeader())
    expect(elector.getLeader()).toBe('me_1')
    expect(elector.healthz()).toEqual({ ok: true })
    await new Promise((r) => setTimeout(r, 1_100)) // two renewals
    stop.abort()
    await done
    expect(elector.isLeader()).toBe(false)
    expect(order).toEqual([
      'new leader me_1',
      'started',
      'signal aborted',
      'onStoppedLeading',
      'work done (lock: me_1)', // released only after the work settled
    ])
    expect(lock.log[0]).toBe('create me_1')
    expect(lock.log.filter((l) => l === 'update me_1 3').length).toBeGreaterThanOrEqual(1)
    expect(lock.log.at(-1)).toBe('update (released) 1')
    expect(lock.stored?.record.holderIdentity).toBe('')
    expect(lock.events).toEqual(['me_1 became leader', 'me_1 stopped leading'])
    await expect(elector.run(new AbortController().signal)).rejects.toThrow(/once/)
  })

  it('retries a release that meets a conflict while the lock is still its own', async () => {
    const lock = new MemoryLock()
    const elector = make(lock, { onStartedLeading() {}, onStoppedLeading() {} })
    const stop = new AbortController()
    const done = elector.run(stop.signal)
    await until(() => elector.isLeader())
    // A write of ours that landed late: same holder, a newer version than the one cached.
    const stored = lock.stored as { record: LeaderElectionRecord; rv: number }
    lock.stored = { record: { ...stored.record }, rv: stored.rv + 10 }
    stop.abort()
    await done
    expect(lock.stored?.record.holderIdentity).toBe('')
    expect(lock.log.at(-1)).toBe('update (released) 1')

    // Someone else's record: nothing to release.
    const lock2 = new MemoryLock()
    const e2 = make(lock2, { onStartedLeading() {}, onStoppedLeading() {} })
    const stop2 = new AbortController()
    const done2 = e2.run(stop2.signal)
    await until(() => e2.isLeader())
    const theirs = { ...(lock2.stored as { record: LeaderElectionRecord }).record, holderIdentity: 'other' }
    lock2.stored = { record: theirs, rv: 99 }
    stop2.abort()
    await done2
    expect(lock2.stored?.record.holderIdentity).toBe('other')
  })

  it('a standby that never led gets no onStoppedLeading and releases nothing', async () => {
    const lock = new MemoryLock()
    lock.stored = {
      rv: 5,
      record: {
        holderIdentity: 'other',
        leaseDurationSeconds: 30,
        acquireTime: '',
        renewTime: '',
        leaderTransitions: 2,
      },
    }
    let stopped = 0
    const leaders: string[] = []
    const elector = make(lock, {
      onStartedLeading() {},
      onStoppedLeading: () => stopped++,
      onNewLeader: (id) => leaders.push(id),
    })
    const stop = new AbortController()
    const done = elector.run(stop.signal)
    await until(() => elector.getLeader() === 'other')
    stop.abort()
    await done
    expect(stopped).toBe(0)
    expect(leaders).toEqual(['other'])
    expect(lock.stored.rv).toBe(5)
    expect(lock.events).toEqual([])
  })

  it('healthz fails when the clock shows no renewal for lease + 20 s', async () => {
    const lock = new MemoryLock()
    let jumpMs = 0
    const elector = make(
      lock,
      { onStartedLeading() {}, onStoppedLeading() {} },
      { now: () => Date.now() + jumpMs },
    )
    const stop = new AbortController()
    const done = elector.run(stop.signal)
    await until(() => elector.isLeader())
    expect(elector.healthz()).toEqual({ ok: true })
    jumpMs = 3_000 + 20_000 + 1_000 // the process looks hung for 24 s
    const h = elector.healthz()
    expect(h.ok).toBe(false)
    expect(!h.ok && h.reason).toMatch(/failed election to renew leadership/)
    stop.abort()
    await done
  })

  it('rejects bad timings and an empty identity', () => {
    const base = {
      client: unusedClient,
      lock: 'leases' as const,
      name: 'x',
      namespace: 'kube-system',
      identity: 'me',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 500,
      callbacks: { onStartedLeading() {}, onStoppedLeading() {} },
    }
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 3_000 })).toThrow(
      /leaseDuration must be greater than renewDeadline/,
    )
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity/)
  })
})
