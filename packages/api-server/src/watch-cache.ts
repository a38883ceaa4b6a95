/**
 * kube-apiserver's watch cache in hakube-apiserver: `--watch-cache` (default true, as kube) wraps the
 * opened storage in a {@link CachedStorage} (@hakube/storage, src/cache/), with `--watch-cache-sizes`
 * and `--default-watch-cache-size` as the rings' sizes and every resource the api-server serves
 * started at once (kube starts its cachers at startup). Closing the returned storage closes the
 * cache, then the storage it wraps.
 *
 * Metrics (on the api-server's registry): kube's `apiserver_watch_cache_capacity`,
 * `apiserver_watch_cache_resource_version` and `apiserver_registered_watchers` (labelled by
 * `resource` here, kube's by group and kind), plus hakube's `hakube_watch_cache_*` gauges from
 * {@link CachedStorage.stats}: objects, ring events, re-lists, inner watches opened and the lists
 * answered from the cache or the store.
 */
import { RESOURCES } from '@hakube/api'
import {
  CachedStorage,
  type CachedStorageOptions,
  type ResourceCacheStats,
  type Storage,
} from '@hakube/storage'
import { Gauge, type Registry } from 'prom-client'

export interface WatchCacheConfig {
  readonly watchCache: boolean
  readonly watchCacheSizes: Readonly<Record<string, number>>
  readonly defaultWatchCacheSize: number
}

/** The plural of every resource the api-server serves (the keys' `/registry/<plural>/`). */
export function servedResources(): string[] {
  return [...new Set(RESOURCES.map((r) => r.plural))].sort()
}

/**
 * `storage` behind the watch cache when `config.watchCache`, else `storage` itself; `tuning` sets
 * the cache's other options (tests: a fixed ring).
 */
export function withWatchCache(
  storage: Storage,
  config: WatchCacheConfig,
  tuning: Omit<CachedStorageOptions, 'sizes' | 'defaultSize' | 'eager'> = {},
): Storage {
  if (!config.watchCache) return storage
  const sizes = config.watchCacheSizes
  const defaultSize = config.defaultWatchCacheSize
  return new CachedStorage(storage, {
    ...tuning,
    sizes,
    defaultSize,
    eager: servedResources().filter((r) => (sizes[r] ?? defaultSize) > 0),
  })
}

type NumericStat = Exclude<keyof ResourceCacheStats, 'phase'>

const GAUGES: ReadonlyArray<{ name: string; help: string; stat: NumericStat }> = [
  {
    name: 'apiserver_watch_cache_capacity',
    help: 'Total capacity of watch cache broken by resource type.',
    stat: 'ringCapacity',
  },
  {
    name: 'apiserver_watch_cache_resource_version',
    help: 'Current resource version of watch cache broken by resource type.',
    stat: 'revision',
  },
  {
    name: 'apiserver_registered_watchers',
    help: 'Number of currently registered watchers for a given resources',
    stat: 'watchers',
  },
  { name: 'hakube_watch_cache_objects', help: "Objects in the watch cache's state.", stat: 'objects' },
  {
    name: 'hakube_watch_cache_ring_events',
    help: "Events in the watch cache's ring of recent changes.",
    stat: 'ringEvents',
  },
  {
    name: 'hakube_watch_cache_relists',
    help: 'Times the watch cache re-listed the store (its history was compacted).',
    stat: 'relists',
  },
  {
    name: 'hakube_watch_cache_inner_watches',
    help: 'Store watches the watch cache opened (more than 1: the store watch was re-established).',
    stat: 'innerWatches',
  },
  {
    name: 'hakube_watch_cache_lists_from_cache',
    help: 'List requests answered from the watch cache.',
    stat: 'listsFromCache',
  },
  {
    name: 'hakube_watch_cache_lists_from_store',
    help: 'List requests the watch cache handed to the store (not caught up, or initializing).',
    stat: 'listsFromStore',
  },
]

/** Registers the watch cache's gauges on `registry`; a storage without a cache registers nothing. */
export function registerWatchCacheMetrics(storage: Storage, registry: Registry): void {
  if (!(storage instanceof CachedStorage)) return
  for (const g of GAUGES) {
    registry.registerMetric(
      new Gauge({
        name: g.name,
        help: g.help,
        labelNames: ['resource'],
        registers: [],
        collect() {
          for (const [resource, s] of Object.entries(storage.stats())) this.set({ resource }, s[g.stat])
        },
      }),
    )
  }
}
