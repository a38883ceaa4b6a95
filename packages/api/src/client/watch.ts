/**
 * `WatchStream`: one open watch, read incrementally as an async iterable of events.
 *
 * Guarantees:
 * - Events come in stream order, each decoded once (see watch-decoder.ts for framing).
 * - `resourceVersion` follows the last event's object (ADDED/MODIFIED/DELETED/BOOKMARK), so a
 *   caller can re-watch from where it stopped; ERROR events do not move it.
 * - The iteration ends normally when the server ends the stream or `close()` is called; it throws a
 *   TransportError when the connection breaks, the client is closed, the caller's signal fires, or
 *   the client-side cap (`timeoutSeconds` + grace) passes without the server ending the stream.
 * Non-guarantees: one consumer only; ERROR events are yielded, not thrown (use
 * `watchEventError()` to turn one into an ApiError).
 */

import { ApiError, mapError, TransportError } from './errors.js'
import type { OpenStream } from './request.js'
import type { KubeObject, StatusBody, WatchEvent } from './types.js'
import { WatchDecoder } from './watch-decoder.js'

export interface WatchStream<T> extends AsyncIterable<WatchEvent<T>> {
  /** The resourceVersion of the last event read (initially the one the watch started from). */
  readonly resourceVersion: string | undefined
  /** Ends the stream; a pending or later iteration finishes without error. Idempotent. */
  close(): void
}

/** The ApiError an ERROR event stands for (410 Expired for a too-old resourceVersion). */
export function watchEventError(status: StatusBody): ApiError {
  return new ApiError({ ...status, code: status.code ?? 500 })
}

export class WatchStreamImpl<T extends KubeObject> implements WatchStream<T> {
  resourceVersion: string | undefined
  private readonly stream: OpenStream
  private readonly decoder: WatchDecoder<T>
  private closedByCaller = false
  private capTimer: NodeJS.Timeout | undefined
  private consumed = false

  constructor(stream: OpenStream, startResourceVersion: string | undefined, capMs: number | undefined) {
    this.stream = stream
    this.resourceVersion = startResourceVersion
    this.decoder = new WatchDecoder<T>()
    if (capMs !== undefined) {
      this.capTimer = setTimeout(
        () => stream.abort('timeout', `watch not ended by the server within ${capMs} ms`),
        capMs,
      )
    }
    // An unread body must not leave an unhandled 'error' behind when it is aborted.
    stream.body.on('error', () => {})
  }

  close(): void {
    if (this.closedByCaller) return
    this.closedByCaller = true
    this.stream.abort('aborted', 'watch closed by the caller')
    this.finish()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    if (this.consumed) throw new Error('a WatchStream can be iterated only once')
    this.consumed = true
    try {
      for await (const chunk of this.stream.body) {
        for (const event of this.decoder.push(chunk as Buffer)) {
          this.track(event)
          yield event
          if (this.closedByCaller) return
        }
      }
      for (const event of this.decoder.end()) {
        this.track(event)
        yield event
      }
    } catch (err) {
      if (this.closedByCaller) return
      const reason = this.stream.abortReason()
      if (reason !== undefined) throw reason
      if (err instanceof TransportError) throw err
      throw mapError(err)
    } finally {
      this.finish()
    }
  }

  private track(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') return
    const rv = event.object.metadata?.resourceVersion
    if (rv !== undefined && rv !== '') this.resourceVersion = rv
  }

  private finish(): void {
    if (this.capTimer !== undefined) clearTimeout(this.capTimer)
    this.capTimer = undefined
    if (!this.stream.body.destroyed) this.stream.body.destroy()
    this.stream.release()
  }
}
