/**
 * `@hakube/store/testing`: helpers for tests in any package that need real store clusters: real
 * hakube-store processes (the built binary) or real etcd 3.4 processes on loopback, and the real
 * etcdctl; and the in-process doubles: {@link LocalBackend} (a single-member EtcdBackend over the
 * server's state machine, no Raft) and {@link MemoryNetwork} (Raft transports in memory). Not part of
 * the store's runtime API: no production module imports this.
 */
export { LocalBackend, type LocalBackendOptions } from '../grpc/testing/local-backend.js'
export { MemoryNetwork, MemoryTransport } from '../server/testing/memory-transport.js'
export {
  ETCD_BINARY,
  type EtcdctlResult,
  etcdctl,
  findLeader,
  type Implementation,
  memberLogs,
  requireTool,
  type StoreMember,
  StoreProcessCluster,
  sleep,
  waitFor,
} from './process-cluster.js'
