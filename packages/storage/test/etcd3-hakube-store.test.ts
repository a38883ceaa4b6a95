/** The etcd3 backend over a 3-member hakube-store process cluster (hosts 127.0.1.161-163). */
import { etcd3Suite } from './etcd3-suite.js'

etcd3Suite('hakube-store', 160)
