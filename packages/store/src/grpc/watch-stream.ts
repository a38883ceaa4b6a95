/**
 * One etcd Watch stream (etcd 3.4 v3rpc/watch.go): many watches multiplexed over a bidi stream.
 *
 * Watch ids are per stream, as in etcd: an explicit `watch_id` must be free on this stream, 0 picks the
 * lowest free id at or above the stream's counter. The backend's own watch ids (per hub) never reach
 * the client. A create that fails is answered `created` + `canceled` with watch id -1 and the error in
 * `cancel_reason` (etcd 3.4 does the same); cancel answers `canceled`; a progress request answers one
 * response with watch id -1 and the current revision.
 */
import type { EtcdBackend, WatchHandle } from '../backend.js'
import type { WatchResponse } from '../mvcc/index.js'
import { num, watchCreateRequest, wireEvent, wireHeader } from './convert.js'
import type { WireWatchRequest } from './wire-types.js'

/** Responses queued on the gRPC stream beyond which a watch falls behind (the hub replays later). */
const MAX_PENDING_WRITES = 1024

export interface WatchStreamIo {
  /** Writes a response; returns false when the transport's buffer is full. */
  write(resp: Record<string, unknown>): boolean
  /** Responses written but not yet flushed. */
  pending(): number
}

export class WatchStream {
  private readonly watches = new Map<number, WatchHandle>()
  private nextId = 0
  private closed = false

  constructor(
    private readonly backend: EtcdBackend,
    private readonly io: WatchStreamIo,
  ) {}

  handle(req: WireWatchRequest): void {
    if (this.closed) return
    if (req.create_request != null) this.create(req.create_request)
    else if (req.cancel_request != null) this.cancel(num(req.cancel_request.watch_id))
    else if (req.progress_request != null) {
      this.io.write({ header: wireHeader(this.backend.header()), watch_id: '-1', events: [] })
    }
  }

  /** The client went away: cancel every watch of this stream. */
  close(): void {
    this.closed = true
    for (const w of this.watches.values()) w.cancel()
    this.watches.clear()
  }

  private create(creq: NonNullable<WireWatchRequest['create_request']>): void {
    let id = num(creq.watch_id)
    if (id === 0) {
      while (this.watches.has(this.nextId)) this.nextId++
      id = this.nextId++
    } else if (this.watches.has(id)) {
      this.refuse('mvcc: duplicate watch ID provided on the WatchStream')
      return
    }
    const sink = (resp: WatchResponse): boolean => this.deliver(id, resp)
    const res = this.backend.watch(watchCreateRequest(creq), sink)
    if (!res.ok) {
      this.refuse(res.error.message)
      return
    }
    // A watch canceled during creation (compacted start) is gone already.
    if (this.closed || this.canceledEarly.delete(id)) res.response.cancel()
    else this.watches.set(id, res.response)
  }

  private readonly canceledEarly = new Set<number>()

  private refuse(reason: string): void {
    this.io.write({
      header: wireHeader(this.backend.header()),
      watch_id: '-1',
      created: true,
      canceled: true,
      cancel_reason: reason,
      events: [],
    })
  }

  private deliver(id: number, resp: WatchResponse): boolean {
    if (this.closed) return true
    if (resp.events.length > 0 && this.io.pending() >= MAX_PENDING_WRITES) return false
    const compacted = (resp.compactRevision ?? 0) > 0
    const canceled = resp.canceled === true || compacted
    this.io.write({
      header: wireHeader(this.backend.header(), resp.header.revision),
      watch_id: String(id),
      created: resp.created === true,
      canceled,
      compact_revision: String(resp.compactRevision ?? 0),
      events: resp.events.map(wireEvent),
    })
    if (canceled) {
      const w = this.watches.get(id)
      if (w === undefined) this.canceledEarly.add(id)
      else {
        this.watches.delete(id)
        w.cancel()
      }
    }
    return true
  }

  private cancel(id: number): void {
    const w = this.watches.get(id)
    if (w === undefined) return
    w.cancel()
    this.watches.delete(id)
    this.io.write({
      header: wireHeader(this.backend.header()),
      watch_id: String(id),
      canceled: true,
      events: [],
    })
  }
}
