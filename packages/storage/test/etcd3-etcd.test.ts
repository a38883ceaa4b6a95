/** The etcd3 backend over a real 3-member etcd 3.4 cluster (hosts 127.0.1.171-173). */
import { etcd3Suite } from './etcd3-suite.js'

etcd3Suite('etcd', 170)
