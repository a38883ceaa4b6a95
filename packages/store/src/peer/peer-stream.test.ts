/**
 * Goal: the message streams (peer-stream.ts) carry Raft messages whole and in order, fall back to POSTed
 * batches while no stream is up, come back after a peer restarts, and are replaced when they go silent
 * (a black-holed connection) or when the peer refuses them at first.
 * Method: FrameSplitter fed seeded random chunkings; real transports on 127.0.0.1; a fake peer that
 * accepts the stream and then never writes.
 */
import { createServer, type Server } from 'node:http'
import { type Message, type MessageType, type NodeId, newMessage, SeededRandom } from '@hakube/raft'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpTransport, type HttpTransportOptions } from './http-transport.js'
import { decodeMessages } from './message-codec.js'
import { PEER_PATH_STREAM } from './peer-protocol.js'
import { FrameSplitter, StreamReader, streamFrame } from './peer-stream.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} }
const open: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
})

function msg(type: MessageType, from: NodeId, to: NodeId, index: number, payload = 0): Message {
  const entries =
    payload > 0 ? [{ term: 1, index, type: 'normal' as const, data: new Uint8Array(payload) }] : []
  return newMessage({ type, from, to, term: 1, index, commit: index, entries })
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

async function start(
  memberId: NodeId,
  extra: Partial<HttpTransportOptions> = {},
): Promise<{ t: HttpTransport; got: Message[] }> {
  const t = await HttpTransport.start({
    memberId,
    clusterId: 1000,
    listen: { host: '127.0.0.1', port: 0 },
    logger: silent,
    ...extra,
  })
  open.push(t)
  const got: Message[] = []
  t.onMessage((m) => got.push(m))
  return { t, got }
}

describe('FrameSplitter', () => {
  it('reassembles frames from any chunking, skips keepalives, refuses oversized frames', () => {
    const seed = Number(process.env['STREAM_SEED'] ?? 20261122)
    const rnd = new SeededRandom(seed)
    for (let round = 0; round < 50; round++) {
      const batches: Message[][] = []
      const parts: Buffer[] = []
      for (let b = 0; b < 20; b++) {
        if (rnd.intn(4) === 0) parts.push(Buffer.alloc(4)) // keepalive
        const batch = Array.from({ length: 1 + rnd.intn(3) }, (_, i) =>
          msg('MsgApp', 1, 2, b * 10 + i, rnd.intn(3000)),
        )
        batches.push(batch)
        parts.push(...streamFrame(batch))
      }
      const bytes = Buffer.concat(parts)
      const splitter = new FrameSplitter(1 << 20)
      const frames: Buffer[] = []
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + rnd.intn(700)
        frames.push(...splitter.push(bytes.subarray(at, at + n)))
        at += n
      }
      const decoded = frames.map((f) => decodeMessages(f).map((m) => m.index))
      expect(decoded, `STREAM_SEED=${seed} round ${round}`).toEqual(batches.map((b) => b.map((m) => m.index)))
    }
    const big = Buffer.alloc(4)
    big.writeUInt32BE(2048)
    expect(() => new FrameSplitter(1024).push(big)).toThrow(/exceeds the limit of 1024/)
  })
})

