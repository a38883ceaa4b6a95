/**
 * The one place storage failures become Kubernetes Statuses (k8s.io/apiserver
 * pkg/storage/errors/storage.go interprets etcd3 errors the same way): NotFound 404, AlreadyExists 409,
 * Conflict 409 (the optimistic-lock text), TooOld 410 Expired, Timeout 504, Unavailable 503,
 * InvalidObject 500. StatusErrors pass through; anything else is rethrown for the server's handler.
 */
import { type GroupResource, isStatusError, type StatusError, statusErrors } from '@hakube/api'
import { isStorageError } from '@hakube/storage'

export function toStatus(err: unknown, gr: GroupResource, name: string): StatusError {
  if (isStatusError(err)) return err
  if (!isStorageError(err)) throw err
  switch (err.code) {
    case 'NotFound':
      return statusErrors.notFound(gr, name)
    case 'AlreadyExists':
      return statusErrors.alreadyExists(gr, name)
    case 'Conflict':
      return statusErrors.conflict(gr, name)
    case 'TooOld':
      return statusErrors.resourceExpired(
        `The resourceVersion for the provided list is too old${err.revision === undefined ? '' : ` (compacted to ${err.revision})`}.`,
      )
    case 'Timeout':
      return statusErrors.timeout(
        'request did not complete within requested timeout - context deadline exceeded',
      )
    case 'Unavailable':
      return statusErrors.serviceUnavailable(`the storage is unavailable: ${err.message}`)
    case 'InvalidObject':
      return statusErrors.internalError(err.message)
  }
}

/** Runs a storage call, turning its failure into the Status for `gr`/`name`. */
export async function storageCall<T>(gr: GroupResource, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw toStatus(err, gr, name)
  }
}
