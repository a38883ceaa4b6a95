/**
 * The request contract between the typed resource handles (resource.ts, watch.ts) and the HTTP
 * client that carries their calls (api-client.ts): what a call asks for, the stream a watch reads,
 * and the two methods a handle needs. The handles depend on this contract, not on `ApiClient`, so the
 * client can build handles without the two importing each other.
 */
import type { Readable } from 'node:stream'
import type { TransportError } from './errors.js'

/** Options every call takes. */
export interface CallOptions {
  /** This call's deadline in ms; overrides the client's `requestTimeoutMs`. 0 = none. */
  timeoutMs?: number
  signal?: AbortSignal
}

export type QueryValue = string | number | boolean | undefined
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface RequestOptions extends CallOptions {
  method: HttpMethod
  /** Absolute API path, e.g. `/api/v1/namespaces/default/pods`. */
  path: string
  query?: Record<string, QueryValue>
  /** Sent as is when a string, else JSON-encoded. */
  body?: unknown
  /** Default `application/json` when there is a body. */
  contentType?: string
}

/** An open response stream (a watch), already checked to be 2xx. */
export interface OpenStream {
  body: Readable
  /** Aborts the stream; the body then ends with an error the reader maps to `kind`. */
  abort(kind: 'aborted' | 'closed' | 'timeout', message: string): void
  /** The reason the stream was aborted, if it was. */
  abortReason(): TransportError | undefined
  /** Removes listeners; call once the body is finished. */
  release(): void
}

/** What a resource handle needs from the client that carries its calls; `ApiClient` is one. */
export interface Requester {
  /** One request whose 2xx body is JSON; returns the parsed body. */
  requestJson<R>(options: RequestOptions): Promise<R>
  /** Opens a streaming GET (a watch); resolves once 2xx headers arrive. */
  openStream(options: RequestOptions): Promise<OpenStream>
}
