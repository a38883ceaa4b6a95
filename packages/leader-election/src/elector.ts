/**
 * `LeaderElector`: runs the election core (election-core.ts) against a resource lock on the
 * api-server (locks.ts): timers, the per-call timeout (max(1 s, renewDeadline/2)), callbacks,
 * Events and logs. It owns no election logic of its own.
 *
 * - `run(signal)` tries to acquire; once leading, `onStartedLeading(leadingSignal)` runs and the
 *   lock is renewed every retry period. It resolves when leadership is lost (the renew deadline
 *   passed, or another holder was read: the caller should exit non-zero, as kube-scheduler's
 *   "leaderelection lost") or after `signal` aborts.
 * - At the renew deadline a timer aborts the leading signal and the call in flight at once, then
 *   `onStoppedLeading()` runs; on shutdown the same happens before the release.
 * - With `releaseOnCancel` (default true) the lock is released when run ends and this instance is
 *   the observed holder: an empty holder with leaseDurationSeconds 1, so a standby takes over
 *   within a retry period; a conflict is retried (read, still ours, write) up to the renew deadline. The release waits (up to the renew deadline) for `onStartedLeading`'s
 *   promise to settle, so the leader's own work stops before another can start.
 * - `onStoppedLeading` runs only if this instance led (client-go calls it in every case).
 * - Events (`<identity> became leader` / `stopped leading`, reason LeaderElection) are best effort,
 *   never awaited by the election.
 */
import type { ApiClient, Clock } from '@hakube/api'
import pino from 'pino'
import { ElectionCore, type ElectionEvent, type Step, validateTimings } from './election-core.js'
import type { ResourceLockKind } from './flags.js'
import { newResourceLock, type ResourceLock } from './locks.js'
import type { LeaderElectionRecord } from './record.js'

export interface LeaderCallbacks {
  /** Runs when leadership starts; `signal` aborts when it is lost or on shutdown. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>
  /**
   * Runs once leadership ended (after the leading signal aborted), only if this instance led. Do
   * not exit the process here: `run()` resolves after the release (exit then, non-zero unless the
   * caller's signal aborted, as kube-scheduler's "leaderelection lost").
   */
  onStoppedLeading(): void
  /** A (new) holder was observed, this instance included. */
  onNewLeader?(identity: string): void
}

export interface LeaderElectionConfig {
  client: ApiClient
  lock: ResourceLockKind
  name: string
  namespace: string
  identity: string
  leaseDurationMs: number
  renewDeadlineMs: number
  retryPeriodMs: number
  /** Release the lock when run() ends while holding it. Default true. */
  releaseOnCancel?: boolean
  callbacks: LeaderCallbacks
  clock?: Clock
  random?: () => number
  /** Transitions at info, failed attempts at debug; each line carries `lock`. Default: silent. */
  logger?: pino.Logger
  /** Component name for Events (`source.component`), e.g. 'kube-scheduler'. */
  eventSource?: string
  /** healthz tolerance past the lease duration. Default 20 s (kube-scheduler's). */
  healthzToleranceMs?: number
  /** A lock other than the api-server's (tests). */
  resourceLock?: ResourceLock
}

const HEALTHZ_TOLERANCE_MS = 20_000

export class LeaderElector {
  private readonly core: ElectionCore
  private readonly lock: ResourceLock
  private readonly clock: Clock
  private readonly log: pino.Logger
  private readonly callTimeoutMs: number
  private leading: AbortController | undefined
  private leadingWork: Promise<void> | undefined
  private inFlight: AbortController | undefined
  private deadlineTimer: NodeJS.Timeout | undefined
  private wake: (() => void) | undefined
  private readonly pendingEvents = new Set<Promise<void>>()
  private leader = ''
  private started = false
  private led = false

