/**
 * Storage latency metrics, as kube-apiserver exports them (k8s.io/apiserver storage/etcd3/metrics):
 * `etcd_request_duration_seconds{operation,type}` (histogram, kube's buckets),
 * `etcd_request_errors_total{operation,type}` and `apiserver_storage_objects{resource}`.
 * `type` is the resource of the key (`/registry/pods/ns/p` -> `pods`); calls without a key
 * (`currentRevision`, `readiness`) use `type=""`.
 *
 * {@link instrumentStorage} wraps any Storage; the metrics go to a registry once
 * {@link InstrumentedStorage.registerMetrics} is called (the ApiServer's registry exists only after
 * the server that needs the storage is constructed).
 */
import type {
  CallOptions,
  DeleteOptions,
  GetOptions,
  ListOptions,
  ListResult,
  Readiness,
  Storage,
  StoredObject,
  Watch,
  WatchHandler,
  WatchOptions,
  WatchProgressRequester,
} from '@hakube/storage'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** kube-apiserver's etcd request latency buckets. */
const BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
]

/** The resource of a storage key or prefix (`/registry/<resource>/...`), or `''`. */
export function resourceOfKey(key: string | undefined): string {
  if (key === undefined) return ''
  const m = /^\/registry\/([^/]+)/.exec(key)
  return m?.[1] ?? ''
}

export interface InstrumentedStorage extends Storage {
  /** Registers the storage metrics on `registry` (once per registry). */
  registerMetrics(registry: Registry): void
}

export function instrumentStorage(inner: Storage): InstrumentedStorage {
  const duration = new Histogram({
    name: 'etcd_request_duration_seconds',
    help: 'Etcd request latency in seconds for each operation and object type.',
    labelNames: ['operation', 'type'],
    buckets: BUCKETS,
    registers: [],
  })
  const errors = new Counter({
    name: 'etcd_request_errors_total',
    help: 'Etcd failed request counts for each operation and object type.',
    labelNames: ['operation', 'type'],
    registers: [],
  })
  const seen = new Set<string>()
  const objects = new Gauge({
    name: 'apiserver_storage_objects',
    help: 'Number of stored objects at the time of last check split by kind.',
    labelNames: ['resource'],
    registers: [],
    async collect() {
      await Promise.all(
        [...seen].map(async (resource) => {
          try {
            this.set({ resource }, await inner.count(`/registry/${resource}/`, { timeoutMs: 2000 }))
          } catch {
            // store unreachable: keep the last value (kube updates this periodically too)
          }
        }),
      )
    },
  })
  const registered = new Set<Registry>()

  async function timed<R>(operation: string, key: string | undefined, fn: () => Promise<R>): Promise<R> {
    const type = resourceOfKey(key)
    if (type !== '') seen.add(type)
    const end = duration.startTimer({ operation, type })
    try {
      return await fn()
    } catch (err) {
      errors.inc({ operation, type })
      throw err
    } finally {
      end()
    }
  }

  // The watch cache's progress requests (WatchProgressRequester) reach the store through the wrapper.
  const progress = inner as Partial<WatchProgressRequester>
  return {
    get backend() {
      return inner.backend
    },
    ...(typeof progress.requestWatchProgress === 'function' && {
      requestWatchProgress: () => (progress.requestWatchProgress as () => void | Promise<void>).call(inner),
    }),
    registerMetrics(registry: Registry): void {
      if (registered.has(registry)) return
      registered.add(registry)
      registry.registerMetric(duration)
      registry.registerMetric(errors)
      registry.registerMetric(objects)
    },
    get: <T>(key: string, options?: GetOptions) => timed('get', key, () => inner.get<T>(key, options)),
    list: <T>(options: ListOptions): Promise<ListResult<T>> =>
      timed('list', options.prefix, () => inner.list<T>(options)),
    create: <T>(key: string, value: T, options?: CallOptions): Promise<StoredObject<T>> =>
      timed('create', key, () => inner.create<T>(key, value, options)),
    update: <T>(key: string, value: T, rev: number, options?: CallOptions): Promise<StoredObject<T>> =>
      timed('update', key, () => inner.update<T>(key, value, rev, options)),
    delete: <T>(key: string, options?: DeleteOptions): Promise<StoredObject<T>> =>
      timed('delete', key, () => inner.delete<T>(key, options)),
    putWithTtl: <T>(
      key: string,
      value: T,
      ttlSeconds: number,
      options?: CallOptions,
    ): Promise<StoredObject<T>> =>
      timed('update', key, () => inner.putWithTtl<T>(key, value, ttlSeconds, options)),
    watch: <T>(options: WatchOptions, handler: WatchHandler<T>): Promise<Watch> =>
      timed('watch', options.key ?? options.prefix, () => inner.watch<T>(options, handler)),
    compact: (revision: number, options?: CallOptions) =>
      timed('compact', undefined, () => inner.compact(revision, options)),
    currentRevision: (options?: CallOptions) =>
      timed('currentRevision', undefined, () => inner.currentRevision(options)),
    count: (prefix: string, options?: CallOptions) =>
      timed('count', prefix, () => inner.count(prefix, options)),
    readiness: (options?: CallOptions): Promise<Readiness> => inner.readiness(options),
    close: () => inner.close(),
  }
}
