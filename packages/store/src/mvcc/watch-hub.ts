/**
 * The watch hub: etcd v3 watches over an {@link MvccStore} (mvcc/watchable_store.go,
 * etcdserver/api/v3rpc/watch.go of etcd 3.4), synchronous and deterministic.
 *
 * Delivery: the hub calls each watcher's sink synchronously, in revision order, never splitting a
 * revision's (a txn's) events. Live events go out one response per revision; a replay of retained
 * history (a start revision in the past, or a victim catching up) goes out as etcd's syncWatchers sends
 * it: one response holding up to {@link WATCH_BATCH_MAX_REVS} revisions, header = the current revision.
 * The hub buffers nothing itself: the per-watcher bounded buffer
 * lives in the consumer, and the sink returns `false` when that buffer is full. The refused response is
 * then not consumed and the watcher becomes a *victim* (etcd's term): it receives nothing more until
 * the driver calls `resume(id)` or `retryVictims()`, which replays the missed revisions from the
 * retained history (or, if they were compacted meanwhile, sends a compacted response and cancels it).
 * Memory per slow watcher is therefore O(1) here; history is the buffer, bounded by compaction.
 *
 * Sinks must not write to the store synchronously (writes would nest inside delivery).
 */
import { StoreError } from '../errors.js'
import { bytesToKey, compareBytes, rangeEndOf } from './bytes.js'
import { IntervalTree } from './interval-tree.js'
import type { MvccStore } from './kv-store.js'
import type { MvccEvent, ResponseHeader, Result } from './types.js'

export type WatchFilter = 'NOPUT' | 'NODELETE'

/** Revisions per replayed response (etcd 3.4 mvcc/watchable_store.go `watchBatchMaxRevs`). */
export const WATCH_BATCH_MAX_REVS = 1000

export interface WatchCreateRequest {
  key: Uint8Array
  /** Range semantics as Range: absent = single key, `[0]` = from key, else [key, rangeEnd). */
  rangeEnd?: Uint8Array
  /** First revision to deliver; 0/absent = current + 1 (future events only). */
  startRevision?: number
  prevKv?: boolean
  filters?: readonly WatchFilter[]
  progressNotify?: boolean
  /** Requested id; 0/absent = the lowest free id at or above the hub's counter (etcd AutoWatchID). */
  watchId?: number
}

export interface WatchResponse {
  watchId: number
  header: ResponseHeader
  /** First response of every watch. */
  created?: boolean
  /** Last response of a watch canceled by the hub (compaction). */
  canceled?: boolean
  /**
   * Set when the start (or resume) revision is below the compacted revision; the watch is canceled. As
   * etcd's, this response's header revision is 0.
   */
  compactRevision?: number
  /** Empty for created, canceled and progress responses. */
  events: MvccEvent[]
}

/** Accepts a response; returns false if the consumer's bounded buffer is full (see module doc). */
export type WatchSink = (response: WatchResponse) => boolean

interface Watcher {
  id: number
  keyBytes: Uint8Array
  rangeEndBytes: Uint8Array | undefined
  key: string
  /** undefined: single key; null: unbounded; else exclusive end. */
  end: string | null | undefined
  /** Next revision this watcher has not yet been given. */
  nextRev: number
  victim: boolean
  closed: boolean
  prevKv: boolean
  noPut: boolean
  noDelete: boolean
  progressNotify: boolean
  sink: WatchSink
}

export interface WatchHubStats {
  watchers: number
  victims: number
  /** Watchers (exact-key entries and interval-tree nodes) examined to route live events. */
  watchersExamined: number
}

export class WatchHub {
  private readonly watchers = new Map<number, Watcher>()
  private readonly exact = new Map<string, Set<Watcher>>()
  private readonly ranges = new IntervalTree<Watcher>()
  private readonly victims = new Set<Watcher>()
  private nextId = 0
  private exactExamined = 0
  private readonly unsubscribe: () => void

  constructor(private readonly store: MvccStore) {
    this.unsubscribe = store.onCommit((rev, events) => this.notify(rev, events))
  }

