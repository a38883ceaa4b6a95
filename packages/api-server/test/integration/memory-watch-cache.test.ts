/**
 * The api-server contract over the memory backend with the watch cache on (--watch-cache, as
 * hakube-apiserver runs by default): every case must give the answers it gives without the cache
 * (memory.test.ts), lists and watches being served from the cache's state and ring instead.
 */
import { createMemoryStorage } from '@hakube/storage'
import { apiServerContract } from './contract.js'

apiServerContract('memory backend, watch cache', async () => ({
  storage: createMemoryStorage(),
  watchCache: true,
}))
