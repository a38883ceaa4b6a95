/**
 * The sending half of the peer transport for one remote member: the stream the peer opened to us (the
 * fast path, peer-stream.ts: each turn's messages written as one frame), else a bounded queue with a
 * sender loop that drains it in POSTed batches over a keep-alive undici Pool; a separate snapshot
 * sender, and request/response calls.
 *
 * Design, learned from etcd's rafthttp (server/etcdserver/api/rafthttp/peer.go, stream.go, pipeline.go,
 * snapshot_sender.go), adapted to request/response HTTP:
 * - etcd keeps a 4096-message buffer per peer (streamBufSize) and, when it is full, drops the message and
 *   reports the peer unreachable instead of blocking Raft. Same here: {@link PeerSenderConfig.queueMessagesMax}.
 * - etcd writes small messages on a long-lived stream so they stay ordered and cheap, and falls back to
 *   its POST pipeline while the stream is down. Same here; the fallback keeps at most ONE batch POST in
 *   flight per peer on a keep-alive connection: whatever queued while a batch was in flight goes in the
 *   next one, so batching grows with load (group commit for the network).
 * - etcd sends MsgSnap via snapshot_sender.go on its own HTTP request, reports the outcome through
 *   ReportSnapshot, and reports the peer unreachable on failure. Same here, on a separate Pool, so a large
 *   snapshot never sits in front of heartbeats on one connection.
 * - etcd drops a failed pipeline/stream message and lets Raft retransmit (it probes after
 *   ReportUnreachable). Same here, plus a short pause before the next attempt so a dead peer does not
 *   turn the loop into a connect storm; meanwhile the queue bound keeps memory flat.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Message, NodeId, SnapshotStatus } from '@hakube/raft'
import type { Pool } from 'undici'
import { type UndiciApi, undici } from './lazy-undici.js'
import { encodeMessage, encodeMessages, estimateMessageBytes } from './message-codec.js'
import {
  CONTENT_TYPE,
  HEADER_CLUSTER_ID,
  HEADER_FROM,
  HEADER_TO,
  PEER_PATH_CALL,
  PEER_PATH_MESSAGES,
  PEER_PATH_SNAPSHOT,
  type PeerLogger,
  PeerTransportError,
  REMOVED_BODY,
  REMOVED_STATUS,
} from './peer-protocol.js'
import type { StreamWriter } from './peer-stream.js'

export interface PeerSenderConfig {
  memberId: NodeId
  clusterId: number
  /** Bound of the message queue; when full, new messages are dropped and the peer reported unreachable. */
  queueMessagesMax: number
  /** A batch stops growing once its estimated size passes this (a single larger message still goes). */
  batchBytesMax: number
  /** Snapshots waiting behind the one in flight; more are refused with status 'failure'. */
  snapshotQueueMax: number
  /** Timeout of one batch POST (headers and body); etcd uses 5 s for its connection writes. */
  requestTimeoutMs: number
  /** Timeout of one snapshot POST. */
  snapshotTimeoutMs: number
  /** TCP connect timeout (etcd's DialTimeout is 1 s). */
  dialTimeoutMs: number
  /** Pause after a failed batch before the next attempt. */
  retryDelayMs: number
  /** Connections per peer for batches and calls (batches use one at a time; calls may use the rest). */
  connectionsPerPeer: number
  /** Source address for outgoing connections (the member's own host); undefined lets the kernel choose. */
  localAddress?: string | undefined
}

export interface PeerSenderHooks {
  reportUnreachable(id: NodeId): void
  reportSnapshot(id: NodeId, status: SnapshotStatus): void
  /** The peer answered that we were removed from the cluster. */
  reportRemoved(): void
}

/** Counters for tests and metrics. */
export interface PeerSenderStats {
  queued: number
  sentMessages: number
  sentBatches: number
  droppedMessages: number
  failedBatches: number
}

