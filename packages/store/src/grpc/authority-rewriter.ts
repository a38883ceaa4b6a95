/**
 * AuthorityRewriter: strips a URL scheme from the `:authority` pseudo-header of the HTTP/2 requests a
 * client sends, before Node's HTTP/2 (nghttp2) sees them.
 *
 * etcdctl 3.4 dials the endpoint string itself for Maintenance.Status, HashKV and MoveLeader, so those
 * requests carry `:authority: http://127.0.0.1:2379`. nghttp2's HTTP messaging checks (which Node does
 * not let a server turn off) refuse an authority with a `/` and reset the stream with PROTOCOL_ERROR;
 * real etcd (Go's HTTP/2) accepts it. So every client→server header block is HPACK-decoded (following
 * the client's dynamic table); the connection's blocks pass through byte-identical until one has an
 * `:authority` with "://", and from that block on every block is re-encoded as literals without
 * indexing (see {@link encodeLiteralBlock}), which never reference or change the server's dynamic
 * table, so it can no longer disagree with the client's. Other frames pass through unchanged.
 */

import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { encodeLiteralBlock, type HeaderBlock, HpackDecoder, HpackError } from './hpack.js'

const PREFACE_LENGTH = 24
const FRAME_HEADER = 9
const TYPE_HEADERS = 0x1
const TYPE_CONTINUATION = 0x9
const FLAG_END_HEADERS = 0x4
const FLAG_PADDED = 0x8
const FLAG_PRIORITY = 0x20
/** SETTINGS_MAX_FRAME_SIZE's floor, which every HTTP/2 peer accepts. */
const MAX_OUT_FRAME = 16_384
/** Header blocks larger than this (compressed) are not buffered; the connection is failed. */
const MAX_BLOCK = 1 << 20

/** Strips "scheme://" from an authority, and anything from a following "/". */
export function stripScheme(authority: string): string {
  const at = authority.indexOf('://')
  if (at < 0) return authority
  const rest = authority.slice(at + 3)
  const slash = rest.indexOf('/')
  return slash < 0 ? rest : rest.slice(0, slash)
}

interface PendingBlock {
  /** The HEADERS frame's stream id, flags (less PADDED) and priority fields. */
  streamId: number
  flags: number
  priority: Buffer | undefined
  fragments: Buffer[]
  fragmentBytes: number
  /** The block's frames as received. */
  raw: Buffer[]
}

export class AuthorityRewriter {
  private readonly decoder = new HpackDecoder()
  private prefaceLeft = PREFACE_LENGTH
  private header = Buffer.alloc(0)
  /** Payload bytes of a passed-through frame still to come. */
  private passLeft = 0
  /** The HEADERS/CONTINUATION frame being read: its header and payload so far. */
  private frame: { header: Buffer; chunks: Buffer[]; left: number } | undefined
  private pending: PendingBlock | undefined
  /** Set once a block has been re-encoded: all later blocks are re-encoded too. */
  private reencode = false
  /** Set when the client broke the framing rules before any rewrite: everything passes through. */
  private raw = false

