/**
 * Goal: --watch-cache wires kube's watch cache as serve.ts uses it: on, the storage is a CachedStorage
 * with every served resource started at once and the --watch-cache-sizes / default sizes applied, and
 * its stats are on /metrics under kube's names; off, the storage is the store itself and no gauge is
 * registered.
 * Method: withWatchCache over a memory store from parsed flags, a list and a watch through it, then the
 * registry's text.
 */
import { CachedStorage, createMemoryStorage } from '@hakube/storage'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { parseApiServerFlags } from './options.js'
import { registerWatchCacheMetrics, servedResources, withWatchCache } from './watch-cache.js'

function config(argv: string[]) {
  const r = parseApiServerFlags(argv, {})
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  return r.config
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('--watch-cache wiring', () => {
  it('on (the default): a CachedStorage, every served resource started, sizes from the flags, stats as metrics', async () => {
    const inner = createMemoryStorage()
    const storage = withWatchCache(inner, config(['--watch-cache-sizes=pods#1000,events#0']))
    expect(storage).toBeInstanceOf(CachedStorage)
    const cache = storage as CachedStorage
    await inner.create('/registry/pods/ns/a', { metadata: { name: 'a', namespace: 'ns' } })
    const listed = await storage.list({ prefix: '/registry/pods/', consistency: 'any' })
    expect(listed.items.map((i) => i.key)).toEqual(['/registry/pods/ns/a'])
    const w = await storage.watch({ prefix: '/registry/pods/ns/', afterRevision: 0 }, () => {})
    const stats = cache.stats()
    // events#0: not cached; every other served resource is, at once.
    expect(Object.keys(stats).sort()).toEqual(servedResources().filter((r) => r !== 'events'))
    expect(stats['pods']).toMatchObject({ ringCapacity: 1000, watchers: 1 })
    expect(stats['namespaces']?.ringCapacity).toBe(100)
    await until(() => stats['pods']?.phase === 'live' || cache.stats()['pods']?.phase === 'live')
    const registry = new Registry()
    registerWatchCacheMetrics(storage, registry)
    const text = await registry.metrics()
    expect(text).toMatch(/^apiserver_watch_cache_capacity\{resource="pods"\} 1000$/m)
    expect(text).toMatch(/^apiserver_registered_watchers\{resource="pods"\} 1$/m)
    expect(text).toMatch(/^hakube_watch_cache_objects\{resource="pods"\} 1$/m)
    expect(text).toMatch(/^hakube_watch_cache_lists_from_cache\{resource="pods"\} 1$/m)
    expect(text).not.toMatch(/resource="events"/)
    w.close()
    await storage.close()
    // Closing the cache closed the store it wraps.
    expect((await inner.readiness()).ok).toBe(false)
  })

  it('off: the store itself, and no watch cache metrics', async () => {
    const inner = createMemoryStorage()
    const storage = withWatchCache(inner, config(['--watch-cache=false']))
    expect(storage).toBe(inner)
    const registry = new Registry()
    registerWatchCacheMetrics(storage, registry)
    expect(await registry.metrics()).not.toMatch(/watch_cache/)
    await storage.close()
  })
})
