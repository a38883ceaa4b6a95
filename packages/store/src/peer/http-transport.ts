/**
 * `HttpTransport`: hakube-store's {@link RaftTransport} over HTTP/1.1 between members.
 *
 * Guarantees:
 * - `send` never blocks and never throws; per peer, messages are delivered in the order they were sent
 *   (one batch in flight per peer), except MsgSnap, which travels on its own request and connection.
 * - Memory is bounded: at most `queueMessagesMax` messages and `snapshotQueueMax + 1` snapshots wait per
 *   peer; beyond that messages are dropped and the peer reported unreachable (Raft then probes).
 * - Every failed batch is reported through `onUnreachable`; every MsgSnap gets exactly one
 *   `onSnapshotStatus` ('finish' once the peer accepted it, 'failure' otherwise), unless the transport or
 *   the peer is closed/removed first.
 * - Requests from another cluster are refused with 412 and logged; from a removed member with 403.
 * - `close()` stops the server and every client, rejects pending calls and drops queues; afterwards no
 *   socket or timer of the transport remains.
 * Non-guarantees: delivery (messages may be lost; Raft retransmits), no authentication or TLS.
 */
import type { ServerResponse } from 'node:http'
import type { Message, NodeId, SnapshotStatus } from '@hakube/raft'
import type { FastifyInstance } from 'fastify'
import type { RaftTransport } from '../backend.js'
import { type PeerLogger, PeerTransportError } from './peer-protocol.js'
import { normalizeUrls, PeerSender, type PeerSenderConfig, type PeerSenderStats } from './peer-sender.js'
import { buildPeerServer, type ClusterMemberInfo } from './peer-server.js'
import { StreamReader, StreamWriter } from './peer-stream.js'

export interface HttpTransportOptions {
  memberId: NodeId
  clusterId: number
  /** The --listen-peer-urls address. Port 0 picks a free port (see {@link HttpTransport.address}). */
  listen: { host: string; port: number }
  logger: PeerLogger
  /**
   * Source address of outgoing peer connections. Each emulated host has its own 127.0.1.x address; binding
   * the client side to it too makes the member's traffic carry its own address both ways, so a firewall
   * rule between two hosts (a partition test) cuts exactly that pair. Default: the kernel's choice.
   */
  localAddress?: string
  /** Per-peer message queue bound (etcd's streamBufSize). Default 4096. */
  queueMessagesMax?: number
  /** Estimated bytes after which a batch stops growing. Default 4 MiB. */
  batchBytesMax?: number
  /** Snapshots that may wait behind the one in flight, per peer. Default 1. */
  snapshotQueueMax?: number
  /** Largest accepted message batch or call body. Default 64 MiB. */
  messageBodyBytesMax?: number
  /** Largest accepted snapshot body. Default 512 MiB. */
  snapshotBodyBytesMax?: number
  /** Timeout of one batch POST. Default 5000 ms. */
  requestTimeoutMs?: number
  /** Timeout of one snapshot POST. Default 120 000 ms. */
  snapshotTimeoutMs?: number
  /** TCP connect timeout. Default 1000 ms. */
  dialTimeoutMs?: number
  /** Pause after a failed batch. Default 100 ms. */
  retryDelayMs?: number
  /** Connections per peer for batches and calls. Default 4. */
  connectionsPerPeer?: number
  /** A stream silent this long (no keepalive either) is dropped and dialled again. Default 5000 ms. */
  streamSilenceMs?: number
  /** An idle stream writer sends a keepalive frame this often. Default 1000 ms. */
  streamKeepaliveMs?: number
}

const MiB = 1024 * 1024

export const HTTP_TRANSPORT_DEFAULTS = Object.freeze({
  queueMessagesMax: 4096,
  batchBytesMax: 4 * MiB,
  snapshotQueueMax: 1,
  messageBodyBytesMax: 64 * MiB,
  snapshotBodyBytesMax: 512 * MiB,
  requestTimeoutMs: 5000,
  snapshotTimeoutMs: 120_000,
  dialTimeoutMs: 1000,
  retryDelayMs: 100,
  connectionsPerPeer: 4,
  streamSilenceMs: 5000,
  streamKeepaliveMs: 1000,
})

type CallHandler = (body: Uint8Array) => Promise<Uint8Array>

