/**
 * Message streams: the fast path for Raft messages between two members, after etcd's rafthttp streams.
 *
 * Each member dials every peer with a long-lived `GET /raft/stream` ({@link StreamReader}); the peer
 * answers 200 and from then on writes the messages it has for the dialler into the response body
 * ({@link StreamWriter}), one length-prefixed frame (message-codec's batch format) per flush. Compared
 * with a POST per batch this saves a request, a response, header parsing and two or more syscalls on
 * every hop, and a message never waits for the previous batch's response.
 *
 * Liveness, as etcd's: an idle writer sends an empty frame every `keepaliveMs`; a reader that hears
 * nothing for `silenceMs` (undici's bodyTimeout; etcd's ConnReadTimeout, 5 s) drops the connection and
 * dials again, so a stream that went into a black hole (a partition dropping packets) is replaced soon
 * after the network heals. A writer whose socket closed detaches; while no stream is attached the sender
 * falls back to POSTing batches (peer-sender.ts), so messages still flow while a stream (re)connects.
 *
 * Guarantees: frames are delivered in order, whole, on one stream. Non-guarantees: a frame written to a
 * stream that then breaks may be lost (Raft retransmits); a message may travel by POST while an older
 * one is still in a stream, so order across the two paths is not kept (Raft tolerates reordering).
 */
import type { ServerResponse } from 'node:http'
import type { Message, NodeId } from '@hakube/raft'
import type { Client } from 'undici'
import { type UndiciApi, undici } from './lazy-undici.js'
import { decodeMessages, encodeMessages } from './message-codec.js'
import {
  HEADER_CLUSTER_ID,
  HEADER_FROM,
  HEADER_TO,
  PEER_PATH_STREAM,
  type PeerLogger,
  REMOVED_BODY,
  REMOVED_STATUS,
} from './peer-protocol.js'

export const STREAM_CONTENT_TYPE = 'application/x-hakube-raft-stream'
const FRAME_HEADER_BYTES = 4
const EMPTY_FRAME = Buffer.alloc(FRAME_HEADER_BYTES)

/** Prefixes an encoded batch with its length (u32 big-endian). A zero length is a keepalive. */
export function streamFrame(messages: readonly Message[]): Buffer[] {
  const body = encodeMessages(messages)
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
  head.writeUInt32BE(body.length, 0)
  return [head, body]
}

/**
 * Splits a byte stream into frames. Throws on a frame over `maxFrameBytes` (a corrupt or hostile
 * stream; the reader then drops the connection).
 */
export class FrameSplitter {
  private chunks: Buffer[] = []
  private buffered = 0

  constructor(private readonly maxFrameBytes: number) {}

  /** Adds bytes; returns the complete frames' bodies (keepalives omitted). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    const out: Buffer[] = []
    while (this.buffered >= FRAME_HEADER_BYTES) {
      if ((this.chunks[0] as Buffer).length < FRAME_HEADER_BYTES) this.chunks = [Buffer.concat(this.chunks)]
      const len = (this.chunks[0] as Buffer).readUInt32BE(0)
      if (len > this.maxFrameBytes)
        throw new Error(`stream frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes}`)
      // Bytes are joined only once a whole frame is here, so a large frame in many chunks costs one copy.
      if (this.buffered < FRAME_HEADER_BYTES + len) break
      const data = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks)
      if (len > 0) out.push(data.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len))
      const rest = data.subarray(FRAME_HEADER_BYTES + len)
      this.buffered = rest.length
      this.chunks = rest.length > 0 ? [rest] : []
    }
    return out
  }
}

export interface StreamWriterOptions {
  /** Empty frame after this long without a write. */
  keepaliveMs: number
  /** Bytes queued in the socket beyond which writes are refused (the peer is not reading). */
  bufferedBytesMax: number
  log: PeerLogger
  peerId: NodeId
}

/** The sending end: the response of a peer's GET, written with frames until either side closes it. */
export class StreamWriter {
  private closedFlag = false
  private lastWriteMs = Date.now()
  private readonly keepalive: NodeJS.Timeout
  private readonly closeListeners: Array<() => void> = []

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: StreamWriterOptions,
  ) {
    res.socket?.setNoDelay(true)
    const onGone = (): void => this.close()
    res.once('close', onGone)
    res.once('error', onGone)
    this.keepalive = setInterval(() => {
      if (Date.now() - this.lastWriteMs >= opts.keepaliveMs) this.writeRaw([EMPTY_FRAME])
    }, opts.keepaliveMs)
    this.keepalive.unref()
  }

  get closed(): boolean {
    return this.closedFlag
  }

  /** Called once when the stream ends (either side). */
  onClose(listener: () => void): void {
    if (this.closedFlag) listener()
    else this.closeListeners.push(listener)
  }

  /** Writes one frame with `messages`; false if the stream is closed or the peer stopped reading. */
  write(messages: readonly Message[]): boolean {
    if (this.closedFlag) return false
    if (this.res.writableLength > this.opts.bufferedBytesMax) return false
    return this.writeRaw(streamFrame(messages))
  }

  private writeRaw(parts: Buffer[]): boolean {
    if (this.closedFlag) return false
    this.lastWriteMs = Date.now()
    try {
      if (parts.length === 1) this.res.write(parts[0])
      else {
        this.res.cork()
        for (const p of parts) this.res.write(p)
        this.res.uncork()
      }
      return true
    } catch (err) {
      this.opts.log.debug(
        { to: this.opts.peerId, err: err instanceof Error ? err.message : String(err) },
        'stream write failed',
      )
      this.close()
      return false
    }
  }

  /** Ends the stream (the peer's reader will dial again). */
  close(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    clearInterval(this.keepalive)
    this.res.destroy()
    for (const l of this.closeListeners.splice(0)) l()
  }
}

