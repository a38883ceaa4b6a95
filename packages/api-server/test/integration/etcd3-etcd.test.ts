/** The api-server contract over the etcd3 backend on a 3-member real etcd 3.4 cluster (127.0.1.244-246). */
import { apiServerContract } from './contract.js'
import { etcd3Setup } from './etcd-cluster.js'

apiServerContract('etcd3 over a 3-member etcd 3.4 cluster', () => etcd3Setup('etcd', 243))
