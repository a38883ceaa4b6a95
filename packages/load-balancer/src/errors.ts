/**
 * hakube-lb's errors, with stable codes, and the one place they become Kubernetes `Status` bodies
 * on the wire (the balancer answers in the api-server's own error format, so kubectl prints
 * `Error from server (ServiceUnavailable): no healthy api-server behind the load balancer`).
 */
import type { Status, StatusReason } from '@hakube/api'

/**
 * Stable codes of the balancer's own failures, carried in log lines (`code`) next to the Status the
 * client got; a backend's own error answers pass through untouched and have none.
 */
export type LbErrorCode =
  /** No backend up: 503. */
  | 'LB_ERR_NO_HEALTHY_BACKEND'
  /** The backend failed a request that could not be replayed, or every backend tried failed: 502. */
  | 'LB_ERR_BACKEND_FAILED'

/** The message kubectl shows when every backend is down. */
export const NO_HEALTHY_BACKEND_MESSAGE = 'no healthy api-server behind the load balancer'

/**
 * A Failure Status as k8s.io/apimachinery builds them (kind, apiVersion, empty metadata). Built here
 * rather than with @hakube/api's StatusError so the binary loads only the api package's flag helpers'
 * module graph at start-up; the type keeps it the same shape.
 */
export function failureStatus(code: number, reason: StatusReason, message: string): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }
}

/** 503: no backend is up. Retry-After 1 s tells clients the condition is short-lived. */
export function noHealthyBackendStatus(): Status {
  return {
    ...failureStatus(503, 'ServiceUnavailable', NO_HEALTHY_BACKEND_MESSAGE),
    details: { retryAfterSeconds: 1 },
  }
}

/**
 * 502: the backend failed a request the balancer may not replay (it may have reached the backend), or
 * every retry failed. The message names the backend and the cause so an operator can tell a dead
 * api-server from a hung one.
 */
export function backendFailedStatus(backend: string, cause: string, replayable: boolean): Status {
  const what = replayable
    ? `the api-server at ${backend} failed (${cause}) and no other api-server could take the request`
    : `the api-server at ${backend} failed (${cause}) while handling the request; it was not retried because it is not idempotent and may have been applied`
  // Go's StatusReason has no BadGateway; kube's proxy answers 502 with an empty reason and
  // InternalError is the nearest documented one, so the code (502) carries the meaning.
  return failureStatus(502, 'InternalError', what)
}
