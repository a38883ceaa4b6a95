/**
 * The restart delay of a crashed component, as the kubelet computes it for a static pod's container
 * (CrashLoopBackOff, with shorter steps for an emulator): 1 s, 2 s, 4 s, ... up to a cap, and back to
 * the first step once the component has run for `resetAfterMs` without crashing. Pure: the caller
 * passes the times.
 */
export interface BackoffOptions {
  readonly initialMs: number
  readonly maxMs: number
  /** A run at least this long resets the delay to `initialMs`. */
  readonly resetAfterMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 10_000 }

export class Backoff {
  private nextMs: number

  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {
    this.nextMs = opts.initialMs
  }

  /**
   * The delay before restarting a component that ran `ranMs` before exiting; each call without a
   * long enough run doubles the next one.
   */
  delayAfter(ranMs: number): number {
    if (ranMs >= this.opts.resetAfterMs) this.nextMs = this.opts.initialMs
    const delay = this.nextMs
    this.nextMs = Math.min(this.opts.maxMs, this.nextMs * 2)
    return delay
  }

  /** Back to the first step (a start asked for by the user). */
  reset(): void {
    this.nextMs = this.opts.initialMs
  }
}
