/**
 * Errors of hakube-store, one table: stable code → etcd's exact message and the gRPC status code etcd
 * uses for it (etcd-io/etcd v3.4 `etcdserver/api/v3rpc/rpctypes/error.go`, `mvcc/kvstore.go`). The gRPC
 * and JSON-gateway edges map a {@link StoreError} to the wire through {@link STORE_ERRORS} only.
 */

/** gRPC status codes (google.golang.org/grpc/codes) used by the errors below. */
export const GrpcCode = {
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
} as const
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode]

export const STORE_ERRORS = {
  // On the wire etcd prefixes mvcc's own texts ("mvcc: required revision ...") with "etcdserver: ".
  MVCC_ERR_COMPACTED: {
    grpcCode: GrpcCode.OutOfRange,
    message: 'etcdserver: mvcc: required revision has been compacted',
  },
  MVCC_ERR_FUTURE_REV: {
    grpcCode: GrpcCode.OutOfRange,
    message: 'etcdserver: mvcc: required revision is a future revision',
  },
  /** etcd 3.4 reports this as a canceled WatchCreate response rather than a status; code is ours. */
  MVCC_ERR_WATCH_ID_EXISTS: {
    grpcCode: GrpcCode.InvalidArgument,
    message: 'mvcc: duplicate watch ID provided on the WatchStream',
  },
  /** Also a canceled WatchCreate response in etcd 3.4 (key >= range end); code is ours. */
  MVCC_ERR_EMPTY_WATCHER_RANGE: {
    grpcCode: GrpcCode.InvalidArgument,
    message: 'mvcc: watcher range is empty',
  },
  MVCC_ERR_CORRUPT_SNAPSHOT: { grpcCode: GrpcCode.DataLoss, message: 'mvcc: corrupt state image' },
  STORE_ERR_EMPTY_KEY: { grpcCode: GrpcCode.InvalidArgument, message: 'etcdserver: key is not provided' },
  STORE_ERR_KEY_NOT_FOUND: { grpcCode: GrpcCode.InvalidArgument, message: 'etcdserver: key not found' },
  STORE_ERR_VALUE_PROVIDED: { grpcCode: GrpcCode.InvalidArgument, message: 'etcdserver: value is provided' },
  STORE_ERR_LEASE_PROVIDED: { grpcCode: GrpcCode.InvalidArgument, message: 'etcdserver: lease is provided' },
  STORE_ERR_TOO_MANY_OPS: {
    grpcCode: GrpcCode.InvalidArgument,
    message: 'etcdserver: too many operations in txn request',
  },
  STORE_ERR_DUPLICATE_KEY: {
    grpcCode: GrpcCode.InvalidArgument,
    message: 'etcdserver: duplicate key given in txn request',
  },
  STORE_ERR_REQUEST_TOO_LARGE: {
    grpcCode: GrpcCode.InvalidArgument,
    message: 'etcdserver: request is too large',
  },
  STORE_ERR_LEASE_NOT_FOUND: {
    grpcCode: GrpcCode.NotFound,
    message: 'etcdserver: requested lease not found',
  },
  // Server, lease and cluster errors (etcd 3.4 rpctypes/error.go).
  STORE_ERR_NO_SPACE: {
    grpcCode: GrpcCode.ResourceExhausted,
    message: 'etcdserver: mvcc: database space exceeded',
  },
  STORE_ERR_LEASE_EXISTS: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: lease already exists',
  },
  STORE_ERR_LEASE_TTL_TOO_LARGE: {
    grpcCode: GrpcCode.OutOfRange,
    message: 'etcdserver: too large lease TTL',
  },
  STORE_ERR_MEMBER_EXISTS: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: member ID already exist',
  },
  STORE_ERR_PEER_URL_EXISTS: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: Peer URLs already exists',
  },
  STORE_ERR_MEMBER_NOT_ENOUGH_STARTED: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: re-configuration failed due to not enough started members',
  },
  STORE_ERR_MEMBER_BAD_URLS: {
    grpcCode: GrpcCode.InvalidArgument,
    message: 'etcdserver: given member URLs are invalid',
  },
  STORE_ERR_MEMBER_NOT_FOUND: { grpcCode: GrpcCode.NotFound, message: 'etcdserver: member not found' },
  STORE_ERR_MEMBER_NOT_LEARNER: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: can only promote a learner member',
  },
  STORE_ERR_LEARNER_NOT_READY: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  STORE_ERR_TOO_MANY_LEARNERS: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: too many learner members in cluster',
  },
  STORE_ERR_TOO_MANY_REQUESTS: {
    grpcCode: GrpcCode.ResourceExhausted,
    message: 'etcdserver: too many requests',
  },
  STORE_ERR_NO_LEADER: { grpcCode: GrpcCode.Unavailable, message: 'etcdserver: no leader' },
  STORE_ERR_NOT_LEADER: { grpcCode: GrpcCode.FailedPrecondition, message: 'etcdserver: not leader' },
  STORE_ERR_LEADER_CHANGED: { grpcCode: GrpcCode.Unavailable, message: 'etcdserver: leader changed' },
  STORE_ERR_NOT_CAPABLE: { grpcCode: GrpcCode.Unavailable, message: 'etcdserver: not capable' },
  STORE_ERR_STOPPED: { grpcCode: GrpcCode.Unavailable, message: 'etcdserver: server stopped' },
  STORE_ERR_TIMEOUT: { grpcCode: GrpcCode.Unavailable, message: 'etcdserver: request timed out' },
  /** The client cancelled or its deadline passed before the request was proposed (rpctypes.ErrGRPCCanceled). */
  STORE_ERR_CANCELED: { grpcCode: GrpcCode.Canceled, message: 'etcdserver: request canceled' },
  STORE_ERR_TIMEOUT_LEADER_FAIL: {
    grpcCode: GrpcCode.Unavailable,
    message: 'etcdserver: request timed out, possibly due to previous leader failure',
  },
  STORE_ERR_TIMEOUT_CONNECTION_LOST: {
    grpcCode: GrpcCode.Unavailable,
    message: 'etcdserver: request timed out, possibly due to connection lost',
  },
  STORE_ERR_UNHEALTHY: { grpcCode: GrpcCode.Unavailable, message: 'etcdserver: unhealthy cluster' },
  STORE_ERR_CORRUPT: { grpcCode: GrpcCode.DataLoss, message: 'etcdserver: corrupt cluster' },
  STORE_ERR_NOT_SUPPORTED_FOR_LEARNER: {
    grpcCode: GrpcCode.Unavailable,
    message: 'etcdserver: rpc not supported for learner',
  },
  // The auth store (etcd 3.4 auth/store.go); hakube-store's is always empty and disabled.
  STORE_ERR_AUTH_NOT_ENABLED: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: authentication is not enabled',
  },
  STORE_ERR_ROOT_USER_NOT_EXIST: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: root user does not exist',
  },
  STORE_ERR_USER_EMPTY: { grpcCode: GrpcCode.InvalidArgument, message: 'etcdserver: user name is empty' },
  STORE_ERR_USER_NOT_FOUND: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: user name not found',
  },
  STORE_ERR_ROLE_EMPTY: { grpcCode: GrpcCode.InvalidArgument, message: 'etcdserver: role name is empty' },
  STORE_ERR_ROLE_NOT_FOUND: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: role name not found',
  },
  STORE_ERR_BAD_LEADER_TRANSFEREE: {
    grpcCode: GrpcCode.FailedPrecondition,
    message: 'etcdserver: bad leader transferee',
  },
} as const satisfies Record<string, { grpcCode: GrpcCode; message: string }>

export type StoreErrorCode = keyof typeof STORE_ERRORS

/** An expected, typed failure of a store request; `message` is etcd's wire message. */
export class StoreError extends Error {
  readonly code: StoreErrorCode
  readonly grpcCode: GrpcCode

  constructor(code: StoreErrorCode, detail?: string) {
    const entry = STORE_ERRORS[code]
    super(detail === undefined ? entry.message : `${entry.message}: ${detail}`)
    this.name = 'StoreError'
    this.code = code
    this.grpcCode = entry.grpcCode
  }
}
