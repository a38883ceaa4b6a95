/**
 * The election core on a fake clock (plain numbers), no sockets: each test drives one instance
 * through its lock calls by hand and checks the calls it asks for, the records it writes, when it
 * leads and stops, and when its next attempt is due.
 */
import { describe, expect, it } from 'vitest'
import { ElectionCore, type ElectionCoreConfig, type Step, validateTimings } from './election-core.js'
import { encodeRecord, type LeaderElectionRecord } from './record.js'

const LEASE = 3_000
const RENEW = 2_000
const RETRY = 500

function core(over: Partial<ElectionCoreConfig> = {}): ElectionCore {
  return new ElectionCore({
    identity: 'me',
    leaseDurationMs: LEASE,
    renewDeadlineMs: RENEW,
    retryPeriodMs: RETRY,
    random: () => 0,
    formatTime: (ms) => `t${ms}`,
    ...over,
  })
}

function rec(holder: string, over: Partial<LeaderElectionRecord> = {}): LeaderElectionRecord {
  return {
    holderIdentity: holder,
    leaseDurationSeconds: 3,
    acquireTime: 'a',
    renewTime: 'r',
    leaderTransitions: 4,
    ...over,
  }
}

const found = (r: LeaderElectionRecord, version = '1') => ({
  kind: 'found' as const,
  record: r,
  raw: `${encodeRecord(r)}|${version}`,
})

/** Acquires an absent lock at `at`: get → notFound → create → ok. */
function acquire(c: ElectionCore, at: number, answeredAt = at): void {
  expect(c.beginAttempt(at)).toEqual({ op: 'get' })
  const create = c.getDone(at, { kind: 'notFound' })
  expect(create.op).toBe('create')
  expect(c.writeDone(answeredAt, { kind: 'ok', raw: 'mine|1' })).toEqual({
    op: 'done',
    acquired: true,
    reason: 'acquired',
  })
}

