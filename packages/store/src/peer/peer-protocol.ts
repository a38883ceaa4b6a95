/**
 * What the two ends of the peer transport agree on besides the frame format (message-codec.ts): paths,
 * headers, status codes, the logger shape and the transport's errors.
 *
 * Learned from etcd's rafthttp (server/etcdserver/api/rafthttp/http.go, util.go): every peer request
 * carries the sender's cluster id and member id in headers, and the receiver refuses a request from
 * another cluster with 412 Precondition Failed (and logs it) before reading the body, and a request from
 * a removed member with 403 Forbidden. As etcd, messages travel on long-lived streams (a member GETs
 * {@link PEER_PATH_STREAM} from each peer and the peer writes its messages for it into the response;
 * peer-stream.ts) and, while no stream is up, as POSTed batches ({@link PEER_PATH_MESSAGES}, etcd's
 * "pipeline"); snapshots go on their own route and connection ({@link PEER_PATH_SNAPSHOT}, etcd's
 * snapshot_sender.go does the same), and request/response calls to {@link PEER_PATH_CALL}.
 */

export const PEER_PATH_MESSAGES = '/raft/messages'
/** GET: the peer answers with an endless body of the messages it has for the requester. */
export const PEER_PATH_STREAM = '/raft/stream'
export const PEER_PATH_SNAPSHOT = '/raft/snapshot'
/**
 * GET, no cluster-id check: the cluster id and members, for a member joining with
 * `--initial-cluster-state existing` (etcd's GetClusterFromRemotePeers asks peers' /members).
 */
export const PEER_PATH_CLUSTER = '/raft/cluster'
/** Followed by the URI-encoded method name. */
export const PEER_PATH_CALL = '/raft/call/'

/** The sender's cluster id (decimal). etcd: X-Etcd-Cluster-ID. */
export const HEADER_CLUSTER_ID = 'x-hakube-cluster-id'
/** The sender's member id (decimal). etcd: X-Server-From. */
export const HEADER_FROM = 'x-hakube-from'
/** The member the sender believes it is talking to (decimal). etcd: X-Raft-To. */
export const HEADER_TO = 'x-hakube-to'

export const CONTENT_TYPE = 'application/octet-stream'

/** How a member answers a request from a member that was removed from the cluster. */
export const REMOVED_STATUS = 403
export const REMOVED_BODY = 'removed member'

/** The pino-compatible subset the transport logs through (pass `log.child({ component: 'peer' })`). */
export interface PeerLogger {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export type PeerErrorCode =
  /** The peer could not be reached (connection refused or reset, no URL, body rejected). */
  | 'PEER_ERR_UNREACHABLE'
  /** A call got no answer within its timeout. */
  | 'PEER_ERR_TIMEOUT'
  /** The transport was closed, or the peer removed, while the request was pending. */
  | 'PEER_ERR_CLOSED'
  /** The peer refused the request: another cluster (412), removed member (403), unknown peer. */
  | 'PEER_ERR_REJECTED'
  /** The peer's handler failed or does not exist (the peer's message is included). */
  | 'PEER_ERR_REMOTE'

/** Rejections of {@link RaftTransport.call} and the reasons the sender logs for failed sends. */
export class PeerTransportError extends Error {
  override name = 'PeerTransportError'
  constructor(
    readonly code: PeerErrorCode,
    message: string,
    readonly statusCode?: number,
  ) {
    super(message)
  }
}

/** Parses a decimal id header; undefined unless it is a non-negative safe integer. */
export function parseIdHeader(v: string | string[] | undefined): number | undefined {
  if (typeof v !== 'string' || !/^\d{1,16}$/.test(v)) return undefined
  const n = Number(v)
  return Number.isSafeInteger(n) ? n : undefined
}
