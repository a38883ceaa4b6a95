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
import type { WireEvent, WireHeader, WireKeyValue, WireWatchRequest } from './wire-types.js'

/** Responses queued on the gRPC stream beyond which a watch falls behind (the hub replays later). */
const MAX_PENDING_WRITES = 1024

/** etcd's default --max-request-bytes: the size above which a `fragment` watch's responses are split. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024

const varintLen = (v: bigint): number => {
  if (v < 0n) return 10
  let n = 1
  for (let x = v; x >= 128n; x >>= 7n) n++
  return n
}
const intField = (v: unknown): number => {
  const b = BigInt(String(v ?? 0))
  return b === 0n ? 0 : 1 + varintLen(b)
}
const lenField = (len: number): number => 1 + varintLen(BigInt(len)) + len
const bytesField = (b: Uint8Array | undefined | null): number =>
  b == null || b.length === 0 ? 0 : lenField(b.length)

function kvSize(kv: WireKeyValue): number {
  return (
    bytesField(kv.key) +
    intField(kv.create_revision) +
    intField(kv.mod_revision) +
    intField(kv.version) +
    bytesField(kv.value) +
    intField(kv.lease)
  )
}

function eventSize(e: WireEvent): number {
  return (
    (e.type === 'DELETE' ? 2 : 0) +
    lenField(kvSize(e.kv)) +
    (e.prev_kv == null ? 0 : lenField(kvSize(e.prev_kv)))
  )
}

/** The protobuf-encoded size of a WatchResponse as this stream writes it (etcd's `wr.Size()`). */
export function watchResponseSize(r: {
  header: WireHeader
  watch_id: string
  created?: boolean
  canceled?: boolean
  compact_revision?: string
  fragment?: boolean
  events: WireEvent[]
}): number {
  const h = r.header
  const header = intField(h.cluster_id) + intField(h.member_id) + intField(h.revision) + intField(h.raft_term)
  let size = lenField(header) + intField(r.watch_id) + intField(r.compact_revision)
  if (r.created === true) size += 2
  if (r.canceled === true) size += 2
  if (r.fragment === true) size += 2
  for (const e of r.events) size += lenField(eventSize(e))
  return size
}

export interface WatchStreamIo {
  /** Writes a response; returns false when the transport's buffer is full. */
  write(resp: Record<string, unknown>): boolean
  /** Responses written but not yet flushed. */
  pending(): number
}

export class WatchStream {
  private readonly watches = new Map<number, WatchHandle>()
  /** Watches created with `fragment`: their large responses are split as etcd splits them. */
  private readonly fragmented = new Set<number>()
  private nextId = 0
  private closed = false

  constructor(
    private readonly backend: EtcdBackend,
    private readonly io: WatchStreamIo,
    private readonly maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES,
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
    const auto = id === 0
    if (auto) {
      // As etcd's watchStream.Watch: a refused create does not use up an automatic id.
      while (this.watches.has(this.nextId)) this.nextId++
      id = this.nextId
    } else if (this.watches.has(id)) {
      this.refuse('mvcc: duplicate watch ID provided on the WatchStream')
      return
    }
    if (creq.fragment === true) this.fragmented.add(id)
    else this.fragmented.delete(id)
    const sink = (resp: WatchResponse): boolean => this.deliver(id, resp)
    const res = this.backend.watch(watchCreateRequest(creq), sink)
    if (!res.ok) {
      this.fragmented.delete(id)
      this.refuse(res.error.message)
      return
    }
    if (auto) this.nextId = id + 1
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
    this.send({
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

  /**
   * Writes one response, split into fragments if its watch asked for them and it is at least
   * maxRequestBytes with two or more events (etcd 3.4 v3rpc/watch.go `sendFragments`: every fragment
   * but the last has `fragment` set; a fragment grows until one more event would reach the limit).
   */
  private send(wr: Parameters<typeof watchResponseSize>[0]): void {
    const id = Number(wr.watch_id)
    if (!this.fragmented.has(id) || wr.events.length < 2 || watchResponseSize(wr) < this.maxRequestBytes) {
      this.io.write(wr)
      return
    }
    const base = { ...wr, events: [] as WireEvent[], fragment: true }
    const emptySize = watchResponseSize(base)
    let idx = 0
    while (idx < wr.events.length) {
      const events: WireEvent[] = []
      let size = emptySize
      for (; idx < wr.events.length; idx++) {
        const e = wr.events[idx] as WireEvent
        const add = lenField(eventSize(e))
        if (events.length > 0 && size + add >= this.maxRequestBytes) break
        events.push(e)
        size += add
      }
      this.io.write({ ...base, events, fragment: idx < wr.events.length })
    }
  }

  private cancel(id: number): void {
    const w = this.watches.get(id)
    if (w === undefined) return
    w.cancel()
    this.watches.delete(id)
    this.fragmented.delete(id)
    this.io.write({
      header: wireHeader(this.backend.header()),
      watch_id: String(id),
      canceled: true,
      events: [],
    })
  }
}
