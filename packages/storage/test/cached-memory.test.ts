/**
 * The storage contract through the watch cache: `CachedStorage` over the memory backend.
 * Goal: the cache changes no answer the api-server relies on. Method: the shared contract suite,
 * unchanged, against a CachedStorage that caches every resource (each test's fresh resource gets its
 * own cache on first use). The inner store sends watch progress every 50 ms (the memory backend's
 * progressNotifyIntervalMs), which is how the cache learns it is up to date when nothing changes in a
 * resource, so consistent lists are served from the cache here (consistentListFromCache).
 */
import { CachedStorage, createMemoryStorage } from '../src/index.js'
import { storageContract } from './contract.js'

storageContract('memory through the watch cache', async () => {
  const memory = createMemoryStorage({ progressNotifyIntervalMs: 50 })
  const options = { consistentListFromCache: true }
  return {
    storage: new CachedStorage(memory, options),
    canTimeout: false,
    newStorage: () => new CachedStorage(memory.client(), options),
  }
})
