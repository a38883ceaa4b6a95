/**
 * The synchronous storage factory, for callers that load both backends anyway (tests, tools): the backend
 * `--storage-backend` / `--etcd-servers` choose (select.ts), constructed at once. Servers use
 * `openStorage`, which loads the etcd3 backend only when it is chosen.
 */

import { createEtcd3Storage } from './etcd3.js'
import type { Storage } from './interface.js'
import { createMemoryStorage } from './memory.js'
import { chooseStorage, type StorageConfig } from './select.js'

export function createStorage(config: StorageConfig): Storage {
  const c = chooseStorage(config)
  return c.backend === 'memory' ? createMemoryStorage(c.options) : createEtcd3Storage(c.options)
}
