/**
 * Errors of hakube-store, one table: stable code → etcd's exact message and the gRPC status code etcd
 * uses for it (etcd-io/etcd v3.4 `etcdserver/api/v3rpc/rpctypes/error.go`, `mvcc/kvstore.go`). The gRPC
 * and JSON-gateway edges map a {@link StoreError} to the wire through {@link STORE_ERRORS} only.
 */

/** gRPC status codes (google.golang.org/grpc/codes) used by the errors below. */
export const GrpcCode = {
  InvalidArgument: 3,
  NotFound: 5,
  FailedPrecondition: 9,
  OutOfRange: 11,
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
