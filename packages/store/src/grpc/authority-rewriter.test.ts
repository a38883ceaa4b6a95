import { once } from 'node:events'
import * as http2 from 'node:http2'
import { createServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { AuthorityRewriter, AuthorityRewritingSocket, stripScheme } from './authority-rewriter.js'
import { HpackDecoder } from './hpack.js'

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9)
  h.writeUIntBE(payload.length, 0, 3)
  h[3] = type
  h[4] = flags
  h.writeUInt32BE(streamId, 5)
  return Buffer.concat([h, payload])
}

interface Frame {
  type: number
  flags: number
  streamId: number
  payload: Buffer
}

function parseFrames(buf: Buffer): Frame[] {
  expect(buf.subarray(0, 24).equals(PREFACE)).toBe(true)
  const frames: Frame[] = []
  let pos = 24
  while (pos < buf.length) {
    const len = buf.readUIntBE(pos, 3)
    frames.push({
      type: buf[pos + 3]!,
      flags: buf[pos + 4]!,
      streamId: buf.readUInt32BE(pos + 5),
      payload: buf.subarray(pos + 9, pos + 9 + len),
    })
    pos += 9 + len
  }
  return frames
}

/** Feeds `input` to a rewriter in chunks of `size` bytes (0: one chunk). */
function run(input: Buffer, size = 0): Buffer {
  const r = new AuthorityRewriter()
  const out: Buffer[] = []
  if (size === 0) out.push(...r.push(input))
  else for (let i = 0; i < input.length; i += size) out.push(...r.push(input.subarray(i, i + size)))
  return Buffer.concat(out)
}

const SETTINGS = frame(0x4, 0, 0, hex('000300000064'))
const DATA = frame(0x0, 0x1, 1, Buffer.from('hello world'))
// :method POST, :scheme http, :path /, then `:authority: http://127.0.0.1:2379` with incremental indexing.
const AUTH = Buffer.from('http://127.0.0.1:2379')
const BLOCK1 = Buffer.concat([hex('838684 41'), Buffer.from([AUTH.length]), AUTH])
// The same request again, the authority by its dynamic index (62).
const BLOCK2 = hex('838684be')

describe('stripScheme', () => {
  it('strips a scheme and any path', () => {
    expect(stripScheme('http://127.0.0.1:2379')).toBe('127.0.0.1:2379')
    expect(stripScheme('https://[::1]:2379/x')).toBe('[::1]:2379')
    expect(stripScheme('127.0.0.1:2379')).toBe('127.0.0.1:2379')
  })
})

