/**
 * The Raft-replicated etcd server core (`StoreServer implements EtcdBackend`). Guarantees and
 * non-guarantees: store-server.ts. The in-memory transport for tests is in `testing/`.
 */
export { deriveClusterId, deriveMemberId } from './member-id.js'
export { StoreMetrics } from './metrics.js'
export type { StoreLogger, StoreServerOptions } from './options.js'
export { SERVER_VERSION, StoreServer } from './store-server.js'
