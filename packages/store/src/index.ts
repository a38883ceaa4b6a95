/**
 * @hakube/store — hakube-store, the etcd-compatible, Raft-replicated key-value store.
 *
 * Built in layers (see issue 3): the MVCC key space and watch hub (`@hakube/store/mvcc`, pure and
 * also used in-process by the api-server's memory backend), the write-ahead log and snapshot files
 * (`src/wal`), then the Raft-driven server, peer transport, etcd v3 gRPC API and JSON gateway.
 *
 * Guarantees and non-guarantees are stated per layer in its own entry module.
 */

// etcd 3.4 flags, ETCD_* variables and config file (precedence: src/config/parse.ts).
export type { StoreConfig, StoreFlagsResult } from './config/index.js'
export { parseStoreFlags, storeHelpText, storeVersionText } from './config/index.js'

// Client URL: etcd v3 gRPC services + JSON gateway on one port (src/grpc/client-server.ts).
export {
  type ClientServer,
  type ClientServerOptions,
  startClientServer,
} from './grpc/client-server.js'

// Peer transport: Raft messages between members over HTTP (guarantees: src/peer/http-transport.ts).
export type { HttpTransportOptions } from './peer/http-transport.js'
export { HTTP_TRANSPORT_DEFAULTS, HttpTransport } from './peer/http-transport.js'
export {
  decodeMessage,
  decodeMessages,
  encodeMessage,
  encodeMessages,
  estimateMessageBytes,
  PEER_CODEC_VERSION,
  PeerCodecError,
} from './peer/message-codec.js'
export type { PeerBenchOptions, PeerBenchResult } from './peer/peer-bench.js'
export { benchPeerTransport } from './peer/peer-bench.js'
export type { PeerErrorCode, PeerLogger } from './peer/peer-protocol.js'
export { PeerTransportError } from './peer/peer-protocol.js'
export type { PeerSenderStats } from './peer/peer-sender.js'

// Raft-replicated server core (guarantees: src/server/store-server.ts). Test doubles (LocalBackend,
// MemoryNetwork) are in `@hakube/store/testing`.
export type { StoreLogger, StoreServerOptions } from './server/index.js'
export { deriveClusterId, deriveMemberId, SERVER_VERSION, StoreServer } from './server/index.js'

// Write-ahead log and snapshot files (guarantees: src/wal/wal.ts).
export type { SegmentName, SnapName, WalIo, WalOptions, WalReplay, WalStats } from './wal/index.js'
export {
  BATCH_BYTES_MAX_DEFAULT,
  decodeSnapshotFile,
  defaultWalIo,
  encodeSnapshotFile,
  isWalError,
  listSegments,
  listSnapFiles,
  loadIntoStorage,
  parseSegmentName,
  parseSnapName,
  readSnapshotFile,
  SEGMENT_SIZE_BYTES_DEFAULT,
  SNAPSHOTS_TO_KEEP_DEFAULT,
  segmentFileName,
  snapDir,
  snapFileName,
  Wal,
  WalError,
  WalErrorCode,
  walDir,
  writeSnapshotFile,
} from './wal/index.js'