export class HttpTransport implements RaftTransport {
  private readonly senders = new Map<NodeId, PeerSender>()
  /** The streams we read from each peer (they write their messages for us into them). */
  private readonly readers = new Map<NodeId, StreamReader>()
  private readonly streamConfig: { silenceMs: number; keepaliveMs: number; maxFrameBytes: number }
  /** Member ids never come back (Raft ids are never reused), so a removed id stays refused. */
  private readonly removed = new Set<NodeId>()
  private readonly callHandlers = new Map<string, CallHandler>()
  private readonly server: FastifyInstance
  private readonly senderConfig: PeerSenderConfig
  private messageHandler: ((m: Message) => void) | undefined
  private unreachableHandler: ((id: NodeId) => void) | undefined
  private snapshotStatusHandler: ((id: NodeId, status: SnapshotStatus) => void) | undefined
  private removedHandler: (() => void) | undefined
  private listening: { host: string; port: number } | undefined
  private closed = false

  /** Creates the transport and starts listening. */
  static async start(options: HttpTransportOptions): Promise<HttpTransport> {
    const t = new HttpTransport(options)
    await t.listen()
    return t
  }

  constructor(private readonly options: HttpTransportOptions) {
    const o = { ...HTTP_TRANSPORT_DEFAULTS, ...stripUndefined(options) }
    for (const [name, v] of Object.entries(o)) {
      if (name in HTTP_TRANSPORT_DEFAULTS && !(Number.isSafeInteger(v) && (v as number) >= 0)) {
        throw new RangeError(`HttpTransport option ${name} must be a non-negative integer, got ${String(v)}`)
      }
    }
    if (!Number.isSafeInteger(options.memberId) || options.memberId <= 0)
      throw new RangeError(`HttpTransport memberId must be a positive safe integer, got ${options.memberId}`)
    this.senderConfig = {
      memberId: options.memberId,
      clusterId: options.clusterId,
      queueMessagesMax: Math.max(1, o.queueMessagesMax),
      batchBytesMax: o.batchBytesMax,
      snapshotQueueMax: o.snapshotQueueMax,
      requestTimeoutMs: o.requestTimeoutMs,
      snapshotTimeoutMs: o.snapshotTimeoutMs,
      dialTimeoutMs: o.dialTimeoutMs,
      retryDelayMs: o.retryDelayMs,
      connectionsPerPeer: Math.max(1, o.connectionsPerPeer),
      localAddress: options.localAddress,
    }
    this.streamConfig = {
      silenceMs: Math.max(1, o.streamSilenceMs),
      keepaliveMs: Math.max(1, o.streamKeepaliveMs),
      maxFrameBytes: o.messageBodyBytesMax,
    }
    this.server = buildPeerServer({
      memberId: options.memberId,
      clusterId: options.clusterId,
      log: options.logger,
      messageBodyBytesMax: o.messageBodyBytesMax,
      snapshotBodyBytesMax: o.snapshotBodyBytesMax,
      isRemoved: (id) => this.removed.has(id),
      deliver: (_from, messages) => this.deliver(messages),
      callHandler: (method) => this.callHandlers.get(method),
      isKnownPeer: (id) => this.senders.has(id),
      attachStream: (from, res) => this.attachStream(from, res),
      clusterMembers: () => this.clusterMembers?.(),
    })
  }

  private clusterMembers: (() => ClusterMemberInfo[]) | undefined

  /** Serves the member list to joining members (GET /raft/cluster) once the server knows it. */
  serveClusterMembers(members: () => ClusterMemberInfo[]): void {
    this.clusterMembers = members
  }

  /** Binds the peer listen address. */
  async listen(): Promise<{ host: string; port: number }> {
    if (this.listening !== undefined) return this.listening
    const { host, port } = this.options.listen
    await this.server.listen({ host, port })
    const addr = this.server.server.address()
    const bound = typeof addr === 'object' && addr !== null ? addr.port : port
    this.listening = { host, port: bound }
    this.options.logger.info({ host, port: bound }, 'peer transport listening')
    return this.listening
  }

  /** The bound address (after {@link listen}). */
  address(): { host: string; port: number } {
    if (this.listening === undefined) throw new Error('HttpTransport is not listening yet')
    return this.listening
  }

  /** `http://host:port` of the bound address, for peers' URL lists. */
  url(): string {
    const { host, port } = this.address()
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return
    for (const m of messages) {
      const sender = this.senders.get(m.to)
      if (sender === undefined) {
        this.options.logger.debug({ to: m.to, type: m.type }, 'ignored message to unknown peer')
        continue
      }
      sender.send(m)
    }
  }

