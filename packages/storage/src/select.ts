/**
 * `--storage-backend` / `--etcd-servers` → a {@link Storage}: kube-apiserver's flags, hakube's default
 * (memory when no etcd servers are given).
 */

import { StorageError } from './errors.js'
import { createEtcd3Storage } from './etcd3.js'
import type { Storage } from './interface.js'
import type { CompactionOptions } from './kv-storage.js'
import { createMemoryStorage } from './memory.js'

export type StorageBackendName = 'memory' | 'etcd3'

export interface StorageConfig extends CompactionOptions {
  /** `--storage-backend`; default: etcd3 when `etcdServers` is non-empty, else memory. */
  backend?: StorageBackendName
  /** `--etcd-servers`: `http://host:port` of every member. */
  etcdServers?: readonly string[]
  /** Default per-call timeout (ms). */
  requestTimeoutMs?: number
}

export function createStorage(config: StorageConfig): Storage {
  const servers = config.etcdServers ?? []
  const backend = config.backend ?? (servers.length > 0 ? 'etcd3' : 'memory')
  const compaction: CompactionOptions = {
    compactionIntervalMs: config.compactionIntervalMs,
    onCompactionError: config.onCompactionError,
    onCompacted: config.onCompacted,
  }
  if (backend === 'memory')
    return createMemoryStorage({ requestTimeoutMs: config.requestTimeoutMs, ...compaction })
  if (servers.length === 0) {
    throw new StorageError('InvalidObject', { detail: '--storage-backend=etcd3 needs --etcd-servers' })
  }
  return createEtcd3Storage({ endpoints: servers, requestTimeoutMs: config.requestTimeoutMs, ...compaction })
}
