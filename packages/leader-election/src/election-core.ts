/**
 * The election as a pure state machine (client-go `tools/leaderelection/leaderelection.go`,
 * `tryAcquireOrRenew`, `renew`, `release`), synchronous and deterministic: every entry point takes
 * the local time `now` (ms, from the caller's clock), randomness comes from the injected `random`,
 * and lock I/O is the caller's: the core answers each step with the next lock call to make (`get`,
 * `create`, `update`) and is told its outcome. `LeaderElector` (elector.ts) runs it against the
 * api-server; the simulation test runs it against a lossy in-memory model.
 *
 * One attempt (tryAcquireOrRenew):
 * 1. Fast path: when this instance is the observed holder and the lease is valid by its own
 *    observation, update the cached object with a renewed record; on any failure fall back to 2.
 * 2. Get the lock. Not found: create it with this instance as holder. A record (bytes, or the
 *    object's resourceVersion) different from the one observed last sets `observedTime = now`.
 * 3. Held by someone else and `observedTime + record.leaseDurationSeconds > now`: fail. Else update
 *    (the lock sends the cached resourceVersion: a 409 means someone else won; no retry of it).
 * Candidates attempt every retry period jittered by 1.2 (JitterUntil, sliding: [retry, 2.2·retry]
 * after the previous attempt ends); the leader renews `retryPeriod` after each success.
 *
 * Leading: from the successful write's answer until `sentAt + renewDeadline`, where `sentAt` is
 * when the last successful write was *sent*. The write reached the api-server after `sentAt`, so
 * every other candidate observed it after `sentAt`, and takes over no earlier than `sentAt +
 * leaseDuration`: leading ends `leaseDuration − renewDeadline` before anyone can take over.
 * (client-go counts the renew deadline from the start of each renew round, up to a retry period
 * plus a call's latency later: safe with its defaults, not with short test durations.)
 * A leader that reads another holder in the record stops at once (client-go waits for the deadline).
 *
 * Guarantees, given that every clock runs at the same rate (offsets between clocks do not matter:
 * no timestamp from the record is ever compared with a local clock):
 * - no two instances lead at the same time, as long as each instance's `tick` (or any entry point)
 *   runs by its deadline: at most `leaseDuration − renewDeadline` late.
 * Not guaranteed (as in client-go):
 * - clocks whose rates differ by more than about leaseDuration/renewDeadline;
 * - a leader process paused (SIGSTOP, a GC or VM pause) across its deadline: its leadership ends
 *   at its next tick after it resumes, and work it resumes in between (a callback already queued)
 *   may overlap a successor; the margin `leaseDuration − renewDeadline` bounds the pause that is
 *   tolerated;
 * - fencing: the lock does not stop a stale leader's writes to other objects.
 * - Observed change is the record's bytes *or* the object's resourceVersion (client-go compares only
 *   the bytes, which in the Endpoints annotation have whole-second times: two renewals within one
 *   second look unchanged, which eats into the margin with sub-second retry periods).
 */
import { type LeaderElectionRecord, UNKNOWN_LEADER } from './record.js'

export interface ElectionCoreConfig {
  identity: string
  /** Written into the record in whole seconds (rounded down); others wait that long. */
  leaseDurationMs: number
  renewDeadlineMs: number
  retryPeriodMs: number
  /** Uniform in [0, 1): the attempt jitter. */
  random: () => number
  /** Formats a local time for the record (second or microsecond precision, per lock kind). */
  formatTime?: (ms: number) => string
}

/** client-go's JitterFactor: attempts every [retry, (1 + 1.2) × retry]. */
export const JITTER_FACTOR = 1.2

/** What a Get of the lock returned. `raw` identifies the stored state (record bytes + version). */
export type LockRead =
  | { kind: 'found'; record: LeaderElectionRecord; raw: string }
  | { kind: 'notFound' }
  | { kind: 'error'; message: string }

/** What a create or update returned; `raw` identifies the state the write left. */
export type WriteOutcome =
  | { kind: 'ok'; raw: string }
  | { kind: 'conflict'; message: string }
  | { kind: 'error'; message: string }

