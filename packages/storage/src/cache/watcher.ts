/**
 * One watcher of the cache (kube's cacheWatcher): its filter (a key or a prefix, events after a
 * revision), its options (prevKv, progressNotify) and its own bounded buffer.
 *
 * Delivery: an event is handed to the handler at once when nothing is queued before it. A handler
 * that returns a promise (a thenable) asks for backpressure: later events wait in the watcher's
 * buffer until it settles. Once the buffer holds more than its bound, the watcher is ended with one
 * terminal ERROR (Unavailable: "too slow"), as kube-apiserver closes a watcher that cannot keep up;
 * the client re-watches from its last revision. So one slow watcher never blocks the others nor
 * grows memory without bound. A synchronous handler never queues (except its replay, below).
 *
 * Guarantees: the handler gets events in revision order, once, none after close() or after the
 * ERROR; a handler that throws is closed (no more events) without affecting other watchers.
 */
import { StorageError } from '../errors.js'
import type { Watch, WatchEvent, WatchHandler } from '../interface.js'
import type { CachedEvent } from './ring.js'

export interface WatcherSpec {
  key?: string
  prefix?: string
  afterRevision: number
  prevKv: boolean
  progressNotify: boolean
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return x !== null && typeof x === 'object' && typeof (x as { then?: unknown }).then === 'function'
}

export class CacheWatcher implements Watch {
  private readonly queue: WatchEvent[] = []
  private blocked = false
  private done = false
  /** The revision of the last event or bookmark handed to the handler or queued. */
  private lastRevision: number
  private lastBookmark = 0
  /** Room for the replay on top of the bound (the replay is at most the ring's size). */
  private replayRoom = 0

  constructor(
    private readonly spec: WatcherSpec,
    private readonly handler: WatchHandler,
    /** Queued events beyond which the watcher is ended as too slow. */
    private readonly bufferLimit: number,
    private readonly onDone: (w: CacheWatcher) => void,
  ) {
    this.lastRevision = spec.afterRevision
  }

  get closed(): boolean {
    return this.done
  }

  get wantsProgress(): boolean {
    return this.spec.progressNotify
  }

  get queued(): number {
    return this.queue.length
  }

  matches(key: string): boolean {
    return this.spec.key !== undefined ? key === this.spec.key : key.startsWith(this.spec.prefix as string)
  }

  /** Queues the replay (events from the ring) to be delivered after the watch() promise resolves. */
  replay(events: readonly CachedEvent[]): void {
    for (const ev of events) if (this.matches(ev.object.key)) this.queue.push(this.view(ev))
    const last = events[events.length - 1]
    if (last !== undefined && last.revision > this.lastRevision) this.lastRevision = last.revision
    this.replayRoom = this.queue.length
    if (this.queue.length > 0) {
      this.blocked = true
      queueMicrotask(() => {
        this.blocked = false
        this.pump()
      })
    }
  }

  /** A live change from the cache. */
  offer(ev: CachedEvent): void {
    if (this.done || ev.revision <= this.lastRevision || !this.matches(ev.object.key)) return
    this.lastRevision = ev.revision
    this.deliver(this.view(ev))
  }

  /**
   * A BOOKMARK at the cache's revision, if the watcher asked for progress: never behind what it got,
   * never the same bookmark twice (the first may repeat the watch's start, as etcd's does).
   */
  bookmark(revision: number): void {
    if (this.done || !this.spec.progressNotify) return
    if (revision < this.lastRevision || revision <= this.lastBookmark) return
    this.lastRevision = revision
    this.lastBookmark = revision
    this.deliver({ type: 'BOOKMARK', revision })
  }

  /** Ends the watcher with a terminal ERROR (after what is queued is dropped: the client resumes). */
  fail(error: StorageError): void {
    if (this.done) return
    this.queue.length = 0
    this.finish()
    this.call({ type: 'ERROR', error })
  }

  close(): void {
    if (this.done) return
    this.queue.length = 0
    this.finish()
  }

  private finish(): void {
    this.done = true
    this.onDone(this)
  }

  private view(ev: CachedEvent): WatchEvent {
    if (ev.type === 'MODIFIED' && !this.spec.prevKv) {
      return { type: 'MODIFIED', object: ev.object, revision: ev.revision }
    }
    return ev as WatchEvent
  }

  private deliver(ev: WatchEvent): void {
    if (!this.blocked && this.queue.length === 0) {
      this.call(ev)
      return
    }
    this.queue.push(ev)
    if (this.queue.length > this.bufferLimit + this.replayRoom) {
      this.fail(
        new StorageError('Unavailable', {
          revision: this.lastRevision,
          detail: `watcher too slow: more than ${this.bufferLimit} events buffered; watch again`,
          slowWatcher: true,
        }),
      )
    }
  }

  private pump(): void {
    while (!this.done && !this.blocked) {
      const ev = this.queue.shift()
      if (ev === undefined) return
      this.call(ev)
    }
  }

  /** Calls the handler; a returned thenable blocks delivery until it settles. */
  private call(ev: WatchEvent): void {
    let result: unknown
    try {
      result = (this.handler as (e: WatchEvent) => unknown)(ev)
    } catch {
      this.close()
      return
    }
    if (ev.type === 'ERROR' || !isThenable(result)) return
    this.blocked = true
    const resume = (): void => {
      this.blocked = false
      this.pump()
    }
    result.then(resume, () => this.close())
  }
}