export class PeerSender {
  /** Invariant: length <= config.queueMessagesMax; MsgSnap never sits here. */
  private queue: Message[] = []
  /** The peer's stream to us, while attached (the fast path; see peer-stream.ts). */
  private stream: StreamWriter | undefined
  /** Messages sent this turn, written to the stream as one frame at the end of the turn. */
  private streamBatch: Message[] = []
  private flushScheduled = false
  private snapshots: Message[] = []
  private sending = false
  private sendingSnapshot = false
  private closed = false
  /** Set once unreachability was reported for queue overflow; cleared by a delivered batch. */
  private overflowReported = false
  private urls: string[]
  private urlIndex = 0
  private readonly pools = new Map<string, Pool>()
  private readonly snapshotPools = new Map<string, Pool>()
  private readonly closing = new AbortController()
  private readonly stats_: PeerSenderStats = {
    queued: 0,
    sentMessages: 0,
    sentBatches: 0,
    droppedMessages: 0,
    failedBatches: 0,
  }

  constructor(
    readonly peerId: NodeId,
    peerUrls: readonly string[],
    private readonly config: PeerSenderConfig,
    private readonly hooks: PeerSenderHooks,
    private readonly log: PeerLogger,
  ) {
    this.urls = normalizeUrls(peerUrls)
  }

  stats(): PeerSenderStats {
    return { ...this.stats_, queued: this.queue.length }
  }

  /** Queues one message; never blocks, never throws. */
  send(m: Message): void {
    if (this.closed) return
    if (m.type === 'MsgSnap') {
      if (this.snapshots.length >= this.config.snapshotQueueMax) {
        this.log.warn({ to: this.peerId, index: m.snapshot?.metadata.index }, 'dropped snapshot: queue full')
        this.hooks.reportSnapshot(this.peerId, 'failure')
        return
      }
      this.snapshots.push(m)
      if (!this.sendingSnapshot) void this.runSnapshotSender()
      return
    }
    if (this.stream !== undefined) {
      this.streamBatch.push(m)
      if (!this.flushScheduled) {
        this.flushScheduled = true
        // Everything sent in this turn (one Ready's messages) goes out as one frame.
        queueMicrotask(() => this.flushStream())
      }
      return
    }
    this.enqueuePost(m)
  }

  /**
   * The peer opened a stream to us (peer-stream.ts): messages for it go there from now on, replacing
   * any earlier stream, until it closes.
   */
  attachStream(w: StreamWriter): void {
    if (this.closed) {
      w.close()
      return
    }
    const old = this.stream
    this.stream = w
    old?.close()
    w.onClose(() => {
      if (this.stream === w) this.stream = undefined
    })
  }

  /** True while a stream to the peer is attached (tests). */
  get streaming(): boolean {
    return this.stream !== undefined
  }

  private flushStream(): void {
    this.flushScheduled = false
    let batch = this.streamBatch
    this.streamBatch = []
    while (batch.length > 0) {
      const w = this.stream
      if (w === undefined) {
        // The stream closed in between: the POST path takes over.
        for (const m of batch) this.enqueuePost(m)
        return
      }
      const n = this.batchLength(batch)
      if (!w.write(n === batch.length ? batch : batch.slice(0, n))) {
        if (w.closed) continue
        // Attached but not draining (the peer stopped reading): drop, as a full queue does.
        this.stats_.droppedMessages += batch.length
        this.reportOverflow()
        return
      }
      this.stats_.sentBatches++
      this.stats_.sentMessages += n
      this.overflowReported = false
      batch = batch.slice(n)
    }
  }

  private enqueuePost(m: Message): void {
    if (this.queue.length >= this.config.queueMessagesMax) {
      this.stats_.droppedMessages++
      this.reportOverflow()
      return
    }
    this.queue.push(m)
    if (!this.sending) void this.runSender()
  }

  private reportOverflow(): void {
    if (this.overflowReported) return
    this.overflowReported = true
    this.log.warn(
      { to: this.peerId, queueMessagesMax: this.config.queueMessagesMax },
      'dropped message to peer: queue full',
    )
    this.hooks.reportUnreachable(this.peerId)
  }

  updateUrls(peerUrls: readonly string[]): void {
    const next = normalizeUrls(peerUrls)
    for (const [origin, pool] of [...this.pools, ...this.snapshotPools]) {
      if (!next.includes(origin)) void pool.destroy().catch(() => undefined)
    }
    for (const origin of [...this.pools.keys()]) if (!next.includes(origin)) this.pools.delete(origin)
    for (const origin of [...this.snapshotPools.keys()])
      if (!next.includes(origin)) this.snapshotPools.delete(origin)
    this.urls = next
    this.urlIndex = 0
  }

