/**
 * Kubernetes `Status` objects and {@link StatusError}, built exactly as k8s.io/apimachinery
 * pkg/api/errors/errors.go (v0.32) builds them, so kubectl prints the same text for hakube as
 * for a real kube-apiserver (`Error from server (NotFound): pods "nginx" not found`).
 *
 * This is the one place errors become wire Statuses; the api-server maps every failure here.
 */
import { aggregateMessage, errorBody, type FieldError } from './validation/field-errors.js'

export type StatusReason =
  | ''
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'ServerTimeout'
  | 'StoreReadError'
  | 'Timeout'
  | 'TooManyRequests'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'Expired'
  | 'ServiceUnavailable'

export interface StatusCause {
  reason?: string
  message?: string
  field?: string
}

export interface StatusDetails {
  name?: string
  group?: string
  kind?: string
  uid?: string
  causes?: StatusCause[]
  retryAfterSeconds?: number
}

/** meta/v1 Status as it goes on the wire. */
export interface Status {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: { resourceVersion?: string; continue?: string }
  status: 'Success' | 'Failure'
  message?: string
  reason?: StatusReason
  details?: StatusDetails
  code: number
}

/** `schema.GroupResource`: `{group: 'apps', resource: 'deployments'}`. */
export interface GroupResource {
  readonly group: string
  readonly resource: string
}
/** `schema.GroupKind`: `{group: 'apps', kind: 'Deployment'}`. */
export interface GroupKind {
  readonly group: string
  readonly kind: string
}

const grString = (gr: GroupResource) => (gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`)
const gkString = (gk: GroupKind) => (gk.group === '' ? gk.kind : `${gk.kind}.${gk.group}`)
/** Go's %q. */
const q = (s: string) => JSON.stringify(s)

/** The optimistic-concurrency text of k8s.io/apiserver registry/generic/registry/store.go. */
export const OPTIMISTIC_LOCK_ERROR_MSG =
  'the object has been modified; please apply your changes to the latest version and try again'

/** An error carrying a Kubernetes Status; `toJSON()` is the wire body, `code` the HTTP status. */
export class StatusError extends Error {
  readonly status: Status

  constructor(status: Omit<Status, 'kind' | 'apiVersion' | 'metadata' | 'status'>) {
    super(status.message ?? '')
    this.name = 'StatusError'
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', ...status }
  }

  get code(): number {
    return this.status.code
  }
  get reason(): StatusReason {
    return this.status.reason ?? ''
  }
  /** `Retry-After` seconds for 429/504/500 ServerTimeout, when set. */
  get retryAfterSeconds(): number | undefined {
    return this.status.details?.retryAfterSeconds
  }
  toJSON(): Status {
    return this.status
  }

  /** Rebuilds a StatusError from a wire body (used by clients); undefined if it is not a Status. */
  static fromStatus(body: unknown): StatusError | undefined {
    if (typeof body !== 'object' || body === null) return undefined
    const b = body as Partial<Status>
    if (b.kind !== 'Status' || b.apiVersion !== 'v1' || typeof b.code !== 'number') return undefined
    const { code, message, reason, details } = b
    const err = new StatusError({
      code,
      ...(message !== undefined && { message }),
      ...(reason && { reason }),
      ...(details && { details }),
    })
    return err
  }
}

export function isStatusError(e: unknown): e is StatusError {
  return e instanceof StatusError
}

/** Go omits a zero retryAfterSeconds (`omitempty`). */
const retryAfter = (seconds: number): StatusDetails => (seconds > 0 ? { retryAfterSeconds: seconds } : {})

function detailsOf(gr: GroupResource, name?: string): StatusDetails {
  return {
    ...(name !== undefined && name !== '' && { name }),
    ...(gr.group !== '' && { group: gr.group }),
    kind: gr.resource,
  }
}

/** 404: `pods "nginx" not found`. */
export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError({
    code: 404,
    reason: 'NotFound',
    message: `${grString(gr)} ${q(name)} not found`,
    details: detailsOf(gr, name),
  })
}

/** 404 for an unknown URL or resource type, as the api-server's NotFound handler answers. */
export function notFoundResource(): StatusError {
  return new StatusError({
    code: 404,
    reason: 'NotFound',
    message: 'the server could not find the requested resource',
    details: {},
  })
}

/** 409: `pods "nginx" already exists`. */
export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError({
    code: 409,
    reason: 'AlreadyExists',
    message: `${grString(gr)} ${q(name)} already exists`,
    details: detailsOf(gr, name),
  })
}

/** 409: `Operation cannot be fulfilled on pods "x": <detail>` (default detail: the optimistic-lock text). */
export function conflict(
  gr: GroupResource,
  name: string,
  detail: string = OPTIMISTIC_LOCK_ERROR_MSG,
): StatusError {
  return new StatusError({
    code: 409,
    reason: 'Conflict',
    message: `Operation cannot be fulfilled on ${grString(gr)} ${q(name)}: ${detail}`,
    details: detailsOf(gr, name),
  })
}

/** 422: `Pod "x" is invalid: spec.containers: Required value`, one cause per field error. */
export function invalid(gk: GroupKind, name: string, errs: readonly FieldError[]): StatusError {
  const agg = aggregateMessage(errs)
  return new StatusError({
    code: 422,
    reason: 'Invalid',
    message:
      agg === '' ? `${gkString(gk)} ${q(name)} is invalid` : `${gkString(gk)} ${q(name)} is invalid: ${agg}`,
    details: {
      ...(name !== '' && { name }),
      ...(gk.group !== '' && { group: gk.group }),
      kind: gk.kind,
      causes: errs.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field })),
    },
  })
}

/** 400 with the given message (malformed body, bad selector, ...). */
export function badRequest(message: string): StatusError {
  return new StatusError({ code: 400, reason: 'BadRequest', message })
}

/**
 * 405 for a method no route of the resource takes (a POST to an object's path, a DELETE of a
 * subresource, a verb the resource lacks): what kube's go-restful container answers through
 * NewGenericServerResponse, with the router's message as the cause.
 */
export function methodNotAllowed(): StatusError {
  return new StatusError({
    code: 405,
    reason: 'MethodNotAllowed',
    message: 'the server does not allow this method on the requested resource',
    details: { causes: [{ reason: 'UnexpectedServerResponse', message: '405: Method Not Allowed' }] },
  })
}

/**
 * 405: `watch is not supported on resources of kind "pods"` (action is the verb as the server names
 * it), kube's NewMethodNotSupported, for `?watch=true` on a resource that cannot be watched.
 */
export function methodNotSupported(gr: GroupResource, action: string): StatusError {
  return new StatusError({
    code: 405,
    reason: 'MethodNotAllowed',
    message: `${action} is not supported on resources of kind ${q(grString(gr))}`,
    details: { ...(gr.group !== '' && { group: gr.group }), kind: gr.resource },
  })
}

/**
 * 415, as k8s.io/apiserver handlers/negotiation answers an unknown request Content-Type:
 * `the body of the request was in an unknown format - accepted media types include: ...`.
 */
export function unsupportedMediaType(accepted: readonly string[]): StatusError {
  return new StatusError({
    code: 415,
    reason: 'UnsupportedMediaType',
    message: `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  })
}