  /** Feeds client bytes; returns the bytes to give the server. Throws on a block it cannot handle. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = []
    // Bytes forwarded as received are sliced from `chunk` as one run [run, pos), not piece by piece.
    let run = 0
    let pos = 0
    const flush = (): void => {
      if (pos > run) out.push(chunk.subarray(run, pos))
    }
    while (pos < chunk.length) {
      if (this.raw) {
        pos = chunk.length
        break
      }
      if (this.prefaceLeft > 0 || this.passLeft > 0) {
        const left = this.prefaceLeft > 0 ? this.prefaceLeft : this.passLeft
        const n = Math.min(left, chunk.length - pos)
        if (this.prefaceLeft > 0) this.prefaceLeft -= n
        else this.passLeft -= n
        pos += n
        continue
      }
      if (this.frame !== undefined) {
        const n = Math.min(this.frame.left, chunk.length - pos)
        this.frame.chunks.push(chunk.subarray(pos, pos + n))
        this.frame.left -= n
        pos += n
        run = pos
        if (this.frame.left === 0) {
          const { header, chunks } = this.frame
          this.frame = undefined
          this.onBlockFrame(header, Buffer.concat(chunks), out)
        }
        continue
      }
      // A frame header, possibly split across chunks.
      let header: Buffer
      let whole = false
      if (this.header.length === 0 && chunk.length - pos >= FRAME_HEADER) {
        header = chunk.subarray(pos, pos + FRAME_HEADER)
        whole = true
      } else {
        flush()
        const n = Math.min(FRAME_HEADER - this.header.length, chunk.length - pos)
        this.header = Buffer.concat([this.header, chunk.subarray(pos, pos + n)])
        pos += n
        run = pos
        if (this.header.length < FRAME_HEADER) continue
        header = this.header
        this.header = Buffer.alloc(0)
      }
      const length = header.readUIntBE(0, 3)
      const type = header[3]!
      if (type !== TYPE_HEADERS && type !== TYPE_CONTINUATION && this.pending === undefined) {
        // Passed through: the header joins the run (or, if it was split, goes out on its own).
        if (whole) pos += FRAME_HEADER
        else out.push(header)
        this.passLeft = length
        continue
      }
      if (whole) {
        flush()
        pos += FRAME_HEADER
        run = pos
      }
      if (type !== TYPE_HEADERS && type !== TYPE_CONTINUATION) {
        // RFC 9113 §6.10: nothing may come between a HEADERS frame and its last CONTINUATION.
        this.failWith('frame inside a header block', header, out)
        run = pos
      } else if (length > MAX_BLOCK) {
        this.failWith('header frame too large', header, out)
        run = pos
      } else if (length === 0) this.onBlockFrame(header, Buffer.alloc(0), out)
      else this.frame = { header, chunks: [], left: length }
    }
    flush()
    return out
  }

  private onBlockFrame(header: Buffer, payload: Buffer, out: Buffer[]): void {
    const type = header[3]!
    const flags = header[4]!
    const streamId = header.readUInt32BE(5) & 0x7fffffff
    const frameBytes = Buffer.concat([header, payload])
    let block = this.pending
    if (type === TYPE_HEADERS) {
      if (block !== undefined) {
        this.failWith('HEADERS inside a header block', frameBytes, out)
        return
      }
      let start = 0
      let end = payload.length
      if (flags & FLAG_PADDED) {
        if (payload.length < 1) {
          this.failWith('bad padding', frameBytes, out)
          return
        }
        start = 1
        end -= payload[0]!
      }
      let priority: Buffer | undefined
      if (flags & FLAG_PRIORITY) {
        priority = payload.subarray(start, start + 5)
        start += 5
      }
      if (end < start) {
        this.failWith('bad padding', frameBytes, out)
        return
      }
      block = { streamId, flags: flags & ~FLAG_PADDED, priority, fragments: [], fragmentBytes: 0, raw: [] }
      this.pending = block
      block.fragments.push(payload.subarray(start, end))
      block.fragmentBytes += end - start
    } else {
      if (block === undefined || block.streamId !== streamId) {
        this.failWith('stray CONTINUATION', frameBytes, out)
        return
      }
      block.fragments.push(payload)
      block.fragmentBytes += payload.length
    }
    block.raw.push(frameBytes)
    if (block.fragmentBytes > MAX_BLOCK) {
      this.failWith('header block too large', Buffer.alloc(0), out)
      return
    }
    if ((flags & FLAG_END_HEADERS) === 0) return
    this.pending = undefined
    let decoded: HeaderBlock
    try {
      decoded = this.decoder.decode(Buffer.concat(block.fragments))
    } catch (e) {
      // Before a rewrite, the server decodes the same bytes and fails the connection itself.
      if (this.reencode) throw e
      out.push(...block.raw)
      this.raw = true
      return
    }
    let rewrite = false
    for (const f of decoded.fields) {
      if (f.name === ':authority' && f.value.includes('://')) {
        f.value = stripScheme(f.value)
        rewrite = true
      }
    }
    if (!rewrite && !this.reencode) {
      out.push(...block.raw)
      return
    }
    this.reencode = true
    this.emitBlock(block, encodeLiteralBlock(decoded), out)
  }

  /**
   * A framing violation. Before any rewrite, the buffered and current bytes go to the server as sent
   * (it judges them) and the rest of the connection passes through; after one, it is an error.
   */
  private failWith(why: string, frameBytes: Buffer, out: Buffer[]): void {
    if (this.reencode) throw new HpackError(`authority rewriter: ${why}`)
    if (this.pending !== undefined) out.push(...this.pending.raw)
    this.pending = undefined
    out.push(frameBytes)
    this.raw = true
  }

  /** Writes a HEADERS frame and as many CONTINUATION frames as the block needs. */
  private emitBlock(block: PendingBlock, fragment: Buffer, out: Buffer[]): void {
    const prio = block.priority ?? Buffer.alloc(0)
    let pos = 0
    let first = true
    do {
      const room = MAX_OUT_FRAME - (first ? prio.length : 0)
      const n = Math.min(room, fragment.length - pos)
      const last = pos + n === fragment.length
      const header = Buffer.alloc(FRAME_HEADER)
      header.writeUIntBE((first ? prio.length : 0) + n, 0, 3)
      header[3] = first ? TYPE_HEADERS : TYPE_CONTINUATION
      const flags = first ? block.flags & ~FLAG_END_HEADERS : 0
      header[4] = last ? flags | FLAG_END_HEADERS : flags
      header.writeUInt32BE(block.streamId, 5)
      out.push(header)
      if (first && prio.length > 0) out.push(prio)
      out.push(fragment.subarray(pos, pos + n))
      pos += n
      first = false
    } while (pos < fragment.length)
  }
}

/**
 * A Duplex over a client socket whose readable side is the client's bytes through an
 * {@link AuthorityRewriter}; writes go to the socket. Address getters delegate to the socket.
 */
export class AuthorityRewritingSocket extends Duplex {
  private readonly rewriter = new AuthorityRewriter()

  constructor(private readonly socket: Socket) {
    super({ allowHalfOpen: false })
    // Node's HTTP/2 session turns Nagle off on the sockets it owns; it cannot reach this one.
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      let parts: Buffer[]
      try {
        parts = this.rewriter.push(chunk)
      } catch (e) {
        this.destroy(e as Error)
        return
      }
      let more = true
      for (const p of parts) if (p.length > 0) more = this.push(p) && more
      if (!more) socket.pause()
    })
    socket.on('end', () => this.push(null))
    socket.on('error', (e) => this.destroy(e))
    socket.on('close', () => this.destroy())
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress
  }
  get localPort(): number | undefined {
    return this.socket.localPort
  }

  override _read(): void {
    this.socket.resume()
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed) {
      cb(new Error('socket closed'))
      return
    }
    if (this.socket.write(chunk)) cb()
    else this.socket.once('drain', () => cb())
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end()
    cb()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy()
    cb(err)
  }
}
