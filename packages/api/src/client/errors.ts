/**
 * Errors of the client, in two families a caller can tell apart with `instanceof`:
 *
 * - `ApiError`: the api-server answered with a non-2xx status (or a watch stream carried an ERROR
 *   event). It carries the Kubernetes `Status` (code, reason, message, details, retryAfterSeconds).
 *   When the body was not a Status, one is synthesised from the HTTP code the way client-go's
 *   `NewGenericServerResponse` does, so `reason` is always set.
 * - `TransportError`: no usable answer: the call's timeout passed, the caller aborted, the
 *   connection failed or broke, the body was not what the protocol says, or the client was closed.
 *   `kind` says which. Whether the server applied a write that failed this way is unknown.
 *
 * Retries are the client's (api-client.ts): an answer with Retry-After is sent again a few times
 * before its ApiError reaches the caller.
 */
import type { StatusBody, StatusDetails } from './types.js'
import { isStatus } from './types.js'

/** Stable codes of transport failures. */
export type TransportErrorKind =
  /** The call's own timeout (`timeoutMs`) passed. */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** Connecting failed (refused, reset, DNS, TLS) or the socket broke mid-call. */
  | 'connection'
  /** The server answered something the protocol does not allow (bad JSON, a bad watch event). */
  | 'protocol'
  /** The ApiClient was closed. */
  | 'closed'

const transportCodes: Record<TransportErrorKind, string> = {
  timeout: 'API_ERR_TIMEOUT',
  aborted: 'API_ERR_ABORTED',
  connection: 'API_ERR_CONNECTION',
  protocol: 'API_ERR_PROTOCOL',
  closed: 'API_ERR_CLIENT_CLOSED',
}

/** A call that got no usable answer. `cause` holds the underlying (undici, JSON) error if any. */
export class TransportError extends Error {
  override readonly name = 'TransportError'
  readonly kind: TransportErrorKind
  /** `API_ERR_TIMEOUT`, `API_ERR_ABORTED`, `API_ERR_CONNECTION`, `API_ERR_PROTOCOL`, `API_ERR_CLIENT_CLOSED`. */
  readonly code: string

  constructor(kind: TransportErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.kind = kind
    this.code = transportCodes[kind]
  }
}

/** The api-server's answer was an error `Status`. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  /** HTTP status code (`Status.code`). */
  readonly code: number
  /** `Status.reason`: NotFound, AlreadyExists, Conflict, Invalid, Expired, Gone, TooManyRequests, ... */
  readonly reason: string
  readonly details: StatusDetails | undefined
  /** From `details.retryAfterSeconds`, else the `Retry-After` header (seconds form). */
  readonly retryAfterSeconds: number | undefined
  /** The Status body as received (or as synthesised when the body was not a Status). */
  readonly status: StatusBody

  constructor(status: StatusBody, retryAfterHeaderSeconds?: number) {
    super(status.message ?? `${status.reason ?? 'Unknown'} (${status.code ?? 0})`)
    this.status = status
    this.code = status.code ?? 0
    this.reason = status.reason ?? reasonForCode(this.code)
    this.details = status.details
    this.retryAfterSeconds = status.details?.retryAfterSeconds ?? retryAfterHeaderSeconds
  }
}

/** client-go's reasons for bare HTTP codes (`apimachinery/pkg/api/errors` NewGenericServerResponse). */
export function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest'
    case 401:
      return 'Unauthorized'
    case 403:
      return 'Forbidden'
    case 404:
      return 'NotFound'
    case 405:
      return 'MethodNotAllowed'
    case 406:
      return 'NotAcceptable'
    case 409:
      return 'Conflict'
    case 410:
      return 'Gone'
    case 413:
      return 'RequestEntityTooLarge'
    case 415:
      return 'UnsupportedMediaType'
    case 422:
      return 'Invalid'
    case 429:
      return 'TooManyRequests'
    case 500:
      return 'InternalError'
    case 503:
      return 'ServiceUnavailable'
    case 504:
      return 'Timeout'
    default:
      return code >= 500 ? 'InternalError' : 'Unknown'
  }
}

/**
 * Builds the ApiError for a non-2xx answer. `bodyText` is the raw body; a Status in it wins, and
 * its code is trusted over the HTTP one only when it is set.
 */
export function apiErrorFromResponse(
  statusCode: number,
  bodyText: string,
  retryAfterHeader: string | undefined,
): ApiError {
  let parsed: unknown
  try {
    parsed = bodyText === '' ? undefined : JSON.parse(bodyText)
  } catch {
    parsed = undefined
  }
  const retryAfter = parseRetryAfter(retryAfterHeader)
  if (isStatus(parsed)) {
    return new ApiError({ ...parsed, code: parsed.code ?? statusCode }, retryAfter)
  }
  const trimmed = bodyText.trim().slice(0, 512)
  return new ApiError(
    {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: statusCode,
      reason: reasonForCode(statusCode),
      message: trimmed === '' ? `the server responded with HTTP ${statusCode}` : trimmed,
    },
    retryAfter,
  )
}

/** Seconds from a `Retry-After` header; HTTP-date values are ignored (the api-server sends seconds). */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number.parseInt(value, 10)
  return Number.isFinite(n) && n >= 0 ? n : undefined
}

function isApiErrorWith(err: unknown, code: number, reasons?: readonly string[]): boolean {
  if (!(err instanceof ApiError)) return false
  if (reasons?.includes(err.reason)) return true
  return err.code === code
}

/** 404 NotFound. */
export const isNotFound = (err: unknown): boolean => isApiErrorWith(err, 404, ['NotFound'])
/** 409 AlreadyExists (a create of an existing name). */
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof ApiError && err.reason === 'AlreadyExists'
/** 409 Conflict (a stale resourceVersion or failed precondition), not AlreadyExists. */
export const isConflict = (err: unknown): boolean =>
  err instanceof ApiError && err.code === 409 && err.reason !== 'AlreadyExists'
/** 410 Gone / Expired: the requested resourceVersion (or continue token) is too old. */
export const isGone = (err: unknown): boolean => isApiErrorWith(err, 410, ['Expired', 'Gone'])
/** 429 TooManyRequests. */
export const isTooManyRequests = (err: unknown): boolean => isApiErrorWith(err, 429, ['TooManyRequests'])
/** The call's timeout passed (client side), or the server answered 504 Timeout. */
export const isTimeout = (err: unknown): boolean =>
  (err instanceof TransportError && err.kind === 'timeout') || isApiErrorWith(err, 504, ['Timeout'])

const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])
const closedCodes = new Set(['UND_ERR_DESTROYED', 'UND_ERR_CLOSED'])

/**
 * Maps whatever a call threw onto ApiError / TransportError. `abortReason` (the call's
 * AbortSignal reason, if it fired) wins: undici reports an abort as whatever error it saw.
 */
export function mapError(err: unknown, abortReason?: unknown): Error {
  if (abortReason instanceof TransportError) return abortReason
  if (err instanceof ApiError || err instanceof TransportError) return err
  const code = (err as { code?: unknown } | null)?.code
  const message = err instanceof Error ? err.message : String(err)
  if (typeof code === 'string' && timeoutCodes.has(code)) {
    return new TransportError('timeout', message, { cause: err })
  }
  if (typeof code === 'string' && closedCodes.has(code)) {
    return new TransportError('closed', message, { cause: err })
  }
  return new TransportError('connection', message, { cause: err })
}
