/**
 * `@hakube/store/testing`: helpers for tests in any package that need real store clusters: real
 * hakube-store processes (the built binary) or real etcd 3.4 processes on loopback, and the real
 * etcdctl. Not part of the store's runtime API.
 */
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
