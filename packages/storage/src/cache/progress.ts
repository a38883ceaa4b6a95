/**
 * Progress requests to the inner store, batched (kube's conditionalProgressRequester): every cache
 * whose consistent read is waiting asks; at most one request goes out per `windowMs`, and one more
 * when the window ends if anyone asked during it, so a reader that asked just after a request was
 * answered is not left waiting for the next change.
 */
import type { WatchProgressRequester } from './options.js'

export class ProgressBatcher {
  private timer: NodeJS.Timeout | undefined
  private again = false
  private closed = false
  sent = 0

  constructor(
    private readonly inner: WatchProgressRequester,
    private readonly windowMs = 20,
  ) {}

  request(): void {
    if (this.closed) return
    if (this.timer !== undefined) {
      this.again = true
      return
    }
    this.send()
  }

  private send(): void {
    this.sent++
    this.again = false
    try {
      void Promise.resolve(this.inner.requestWatchProgress()).catch(() => {})
    } catch {
      // a failed request is like an unanswered one: the reader's wait is bounded
    }
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (this.again && !this.closed) this.send()
    }, this.windowMs)
    this.timer.unref()
  }

  close(): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}