  constructor(private readonly cfg: LeaderElectionConfig) {
    const problem = validateTimings(cfg.leaseDurationMs, cfg.renewDeadlineMs, cfg.retryPeriodMs)
    if (problem !== undefined) throw new Error(`leader election: ${problem}`)
    if (cfg.identity === '') throw new Error('leader election: the identity must not be empty')
    this.clock = cfg.clock ?? { now: () => Date.now() }
    // The caller names the component (log.child({ component: 'leader-election' })); the lock is ours.
    this.log = (cfg.logger ?? pino({ enabled: false })).child({
      lock: `${cfg.lock}:${cfg.namespace}/${cfg.name}`,
    })
    this.lock =
      cfg.resourceLock ??
      newResourceLock(cfg.lock, cfg.client, {
        namespace: cfg.namespace,
        name: cfg.name,
        identity: cfg.identity,
      })
    this.callTimeoutMs = Math.max(1_000, cfg.renewDeadlineMs / 2)
    this.core = new ElectionCore({
      identity: cfg.identity,
      leaseDurationMs: cfg.leaseDurationMs,
      renewDeadlineMs: cfg.renewDeadlineMs,
      retryPeriodMs: cfg.retryPeriodMs,
      random: cfg.random ?? Math.random,
      formatTime: (ms) => this.lock.formatTime(ms),
    })
  }

  /** True while this instance leads (between onStartedLeading and the abort of its signal). */
  isLeader(): boolean {
    return this.core.isLeading()
  }

  /** The last holder observed (this instance included); '' before any. */
  getLeader(): string {
    return this.leader
  }

  /** client-go's HealthzAdaptor: fails when it believes it leads but has not renewed for lease + 20 s. */
  healthz(): { ok: true } | { ok: false; reason: string } {
    return this.core.healthz(this.clock.now(), this.cfg.healthzToleranceMs ?? HEALTHZ_TOLERANCE_MS)
  }