  /** A request/response call; rejects with a {@link PeerTransportError}. */
  async call(method: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.closed) throw new PeerTransportError('PEER_ERR_CLOSED', `peer ${this.peerId} is closed`)
    const path = PEER_PATH_CALL + encodeURIComponent(method)
    const what = `call ${method} to member ${this.peerId}`
    const res = await this.post(this.pools, path, body, timeoutMs, what)
    return res
  }

  /** Stops the loops, drops queued messages, rejects pending calls and closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.queue = []
    this.snapshots = []
    this.streamBatch = []
    this.stream?.close()
    this.stream = undefined
    this.closing.abort(new PeerTransportError('PEER_ERR_CLOSED', `transport to member ${this.peerId} closed`))
    const pools = [...this.pools.values(), ...this.snapshotPools.values()]
    this.pools.clear()
    this.snapshotPools.clear()
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)))
  }

  /** Drains the queue, one batch in flight at a time (see the file comment for why only one). */
  private async runSender(): Promise<void> {
    this.sending = true
    try {
      while (!this.closed && this.queue.length > 0) {
        const batch = this.takeBatch()
        let frame: Buffer
        try {
          frame = encodeMessages(batch)
        } catch (err) {
          // A message the core should never produce (negative index, ...): a bug, not a network problem.
          this.log.error({ to: this.peerId, err: errorText(err) }, 'dropped unencodable message batch')
          continue
        }
        try {
          await this.post(
            this.pools,
            PEER_PATH_MESSAGES,
            frame,
            this.config.requestTimeoutMs,
            'message batch',
          )
          this.stats_.sentBatches++
          this.stats_.sentMessages += batch.length
          this.overflowReported = false
        } catch (err) {
          if (this.closed) return
          this.stats_.failedBatches++
          this.stats_.droppedMessages += batch.length
          this.logFailure(err, 'failed to send messages to peer', batch.length)
          this.hooks.reportUnreachable(this.peerId)
          await sleep(this.config.retryDelayMs, undefined, { signal: this.closing.signal }).catch(
            () => undefined,
          )
        }
      }
    } finally {
      this.sending = false
    }
  }

  private async runSnapshotSender(): Promise<void> {
    this.sendingSnapshot = true
    try {
      for (let m = this.snapshots.shift(); m !== undefined && !this.closed; m = this.snapshots.shift()) {
        const index = m.snapshot?.metadata.index
        try {
          const frame = encodeMessage(m)
          this.log.info({ to: this.peerId, index, bytes: frame.length }, 'sending snapshot')
          await this.post(
            this.snapshotPools,
            PEER_PATH_SNAPSHOT,
            frame,
            this.config.snapshotTimeoutMs,
            'snapshot',
          )
          this.log.info({ to: this.peerId, index }, 'sent snapshot')
          this.hooks.reportSnapshot(this.peerId, 'finish')
        } catch (err) {
          if (this.closed) return
          this.logFailure(err, 'failed to send snapshot to peer', 1)
          this.hooks.reportUnreachable(this.peerId)
          this.hooks.reportSnapshot(this.peerId, 'failure')
        }
      }
    } finally {
      this.sendingSnapshot = false
    }
  }

  /** Takes messages from the head of the queue until the batch's estimated size passes the limit. */
  private takeBatch(): Message[] {
    return this.queue.splice(0, this.batchLength(this.queue))
  }

  /** How many messages from the head of `ms` make one batch (at least one). */
  private batchLength(ms: readonly Message[]): number {
    let bytes = 0
    let n = 0
    while (n < ms.length && (n === 0 || bytes < this.config.batchBytesMax)) {
      bytes += estimateMessageBytes(ms[n] as Message)
      n++
    }
    return n
  }

  /**
   * POSTs `body` to the current URL. A connection-level failure moves on to the peer's next URL for the
   * next request (etcd's urlPicker does the same); HTTP-level refusals do not, the URL was right.
   */
  private async post(
    pools: Map<string, Pool>,
    path: string,
    body: Uint8Array,
    timeoutMs: number,
    what: string,
  ): Promise<Uint8Array> {
    const origin = this.urls[this.urlIndex % Math.max(1, this.urls.length)]
    if (origin === undefined)
      throw new PeerTransportError('PEER_ERR_UNREACHABLE', `member ${this.peerId} has no URL`)
    const { Pool: PoolClass } = await undici()
    if (this.closing.signal.aborted) {
      throw new PeerTransportError(
        'PEER_ERR_CLOSED',
        `${what} aborted: transport to member ${this.peerId} closed`,
      )
    }
    const pool = this.pool(PoolClass, pools, origin)
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = AbortSignal.any([this.closing.signal, timeout])
    let res: Awaited<ReturnType<Pool['request']>>
    let payload: Uint8Array
    try {
      res = await pool.request({
        origin,
        path,
        method: 'POST',
        headers: {
          'content-type': CONTENT_TYPE,
          [HEADER_CLUSTER_ID]: String(this.config.clusterId),
          [HEADER_FROM]: String(this.config.memberId),
          [HEADER_TO]: String(this.peerId),
        },
        body,
        signal,
      })
      payload = new Uint8Array(await res.body.arrayBuffer())
    } catch (err) {
      if (this.closing.signal.aborted) {
        throw new PeerTransportError(
          'PEER_ERR_CLOSED',
          `${what} aborted: transport to member ${this.peerId} closed`,
        )
      }
      if (timeout.aborted) {
        throw new PeerTransportError(
          'PEER_ERR_TIMEOUT',
          `${what} to member ${this.peerId} timed out after ${timeoutMs} ms`,
        )
      }
      if (this.urls.length > 1) this.urlIndex = (this.urlIndex + 1) % this.urls.length
      throw new PeerTransportError(
        'PEER_ERR_UNREACHABLE',
        `${what} to member ${this.peerId} at ${origin} failed: ${errorText(err)}`,
      )
    }
    if (res.statusCode === 200 || res.statusCode === 204) return payload
    const text = Buffer.from(payload).toString('utf8').slice(0, 200)
    if (res.statusCode === REMOVED_STATUS && text === REMOVED_BODY) this.hooks.reportRemoved()
    const code = res.statusCode === 412 || res.statusCode === 403 ? 'PEER_ERR_REJECTED' : 'PEER_ERR_REMOTE'
    throw new PeerTransportError(
      code,
      `${what} to member ${this.peerId} at ${origin} refused with ${res.statusCode}: ${text}`,
      res.statusCode,
    )
  }

  private pool(PoolClass: UndiciApi['Pool'], pools: Map<string, Pool>, origin: string): Pool {
    let pool = pools.get(origin)
    if (pool === undefined) {
      const snapshot = pools === this.snapshotPools
      pool = new PoolClass(origin, {
        connections: snapshot ? 1 : this.config.connectionsPerPeer,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: { timeout: this.config.dialTimeoutMs },
        // A Pool option: undici's connector ignores `connect.localAddress` (the client's own value wins).
        ...(this.config.localAddress === undefined ? {} : { localAddress: this.config.localAddress }),
        // Timeouts are enforced per request with an AbortSignal (the snapshot one is longer).
        headersTimeout: 0,
        bodyTimeout: 0,
      })
      pools.set(origin, pool)
    }
    return pool
  }

  private logFailure(err: unknown, msg: string, messages: number): void {
    const code = err instanceof PeerTransportError ? err.code : 'PEER_ERR_UNREACHABLE'
    const status = err instanceof PeerTransportError ? err.statusCode : undefined
    // A 4xx means misconfiguration (wrong cluster, removed member, body over the peer's limit) and will
    // not heal by retrying: loud. A down peer is routine during failures and would flood the log.
    const fields = { to: this.peerId, messages, code, status, err: errorText(err) }
    if (status !== undefined && status >= 400 && status < 500) this.log.error(fields, msg)
    else this.log.debug(fields, msg)
  }
}

/**
 * The distinct origins of `urls`. A URL that does not parse is skipped (member add refuses such URLs, but
 * one already in a replicated log must not stop the member that applies it); none left = unreachable.
 */
export function normalizeUrls(urls: readonly string[]): string[] {
  const out: string[] = []
  for (const u of urls) {
    let origin: string
    try {
      origin = new URL(u).origin
    } catch {
      continue
    }
    if (origin !== 'null' && !out.includes(origin)) out.push(origin)
  }
  return out
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message
  }
  return String(err)
}
