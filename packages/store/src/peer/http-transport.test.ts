/**
 * Goal: HttpTransport delivers batches in order per sender, refuses other clusters, survives a dead
 * peer with bounded memory, resumes when the peer returns, keeps heartbeats flowing during a large
 * snapshot, serves calls with real timeouts, and leaves nothing running after close().
 * Method: real transports on 127.0.0.1 with free ports (port 0), a recording logger.
 */
import { createServer } from 'node:net'
import { type Message, type MessageType, type NodeId, newMessage, type SnapshotStatus } from '@hakube/raft'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpTransport, type HttpTransportOptions } from './http-transport.js'
import type { PeerLogger } from './peer-protocol.js'

interface LogLine {
  level: string
  obj: object
  msg: string
}

function recordingLogger(): PeerLogger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const at =
    (level: string) =>
    (obj: object, msg: string): void => {
      lines.push({ level, obj, msg })
    }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

const open: HttpTransport[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()))
})

async function start(
  memberId: NodeId,
  extra: Partial<HttpTransportOptions> = {},
): Promise<{ t: HttpTransport; got: Message[]; log: ReturnType<typeof recordingLogger> }> {
  const log = recordingLogger()
  const t = await HttpTransport.start({
    memberId,
    clusterId: 1000,
    listen: { host: '127.0.0.1', port: 0 },
    logger: log,
    ...extra,
  })
  open.push(t)
  const got: Message[] = []
  t.onMessage((m) => got.push(m))
  return { t, got, log }
}

function msg(type: MessageType, from: NodeId, to: NodeId, index: number): Message {
  return newMessage({ type, from, to, term: 1, index, commit: index })
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A port that was free a moment ago (for a peer that is down). */
async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const addr = s.address()
  await new Promise((r) => s.close(r))
  if (typeof addr !== 'object' || addr === null) throw new Error('no port')
  return addr.port
}

