/**
 * The api-server contract over the etcd3 backend on a 3-member hakube-store cluster (127.0.1.241-243),
 * then the same contract with the watch cache on (--watch-cache, hakube-apiserver's default) over a
 * second cluster (127.0.1.215-217: the contract's namespaces would collide on one store).
 */
import { apiServerContract } from './contract.js'
import { etcd3Setup } from './etcd-cluster.js'

apiServerContract('etcd3 over a 3-member hakube-store cluster', () => etcd3Setup('hakube', 240))

apiServerContract('etcd3 over a 3-member hakube-store cluster, watch cache', async () => ({
  ...(await etcd3Setup('hakube', 214)),
  watchCache: true,
}))
