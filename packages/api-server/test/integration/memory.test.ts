/** The api-server contract over the memory backend (the store's MVCC library in-process), without the watch cache. */
import { createMemoryStorage } from '@hakube/storage'
import { apiServerContract } from './contract.js'

apiServerContract('memory backend', async () => ({ storage: createMemoryStorage() }))