/** The next lock call of an attempt, or its end. */
export type Step =
  | { op: 'get' }
  | { op: 'create'; record: LeaderElectionRecord }
  | { op: 'update'; record: LeaderElectionRecord }
  | { op: 'done'; acquired: boolean; reason: string }

export type ElectionEvent =
  | { type: 'startedLeading'; at: number }
  | { type: 'stoppedLeading'; at: number; reason: string }
  | { type: 'newLeader'; identity: string }

export type Phase = 'candidate' | 'leading' | 'stopped'

interface Observed {
  record: LeaderElectionRecord
  raw: string
  /** Local time at which this record (bytes + version) was first seen. */
  time: number
}

type Stage = 'fast' | 'get' | 'write' | 'release'

export class ElectionCore {
  private phase: Phase = 'candidate'
  private observed: Observed | undefined
  private attempt: { stage: Stage; sentAt: number; record?: LeaderElectionRecord } | undefined
  /** -Infinity: the first attempt is due at once, whatever the clock reads. */
  private nextAttempt = Number.NEGATIVE_INFINITY
  /** While leading: leadership ends at this local time unless renewed. */
  private leaderUntil = 0
  private reportedLeader = ''
  private readonly events: ElectionEvent[] = []
  private readonly leaseSeconds: number
  private readonly format: (ms: number) => string

  constructor(private readonly cfg: ElectionCoreConfig) {
    this.leaseSeconds = Math.floor(cfg.leaseDurationMs / 1000)
    const problem = validateTimings(cfg.leaseDurationMs, cfg.renewDeadlineMs, cfg.retryPeriodMs)
    if (problem !== undefined) throw new Error(problem)
    if (cfg.identity === '') throw new Error('leader election: the identity must not be empty')
    this.format = cfg.formatTime ?? ((ms) => new Date(ms).toISOString())
  }

  get identity(): string {
    return this.cfg.identity
  }

  getPhase(): Phase {
    return this.phase
  }

  isLeading(): boolean {
    return this.phase === 'leading'
  }

  /** The holder in the last observed record ('' when none was read yet or it was released). */
  observedHolder(): string {
    return this.observed?.record.holderIdentity ?? ''
  }

  observedRecord(): LeaderElectionRecord | undefined {
    return this.observed === undefined ? undefined : { ...this.observed.record }
  }

  /** When the next attempt is due (local ms); undefined while one runs or once stopped. */
  nextAttemptAt(): number | undefined {
    if (this.phase === 'stopped' || this.attempt !== undefined) return undefined
    return this.nextAttempt
  }

  /** While leading: the local time at which leadership ends unless renewed before. */
  leaderDeadline(): number | undefined {
    return this.phase === 'leading' ? this.leaderUntil : undefined
  }

  /** Events since the last call (oldest first). */
  drainEvents(): ElectionEvent[] {
    return this.events.splice(0)
  }

  /** Ends leadership whose deadline has passed. Every entry point calls it first. */
  tick(now: number): void {
    if (this.phase === 'leading' && now >= this.leaderUntil) {
      this.stopLeading(
        now,
        `failed to renew the lease within the renew deadline (${this.cfg.renewDeadlineMs} ms)`,
      )
    }
  }

  /** Starts an attempt (due or not: the caller decides when); returns its first lock call. */
  beginAttempt(now: number): Step {
    this.tick(now)
    if (this.phase === 'stopped') return { op: 'done', acquired: false, reason: 'stopped' }
    if (this.attempt !== undefined) throw new Error('leader election: an attempt is already running')
    const o = this.observed
    if (o !== undefined && o.record.holderIdentity === this.cfg.identity && this.leaseValid(o, now)) {
      const record = this.renewedRecord(o.record, now)
      this.attempt = { stage: 'fast', sentAt: now, record }
      return { op: 'update', record }
    }
    this.attempt = { stage: 'get', sentAt: now }
    return { op: 'get' }
  }

