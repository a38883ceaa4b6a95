/**
 * The storage contract through the watch cache: `CachedStorage` over the memory backend.
 * Goal: the cache changes no answer the api-server relies on. Method: the shared contract suite,
 * unchanged, against a CachedStorage that caches every resource (each test's fresh resource gets its
 * own cache on first use). The inner store sends watch progress every 50 ms (the memory backend's
 * progressNotifyIntervalMs), which is how the cache learns it is up to date when nothing changes in a
 * resource, so consistent lists are served from the cache here (consistentListFromCache).
 */
import { describe, expect, it } from 'vitest'
import { CachedStorage, createMemoryStorage } from '../src/index.js'
import { storageContract } from './contract.js'

let cached: CachedStorage | undefined

storageContract('memory through the watch cache', async () => {
  const memory = createMemoryStorage({ progressNotifyIntervalMs: 50 })
  const options = { consistentListFromCache: true }
  cached = new CachedStorage(memory, options)
  return {
    storage: cached,
    canTimeout: false,
    newStorage: () => new CachedStorage(memory.client(), options),
  }
})

describe('the contract above went through the cache', () => {
  it('lists and watches were served by per-resource caches, not handed to the store', () => {
    const stats = Object.values(cached?.stats() ?? {})
    const fromCache = stats.reduce((n, s) => n + s.listsFromCache, 0)
    console.log(
      `[cache] contract: ${stats.length} resource caches, ${fromCache} lists from the cache, ${stats.reduce((n, s) => n + s.listsFromStore, 0)} from the store`,
    )
    expect(stats.length).toBeGreaterThanOrEqual(5)
    expect(fromCache).toBeGreaterThanOrEqual(5)
  })
})