  /** Detaches the hub from the store; watchers get nothing more. */
  close(): void {
    this.unsubscribe()
  }

  get stats(): WatchHubStats {
    return {
      watchers: this.watchers.size,
      victims: this.victims.size,
      watchersExamined: this.exactExamined + this.ranges.examined,
    }
  }

  /**
   * Creates a watch. The sink first gets a `created` response, then (synchronously) the retained events
   * from the start revision to the current one, then live events as revisions commit. A start revision
   * below the compacted revision yields a `compactRevision` response and the watch is canceled.
   * An empty key is accepted, as etcd 3.4 accepts it (with range end `[0]`: every key); a key at or
   * after its range end is refused as etcd refuses it (`mvcc: watcher range is empty`).
   */
  watch(req: WatchCreateRequest, sink: WatchSink): Result<{ watchId: number }> {
    const end = req.rangeEnd
    if (end !== undefined && end.length > 0 && !(end.length === 1 && end[0] === 0)) {
      if (compareBytes(req.key, end) >= 0) {
        return { ok: false, error: new StoreError('MVCC_ERR_EMPTY_WATCHER_RANGE') }
      }
    }
    let id = req.watchId ?? 0
    if (id === 0) {
      while (this.watchers.has(this.nextId)) this.nextId++
      id = this.nextId++
    } else if (this.watchers.has(id)) {
      return { ok: false, error: new StoreError('MVCC_ERR_WATCH_ID_EXISTS') }
    }
    const start = req.startRevision ?? 0
    const filters = req.filters ?? []
    const w: Watcher = {
      id,
      keyBytes: Uint8Array.from(req.key),
      rangeEndBytes: req.rangeEnd === undefined ? undefined : Uint8Array.from(req.rangeEnd),
      key: bytesToKey(req.key),
      end: rangeEndOf(req.rangeEnd),
      nextRev: start > 0 ? start : this.store.revision + 1,
      victim: false,
      closed: false,
      prevKv: req.prevKv === true,
      noPut: filters.includes('NOPUT'),
      noDelete: filters.includes('NODELETE'),
      progressNotify: req.progressNotify === true,
      sink,
    }
    sink({ watchId: id, header: this.header(), created: true, events: [] })
    this.add(w)
    this.sync(w)
    return { ok: true, response: { watchId: id } }
  }

  /** Cancels a watch; the hub sends nothing more to its sink. Returns whether it existed. */
  cancel(watchId: number): boolean {
    const w = this.watchers.get(watchId)
    if (w === undefined) return false
    this.remove(w)
    return true
  }

  /**
   * etcd's RequestProgress for one watcher: if it is synced (not a victim), its sink gets a response
   * with no events whose header revision is the current revision, meaning every event up to it was
   * delivered. Returns whether the response was sent.
   */
  requestProgress(watchId: number): boolean {
    const w = this.watchers.get(watchId)
    if (w === undefined || w.victim) return false
    return w.sink({ watchId: w.id, header: this.header(), events: [] })
  }

  /**
   * Sends a progress response to every synced watcher created with `progressNotify`; the driver calls
   * this on its own timer (etcd: every 10 minutes). Returns how many were sent.
   */
  notifyProgress(): number {
    let sent = 0
    for (const w of [...this.watchers.values()]) {
      if (!w.progressNotify || w.victim || w.closed) continue
      if (w.sink({ watchId: w.id, header: this.header(), events: [] })) sent++
    }
    return sent
  }

  /** Retries delivery to a victim watcher from its next revision. */
  resume(watchId: number): void {
    const w = this.watchers.get(watchId)
    if (w?.victim) this.sync(w)
  }

  /** Retries every victim (etcd's syncVictimsLoop, driven by the caller). */
  retryVictims(): void {
    for (const w of [...this.victims]) this.sync(w)
  }

  private header(): ResponseHeader {
    return { revision: this.store.revision }
  }

