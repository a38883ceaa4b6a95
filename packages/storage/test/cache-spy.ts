/**
 * A spy around a Storage for the watch cache's tests: counts the inner lists and watches per prefix,
 * can end every open inner watch with an ERROR (a lost store, a compaction), can hold back watch
 * events (a lagging store) and, optionally, emulates etcd's watch progress request.
 */
import type {
  CallOptions,
  DeleteOptions,
  GetOptions,
  ListOptions,
  ListResult,
  Readiness,
  Storage,
  StorageError,
  StoredObject,
  Watch,
  WatchEvent,
  WatchHandler,
  WatchOptions,
} from '../src/index.js'

interface OpenWatch {
  handler: WatchHandler
  watch: Watch
  progressNotify: boolean
  options: WatchOptions
}

export class SpyStorage implements Storage {
  readonly watchCalls: string[] = []
  readonly listCalls: string[] = []
  protected readonly open = new Set<OpenWatch>()
  /** Delay (ms) before an inner watch event reaches the cache: a store whose watch lags. */
  eventDelayMs = 0

  constructor(readonly inner: Storage) {}

  get backend(): string {
    return this.inner.backend
  }

  /** Inner watches opened on `prefix` so far. */
  watchesOn(prefix: string): number {
    return this.watchCalls.filter((p) => p === prefix).length
  }

  get openWatches(): number {
    return this.open.size
  }

  /** Ends every open inner watch (or those `which` selects) with `error`, as the store would. */
  failWatches(error: StorageError, which: (options: WatchOptions) => boolean = () => true): void {
    for (const o of [...this.open]) {
      if (!which(o.options)) continue
      this.open.delete(o)
      o.watch.close()
      o.handler({ type: 'ERROR', error })
    }
  }

  async watch<T = unknown>(options: WatchOptions, handler: WatchHandler<T>): Promise<Watch> {
    this.watchCalls.push(options.prefix ?? options.key ?? '')
    let entry: OpenWatch | undefined
    const relay = (ev: WatchEvent<T>): void => {
      if (entry !== undefined && !this.open.has(entry)) return
      if (ev.type === 'ERROR' && entry !== undefined) this.open.delete(entry)
      if (this.eventDelayMs > 0 && ev.type !== 'ERROR') {
        setTimeout(() => {
          if (entry === undefined || this.open.has(entry)) handler(ev)
        }, this.eventDelayMs)
      } else {
        handler(ev)
      }
    }
    const w = await this.inner.watch<T>(options, relay)
    entry = {
      handler: handler as WatchHandler,
      watch: w,
      progressNotify: options.progressNotify === true,
      options,
    }
    this.open.add(entry)
    const self = entry
    return {
      close: () => {
        this.open.delete(self)
        w.close()
      },
    }
  }

  list<T = unknown>(options: ListOptions): Promise<ListResult<T>> {
    this.listCalls.push(options.prefix)
    return this.inner.list<T>(options)
  }

  get<T = unknown>(key: string, options?: GetOptions): Promise<StoredObject<T>> {
    return this.inner.get<T>(key, options)
  }
  create<T = unknown>(key: string, value: T, options?: CallOptions): Promise<StoredObject<T>> {
    return this.inner.create<T>(key, value, options)
  }
  update<T = unknown>(key: string, value: T, rev: number, options?: CallOptions): Promise<StoredObject<T>> {
    return this.inner.update<T>(key, value, rev, options)
  }
  delete<T = unknown>(key: string, options?: DeleteOptions): Promise<StoredObject<T>> {
    return this.inner.delete<T>(key, options)
  }
  putWithTtl<T = unknown>(
    key: string,
    value: T,
    ttl: number,
    options?: CallOptions,
  ): Promise<StoredObject<T>> {
    return this.inner.putWithTtl<T>(key, value, ttl, options)
  }
  compact(revision: number, options?: CallOptions): Promise<void> {
    return this.inner.compact(revision, options)
  }
  currentRevision(options?: CallOptions): Promise<number> {
    return this.inner.currentRevision(options)
  }
  count(prefix: string, options?: CallOptions): Promise<number> {
    return this.inner.count(prefix, options)
  }
  readiness(options?: CallOptions): Promise<Readiness> {
    return this.inner.readiness(options)
  }
  close(): Promise<void> {
    return this.inner.close()
  }
}

/**
 * A SpyStorage that also answers etcd's progress request: after the store's current revision is
 * read and pending events have drained (the memory backend delivers a microtask after the write),
 * every open progressNotify watch gets a BOOKMARK at that revision.
 */
export class ProgressSpyStorage extends SpyStorage {
  progressRequests = 0

  async requestWatchProgress(): Promise<void> {
    this.progressRequests++
    const rev = await this.currentRevision()
    await new Promise((r) => setTimeout(r, this.eventDelayMs + 1))
    for (const o of [...this.open]) if (o.progressNotify) o.handler({ type: 'BOOKMARK', revision: rev })
  }
}