/** 413: `Request entity too large: <message>` (the api-server says `limit is 3145728`). */
export function requestEntityTooLarge(message: string): StatusError {
  return new StatusError({
    code: 413,
    reason: 'RequestEntityTooLarge',
    message: `Request entity too large: ${message}`,
  })
}

/**
 * 429 with `details.retryAfterSeconds` (send the same value as `Retry-After`). The max-inflight
 * filter's text is `Too many requests, please try again later.`.
 */
export function tooManyRequests(
  retryAfterSeconds: number,
  message = 'Too many requests, please try again later.',
): StatusError {
  return new StatusError({
    code: 429,
    reason: 'TooManyRequests',
    message,
    details: retryAfter(retryAfterSeconds),
  })
}

/** 410 Gone with the given message. */
export function gone(message: string): StatusError {
  return new StatusError({ code: 410, reason: 'Gone', message })
}

/**
 * 410 Expired, what a watch or list from a compacted revision gets (reason Expired, as the
 * watch cache and etcd3 store send it): `too old resource version: 5 (100)`.
 */
export function resourceExpired(message: string): StatusError {
  return new StatusError({ code: 410, reason: 'Expired', message })
}

/** `too old resource version: <requested> (<oldest available>)`, the watch cache's text. */
export function tooOldResourceVersion(requested: number | string, oldest: number | string): StatusError {
  return resourceExpired(`too old resource version: ${requested} (${oldest})`)
}

/** 504: `Timeout: <message>` (the timeout filter uses `request did not complete within requested timeout - context deadline exceeded`). */
export function timeout(message: string, retryAfterSeconds = 0): StatusError {
  return new StatusError({
    code: 504,
    reason: 'Timeout',
    message: `Timeout: ${message}`,
    details: retryAfter(retryAfterSeconds),
  })
}

/** 500 ServerTimeout: `The get operation against pods could not be completed at this time, please try again.` */
export function serverTimeout(gr: GroupResource, operation: string, retryAfterSeconds: number): StatusError {
  return new StatusError({
    code: 500,
    reason: 'ServerTimeout',
    message: `The ${operation} operation against ${grString(gr)} could not be completed at this time, please try again.`,
    details: {
      name: operation,
      ...(gr.group !== '' && { group: gr.group }),
      kind: gr.resource,
      ...retryAfter(retryAfterSeconds),
    },
  })
}

/** 503 with the given message. */
export function serviceUnavailable(message: string): StatusError {
  return new StatusError({ code: 503, reason: 'ServiceUnavailable', message })
}

/** 403: `pods "x" is forbidden: <detail>` (`pods is forbidden: ...` without a name). */
export function forbidden(
  gr: GroupResource,
  name: string,
  detail: string,
  causes?: StatusCause[],
): StatusError {
  const what =
    gr.resource === '' && gr.group === ''
      ? 'forbidden'
      : name === ''
        ? `${grString(gr)} is forbidden`
        : `${grString(gr)} ${q(name)} is forbidden`
  return new StatusError({
    code: 403,
    reason: 'Forbidden',
    message: `${what}: ${detail}`,
    details: { ...detailsOf(gr, name), ...(causes && { causes }) },
  })
}

/**
 * 403 for creating in a Terminating namespace (NamespaceLifecycle admission):
 * `pods "x" is forbidden: unable to create new content in namespace ns because it is being terminated`.
 */
export function namespaceTerminating(gr: GroupResource, name: string, namespace: string): StatusError {
  const msg = `unable to create new content in namespace ${namespace} because it is being terminated`
  return forbidden(gr, name, msg, [
    { reason: 'NamespaceTerminating', message: msg, field: 'metadata.namespace' },
  ])
}

/** 500: `Internal error occurred: <message>`. */
export function internalError(message: string): StatusError {
  return new StatusError({
    code: 500,
    reason: 'InternalError',
    message: `Internal error occurred: ${message}`,
    details: { causes: [{ message }] },
  })
}

/** A `status: Success` body, as DELETE of some resources and deletecollection return. */
export function success(details?: StatusDetails): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    ...(details && { details }),
    code: 200,
  }
}
