/**
 * `ApiClient`: HTTP(S) to one api-server endpoint (or a load balancer in front of several) over an
 * undici keep-alive Pool, with a deadline on every call.
 *
 * Guarantees:
 * - Every call ends within its timeout (`timeoutMs` per call, else the client's `requestTimeoutMs`),
 *   counting connect, headers and the whole body, with `TransportError` kind `timeout`. Leader
 *   election passes a timeout below its renew deadline so a hung renew cannot outlive it.
 *   For streams (watch) the timeout covers only the wait for response headers.
 * - A caller's AbortSignal ends the call at once with kind `aborted`; `close()` ends every call
 *   and stream with kind `closed` and destroys the sockets.
 * - Non-2xx answers throw `ApiError` with the server's Status (see errors.ts). As client-go's
 *   request does, a 429 or 5xx answer with `Retry-After` (a request the server turned away before
 *   processing it: too many in flight, shutting down) is sent again after that many seconds, up to
 *   `maxRetries` times within the call's deadline; then its ApiError is thrown.
 * Non-guarantees: no other retries, no redirects, no request body compression; a write that failed
 * with a TransportError may or may not have been applied.
 */

import { setMaxListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'
import { type ApiError, apiErrorFromResponse, mapError, TransportError } from './errors.js'
import type { OpenStream, QueryValue, Requester, RequestOptions } from './request.js'
import { type ResourceClient, ResourceClientImpl, type ResourceType } from './resource.js'
import type { KubeObject } from './types.js'

/** TLS settings for https base URLs. */
export interface TlsOptions {
  /** PEM CA bundle to trust instead of the system roots. */
  ca?: string | Buffer
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: string | Buffer
  key?: string | Buffer
  /** Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`). */
  insecureSkipTlsVerify?: boolean
  /** SNI / verification name when it differs from the URL host. */
  serverName?: string
}

export interface ApiClientOptions {
  /** `http://host:port` or `https://host:port`, optionally with a path prefix. */
  baseUrl: string
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string
  tls?: TlsOptions
  /** Default deadline of every call in ms. Default 30 000 (kubectl uses 32 s for discovery). 0 = none. */
  requestTimeoutMs?: number
  /** Most sockets to the endpoint; each open watch holds one. Default: no limit (undici's default). */
  connectionsMax?: number
  /** Idle keep-alive time of a pooled socket. Default 4 000 ms (below node's 5 s server default). */
  keepAliveTimeoutMs?: number
  /** `User-Agent` header. Default `hakube-api-client`. */
  userAgent?: string
  /** Retries of an answer with `Retry-After` (429, 5xx). Default 10 (client-go's). 0 = none. */
  maxRetries?: number
}

const requestTimeoutMsDefault = 30_000
const maxRetriesDefault = 10

/** How long to wait before sending again a request answered `status` (undefined: do not). */
function retryAfterMs(err: ApiError, attempt: number, maxRetries: number): number | undefined {
  if (attempt >= maxRetries || err.retryAfterSeconds === undefined) return undefined
  if (err.code !== 429 && (err.code < 500 || err.code > 599)) return undefined
  return Math.max(0, err.retryAfterSeconds) * 1000
}

/** Signals the client listens on (a caller may share one over many concurrent calls). */
const unlimited = new WeakSet<AbortSignal>()

interface Call {
  controller: AbortController
  clearDeadline(): void
  release(): void
}

export class ApiClient implements Requester {
  private readonly pool: Pool
  private readonly basePath: string
  private readonly headers: Record<string, string>
  private readonly requestTimeoutMs: number
  private readonly maxRetries: number
  private readonly active = new Set<AbortController>()
  private closed = false

  constructor(options: ApiClientOptions) {
    const url = new URL(options.baseUrl)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`baseUrl must be http(s), got ${url.protocol}`)
    }
    const timeoutMs = options.requestTimeoutMs ?? requestTimeoutMsDefault
    if (!(timeoutMs >= 0)) throw new Error('requestTimeoutMs must be >= 0')
    this.requestTimeoutMs = timeoutMs
    this.maxRetries = options.maxRetries ?? maxRetriesDefault
    if (!(this.maxRetries >= 0)) throw new Error('maxRetries must be >= 0')
    this.basePath = url.pathname.replace(/\/+$/, '')
    const tls = options.tls
    this.pool = new Pool(url.origin, {
      connections: options.connectionsMax ?? null,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
      // Our own deadline governs; undici's 300 s defaults would cut idle watch streams.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect:
        url.protocol === 'https:'
          ? {
              ca: tls?.ca,
              cert: tls?.cert,
              key: tls?.key,
              rejectUnauthorized: tls?.insecureSkipTlsVerify !== true,
              servername: tls?.serverName,
            }
          : {},
    })
    this.headers = { accept: 'application/json', 'user-agent': options.userAgent ?? 'hakube-api-client' }
    if (options.bearerToken !== undefined) this.headers['authorization'] = `Bearer ${options.bearerToken}`
  }

  /** A typed handle for one resource type (all namespaces until `.namespace(ns)`). */
  resource<T extends KubeObject = KubeObject>(type: ResourceType): ResourceClient<T> {
    return new ResourceClientImpl<T>(this, type, undefined)
  }

  /** One request whose 2xx body is JSON; returns the parsed body. */
  async requestJson<R>(options: RequestOptions): Promise<R> {
    const call = this.startCall(options)
    try {
      for (let attempt = 0; ; attempt++) {
        const res = await this.dispatch(options, call.controller.signal)
        const text = await res.body.text()
        if (res.statusCode < 200 || res.statusCode > 299) {
          const err = apiErrorFromResponse(res.statusCode, text, headerValue(res.headers['retry-after']))
          const waitMs = retryAfterMs(err, attempt, this.maxRetries)
          if (waitMs === undefined) throw err
          await sleep(waitMs, undefined, { signal: call.controller.signal })
          continue
        }
        try {
          return JSON.parse(text) as R
        } catch (err) {
          throw new TransportError('protocol', `${options.method} ${options.path}: body is not JSON`, {
            cause: err,
          })
        }
      }
    } catch (err) {
      throw mapError(err, call.controller.signal.reason)
    } finally {
      call.release()
    }
  }

  /**
   * Opens a streaming GET (a watch). Resolves once 2xx headers arrive; the deadline stops there
   * and the stream then lives until the server ends it, the caller aborts it, or the client closes.
   */
  async openStream(options: RequestOptions): Promise<OpenStream> {
    const call = this.startCall(options)
    let res: Awaited<ReturnType<Pool['request']>>
    try {
      for (let attempt = 0; ; attempt++) {
        res = await this.dispatch(options, call.controller.signal)
        if (res.statusCode >= 200 && res.statusCode <= 299) break
        const text = await res.body.text()
        const err = apiErrorFromResponse(res.statusCode, text, headerValue(res.headers['retry-after']))
        const waitMs = retryAfterMs(err, attempt, this.maxRetries)
        if (waitMs === undefined) throw err
        await sleep(waitMs, undefined, { signal: call.controller.signal })
      }
    } catch (err) {
      call.release()
      throw mapError(err, call.controller.signal.reason)
    }
    call.clearDeadline()
    const controller = call.controller
    return {
      body: res.body,
      abort: (kind, message) => controller.abort(new TransportError(kind, message)),
      abortReason: () =>
        controller.signal.reason instanceof TransportError ? controller.signal.reason : undefined,
      release: () => call.release(),
    }
  }

  /** Ends every call and stream (kind `closed`) and destroys the pool's sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const controller of this.active)
      controller.abort(new TransportError('closed', 'the client was closed'))
    this.active.clear()
    await this.pool.destroy()
  }

  /** True once `close()` was called. */
  isClosed(): boolean {
    return this.closed
  }

  private startCall(options: RequestOptions): Call {
    if (this.closed) throw new TransportError('closed', 'the client was closed')
    const controller = new AbortController()
    const what = `${options.method} ${options.path}`
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs
    let timer: NodeJS.Timeout | undefined
    if (timeoutMs > 0) {
      timer = setTimeout(
        () => controller.abort(new TransportError('timeout', `${what}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      )
    }
    const signal = options.signal
    const onAbort = (): void =>
      controller.abort(
        new TransportError('aborted', `${what}: aborted by the caller`, { cause: signal?.reason }),
      )
    if (signal?.aborted) onAbort()
    else if (signal !== undefined) {
      // A controller's one signal may be passed to hundreds of concurrent calls.
      if (!unlimited.has(signal)) {
        setMaxListeners(0, signal)
        unlimited.add(signal)
      }
      signal.addEventListener('abort', onAbort, { once: true })
    }
    this.active.add(controller)
    const clearDeadline = (): void => {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    }
    return {
      controller,
      clearDeadline,
      release: () => {
        clearDeadline()
        signal?.removeEventListener('abort', onAbort)
        this.active.delete(controller)
      },
    }
  }

  private dispatch(options: RequestOptions, signal: AbortSignal): ReturnType<Pool['request']> {
    const headers: Record<string, string> = { ...this.headers }
    let body: string | undefined
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
      headers['content-type'] = options.contentType ?? 'application/json'
    }
    return this.pool.request({
      method: options.method,
      path: this.basePath + options.path + queryString(options.query),
      headers,
      body,
      signal,
    })
  }
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (query === undefined) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.append(key, String(value))
  }
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
