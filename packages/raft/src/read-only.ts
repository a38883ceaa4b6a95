import type { Message, NodeId } from './types.js'

interface ReadIndexStatus {
  readonly req: Message
  readonly index: number
  readonly acks: Map<NodeId, boolean>
}

/** Key of a ReadIndex request context (opaque bytes) for map lookups. */
export function ctxKey(ctx: Uint8Array | undefined): string {
  return ctx === undefined ? '' : Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('latin1')
}

/**
 * ReadIndex requests waiting for a quorum of heartbeat acknowledgements (Raft thesis §6.4): the leader
 * records its commit index, confirms it is still leader with one heartbeat round, then answers.
 *
 * Invariant: `queue` lists the keys of `pending` in arrival order; acknowledging one request also
 * confirms every earlier one.
 */
export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>()
  private queue: string[] = []

  addRequest(index: number, m: Message): void {
    const key = ctxKey(m.context)
    if (this.pending.has(key)) return
    this.pending.set(key, { index, req: m, acks: new Map() })
    this.queue.push(key)
  }

  /** Records a heartbeat acknowledgement for the request `ctx`; returns its acknowledgements so far. */
  recvAck(id: NodeId, ctx: Uint8Array | undefined): ReadonlyMap<NodeId, boolean> {
    const rs = this.pending.get(ctxKey(ctx))
    if (rs === undefined) return new Map()
    rs.acks.set(id, true)
    return rs.acks
  }

  /** Dequeues the request `ctx` and every request before it, returning them in order. */
  advance(ctx: Uint8Array | undefined): ReadIndexStatus[] {
    const key = ctxKey(ctx)
    const at = this.queue.indexOf(key)
    if (at < 0) return []
    const done = this.queue.slice(0, at + 1)
    this.queue = this.queue.slice(at + 1)
    const out: ReadIndexStatus[] = []
    for (const k of done) {
      const rs = this.pending.get(k)
      if (rs === undefined) throw new Error('cannot find the corresponding read state from pending map')
      this.pending.delete(k)
      out.push(rs)
    }
    return out
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    const last = this.queue[this.queue.length - 1]
    return last === undefined ? undefined : this.pending.get(last)?.req.context
  }

  pendingCount(): number {
    return this.queue.length
  }
}
