/**
 * The receiving half of the peer transport: a fastify server on --listen-peer-urls.
 *
 * Checks happen in `onRequest`, before fastify reads the body, so a peer from another cluster (or a
 * removed member) cannot make us buffer a large snapshot only to drop it (etcd's rafthttp checks the
 * cluster id header first too: http.go `checkClusterCompatibilityFromHeader`).
 *
 * Order: on a stream (GET /raft/stream, see peer-stream.ts) frames arrive in the order written. On the
 * POST fallback the sender keeps at most one batch in flight per peer, and a batch is handed over
 * synchronously in the request handler, so those arrive in order too; across the two paths order is not
 * kept (only while a stream is being (re)established).
 * Snapshots travel on their own route and may overtake or trail batches (Raft tolerates this: a leader
 * does not send log entries to a follower while a snapshot to it is pending).
 */
import type { ServerResponse } from 'node:http'
import type { Message, NodeId } from '@hakube/raft'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { decodeMessage, decodeMessages, PeerCodecError } from './message-codec.js'
import {
  CONTENT_TYPE,
  HEADER_CLUSTER_ID,
  HEADER_FROM,
  HEADER_TO,
  PEER_PATH_CALL,
  PEER_PATH_CLUSTER,
  PEER_PATH_MESSAGES,
  PEER_PATH_SNAPSHOT,
  PEER_PATH_STREAM,
  type PeerLogger,
  parseIdHeader,
  REMOVED_BODY,
  REMOVED_STATUS,
} from './peer-protocol.js'
import { STREAM_CONTENT_TYPE } from './peer-stream.js'

export interface PeerServerOptions {
  memberId: NodeId
  clusterId: number
  log: PeerLogger
  /** Limit of a message batch or call body. */
  messageBodyBytesMax: number
  /** Limit of a snapshot body. */
  snapshotBodyBytesMax: number
  /** True when the member was removed from the cluster: its requests get 403 (etcd: "removed member"). */
  isRemoved(id: NodeId): boolean
  /** Hands over the messages of one request, in order. */
  deliver(from: NodeId, messages: Message[]): void
  /** The handler for a call method, if any. */
  callHandler(method: string): ((body: Uint8Array) => Promise<Uint8Array>) | undefined
  /** True when `from` is a current peer; a stream from anyone else gets 404 (etcd answers the same). */
  isKnownPeer(from: NodeId): boolean
  /** A peer opened its stream: the response is ours to write messages into (see peer-stream.ts). */
  attachStream(from: NodeId, res: ServerResponse): void
  /** The current members, for {@link PEER_PATH_CLUSTER}; undefined until the server knows them. */
  clusterMembers(): ClusterMemberInfo[] | undefined
}

/** A member as {@link PEER_PATH_CLUSTER} lists it (ids as decimal strings: 53-bit safe, but JSON-proof). */
export interface ClusterMemberInfo {
  id: string
  name: string
  peerUrls: string[]
}

/** The body of {@link PEER_PATH_CLUSTER}. */
export interface ClusterInfo {
  clusterId: string
  members: ClusterMemberInfo[]
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The sender's member id, set by the onRequest check. */
    peerFrom: number
  }
}