  addPeer(id: NodeId, peerUrls: readonly string[]): void {
    if (this.closed) return
    if (this.senders.has(id)) {
      this.updatePeer(id, peerUrls)
      return
    }
    this.removed.delete(id)
    const sender = new PeerSender(
      id,
      peerUrls,
      this.senderConfig,
      {
        reportUnreachable: (peer) => this.unreachableHandler?.(peer),
        reportSnapshot: (peer, status) => this.snapshotStatusHandler?.(peer, status),
        reportRemoved: () => this.removedHandler?.(),
      },
      this.options.logger,
    )
    this.senders.set(id, sender)
    this.startReader(id, peerUrls)
    this.options.logger.info({ peer: id, peerUrls }, 'added peer')
  }

  updatePeer(id: NodeId, peerUrls: readonly string[]): void {
    const sender = this.senders.get(id)
    if (sender === undefined) {
      this.addPeer(id, peerUrls)
      return
    }
    sender.updateUrls(peerUrls)
    this.readers.get(id)?.updateUrls(normalizeUrls(peerUrls))
    this.options.logger.info({ peer: id, peerUrls }, 'updated peer')
  }

  removePeer(id: NodeId): void {
    const sender = this.senders.get(id)
    this.removed.add(id)
    const reader = this.readers.get(id)
    this.readers.delete(id)
    void reader?.close()
    if (sender === undefined) return
    this.senders.delete(id)
    void sender.close()
    this.options.logger.info({ peer: id }, 'removed peer')
  }

  onMessage(handler: (m: Message) => void): void {
    this.messageHandler = handler
  }

  onUnreachable(handler: (id: NodeId) => void): void {
    this.unreachableHandler = handler
  }

  onSnapshotStatus(handler: (id: NodeId, status: SnapshotStatus) => void): void {
    this.snapshotStatusHandler = handler
  }

  onRemoved(handler: () => void): void {
    this.removedHandler = handler
  }

  call(to: NodeId, method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new PeerTransportError('PEER_ERR_CLOSED', 'peer transport closed'))
    const sender = this.senders.get(to)
    if (sender === undefined)
      return Promise.reject(new PeerTransportError('PEER_ERR_UNREACHABLE', `unknown peer ${to}`))
    return sender.call(method, body, timeoutMs)
  }

  handle(method: string, handler: (body: Uint8Array) => Promise<Uint8Array>): void {
    this.callHandlers.set(method, handler)
  }

  /** Per-peer counters (for tests and metrics). */
  peerStats(id: NodeId): PeerSenderStats | undefined {
    return this.senders.get(id)?.stats()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const senders = [...this.senders.values()]
    const readers = [...this.readers.values()]
    this.senders.clear()
    this.readers.clear()
    await Promise.all([
      ...senders.map((s) => s.close()),
      ...readers.map((r) => r.close()),
      this.server.close(),
    ])
    this.options.logger.info({}, 'peer transport closed')
  }

  /** True while the peer's stream to us is attached (tests). */
  isStreaming(id: NodeId): boolean {
    return this.senders.get(id)?.streaming ?? false
  }

  /** Times we established the stream from `id` (tests). */
  streamConnects(id: NodeId): number {
    return this.readers.get(id)?.connects ?? 0
  }

  private startReader(id: NodeId, peerUrls: readonly string[]): void {
    if (this.closed || this.readers.has(id)) return
    const reader = new StreamReader(normalizeUrls(peerUrls), {
      memberId: this.options.memberId,
      clusterId: this.options.clusterId,
      peerId: id,
      silenceMs: this.streamConfig.silenceMs,
      dialTimeoutMs: this.senderConfig.dialTimeoutMs,
      retryDelayMs: Math.max(this.senderConfig.retryDelayMs, 50),
      maxFrameBytes: this.streamConfig.maxFrameBytes,
      localAddress: this.options.localAddress,
      log: this.options.logger,
      deliver: (messages) => this.deliver(messages),
      onRemoved: () => this.removedHandler?.(),
    })
    this.readers.set(id, reader)
    reader.start()
  }

  private attachStream(from: NodeId, res: ServerResponse): void {
    const sender = this.senders.get(from)
    const writer = new StreamWriter(res, {
      keepaliveMs: this.streamConfig.keepaliveMs,
      bufferedBytesMax: this.senderConfig.batchBytesMax * 4,
      log: this.options.logger,
      peerId: from,
    })
    if (sender === undefined || this.closed) writer.close()
    else sender.attachStream(writer)
  }

  private deliver(messages: Message[]): void {
    const handler = this.messageHandler
    if (handler === undefined || this.closed) return
    for (const m of messages) {
      try {
        handler(m)
      } catch (err) {
        // The Raft loop's own bug; one bad message must not drop the rest of the batch.
        this.options.logger.error(
          { from: m.from, type: m.type, err: err instanceof Error ? err.message : String(err) },
          'message handler threw',
        )
      }
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
