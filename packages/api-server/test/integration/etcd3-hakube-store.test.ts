/** The api-server contract over the etcd3 backend on a 3-member hakube-store cluster (127.0.1.241-243). */
import { apiServerContract } from './contract.js'
import { etcd3Setup } from './etcd-cluster.js'

apiServerContract('etcd3 over a 3-member hakube-store cluster', () => etcd3Setup('hakube', 240))