  private add(w: Watcher): void {
    this.watchers.set(w.id, w)
    if (w.end === undefined) {
      let set = this.exact.get(w.key)
      if (set === undefined) {
        set = new Set()
        this.exact.set(w.key, set)
      }
      set.add(w)
    } else {
      this.ranges.insert(w.key, w.end, w.id, w)
    }
  }

  private remove(w: Watcher): void {
    w.closed = true
    this.watchers.delete(w.id)
    this.victims.delete(w)
    if (w.end === undefined) {
      const set = this.exact.get(w.key)
      set?.delete(w)
      if (set !== undefined && set.size === 0) this.exact.delete(w.key)
    } else {
      this.ranges.remove(w.key, w.id)
    }
  }

  private markVictim(w: Watcher, rev: number): void {
    w.victim = true
    w.nextRev = rev
    this.victims.add(w)
  }

  /** Replays retained history from w.nextRev to the current revision. */
  private sync(w: Watcher): void {
    const compactRev = this.store.compactRevision
    if (w.nextRev < compactRev) {
      this.remove(w)
      w.sink({
        watchId: w.id,
        header: { revision: 0 },
        canceled: true,
        compactRevision: compactRev,
        events: [],
      })
      return
    }
    const cur = this.store.revision
    if (w.nextRev <= cur) {
      const events = this.store.eventsBetween(w.keyBytes, w.rangeEndBytes, w.nextRev, cur)
      let i = 0
      while (i < events.length) {
        const first = (events[i] as MvccEvent).kv.modRevision
        // One batch: the events of up to WATCH_BATCH_MAX_REVS revisions, never splitting a revision.
        let j = i
        let revs = 0
        let last = -1
        while (j < events.length) {
          const rev = (events[j] as MvccEvent).kv.modRevision
          if (rev !== last) {
            if (revs === WATCH_BATCH_MAX_REVS) break
            revs++
            last = rev
          }
          j++
        }
        if (!this.deliver(w, events.slice(i, j), cur)) {
          this.markVictim(w, first)
          return
        }
        if (w.closed) return
        i = j
      }
      w.nextRev = cur + 1
    }
    w.victim = false
    this.victims.delete(w)
  }

  /** Filters and completes one batch of events for `w`, then hands them to its sink. */
  private deliver(w: Watcher, events: readonly MvccEvent[], headerRev: number): boolean {
    const out: MvccEvent[] = []
    for (const ev of events) {
      if ((ev.type === 'PUT' && w.noPut) || (ev.type === 'DELETE' && w.noDelete)) continue
      // etcd skips the lookup for a create event (PUT with create == mod revision), even when the key
      // existed at mod_revision - 1 because the same txn deleted it first.
      if (!w.prevKv || (ev.type === 'PUT' && ev.kv.createRevision === ev.kv.modRevision)) {
        out.push(ev)
        continue
      }
      // As etcd's watch server: prev_kv is the key at mod_revision - 1, if not compacted.
      const prev = this.store.kvAt(ev.kv.key, ev.kv.modRevision - 1)
      out.push(prev === undefined ? { type: ev.type, kv: ev.kv } : { type: ev.type, kv: ev.kv, prevKv: prev })
    }
    if (out.length === 0) return true
    return w.sink({ watchId: w.id, header: { revision: headerRev }, events: out })
  }

  private notify(rev: number, events: readonly MvccEvent[]): void {
    const matched = new Map<Watcher, MvccEvent[]>()
    const add = (w: Watcher, ev: MvccEvent): void => {
      const list = matched.get(w)
      if (list === undefined) matched.set(w, [ev])
      else list.push(ev)
    }
    for (const ev of events) {
      const k = bytesToKey(ev.kv.key)
      const set = this.exact.get(k)
      if (set !== undefined) {
        for (const w of set) {
          this.exactExamined++
          add(w, ev)
        }
      }
      this.ranges.stab(k, (w) => add(w, ev))
    }
    for (const [w, evs] of matched) {
      if (w.closed || w.victim || w.nextRev > rev) continue
      if (this.deliver(w, evs, rev)) w.nextRev = rev + 1
      else this.markVictim(w, rev)
    }
  }
}
