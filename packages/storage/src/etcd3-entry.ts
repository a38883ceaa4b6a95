/**
 * `@hakube/storage/etcd3`: the etcd3 backend's values (gRPC, the etcd protos) on an entry of their own,
 * so that importing `@hakube/storage` never loads them. A server chooses its backend with
 * `openStorage` (main entry), which imports this backend dynamically, only when it is chosen; code that
 * wants the backend directly (tests, tools) imports it from here.
 */
export { createStorage } from './create-storage.js'
export { createEtcd3Storage, Etcd3Storage, type Etcd3StorageOptions } from './etcd3.js'