describe('HttpTransport', () => {
  it('delivers batches between two members in order, both ways', async () => {
    const a = await start(1)
    const b = await start(2)
    a.t.addPeer(2, [b.t.url()])
    b.t.addPeer(1, [a.t.url()])
    for (let i = 1; i <= 2000; i++) {
      a.t.send([msg('MsgApp', 1, 2, i)])
      if (i % 2 === 0) b.t.send([msg('MsgAppResp', 2, 1, i)])
    }
    await waitFor(() => b.got.length === 2000 && a.got.length === 1000, 'all messages')
    expect(b.got.map((m) => m.index)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1))
    expect(a.got.map((m) => m.index)).toEqual(Array.from({ length: 1000 }, (_, i) => 2 * (i + 1)))
    // The sender counts a batch once its response arrives, which may be after delivery.
    await waitFor(() => a.t.peerStats(2)?.sentMessages === 2000, 'sender stats')
    const stats = a.t.peerStats(2)
    // Batching: far fewer requests than messages.
    expect(stats?.sentMessages).toBe(2000)
    expect(stats?.sentBatches).toBeLessThan(2000)
  })

  it('keeps per-sender order among three members', async () => {
    const ns = [await start(1), await start(2), await start(3)]
    for (const [i, n] of ns.entries())
      for (const [j, peer] of ns.entries()) if (i !== j) n.t.addPeer(j + 1, [peer.t.url()])
    for (let k = 1; k <= 500; k++)
      for (let from = 1; from <= 3; from++)
        for (let to = 1; to <= 3; to++)
          if (from !== to) ns[from - 1]?.t.send([msg('MsgHeartbeat', from, to, k)])
    await waitFor(() => ns.every((n) => n.got.length === 1000), 'all heartbeats')
    for (const [i, n] of ns.entries()) {
      for (let from = 1; from <= 3; from++) {
        if (from === i + 1) continue
        expect(n.got.filter((m) => m.from === from).map((m) => m.index)).toEqual(
          Array.from({ length: 500 }, (_, k) => k + 1),
        )
      }
    }
  })

  it('rejects a peer from another cluster with 412 and logs it', async () => {
    const a = await start(1, { clusterId: 1 })
    const b = await start(2, { clusterId: 2 })
    const unreachable: NodeId[] = []
    a.t.onUnreachable((id) => unreachable.push(id))
    a.t.addPeer(2, [b.t.url()])
    a.t.send([msg('MsgHeartbeat', 1, 2, 1)])
    await waitFor(() => unreachable.length > 0, 'unreachable report')
    expect(b.got).toEqual([])
    expect(b.log.lines.some((l) => l.msg === 'rejected peer request: cluster id mismatch')).toBe(true)
    const err = a.log.lines.find((l) => l.level === 'error')
    expect(JSON.stringify(err?.obj)).toMatch(/refused with 412: cluster ID mismatch/)
    await expect(a.t.call(2, 'x', new Uint8Array(), 1000)).rejects.toMatchObject({
      code: 'PEER_ERR_REJECTED',
      statusCode: 412,
    })
  })

  it('refuses requests from a removed member and messages with a forged sender', async () => {
    const a = await start(1)
    const b = await start(2)
    b.t.addPeer(1, [a.t.url()])
    b.t.removePeer(1)
    let told = 0
    a.t.onRemoved(() => told++)
    a.t.addPeer(2, [b.t.url()])
    await expect(a.t.call(2, 'x', new Uint8Array(), 1000)).rejects.toMatchObject({ statusCode: 403 })
    // Its stream and its messages are refused the same way, and it is told it was removed.
    a.t.send([msg('MsgHeartbeatResp', 1, 2, 1)])
    await waitFor(() => told >= 2, 'the removed member is told so')
    const c = await start(3)
    c.t.addPeer(2, [b.t.url()])
    const unreachable: NodeId[] = []
    c.t.onUnreachable((id) => unreachable.push(id))
    c.t.send([msg('MsgHeartbeat', 9, 2, 1)]) // claims to come from member 9
    await waitFor(() => unreachable.length > 0, 'unreachable report')
    expect(b.got).toEqual([])
  })

  it('bounds the queue for a dead peer, reports it unreachable, and resumes when it returns', async () => {
    const port = await freePort()
    const a = await start(1, { queueMessagesMax: 100, retryDelayMs: 20 })
    const unreachable: NodeId[] = []
    a.t.onUnreachable((id) => unreachable.push(id))
    a.t.addPeer(2, [`http://127.0.0.1:${port}`])
    for (let i = 1; i <= 10_000; i++) a.t.send([msg('MsgApp', 1, 2, i)])
    const stats = a.t.peerStats(2)
    expect(stats?.queued).toBeLessThanOrEqual(100)
    // 100 queued plus at most one batch (the first message) in flight; the rest dropped.
    expect(stats?.droppedMessages).toBeGreaterThanOrEqual(10_000 - 101)
    await waitFor(() => unreachable.length >= 2, 'unreachable reports')
    expect(unreachable.every((id) => id === 2)).toBe(true)
    const heapBefore = process.memoryUsage().heapUsed
    for (let i = 0; i < 100_000; i++) a.t.send([msg('MsgApp', 1, 2, i)])
    expect(a.t.peerStats(2)?.queued).toBeLessThanOrEqual(100)
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024)

    // The peer comes back on the same address: delivery resumes.
    const b = await start(2, { listen: { host: '127.0.0.1', port } })
    await waitFor(() => a.t.peerStats(2)?.queued === 0, 'queue drained')
    a.t.send([msg('MsgHeartbeat', 1, 2, 424242)])
    await waitFor(() => b.got.some((m) => m.index === 424242), 'delivery after return')
  })

  it('a peer whose URLs do not parse is unreachable, never a crash', async () => {
    const a = await start(1)
    const b = await start(2)
    expect(() => a.t.addPeer(3, ['not a url', 'http://'])).not.toThrow()
    a.t.addPeer(2, ['::bad::', b.t.url()])
    a.t.send([msg('MsgHeartbeat', 1, 3, 1), msg('MsgHeartbeat', 1, 2, 1)])
    await waitFor(() => b.got.length === 1, 'delivery to the peer with one good URL')
    expect(() => a.t.updatePeer(2, ['still not a url'])).not.toThrow()
  })

  it('fails over to the next peer URL', async () => {
    const dead = await freePort()
    const a = await start(1, { retryDelayMs: 10 })
    const b = await start(2)
    a.t.addPeer(2, [`http://127.0.0.1:${dead}`, b.t.url()])
    let n = 0
    const timer = setInterval(() => a.t.send([msg('MsgHeartbeat', 1, 2, ++n)]), 5)
    try {
      await waitFor(() => b.got.length > 0, 'delivery via second URL')
    } finally {
      clearInterval(timer)
    }
  })

  it('delivers a large snapshot while heartbeats keep flowing', async () => {
    const a = await start(1)
    const b = await start(2)
    a.t.addPeer(2, [b.t.url()])
    const statuses: SnapshotStatus[] = []
    a.t.onSnapshotStatus((id, s) => {
      expect(id).toBe(2)
      statuses.push(s)
    })
    const data = new Uint8Array(8 * 1024 * 1024)
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251
    const snap = newMessage({
      type: 'MsgSnap',
      from: 1,
      to: 2,
      term: 3,
      snapshot: { data, metadata: { index: 99, term: 3, confState: { voters: [1, 2], learners: [3] } } },
    })
    let hb = 0
    a.t.send([snap])
    const sentAt = Date.now()
    const timer = setInterval(() => a.t.send([msg('MsgHeartbeat', 1, 2, ++hb)]), 1)
    try {
      await waitFor(() => statuses.length > 0, 'snapshot status', 30_000)
    } finally {
      clearInterval(timer)
    }
    expect(statuses).toEqual(['finish'])
    const snapAt = b.got.findIndex((m) => m.type === 'MsgSnap')
    const got = b.got[snapAt]
    expect(got?.snapshot?.metadata).toEqual({
      index: 99,
      term: 3,
      confState: { voters: [1, 2], learners: [3] },
    })
    expect(Buffer.compare(Buffer.from(got?.snapshot?.data ?? []), Buffer.from(data))).toBe(0)
    // Heartbeats sent after the snapshot overtook it: the snapshot did not block the message path.
    const before = b.got.slice(0, snapAt).filter((m) => m.type === 'MsgHeartbeat').length
    console.log(`snapshot 8 MiB in ${Date.now() - sentAt} ms; ${before} heartbeats delivered before it`)
    expect(before).toBeGreaterThan(0)
  })

  it('reports a snapshot to a dead peer as failure', async () => {
    const a = await start(1)
    const statuses: SnapshotStatus[] = []
    a.t.onSnapshotStatus((_id, s) => statuses.push(s))
    a.t.addPeer(2, [`http://127.0.0.1:${await freePort()}`])
    a.t.send([
      newMessage({
        type: 'MsgSnap',
        from: 1,
        to: 2,
        snapshot: {
          data: new Uint8Array(10),
          metadata: { index: 1, term: 1, confState: { voters: [1], learners: [] } },
        },
      }),
    ])
    await waitFor(() => statuses.length > 0, 'snapshot status')
    expect(statuses).toEqual(['failure'])
  })

  it('enforces body limits: an oversized snapshot fails, heartbeats still pass', async () => {
    const a = await start(1)
    const b = await start(2, { snapshotBodyBytesMax: 1024, messageBodyBytesMax: 4096 })
    a.t.addPeer(2, [b.t.url()])
    const statuses: SnapshotStatus[] = []
    a.t.onSnapshotStatus((_id, s) => statuses.push(s))
    const snapshot = {
      data: new Uint8Array(8192),
      metadata: { index: 1, term: 1, confState: { voters: [1, 2], learners: [] } },
    }
    a.t.send([newMessage({ type: 'MsgSnap', from: 1, to: 2, snapshot })])
    await waitFor(() => statuses.length > 0, 'snapshot status')
    expect(statuses).toEqual(['failure'])
    expect(JSON.stringify(a.log.lines.map((l) => l.obj))).toMatch(/refused with 413/)
    const big = newMessage({
      type: 'MsgApp',
      from: 1,
      to: 2,
      entries: [{ term: 1, index: 1, type: 'normal', data: new Uint8Array(8192) }],
    })
    a.t.send([big])
    a.t.send([msg('MsgHeartbeat', 1, 2, 7)])
    await waitFor(() => b.got.some((m) => m.index === 7), 'heartbeat after the oversized batch')
    expect(b.got.some((m) => m.type === 'MsgApp')).toBe(false)
  })

  it('serves calls, reports remote errors, and times out', async () => {
    const a = await start(1)
    const b = await start(2)
    a.t.addPeer(2, [b.t.url()])
    b.t.handle('echo', async (body) => Buffer.concat([Buffer.from('echo:'), body]))
    b.t.handle('fail', async () => {
      throw new Error('requested lease not found')
    })
    let release: () => void = () => {}
    b.t.handle('slow', () => new Promise((resolve) => (release = () => resolve(new Uint8Array([1])))))
    const out = await a.t.call(2, 'echo', Buffer.from('hi'), 1000)
    expect(Buffer.from(out).toString()).toBe('echo:hi')
    await expect(a.t.call(2, 'fail', new Uint8Array(), 1000)).rejects.toMatchObject({
      code: 'PEER_ERR_REMOTE',
      statusCode: 500,
      message: expect.stringMatching(/requested lease not found/),
    })
    await expect(a.t.call(2, 'nope', new Uint8Array(), 1000)).rejects.toMatchObject({ statusCode: 404 })
    const t0 = Date.now()
    await expect(a.t.call(2, 'slow', new Uint8Array(), 150)).rejects.toMatchObject({
      code: 'PEER_ERR_TIMEOUT',
      message: expect.stringMatching(/timed out after 150 ms/),
    })
    expect(Date.now() - t0).toBeLessThan(2000)
    release()
    await expect(a.t.call(3, 'echo', new Uint8Array(), 100)).rejects.toMatchObject({
      code: 'PEER_ERR_UNREACHABLE',
    })
  })

  it('close() rejects pending calls, drops queues and leaves no sockets or timers', async () => {
    const handlesBefore = activeHandles()
    const a = await start(1)
    const b = await start(2)
    a.t.addPeer(2, [b.t.url()])
    b.t.addPeer(1, [a.t.url()])
    b.t.handle('hang', () => new Promise(() => {}))
    for (let i = 0; i < 100; i++) a.t.send([msg('MsgApp', 1, 2, i)])
    await waitFor(() => b.got.length === 100, 'delivery')
    b.t.send([msg('MsgAppResp', 2, 1, 1)])
    const pending = a.t.call(2, 'hang', new Uint8Array(), 60_000).catch((err: unknown) => err)
    await new Promise((r) => setTimeout(r, 50))
    await a.t.close()
    expect(await pending).toMatchObject({ code: 'PEER_ERR_CLOSED' })
    await b.t.close()
    a.t.send([msg('MsgApp', 1, 2, 1)]) // after close: ignored, no throw
    await expect(a.t.call(2, 'hang', new Uint8Array(), 10)).rejects.toMatchObject({ code: 'PEER_ERR_CLOSED' })
    await waitFor(() => activeHandles() <= handlesBefore, 'handles released', 5000)
  })
})

/** Sockets, servers and timers alive in this process (Node's getActiveResourcesInfo). */
function activeHandles(): number {
  return process
    .getActiveResourcesInfo()
    .filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout').length
}

describe('HttpTransport localAddress', () => {
  it('opens outgoing peer connections from localAddress (each emulated host its own 127.0.x.y)', async () => {
    const sources: string[] = []
    const peer = createServer((s) => {
      sources.push(s.remoteAddress ?? '')
      s.destroy()
    })
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r))
    try {
      const addr = peer.address()
      if (typeof addr !== 'object' || addr === null) throw new Error('no port')
      const a = await start(1, { listen: { host: '127.0.0.2', port: 0 }, localAddress: '127.0.0.2' })
      a.t.addPeer(2, [`http://127.0.0.1:${addr.port}`])
      a.t.send([msg('MsgHeartbeat', 1, 2, 1)])
      await waitFor(() => sources.length > 0, 'a connection to the peer')
      // Without it the kernel picks 127.0.0.1 for any loopback destination.
      expect(new Set(sources)).toEqual(new Set(['127.0.0.2']))
    } finally {
      await new Promise((r) => peer.close(r))
    }
  })
})