  async run(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error('leader election: run() may be called once')
    this.started = true
    const onAbort = (): void => {
      this.inFlight?.abort()
      this.wake?.()
    }
    signal.addEventListener('abort', onAbort, { once: true })
    this.log.info({ identity: this.cfg.identity }, 'attempting to acquire leader lease')
    try {
      while (!signal.aborted && this.core.getPhase() !== 'stopped') {
        await this.sleepUntil(this.core.nextAttemptAt() ?? this.clock.now())
        if (signal.aborted || this.core.getPhase() === 'stopped') break
        await this.runAttempt(signal)
        this.handleEvents()
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
      await this.finish(signal.aborted ? 'shutting down' : 'leadership lost')
    }
  }

  private async runAttempt(signal: AbortSignal): Promise<void> {
    let step: Step = this.core.beginAttempt(this.clock.now())
    this.handleEvents()
    while (step.op !== 'done') {
      if (signal.aborted || this.core.getPhase() === 'stopped') return
      const call = new AbortController()
      this.inFlight = call
      const options = { timeoutMs: this.callTimeoutMs, signal: call.signal }
      try {
        if (step.op === 'get') {
          const read = await this.lock.get(options)
          step = this.core.getDone(this.clock.now(), read)
        } else {
          const outcome =
            step.op === 'create'
              ? await this.lock.create(step.record, options)
              : await this.lock.update(step.record, options)
          step = this.core.writeDone(this.clock.now(), outcome)
        }
      } finally {
        this.inFlight = undefined
      }
      this.handleEvents()
    }
    if (!step.acquired) this.log.debug({ reason: step.reason }, 'attempt to acquire or renew failed')
  }

  /** Ends leadership, waits (bounded) for the leader's work, releases, and flushes Events. */
  private async finish(reason: string): Promise<void> {
    const release = this.core.stop(this.clock.now(), reason, this.cfg.releaseOnCancel !== false)
    this.handleEvents()
    this.clearDeadline()
    if (this.leadingWork !== undefined) {
      await settledWithin(this.leadingWork, this.cfg.renewDeadlineMs)
    }
    if (release !== undefined) await this.release(release)
    await settledWithin(Promise.all(this.pendingEvents), this.callTimeoutMs)
  }

  /**
   * Writes the released record. On a conflict (a renewal of ours that landed late, say) it reads
   * the lock again and retries while this instance is still the holder, for up to the renew
   * deadline (client-go HEAD does the same); another holder means there is nothing to release.
   */
  private async release(record: LeaderElectionRecord): Promise<void> {
    const options = { timeoutMs: this.callTimeoutMs }
    const deadline = this.clock.now() + this.cfg.renewDeadlineMs
    for (;;) {
      const outcome = await this.lock.update(record, options)
      if (outcome.kind !== 'conflict' || this.clock.now() >= deadline) {
        this.core.releaseDone(this.clock.now(), outcome)
        if (outcome.kind === 'ok') this.log.info('released the lock')
        else this.log.warn({ reason: outcome.message }, 'failed to release the lock')
        return
      }
      const read = await this.lock.get(options)
      if (read.kind !== 'found' || read.record.holderIdentity !== this.cfg.identity) {
        const holder = read.kind === 'found' ? read.record.holderIdentity : undefined
        this.log.info({ holder, read: read.kind }, 'not releasing: the lock is no longer ours')
        this.core.releaseDone(this.clock.now(), { kind: 'conflict', message: 'the lock is no longer ours' })
        return
      }
    }
  }

  private handleEvents(): void {
    for (const event of this.core.drainEvents()) this.handleEvent(event)
    this.armDeadline()
  }

  private handleEvent(event: ElectionEvent): void {
    const id = this.cfg.identity
    switch (event.type) {
      case 'newLeader':
        this.leader = event.identity
        if (event.identity !== id) this.log.info({ leader: event.identity }, 'new leader elected')
        this.safely('onNewLeader', () => this.cfg.callbacks.onNewLeader?.(event.identity))
        return
      case 'startedLeading': {
        this.led = true
        this.leader = id
        this.log.info({ identity: id }, 'successfully acquired lease')
        this.recordEvent(`${id} became leader`)
        const leading = new AbortController()
        this.leading = leading
        this.leadingWork = Promise.resolve()
          .then(() => this.cfg.callbacks.onStartedLeading(leading.signal))
          .catch((err: unknown) => this.log.error({ err }, 'onStartedLeading failed'))
        return
      }
      case 'stoppedLeading':
        this.leading?.abort(new Error(`leader election: ${event.reason}`))
        this.inFlight?.abort()
        this.log.info({ identity: id, reason: event.reason }, 'stopped leading')
        this.recordEvent(`${id} stopped leading`)
        if (this.led) this.safely('onStoppedLeading', () => this.cfg.callbacks.onStoppedLeading())
        this.wake?.()
        return
    }
  }

  /** A timer at the leader's deadline: leadership ends then even if a renew call hangs. */
  private armDeadline(): void {
    this.clearDeadline()
    const deadline = this.core.leaderDeadline()
    if (deadline === undefined) return
    this.deadlineTimer = setTimeout(
      () => {
        this.deadlineTimer = undefined
        this.core.tick(this.clock.now())
        this.handleEvents()
      },
      Math.max(0, deadline - this.clock.now()),
    )
  }

  private clearDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer)
    this.deadlineTimer = undefined
  }

  private sleepUntil(at: number): Promise<void> {
    const delayMs = at - this.clock.now()
    if (delayMs <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, delayMs)
      const self = this
      function done(): void {
        clearTimeout(timer)
        self.wake = undefined
        resolve()
      }
      this.wake = done
    })
  }

  private recordEvent(message: string): void {
    const p = this.lock.recordEvent(message, {
      component: this.cfg.eventSource ?? 'leader-election',
      instance: this.cfg.identity,
      now: this.clock.now(),
      timeoutMs: this.callTimeoutMs,
    })
    this.pendingEvents.add(p)
    void p.finally(() => this.pendingEvents.delete(p))
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.log.error({ err }, `${what} failed`)
    }
  }
}

function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    p.then(
      () => {
        clearTimeout(timer)
        resolve()
      },
      () => {
        clearTimeout(timer)
        resolve()
      },
    )
  })
}
