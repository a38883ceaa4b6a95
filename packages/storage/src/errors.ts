/**
 * Errors of @hakube/storage, one table: stable code → what it means to the api-server (which maps each
 * to a Kubernetes `Status` in one place: NotFound 404, AlreadyExists 409, Conflict 409, TooOld 410
 * Gone, Timeout 504, Unavailable 503, InvalidObject 500). Every storage operation either resolves or
 * rejects with a {@link StorageError}; anything else thrown is a bug.
 */

export const STORAGE_ERRORS = {
  /** The key does not exist (get, update, delete). */
  NotFound: 'storage: key not found',
  /** create() of a key that exists. */
  AlreadyExists: 'storage: key already exists',
  /** The key's mod revision is not the expected one (optimistic concurrency failed). */
  Conflict: 'storage: the object has been modified (mod revision mismatch)',
  /** The requested revision was compacted (read at a revision, continue token, watch replay). */
  TooOld: 'storage: required revision has been compacted',
  /** The operation's deadline passed; for a write, its outcome is unknown. */
  Timeout: 'storage: request timed out',
  /** No store endpoint could serve the request (unreachable, no leader, closed). */
  Unavailable: 'storage: store unavailable',
  /** A stored value is not JSON, a value cannot be serialized, or an argument is malformed. */
  InvalidObject: 'storage: invalid object',
} as const

export type StorageErrorCode = keyof typeof STORAGE_ERRORS

export interface StorageErrorDetails {
  /** The key the operation was about, if any. */
  key?: string
  /**
   * The relevant revision: for Conflict the key's current mod revision (0 if it is gone), for TooOld
   * the compacted revision, for NotFound/AlreadyExists the store revision the check was made at.
   */
  revision?: number
  /** Free-form detail (the underlying gRPC status, the endpoint, ...). */
  detail?: string
  /** For a write that failed with Timeout or Unavailable: whether it may have been applied anyway. */
  outcomeUnknown?: boolean
  /** An Unavailable that ends one watch whose client could not keep up (the watch cache's); watch again. */
  slowWatcher?: boolean
  cause?: unknown
}

export class StorageError extends Error {
  readonly code: StorageErrorCode
  readonly key: string | undefined
  readonly revision: number | undefined
  readonly outcomeUnknown: boolean
  /** See {@link StorageErrorDetails.slowWatcher}. */
  readonly slowWatcher: boolean

  constructor(code: StorageErrorCode, details: StorageErrorDetails = {}) {
    const parts: string[] = [STORAGE_ERRORS[code]]
    if (details.key !== undefined) parts.push(`key ${JSON.stringify(details.key)}`)
    if (details.revision !== undefined) parts.push(`revision ${details.revision}`)
    if (details.detail !== undefined) parts.push(details.detail)
    super(parts.join(': '), details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'StorageError'
    this.code = code
    this.key = details.key
    this.revision = details.revision
    this.outcomeUnknown = details.outcomeUnknown === true
    this.slowWatcher = details.slowWatcher === true
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code)
}