describe('ElectionCore', () => {
  it('creates an absent lock and leads until renewDeadline after sending the write', () => {
    const c = core()
    expect(c.beginAttempt(0)).toEqual({ op: 'get' })
    const step = c.getDone(100, { kind: 'notFound' })
    expect(step).toEqual({
      op: 'create',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 3,
        acquireTime: 't100',
        renewTime: 't100',
        leaderTransitions: 0,
      },
    })
    c.writeDone(600, { kind: 'ok', raw: 'x|1' })
    expect(c.isLeading()).toBe(true)
    expect(c.drainEvents()).toEqual([
      { type: 'newLeader', identity: 'me' },
      { type: 'startedLeading', at: 600 },
    ])
    expect(c.leaderDeadline()).toBe(100 + RENEW) // from the send, not the answer
    expect(c.nextAttemptAt()).toBe(600 + RETRY)
  })

  it('waits a full leaseDurationSeconds of its own observation before taking over', () => {
    const c = core()
    const held = found(rec('other'))
    c.beginAttempt(1_000)
    expect(c.getDone(1_000, held)).toEqual({
      op: 'done',
      acquired: false,
      reason: 'lock is held by other and has not yet expired',
    })
    expect(c.drainEvents()).toEqual([{ type: 'newLeader', identity: 'other' }])
    c.beginAttempt(3_999)
    expect(c.getDone(3_999, held).op).toBe('done') // unchanged for 2 999 ms only
    c.beginAttempt(4_000)
    const step = c.getDone(4_000, held)
    expect(step).toEqual({
      op: 'update',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 3,
        acquireTime: 't4000',
        renewTime: 't4000',
        leaderTransitions: 5,
      },
    })
  })

  it('restarts the wait on any change: the record bytes or only the object version', () => {
    const c = core()
    c.beginAttempt(0)
    c.getDone(0, found(rec('other')))
    c.beginAttempt(2_500)
    c.getDone(2_500, found(rec('other'), '2')) // same bytes, new resourceVersion
    c.beginAttempt(5_499)
    expect(c.getDone(5_499, found(rec('other'), '2')).op).toBe('done')
    c.beginAttempt(5_500)
    expect(c.getDone(5_500, found(rec('other'), '2')).op).toBe('update')
  })

  it('uses the duration in the record, not its own', () => {
    const c = core()
    c.beginAttempt(0)
    c.getDone(0, found(rec('other', { leaseDurationSeconds: 10 })))
    c.beginAttempt(9_999)
    expect(c.getDone(9_999, found(rec('other', { leaseDurationSeconds: 10 }))).op).toBe('done')
  })

  it('takes a released (empty holder) lock at once', () => {
    const c = core()
    c.beginAttempt(0)
    const step = c.getDone(0, found(rec('', { leaseDurationSeconds: 1 })))
    expect(step.op).toBe('update')
    expect((step as Extract<Step, { op: 'update' }>).record.leaderTransitions).toBe(5)
  })

  it('renews on the fast path, keeping acquireTime and transitions, every retry period', () => {
    const c = core()
    acquire(c, 0)
    expect(c.nextAttemptAt()).toBe(RETRY)
    const step = c.beginAttempt(RETRY)
    expect(step).toEqual({
      op: 'update',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 3,
        acquireTime: 't0',
        renewTime: 't500',
        leaderTransitions: 0,
      },
    })
    c.writeDone(700, { kind: 'ok', raw: 'x|2' })
    expect(c.leaderDeadline()).toBe(RETRY + RENEW)
    expect(c.nextAttemptAt()).toBe(700 + RETRY)
  })

  it('falls back to get after a failed fast path, then renews as the holder', () => {
    const c = core()
    acquire(c, 0)
    c.beginAttempt(500)
    expect(c.writeDone(600, { kind: 'conflict', message: '409' })).toEqual({ op: 'get' })
    const step = c.getDone(650, found(rec('me', { acquireTime: 't0', leaderTransitions: 0 }), '7'))
    expect(step.op).toBe('update')
    c.writeDone(700, { kind: 'ok', raw: 'y|8' })
    expect(c.isLeading()).toBe(true)
    expect(c.leaderDeadline()).toBe(650 + RENEW)
  })

  it('stops at the renew deadline while a renewal hangs', () => {
    const c = core()
    acquire(c, 0)
    c.drainEvents()
    c.beginAttempt(500) // the renew hangs
    c.tick(1_999)
    expect(c.isLeading()).toBe(true)
    c.tick(2_000)
    expect(c.isLeading()).toBe(false)
    expect(c.getPhase()).toBe('stopped')
    expect(c.drainEvents()).toEqual([
      {
        type: 'stoppedLeading',
        at: 2_000,
        reason: 'failed to renew the lease within the renew deadline (2000 ms)',
      },
    ])
    // The late answer changes nothing, and no further attempt is due.
    expect(c.writeDone(2_100, { kind: 'ok', raw: 'z|3' }).op).toBe('done')
    expect(c.isLeading()).toBe(false)
    expect(c.nextAttemptAt()).toBeUndefined()
  })

  it('does not lead on a write answered after its deadline, and renews at once', () => {
    const c = core()
    c.beginAttempt(0)
    c.getDone(0, { kind: 'notFound' })
    expect(c.writeDone(RENEW, { kind: 'ok', raw: 'x|1' })).toEqual({
      op: 'done',
      acquired: false,
      reason: 'the write was answered after the renew deadline',
    })
    expect(c.isLeading()).toBe(false)
    expect(c.nextAttemptAt()).toBe(RENEW)
    expect(c.beginAttempt(RENEW).op).toBe('update') // fast path: it is the holder
    c.writeDone(RENEW + 100, { kind: 'ok', raw: 'x|2' })
    expect(c.isLeading()).toBe(true)
  })

  it('stops at once when it reads another holder while leading', () => {
    const c = core()
    acquire(c, 0)
    c.drainEvents()
    c.beginAttempt(500)
    c.writeDone(510, { kind: 'conflict', message: '409' })
    expect(c.getDone(520, found(rec('other'), '9'))).toEqual({
      op: 'done',
      acquired: false,
      reason: 'the lock is held by other',
    })
    expect(c.getPhase()).toBe('stopped')
    expect(c.drainEvents().map((e) => e.type)).toEqual(['newLeader', 'stoppedLeading'])
  })

  it('after a failed attempt, waits a retry period jittered by up to 1.2', () => {
    for (const [r, wait] of [
      [0, RETRY],
      [0.5, RETRY * 1.6],
      [0.999, RETRY * (1 + 1.2 * 0.999)],
    ] as const) {
      const c = core({ random: () => r })
      c.beginAttempt(1_000)
      c.getDone(1_000, { kind: 'notFound' })
      c.writeDone(1_100, { kind: 'conflict', message: 'AlreadyExists' })
      expect(c.nextAttemptAt()).toBeCloseTo(1_100 + wait, 6)
    }
  })

  it('releases with an empty holder, duration 1 and the transitions kept; only as the holder', () => {
    const c = core()
    acquire(c, 0)
    c.drainEvents()
    const release = c.stop(800, 'shutting down', true)
    expect(release).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: 't800',
      renewTime: 't800',
      leaderTransitions: 0,
    })
    expect(c.drainEvents()).toEqual([{ type: 'stoppedLeading', at: 800, reason: 'shutting down' }])
    c.releaseDone(900, { kind: 'ok', raw: 'r|2' })
    expect(c.observedHolder()).toBe('')

    const standby = core()
    standby.beginAttempt(0)
    standby.getDone(0, found(rec('other')))
    expect(standby.stop(10, 'shutting down', true)).toBeUndefined()
    expect(core().stop(0, 'x', false)).toBeUndefined()
  })

  it('healthz fails when it holds the lock but saw no renewal for lease + tolerance', () => {
    const c = core()
    acquire(c, 0)
    expect(c.healthz(LEASE + 20_000, 20_000)).toEqual({ ok: true })
    const h = c.healthz(LEASE + 20_001, 20_000)
    expect(h.ok).toBe(false)
    // A standby is always healthy.
    const s = core()
    s.beginAttempt(0)
    s.getDone(0, found(rec('other')))
    expect(s.healthz(1e9, 0)).toEqual({ ok: true })
  })

  it('checks its timings as NewLeaderElector does', () => {
    expect(validateTimings(15_000, 10_000, 2_000)).toBeUndefined()
    expect(validateTimings(10_000, 10_000, 2_000)).toMatch(/leaseDuration must be greater than renewDeadline/)
    expect(validateTimings(15_000, 2_400, 2_000)).toMatch(
      /renewDeadline must be greater than retryPeriod\*JitterFactor/,
    )
    expect(validateTimings(15_000, 10_000, 0)).toMatch(/retryPeriod must be greater than zero/)
    expect(validateTimings(2_500, 2_200, 500)).toMatch(/whole seconds/)
    expect(() => core({ identity: '' })).toThrow(/identity/)
  })
})