/** Builds (does not start) the peer server. */
export function buildPeerServer(opts: PeerServerOptions): FastifyInstance {
  const { log } = opts
  const app = Fastify({
    logger: false,
    // close() must not wait for peers' keep-alive connections or a half-received snapshot.
    forceCloseConnections: true,
    bodyLimit: opts.messageBodyBytesMax,
  })
  app.decorateRequest('peerFrom', 0)
  app.addContentTypeParser(CONTENT_TYPE, { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  app.addHook('onRequest', async (req, reply) => {
    // Asked by members that do not know the cluster id yet: the one route without the checks.
    if (req.method === 'GET' && req.url === PEER_PATH_CLUSTER) return undefined
    const clusterId = parseIdHeader(req.headers[HEADER_CLUSTER_ID])
    const from = parseIdHeader(req.headers[HEADER_FROM])
    if (clusterId !== opts.clusterId) {
      log.warn(
        {
          remoteClusterId: req.headers[HEADER_CLUSTER_ID] ?? null,
          localClusterId: opts.clusterId,
          from: from ?? null,
        },
        'rejected peer request: cluster id mismatch',
      )
      return reply.code(412).type('text/plain').send('cluster ID mismatch')
    }
    if (from === undefined || from === 0) {
      return reply.code(400).type('text/plain').send(`missing or invalid ${HEADER_FROM} header`)
    }
    const to = req.headers[HEADER_TO]
    if (to !== undefined && parseIdHeader(to) !== opts.memberId) {
      log.warn({ from, to, memberId: opts.memberId }, 'rejected peer request: addressed to another member')
      return reply.code(412).type('text/plain').send('member ID mismatch')
    }
    if (opts.isRemoved(from)) {
      log.warn({ from }, 'rejected peer request from a removed member')
      return reply.code(REMOVED_STATUS).type('text/plain').send(REMOVED_BODY)
    }
    req.peerFrom = from
    return undefined
  })

  const body = (req: FastifyRequest): Buffer | undefined => (Buffer.isBuffer(req.body) ? req.body : undefined)

  const deliverFrame = (
    req: FastifyRequest,
    reply: FastifyReply,
    decode: (b: Buffer) => Message[],
  ): FastifyReply => {
    const frame = body(req)
    if (frame === undefined) return reply.code(415).type('text/plain').send(`expected ${CONTENT_TYPE}`)
    let messages: Message[]
    try {
      messages = decode(frame)
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err)
      log.warn({ from: req.peerFrom, err: msg }, 'rejected undecodable peer request')
      return reply.code(400).type('text/plain').send(msg)
    }
    for (const m of messages) {
      if (m.from !== req.peerFrom || m.to !== opts.memberId) {
        log.warn(
          { from: req.peerFrom, msgFrom: m.from, msgTo: m.to },
          'rejected peer message with wrong from/to',
        )
        return reply.code(400).type('text/plain').send('message from/to does not match the request')
      }
    }
    opts.deliver(req.peerFrom, messages)
    return reply.code(204).send()
  }

  app.post(PEER_PATH_MESSAGES, (req, reply) => deliverFrame(req, reply, decodeMessages))

  app.get(PEER_PATH_CLUSTER, (_req, reply) => {
    const members = opts.clusterMembers()
    if (members === undefined) return reply.code(503).type('text/plain').send('member not started yet')
    const body: ClusterInfo = { clusterId: String(opts.clusterId), members }
    return reply.code(200).send(body)
  })

  app.get(PEER_PATH_STREAM, (req, reply) => {
    if (req.headers[HEADER_TO] === undefined)
      return reply.code(400).type('text/plain').send(`missing ${HEADER_TO} header`)
    if (!opts.isKnownPeer(req.peerFrom)) {
      log.debug({ from: req.peerFrom }, 'refused stream from unknown peer')
      return reply.code(404).type('text/plain').send('unknown peer')
    }
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': STREAM_CONTENT_TYPE, 'cache-control': 'no-store' })
    res.flushHeaders()
    opts.attachStream(req.peerFrom, res)
    return reply
  })

  app.post(PEER_PATH_SNAPSHOT, { bodyLimit: opts.snapshotBodyBytesMax }, (req, reply) =>
    deliverFrame(req, reply, (b) => {
      const m = decodeMessage(b)
      if (m.type !== 'MsgSnap')
        throw new PeerCodecError(`expected MsgSnap on the snapshot route, got ${m.type}`)
      return [m]
    }),
  )

  app.post<{ Params: { method: string } }>(`${PEER_PATH_CALL}:method`, async (req, reply) => {
    const { method } = req.params
    const handler = opts.callHandler(method)
    if (handler === undefined)
      return reply.code(404).type('text/plain').send(`no handler for method ${method}`)
    const frame = body(req)
    if (frame === undefined) return reply.code(415).type('text/plain').send(`expected ${CONTENT_TYPE}`)
    try {
      const out = await handler(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength))
      return reply
        .code(200)
        .type(CONTENT_TYPE)
        .send(Buffer.from(out.buffer, out.byteOffset, out.byteLength))
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err)
      log.debug({ from: req.peerFrom, method, err: msg }, 'peer call handler failed')
      return reply.code(500).type('text/plain').send(msg)
    }
  })

  return app
}
