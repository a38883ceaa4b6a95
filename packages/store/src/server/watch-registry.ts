/**
 * The watches this member serves, kept above the watch hub so they survive a snapshot install (which
 * replaces the MVCC store and its hub): each watch remembers the next revision its consumer has not
 * been given and is re-registered on the new hub from there, under the same id.
 */
import type { WatchHandle } from '../backend.js'
import type { Result, WatchCreateRequest, WatchHub, WatchResponse } from '../mvcc/index.js'

interface TrackedWatch {
  readonly req: WatchCreateRequest
  readonly sink: (resp: WatchResponse) => boolean
  /** Next revision the consumer has not been given. */
  nextRev: number
}

export class WatchRegistry {
  private readonly watches = new Map<number, TrackedWatch>()

  constructor(
    private readonly hub: () => WatchHub,
    private readonly currentRevision: () => number,
  ) {}

  watch(req: WatchCreateRequest, sink: (resp: WatchResponse) => boolean): Result<WatchHandle> {
    const start = req.startRevision ?? 0
    const tracked: TrackedWatch = { req, sink, nextRev: start > 0 ? start : this.currentRevision() + 1 }
    const r = this.hub().watch(req, this.trackingSink(tracked))
    if (!r.ok) return r
    const watchId = r.response.watchId
    this.watches.set(watchId, tracked)
    return {
      ok: true,
      response: {
        watchId,
        cancel: () => {
          this.watches.delete(watchId)
          this.hub().cancel(watchId)
        },
        requestProgress: () => {
          this.hub().requestProgress(watchId)
        },
      },
    }
  }

  /** Re-registers every watch on the (new) hub from its next revision. */
  reattach(): void {
    for (const [watchId, w] of this.watches) {
      const inner = this.trackingSink(w)
      // The consumer already got its `created` response: swallow the new hub's.
      const r = this.hub().watch({ ...w.req, watchId, startRevision: w.nextRev }, (resp) =>
        resp.created === true ? true : inner(resp),
      )
      if (!r.ok) this.watches.delete(watchId)
    }
  }

  cancelAll(): void {
    for (const id of this.watches.keys()) this.hub().cancel(id)
    this.watches.clear()
  }

  private trackingSink(w: TrackedWatch): (resp: WatchResponse) => boolean {
    return (resp) => {
      const accepted = w.sink(resp)
      const last = resp.events[resp.events.length - 1]
      if (accepted && last !== undefined) w.nextRev = Math.max(w.nextRev, last.kv.modRevision + 1)
      if (resp.canceled === true) this.watches.delete(resp.watchId)
      return accepted
    }
  }
}