export interface StreamReaderOptions {
  memberId: NodeId
  clusterId: number
  peerId: NodeId
  /** No byte for this long (keepalives included) drops the connection. etcd: 5 s. */
  silenceMs: number
  dialTimeoutMs: number
  /** Pause before dialling again after a failure or the end of a stream. */
  retryDelayMs: number
  maxFrameBytes: number
  localAddress?: string | undefined
  log: PeerLogger
  /** Hands over the messages of one frame, in order; already checked to be from the peer to us. */
  deliver(messages: Message[]): void
  /** The peer refused the stream because we were removed from the cluster. */
  onRemoved(): void
}

/** The receiving end: dials the peer's stream and keeps it open, redialling while not closed. */
export class StreamReader {
  private urls: string[]
  private urlIndex = 0
  private client: Client | undefined
  private clientOrigin: string | undefined
  private abort: AbortController | undefined
  private closedFlag = false
  private running: Promise<void> | undefined
  private sleepTimer: NodeJS.Timeout | undefined
  private wake: (() => void) | undefined
  /** Times a stream was established (for tests). */
  connects = 0

  constructor(
    urls: readonly string[],
    private readonly opts: StreamReaderOptions,
  ) {
    this.urls = [...urls]
  }

  start(): void {
    if (this.running === undefined && !this.closedFlag) this.running = this.loop()
  }

  updateUrls(urls: readonly string[]): void {
    this.urls = [...urls]
    this.urlIndex = 0
    // Dial the new addresses now rather than after the current stream times out.
    this.abort?.abort()
  }

  async close(): Promise<void> {
    if (this.closedFlag) return
    this.closedFlag = true
    this.abort?.abort()
    if (this.sleepTimer !== undefined) clearTimeout(this.sleepTimer)
    this.wake?.()
    await this.running
    await this.client?.destroy().catch(() => undefined)
    this.client = undefined
  }

  private async loop(): Promise<void> {
    while (!this.closedFlag) {
      const origin = this.urls[this.urlIndex % Math.max(1, this.urls.length)]
      if (origin !== undefined) {
        const ok = await this.readOnce(origin)
        if (!ok && this.urls.length > 1) this.urlIndex = (this.urlIndex + 1) % this.urls.length
      }
      if (this.closedFlag) break
      await new Promise<void>((resolve) => {
        this.wake = resolve
        this.sleepTimer = setTimeout(resolve, this.opts.retryDelayMs)
      })
      this.wake = undefined
    }
  }

  private clientFor(ClientClass: UndiciApi['Client'], origin: string): Client {
    if (this.client !== undefined && this.clientOrigin === origin) return this.client
    void this.client?.destroy().catch(() => undefined)
    this.client = new ClientClass(origin, {
      connect: { timeout: this.opts.dialTimeoutMs },
      // A client option: undici's connector ignores `connect.localAddress`.
      ...(this.opts.localAddress === undefined ? {} : { localAddress: this.opts.localAddress }),
      headersTimeout: Math.max(this.opts.silenceMs, this.opts.dialTimeoutMs),
      bodyTimeout: this.opts.silenceMs,
      keepAliveTimeout: 1_000,
    })
    this.clientOrigin = origin
    return this.client
  }

  /** One stream's life; false if it could not be established. */
  private async readOnce(origin: string): Promise<boolean> {
    const { Client: ClientClass } = await undici()
    if (this.closedFlag) return false
    const abort = new AbortController()
    this.abort = abort
    const { peerId, memberId } = this.opts
    try {
      const res = await this.clientFor(ClientClass, origin).request({
        method: 'GET',
        path: PEER_PATH_STREAM,
        headers: {
          accept: STREAM_CONTENT_TYPE,
          [HEADER_CLUSTER_ID]: String(this.opts.clusterId),
          [HEADER_FROM]: String(memberId),
          [HEADER_TO]: String(peerId),
        },
        signal: abort.signal,
      })
      if (res.statusCode !== 200) {
        const text = (await res.body.text()).slice(0, 200)
        if (res.statusCode === REMOVED_STATUS && text === REMOVED_BODY) this.opts.onRemoved()
        this.opts.log.debug({ peer: peerId, status: res.statusCode, body: text }, 'stream refused by peer')
        return false
      }
      this.connects++
      this.opts.log.debug({ peer: peerId, origin }, 'stream from peer established')
      const splitter = new FrameSplitter(this.opts.maxFrameBytes)
      for await (const chunk of res.body) {
        for (const frame of splitter.push(chunk as Buffer)) {
          const messages = decodeMessages(frame)
          for (const m of messages) {
            if (m.from !== peerId || m.to !== memberId)
              throw new Error(`stream message from ${m.from} to ${m.to} on the stream ${peerId}->${memberId}`)
          }
          this.opts.deliver(messages)
        }
      }
      return true
    } catch (err) {
      if (!this.closedFlag && !abort.signal.aborted) {
        this.opts.log.debug(
          { peer: peerId, origin, err: err instanceof Error ? err.message : String(err) },
          'stream from peer ended',
        )
      }
      return false
    } finally {
      if (this.abort === abort) this.abort = undefined
    }
  }
}