describe('message streams between transports', () => {
  it('opens a stream each way and carries messages on it, in order, without POSTs', async () => {
    const a = await start(1)
    const b = await start(2)
    a.t.addPeer(2, [b.t.url()])
    b.t.addPeer(1, [a.t.url()])
    await waitFor(() => a.t.isStreaming(2) && b.t.isStreaming(1), 'both streams')
    for (let i = 1; i <= 500; i++) a.t.send([msg('MsgApp', 1, 2, i, 64)])
    b.t.send([msg('MsgAppResp', 2, 1, 7)])
    await waitFor(() => b.got.length === 500 && a.got.length === 1, 'delivery')
    expect(b.got.map((m) => m.index)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1))
    // One turn's messages went out as one frame; nothing needed the POST path.
    const stats = a.t.peerStats(2)
    expect(stats?.sentMessages).toBe(500)
    expect(stats?.sentBatches).toBe(1)
    expect(stats?.failedBatches).toBe(0)
  })

  it('falls back to POST while the peer is away and streams again once it is back', async () => {
    const a = await start(1)
    let b = await start(2)
    const port = b.t.address().port
    a.t.addPeer(2, [b.t.url()])
    b.t.addPeer(1, [a.t.url()])
    await waitFor(() => a.t.isStreaming(2), 'stream a->b')
    await b.t.close()
    await waitFor(() => !a.t.isStreaming(2), 'a notices the stream closed')
    // A new member process on the same address, which has not dialled a yet: a POSTs meanwhile.
    b = await start(2, { listen: { host: '127.0.0.1', port } })
    a.t.send([msg('MsgHeartbeat', 1, 2, 1)])
    await waitFor(() => b.got.length === 1, 'POSTed heartbeat')
    expect(a.t.isStreaming(2)).toBe(false)
    b.t.addPeer(1, [a.t.url()])
    await waitFor(() => a.t.isStreaming(2), 'stream a->b again')
    a.t.send([msg('MsgHeartbeat', 1, 2, 2)])
    await waitFor(() => b.got.length === 2, 'streamed heartbeat')
    expect(b.got.map((m) => m.index)).toEqual([1, 2])
  })

  it('a peer that does not know us yet refuses the stream (404); the reader keeps trying', async () => {
    const a = await start(1, { retryDelayMs: 20 })
    const b = await start(2)
    a.t.addPeer(2, [b.t.url()])
    await new Promise((r) => setTimeout(r, 200))
    expect(b.t.isStreaming(1)).toBe(false)
    expect(a.t.streamConnects(2)).toBe(0)
    b.t.addPeer(1, [a.t.url()])
    // b's sender attaches the stream before its response headers reach a's reader, so wait for both.
    await waitFor(
      () => b.t.isStreaming(1) && a.t.isStreaming(2) && a.t.streamConnects(2) > 0,
      'streams once both know each other',
    )
    // Once established the stream stays: one connect, not a reconnecting loop.
    await new Promise((r) => setTimeout(r, 100))
    expect(a.t.streamConnects(2)).toBe(1)
  })

  it('a stream that goes silent (no keepalive) is dropped and dialled again', async () => {
    let accepted = 0
    const fake: Server = createServer((req, res) => {
      if (req.url !== PEER_PATH_STREAM) {
        res.statusCode = 404
        res.end()
        return
      }
      accepted++
      res.writeHead(200, { 'content-type': 'application/x-hakube-raft-stream' })
      res.flushHeaders() // ...and then nothing, as a black-holed connection
    })
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r))
    open.push({
      close: () =>
        new Promise<void>((r) => {
          fake.closeAllConnections()
          fake.close(() => r())
        }),
    })
    const addr = fake.address()
    if (typeof addr !== 'object' || addr === null) throw new Error('no port')
    const reader = new StreamReader([`http://127.0.0.1:${addr.port}`], {
      memberId: 1,
      clusterId: 1000,
      peerId: 2,
      silenceMs: 300,
      dialTimeoutMs: 1000,
      retryDelayMs: 20,
      maxFrameBytes: 1 << 20,
      log: silent,
      deliver: () => undefined,
      onRemoved: () => undefined,
    })
    open.push(reader)
    const t0 = Date.now()
    reader.start()
    await waitFor(() => accepted >= 3, 'three dials')
    // Each stream lived about silenceMs before the reader gave up on it.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * 300)
    expect(reader.connects).toBeGreaterThanOrEqual(2)
  })

  it('keepalives hold an idle stream open past the silence limit', async () => {
    const opts = { streamSilenceMs: 400, streamKeepaliveMs: 100 }
    const a = await start(1, opts)
    const b = await start(2, opts)
    a.t.addPeer(2, [b.t.url()])
    b.t.addPeer(1, [a.t.url()])
    await waitFor(() => a.t.isStreaming(2) && b.t.isStreaming(1), 'both streams')
    await new Promise((r) => setTimeout(r, 1200))
    expect(a.t.streamConnects(2)).toBe(1)
    expect(b.t.streamConnects(1)).toBe(1)
  })
})