  /** The answer to a `get` step. */
  getDone(now: number, read: LockRead): Step {
    this.tick(now)
    this.requireStage('get')
    if (this.phase === 'stopped') return this.finish(now, false, 'stopped')
    if (read.kind === 'error')
      return this.finish(now, false, `error retrieving resource lock: ${read.message}`)
    if (read.kind === 'notFound') {
      const record: LeaderElectionRecord = {
        holderIdentity: this.cfg.identity,
        leaseDurationSeconds: this.leaseSeconds,
        acquireTime: this.format(now),
        renewTime: this.format(now),
        leaderTransitions: 0,
      }
      this.attempt = { stage: 'write', sentAt: now, record }
      return { op: 'create', record }
    }
    this.observe(read.record, read.raw, now)
    const o = this.observed as Observed
    const holder = o.record.holderIdentity
    if (holder !== this.cfg.identity && holder !== '') {
      if (this.phase === 'leading') {
        this.stopLeading(now, `the lock is now held by ${holder}`)
        return this.finish(now, false, `the lock is held by ${holder}`)
      }
      if (this.leaseValid(o, now)) {
        return this.finish(now, false, `lock is held by ${holder} and has not yet expired`)
      }
    }
    const record =
      holder === this.cfg.identity
        ? this.renewedRecord(o.record, now)
        : {
            holderIdentity: this.cfg.identity,
            leaseDurationSeconds: this.leaseSeconds,
            acquireTime: this.format(now),
            renewTime: this.format(now),
            leaderTransitions: o.record.leaderTransitions + 1,
          }
    this.attempt = { stage: 'write', sentAt: now, record }
    return { op: 'update', record }
  }

  /** The answer to a `create` or `update` step. */
  writeDone(now: number, outcome: WriteOutcome): Step {
    this.tick(now)
    const a = this.attempt
    if (a === undefined || (a.stage !== 'fast' && a.stage !== 'write') || a.record === undefined) {
      throw new Error('leader election: no write in flight')
    }
    if (outcome.kind !== 'ok') {
      if (a.stage === 'fast' && this.phase !== 'stopped') {
        // client-go: "failed to update lock optimistically ..., falling back to slow path"
        this.attempt = { stage: 'get', sentAt: now }
        return { op: 'get' }
      }
      const what = outcome.kind === 'conflict' ? 'conflict' : 'error'
      return this.finish(now, false, `failed to update the lock (${what}): ${outcome.message}`)
    }
    this.observed = { record: a.record, raw: outcome.raw, time: now }
    this.maybeReportLeader()
    if (this.phase === 'stopped') return this.finish(now, false, 'stopped')
    const until = a.sentAt + this.cfg.renewDeadlineMs
    if (this.phase === 'leading') {
      this.leaderUntil = Math.max(this.leaderUntil, until)
      return this.finish(now, true, 'renewed')
    }
    if (now >= until) {
      // Written, but answered too late to lead on it: renew at once (the fast path), then lead.
      this.attempt = undefined
      this.nextAttempt = now
      return { op: 'done', acquired: false, reason: 'the write was answered after the renew deadline' }
    }
    this.phase = 'leading'
    this.leaderUntil = until
    this.events.push({ type: 'startedLeading', at: now })
    return this.finish(now, true, 'acquired')
  }