describe('AuthorityRewriter', () => {
  it('passes a connection without a schemed :authority through byte-identical, in any chunking', () => {
    // RFC 7541 C.4 requests (Huffman, dynamic table): authority www.example.com.
    const input = Buffer.concat([
      PREFACE,
      SETTINGS,
      frame(0x1, 0x4, 1, hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')),
      DATA,
      frame(0x1, 0x0, 3, hex('8286 84be 58')),
      frame(0x9, 0x4, 3, hex('86 a8eb 1064 9cbf')),
    ])
    for (const size of [0, 1, 7, 9, 10, 33]) expect(run(input, size).equals(input)).toBe(true)
  })

  it('re-encodes a schemed :authority (padding, priority, CONTINUATION) and every later block', () => {
    const padded = Buffer.concat([Buffer.from([3]), hex('8000000310'), BLOCK1.subarray(0, 6)])
    const input = Buffer.concat([
      PREFACE,
      SETTINGS,
      frame(0x1, 0x8 | 0x20 | 0x1, 5, Buffer.concat([padded, Buffer.alloc(3)])),
      frame(0x9, 0x0, 5, BLOCK1.subarray(6, 10)),
      frame(0x9, 0x4, 5, BLOCK1.subarray(10)),
      DATA,
      frame(0x1, 0x4, 7, BLOCK2),
    ])
    for (const size of [0, 1, 5, 64]) {
      const frames = parseFrames(run(input, size))
      expect(frames.map((f) => f.type)).toEqual([0x4, 0x1, 0x0, 0x1])
      expect(frames[0]!.payload.equals(SETTINGS.subarray(9))).toBe(true)
      const h = frames[1]!
      expect(h.flags).toBe(0x20 | 0x4 | 0x1) // PRIORITY, END_HEADERS, END_STREAM; no PADDED
      expect(h.streamId).toBe(5)
      expect(h.payload.subarray(0, 5).equals(hex('8000000310'))).toBe(true)
      const server = new HpackDecoder()
      const expected = [
        { name: ':method', value: 'POST' },
        { name: ':scheme', value: 'http' },
        { name: ':path', value: '/' },
        { name: ':authority', value: '127.0.0.1:2379' },
      ]
      expect(server.decode(h.payload.subarray(5)).fields).toEqual(expected)
      expect(frames[2]!.payload.toString()).toBe('hello world')
      expect(frames[3]!.flags).toBe(0x4)
      expect(server.decode(frames[3]!.payload).fields).toEqual(expected)
      expect(server.tableLength).toBe(0)
    }
  })

  it('splits a re-encoded block larger than 16 KiB into CONTINUATION frames', () => {
    const big = Buffer.alloc(20_000, 'a')
    // Integer 20000 with a 7-bit prefix: 127 + 19873 → 0x7f, then 19873 in 7-bit groups.
    const len: number[] = []
    let v = 20_000 - 127
    while (v >= 0x80) {
      len.push((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    len.push(v)
    const field = Buffer.concat([hex('00 01 78 7f'), Buffer.from(len), big])
    const input = Buffer.concat([PREFACE, frame(0x1, 0x4, 1, Buffer.concat([BLOCK1, field]))])
    const frames = parseFrames(run(input, 1000))
    expect(frames.map((f) => f.type)).toEqual([0x1, 0x9])
    expect(frames[0]!.flags).toBe(0)
    expect(frames[0]!.payload.length).toBe(16_384)
    expect(frames[1]!.flags).toBe(0x4)
    const fields = new HpackDecoder().decode(Buffer.concat(frames.map((f) => f.payload))).fields
    expect(fields[3]).toEqual({ name: ':authority', value: '127.0.0.1:2379' })
    expect(fields[4]).toEqual({ name: 'x', value: big.toString() })
  })

  it('passes a framing violation through untouched before any rewrite, and fails after one', () => {
    const broken = Buffer.concat([PREFACE, frame(0x1, 0x0, 1, BLOCK1), DATA, frame(0x1, 0x4, 3, BLOCK1)])
    expect(run(broken, 3).equals(broken)).toBe(true)
    const after = Buffer.concat([PREFACE, frame(0x1, 0x4, 1, BLOCK1), frame(0x1, 0x0, 3, BLOCK2), DATA])
    expect(() => run(after)).toThrow(/inside a header block/)
    const badHpack = Buffer.concat([PREFACE, frame(0x1, 0x4, 1, hex('ff')), DATA])
    expect(run(badHpack).equals(badHpack)).toBe(true)
  })
})

describe('AuthorityRewritingSocket in front of a Node HTTP/2 server', () => {
  it('serves requests whose :authority carries a scheme', async () => {
    const h2 = http2.createServer()
    const seen: string[] = []
    const peers: Array<string | undefined> = []
    h2.on('stream', (stream, headers) => {
      seen.push(String(headers[':authority']))
      stream.respond({ ':status': 200 })
      stream.end('ok')
    })
    const tcp = createServer((socket: Socket) => {
      const wrapped = new AuthorityRewritingSocket(socket)
      peers.push(`${wrapped.remoteAddress}:${wrapped.remotePort === socket.remotePort}`)
      h2.emit('connection', wrapped)
    })
    tcp.listen(0, '127.0.0.1')
    await once(tcp, 'listening')
    const port = (tcp.address() as { port: number }).port
    const client = http2.connect(`http://127.0.0.1:${port}`)
    try {
      const get = async (authority: string): Promise<string> => {
        const req = client.request({ ':path': '/', ':authority': authority })
        let body = ''
        req.setEncoding('utf8')
        req.on('data', (d: string) => {
          body += d
        })
        await once(req, 'end')
        return body
      }
      expect(await get(`127.0.0.1:${port}`)).toBe('ok')
      expect(await get(`http://127.0.0.1:${port}`)).toBe('ok')
      expect(await get(`http://127.0.0.1:${port}`)).toBe('ok')
      expect(await get(`127.0.0.1:${port}`)).toBe('ok')
      expect(seen).toEqual(Array(4).fill(`127.0.0.1:${port}`))
      expect(peers).toEqual(['127.0.0.1:true'])
    } finally {
      client.close()
      await new Promise<void>((r) => tcp.close(() => r()))
      h2.close()
    }
  })
})
