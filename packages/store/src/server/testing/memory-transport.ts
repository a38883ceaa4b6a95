/**
 * An in-memory {@link RaftTransport} for tests: every member's transport joins one
 * {@link MemoryNetwork}, which delivers messages and calls asynchronously (one macrotask later, in
 * order per link) and can cut links in either direction to emulate packet loss and partitions.
 * Messages are deep-copied (structuredClone), as a real transport would serialise them.
 */
import type { Message, NodeId, SnapshotStatus } from '@hakube/raft'
import type { RaftTransport } from '../../backend.js'

export class MemoryNetwork {
  private readonly members = new Map<NodeId, MemoryTransport>()
  private readonly cut = new Set<string>()
  /** Messages delivered and dropped so far (for assertions). */
  readonly counts = { delivered: 0, dropped: 0 }

  /** A transport for member `id`, registered on this network. */
  transport(id: NodeId): MemoryTransport {
    const t = new MemoryTransport(this, id)
    this.members.set(id, t)
    return t
  }

  /** Drops everything sent from `from` to `to` (one direction) until `heal`. */
  drop(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`)
  }

  /** Cuts every link between `group` and the other registered members, both directions. */
  isolate(group: readonly NodeId[]): void {
    for (const a of group) {
      for (const b of this.members.keys()) {
        if (group.includes(b)) continue
        this.drop(a, b)
        this.drop(b, a)
      }
    }
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear()
  }

  linkUp(from: NodeId, to: NodeId): boolean {
    return !this.cut.has(`${from}>${to}`)
  }

  /** @internal */
  target(id: NodeId): MemoryTransport | undefined {
    const t = this.members.get(id)
    return t?.isOpen() === true ? t : undefined
  }

  /** @internal */
  unregister(t: MemoryTransport): void {
    if (this.members.get(t.id) === t) this.members.delete(t.id)
  }
}

export class MemoryTransport implements RaftTransport {
  private readonly peers = new Map<NodeId, readonly string[]>()
  private messageHandler: ((m: Message) => void) | undefined
  private unreachableHandler: ((id: NodeId) => void) | undefined
  private snapshotHandler: ((id: NodeId, status: SnapshotStatus) => void) | undefined
  private readonly handlers = new Map<string, (body: Uint8Array) => Promise<Uint8Array>>()
  private open = true

  constructor(
    private readonly network: MemoryNetwork,
    readonly id: NodeId,
  ) {}

  isOpen(): boolean {
    return this.open
  }

  peerIds(): NodeId[] {
    return [...this.peers.keys()]
  }

  send(messages: readonly Message[]): void {
    if (!this.open) return
    for (const m of messages) {
      const copy = structuredClone(m)
      setImmediate(() => this.deliver(copy))
    }
  }

  private deliver(m: Message): void {
    if (!this.open) return
    const target = this.network.target(m.to)
    const reachable = this.peers.has(m.to) && target !== undefined && this.network.linkUp(this.id, m.to)
    if (!reachable) {
      this.network.counts.dropped++
      this.unreachableHandler?.(m.to)
      if (m.type === 'MsgSnap') this.snapshotHandler?.(m.to, 'failure')
      return
    }
    this.network.counts.delivered++
    target.receive(m)
    if (m.type === 'MsgSnap') this.snapshotHandler?.(m.to, 'finish')
  }

  /** @internal */
  receive(m: Message): void {
    if (this.open) this.messageHandler?.(m)
  }

  addPeer(id: NodeId, peerUrls: readonly string[]): void {
    this.peers.set(id, [...peerUrls])
  }

  updatePeer(id: NodeId, peerUrls: readonly string[]): void {
    this.peers.set(id, [...peerUrls])
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id)
  }

  onMessage(handler: (m: Message) => void): void {
    this.messageHandler = handler
  }

  onUnreachable(handler: (id: NodeId) => void): void {
    this.unreachableHandler = handler
  }

  onSnapshotStatus(handler: (id: NodeId, status: SnapshotStatus) => void): void {
    this.snapshotHandler = handler
  }

  call(to: NodeId, method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`call ${method} to ${to} timed out`)), timeoutMs)
      const fail = (why: string): void => {
        clearTimeout(timer)
        reject(new Error(`call ${method} to ${to}: ${why}`))
      }
      setImmediate(() => {
        const target = this.network.target(to)
        if (!this.open || target === undefined || !this.peers.has(to)) return fail('unreachable')
        if (!this.network.linkUp(this.id, to)) return fail('unreachable')
        target.serve(method, Uint8Array.from(body)).then(
          (resp) => {
            // The answer travels back over the reverse link.
            if (!this.network.linkUp(to, this.id)) return
            clearTimeout(timer)
            resolve(Uint8Array.from(resp))
          },
          (err: unknown) => fail(err instanceof Error ? err.message : String(err)),
        )
      })
    })
  }

  /** @internal */
  serve(method: string, body: Uint8Array): Promise<Uint8Array> {
    const h = this.handlers.get(method)
    if (h === undefined) return Promise.reject(new Error(`no handler for ${method}`))
    return h(body)
  }

  handle(method: string, handler: (body: Uint8Array) => Promise<Uint8Array>): void {
    this.handlers.set(method, handler)
  }

  async close(): Promise<void> {
    this.open = false
    this.network.unregister(this)
  }
}
