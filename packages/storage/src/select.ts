/**
 * `--storage-backend` / `--etcd-servers` → a {@link Storage}: kube-apiserver's flags, hakube's default
 * (memory when no etcd servers are given).
 *
 * {@link openStorage} is the factory a server uses: it imports the etcd3 backend (gRPC, the etcd protos)
 * only when that backend is chosen, so an api-server on memory storage never loads them (a bundled binary
 * keeps the backend in a chunk of its own). This module must not import the backend's values statically
 * (types only); `createStorage` (create-storage.ts) is the synchronous form, which does.
 */

import { StorageError } from './errors.js'
import type { Etcd3StorageOptions } from './etcd3.js'
import type { Storage } from './interface.js'
import type { CompactionOptions } from './kv-storage.js'
import { createMemoryStorage, type MemoryStorageOptions } from './memory.js'

export type StorageBackendName = 'memory' | 'etcd3'

export interface StorageConfig extends CompactionOptions {
  /** `--storage-backend`; default: etcd3 when `etcdServers` is non-empty, else memory. */
  backend?: StorageBackendName
  /** `--etcd-servers`: `http://host:port` of every member. */
  etcdServers?: readonly string[]
  /** Default per-call timeout (ms). */
  requestTimeoutMs?: number
}

export type StorageChoice =
  | { backend: 'memory'; options: MemoryStorageOptions }
  | { backend: 'etcd3'; options: Etcd3StorageOptions }

/** The backend the flags choose, with its options; throws the flags' error. */
export function chooseStorage(config: StorageConfig): StorageChoice {
  const servers = config.etcdServers ?? []
  const backend = config.backend ?? (servers.length > 0 ? 'etcd3' : 'memory')
  const compaction: CompactionOptions = {
    compactionIntervalMs: config.compactionIntervalMs,
    onCompactionError: config.onCompactionError,
    onCompacted: config.onCompacted,
  }
  if (backend === 'memory')
    return { backend, options: { requestTimeoutMs: config.requestTimeoutMs, ...compaction } }
  if (servers.length === 0) {
    throw new StorageError('InvalidObject', { detail: '--storage-backend=etcd3 needs --etcd-servers' })
  }
  return {
    backend,
    options: { endpoints: servers, requestTimeoutMs: config.requestTimeoutMs, ...compaction },
  }
}

/**
 * The storage the flags choose, loading the etcd3 backend's module only when it is chosen. Rejects with
 * the flags' error (a {@link StorageError}) as `createStorage` throws it.
 */
export async function openStorage(config: StorageConfig): Promise<Storage> {
  const c = chooseStorage(config)
  if (c.backend === 'memory') return createMemoryStorage(c.options)
  const etcd3 = await import('./etcd3.js')
  return etcd3.createEtcd3Storage(c.options)
}
