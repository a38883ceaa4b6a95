/**
 * The api-server contract over the etcd3 backend on a 3-member real etcd 3.4 cluster (127.0.1.244-246),
 * then the same contract with the watch cache on (--watch-cache, hakube-apiserver's default) over a
 * second cluster (127.0.1.218-220: the contract's namespaces would collide on one store).
 */
import { apiServerContract } from './contract.js'
import { etcd3Setup } from './etcd-cluster.js'

apiServerContract('etcd3 over a 3-member etcd 3.4 cluster', () => etcd3Setup('etcd', 243))

apiServerContract('etcd3 over a 3-member etcd 3.4 cluster, watch cache', async () => ({
  ...(await etcd3Setup('etcd', 217)),
  watchCache: true,
}))
