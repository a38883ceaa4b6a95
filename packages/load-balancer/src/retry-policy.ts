/**
 * Whether a failed proxied request may go to another backend, pure. The rule keeps the promise
 * clients rely on: a request is replayed only when replaying cannot apply it twice.
 *
 * - The connection could not be made (refused, unreachable, connect timeout): the backend never saw
 *   the request, so any request is retried, provided its body can be sent again.
 * - It failed after the request may have reached the backend but before any response byte reached
 *   the client: only idempotent methods (GET, HEAD, OPTIONS; a watch opens with GET) are retried
 *   (RFC 9110 §9.2.2; Go's net/http transport replays on the same condition).
 * - Once the response has started, nothing is retried: the client already holds part of an answer.
 */

export type FailureStage = 'connect' | 'sent'

export interface FailedAttempt {
  readonly method: string
  readonly stage: FailureStage
  /** Response headers already went to the client. */
  readonly responseStarted: boolean
  /** The request body is held whole (or empty), so it can be sent again. */
  readonly bodyReplayable: boolean
  /** Attempts made so far, including the failed one. */
  readonly attempts: number
  readonly maxAttempts: number
}

export type RetryDecision =
  | { readonly action: 'retry' }
  /** Answer the client with a Status; `replayable` says whether the request was safe to replay. */
  | { readonly action: 'fail'; readonly replayable: boolean }
  /** Cut the client's connection: the response has started and cannot be turned into a Status. */
  | { readonly action: 'abort' }

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS'])

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase())
}

export function decideRetry(a: FailedAttempt): RetryDecision {
  if (a.responseStarted) return { action: 'abort' }
  const replayable = a.bodyReplayable && (a.stage === 'connect' || isIdempotent(a.method))
  if (!replayable) return { action: 'fail', replayable: false }
  if (a.attempts >= a.maxAttempts) return { action: 'fail', replayable: true }
  return { action: 'retry' }
}