  /**
   * Gives up: ends leadership (if leading) and returns the release write when this instance is the
   * observed holder (client-go `release`: holder '', leaseDurationSeconds 1, transitions kept), to
   * be sent with the cached resourceVersion; undefined when there is nothing to release. Any
   * attempt in flight is abandoned (its answers are ignored).
   */
  stop(now: number, reason: string, release: boolean): LeaderElectionRecord | undefined {
    this.tick(now)
    if (this.phase === 'leading') this.stopLeading(now, reason)
    this.phase = 'stopped'
    this.attempt = undefined
    const o = this.observed
    if (!release || o === undefined || o.record.holderIdentity !== this.cfg.identity) return undefined
    const record: LeaderElectionRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: this.format(now),
      renewTime: this.format(now),
      leaderTransitions: o.record.leaderTransitions,
    }
    this.attempt = { stage: 'release', sentAt: now, record }
    return record
  }

  /** The answer to the release write. */
  releaseDone(now: number, outcome: WriteOutcome): void {
    const a = this.attempt
    if (a?.stage !== 'release' || a.record === undefined) return
    this.attempt = undefined
    if (outcome.kind === 'ok') this.observed = { record: a.record, raw: outcome.raw, time: now }
  }

  /**
   * client-go's HealthzAdaptor check: fails when this instance is the observed holder (and not
   * stopped) but has seen no change of the record (its own renewals) for leaseDuration + tolerance.
   */
  healthz(now: number, toleranceMs: number): { ok: true } | { ok: false; reason: string } {
    const o = this.observed
    if (this.phase === 'stopped' || o === undefined || o.record.holderIdentity !== this.cfg.identity) {
      return { ok: true }
    }
    const since = now - o.time
    if (since > this.cfg.leaseDurationMs + toleranceMs) {
      return {
        ok: false,
        reason: `failed election to renew leadership on lease: last renewed ${since} ms ago`,
      }
    }
    return { ok: true }
  }

  private leaseValid(o: Observed, now: number): boolean {
    return o.time + o.record.leaseDurationSeconds * 1000 > now
  }

  private renewedRecord(old: LeaderElectionRecord, now: number): LeaderElectionRecord {
    return {
      holderIdentity: this.cfg.identity,
      leaseDurationSeconds: this.leaseSeconds,
      acquireTime: old.acquireTime,
      renewTime: this.format(now),
      leaderTransitions: old.leaderTransitions,
    }
  }

  private observe(record: LeaderElectionRecord, raw: string, now: number): void {
    if (this.observed === undefined || this.observed.raw !== raw) {
      this.observed = { record, raw, time: now }
      this.maybeReportLeader()
    }
  }

  private maybeReportLeader(): void {
    const holder = this.observed?.record.holderIdentity ?? ''
    if (holder === '' || holder === UNKNOWN_LEADER || holder === this.reportedLeader) return
    this.reportedLeader = holder
    this.events.push({ type: 'newLeader', identity: holder })
  }

  private stopLeading(now: number, reason: string): void {
    this.phase = 'stopped'
    this.events.push({ type: 'stoppedLeading', at: now, reason })
  }

  private requireStage(stage: Stage): void {
    if (this.attempt?.stage !== stage) throw new Error(`leader election: no ${stage} in flight`)
  }

  private finish(now: number, acquired: boolean, reason: string): Step {
    this.attempt = undefined
    this.nextAttempt =
      this.phase === 'leading'
        ? now + this.cfg.retryPeriodMs
        : now + jitter(this.cfg.retryPeriodMs, this.cfg.random)
    return { op: 'done', acquired, reason }
  }
}

/** wait.Jitter(d, 1.2): d + random × 1.2 × d. */
export function jitter(durationMs: number, random: () => number): number {
  return durationMs + random() * JITTER_FACTOR * durationMs
}

/**
 * NewLeaderElector's checks (lease > renew > 1.2 × retry > 0), plus: the record carries the lease
 * in whole seconds, so the renew deadline must be below that (hakube leads until renewDeadline).
 * Returns the problem in words, or undefined.
 */
export function validateTimings(leaseMs: number, renewMs: number, retryMs: number): string | undefined {
  if (!(retryMs > 0)) return 'retryPeriod must be greater than zero'
  if (!(leaseMs > renewMs)) return 'leaseDuration must be greater than renewDeadline'
  if (!(renewMs > JITTER_FACTOR * retryMs))
    return 'renewDeadline must be greater than retryPeriod*JitterFactor'
  if (!(Math.floor(leaseMs / 1000) * 1000 > renewMs)) {
    return 'leaseDuration, recorded in whole seconds, must be greater than renewDeadline'
  }
  return undefined
}
