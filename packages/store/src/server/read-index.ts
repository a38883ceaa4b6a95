/**
 * Linearizable reads through Raft's ReadIndex (Raft thesis §6.4, etcd's linearizableReadLoop): reads
 * that arrive while a round is in flight wait for the next round, so one `readIndex` request serves a
 * whole batch. Each round has a fresh context, never reused; an unanswered round is retried with a new
 * context after `retryMs` (a forwarded MsgReadIndex may be lost). A read is served once the member has
 * applied the round's index.
 */
import type { ReadState } from '@hakube/raft'
import type { StoreError } from '../errors.js'

interface Waiter {
  settled: boolean
  resolve(err: StoreError | undefined): void
  timer: NodeJS.Timeout
}

export interface ReadIndexDeps {
  memberId: number
  /** Issues a ReadIndex request; returns false if Raft refused it (no leader): retried after `retryMs`. */
  readIndex(ctx: Uint8Array): boolean
  appliedIndex(): number
  /** The error a read gets when it times out (no leader known → NO_LEADER, else TIMEOUT). */
  timeoutError(): StoreError
  timeoutMs: number
  retryMs: number
}

export class ReadIndexBatcher {
  private queued: Waiter[] = []
  private round: { ctx: string; waiters: Waiter[]; retry: NodeJS.Timeout } | undefined
  /** Confirmed rounds waiting for the apply loop to reach their index. */
  private confirmed: Array<{ index: number; waiters: Waiter[] }> = []
  private seq = 0

  constructor(private readonly deps: ReadIndexDeps) {}

  /** Resolves with undefined once a linearizable read may be served locally, or with the error. */
  wait(): Promise<StoreError | undefined> {
    return new Promise((resolve) => {
      const w: Waiter = {
        settled: false,
        resolve: (err) => {
          if (w.settled) return
          w.settled = true
          clearTimeout(w.timer)
          resolve(err)
        },
        timer: setTimeout(() => w.resolve(this.deps.timeoutError()), this.deps.timeoutMs),
      }
      this.queued.push(w)
      this.maybeStartRound()
    })
  }

  private maybeStartRound(): void {
    if (this.round !== undefined) return
    const waiters = this.queued.filter((w) => !w.settled)
    this.queued = []
    if (waiters.length === 0) return
    const ctx = `${this.deps.memberId}:${++this.seq}`
    const retry = setTimeout(() => {
      if (this.round?.ctx !== ctx) return
      this.round = undefined
      this.queued.unshift(...waiters)
      this.maybeStartRound()
    }, this.deps.retryMs)
    this.round = { ctx, waiters, retry }
    // Refused (no leader yet): the retry timer tries again, until the waiters' own timeouts.
    this.deps.readIndex(new TextEncoder().encode(ctx))
  }

  /**
   * A leader is known anew: the round waiting to be retried (its request refused, or lost with the old
   * leader) starts again now rather than at its retry timer, as etcd's read loop retries on a leader
   * change. A late answer to the abandoned round is ignored (its context no longer matches).
   */
  retryNow(): void {
    const round = this.round
    if (round === undefined) return
    clearTimeout(round.retry)
    this.round = undefined
    this.queued.unshift(...round.waiters)
    this.maybeStartRound()
  }

  onReadState(rs: ReadState): void {
    const ctx = new TextDecoder().decode(rs.requestCtx)
    const round = this.round
    if (round === undefined || round.ctx !== ctx) return
    clearTimeout(round.retry)
    this.round = undefined
    this.confirmed.push({ index: rs.index, waiters: round.waiters })
    this.onApplied(this.deps.appliedIndex())
    this.maybeStartRound()
  }

  onApplied(applied: number): void {
    if (this.confirmed.length === 0) return
    const still: typeof this.confirmed = []
    for (const c of this.confirmed) {
      if (c.index <= applied) for (const w of c.waiters) w.resolve(undefined)
      else still.push(c)
    }
    this.confirmed = still
  }

  failAll(err: StoreError): void {
    if (this.round !== undefined) clearTimeout(this.round.retry)
    const all = [...this.queued, ...(this.round?.waiters ?? []), ...this.confirmed.flatMap((c) => c.waiters)]
    this.round = undefined
    this.queued = []
    this.confirmed = []
    for (const w of all) w.resolve(err)
  }
}
