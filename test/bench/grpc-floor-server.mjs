// A grpc-js server on hakube's etcd v3 protos whose KV.Put and KV.Range answer at once: no Raft, no
// disk, no peers. The store benchmark runs it as a separate process to measure what grpc-js itself
// costs per request on this machine (the floor under any store built on it). Usage:
// node grpc-floor-server.mjs <host:port>; prints "listening" once bound; SIGTERM/SIGKILL stop it.
import { loadPackageDefinition, Server, ServerCredentials } from '@grpc/grpc-js'
import { loadEtcdProto } from '../../packages/store/dist/grpc/proto.js'

const pb = loadPackageDefinition(loadEtcdProto().packageDefinition).etcdserverpb
const header = { cluster_id: '1', member_id: '1', revision: '1', raft_term: '1' }
const server = new Server()
server.addService(pb.KV.service, {
  Put: (_call, cb) => cb(null, { header }),
  Range: (_call, cb) => cb(null, { header, kvs: [], count: '0' }),
})
server.bindAsync(process.argv[2], ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(err.message)
    process.exit(1)
  }
  console.log('listening')
})
process.on('SIGTERM', () => server.forceShutdown())
