/**
 * A request body held for replay, at most a small bounded size: Kubernetes requests with bodies are
 * objects of a few kilobytes, and idempotent requests carry none. A body over the bound is streamed
 * through (never buffered whole) and the request is then not replayable.
 */
import type { IncomingMessage } from 'node:http'
import { PassThrough, type Readable } from 'node:stream'

/** Bodies up to this size are kept so a request refused by one backend can go to another. */
export const MAX_REPLAY_BODY_BYTES = 64 * 1024

export type HeldBody =
  | { readonly replayable: true; readonly chunks: readonly Buffer[] }
  /** The first attempt's stream: the held prefix, then the rest of the request as it arrives. */
  | { readonly replayable: false; readonly stream: Readable }

function hasNoBody(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding']
  const cl = req.headers['content-length']
  return te === undefined && (cl === undefined || cl === '0')
}

/** Reads the body up to the bound; resolves once it ended or outgrew it. Rejects if the client goes away. */
export function holdBody(req: IncomingMessage, maxBytes = MAX_REPLAY_BODY_BYTES): Promise<HeldBody> {
  if (hasNoBody(req)) {
    req.resume()
    return Promise.resolve({ replayable: true, chunks: [] })
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk)
      size += chunk.length
      if (size <= maxBytes) return
      cleanup()
      req.pause()
      const pass = new PassThrough()
      for (const c of chunks) pass.write(c)
      req.pipe(pass)
      resolve({ replayable: false, stream: pass })
    }
    const onEnd = (): void => {
      cleanup()
      resolve({ replayable: true, chunks })
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    const onClose = (): void => {
      if (req.complete) return
      cleanup()
      reject(new Error('client closed the request before its body ended'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

/** All http-proxy does with a request body: `body.pipe(proxyReq)`. */
export interface PipeableBody {
  pipe<T extends NodeJS.WritableStream>(destination: T): T
}

/**
 * The body of one attempt. A held body is written to the backend request and ended at once (it is a
 * few kilobytes at most, and most requests have none): no stream is built per request for it.
 */
export function bodyStream(body: HeldBody): PipeableBody {
  if (!body.replayable) return body.stream
  const chunks = body.chunks
  return {
    pipe<T extends NodeJS.WritableStream>(destination: T): T {
      for (const c of chunks) destination.write(c)
      destination.end()
      return destination
    },
  }
}
