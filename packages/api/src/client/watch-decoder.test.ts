/**
 * Goal: the watch framing survives any chunking. Method: feed the same stream whole, byte by byte
 * and at every split point (including inside a multi-byte UTF-8 character) and compare events.
 */
import { describe, expect, it } from 'vitest'
import { TransportError } from './errors.js'
import type { KubeObject, WatchEvent } from './types.js'
import { WatchDecoder } from './watch-decoder.js'

const events: WatchEvent<KubeObject>[] = [
  { type: 'ADDED', object: { kind: 'Pod', metadata: { name: 'a', resourceVersion: '5' } } },
  { type: 'MODIFIED', object: { kind: 'Pod', metadata: { name: 'ü-€-𝄞', resourceVersion: '6' } } },
  { type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '7' } } },
  { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', code: 410, reason: 'Expired' } },
]
const wire = Buffer.from(`${events.map((e) => JSON.stringify(e)).join('\n')}\n`, 'utf8')

function decodeChunks(chunks: Uint8Array[]): WatchEvent<KubeObject>[] {
  const decoder = new WatchDecoder<KubeObject>()
  const out = chunks.flatMap((c) => decoder.push(c))
  return [...out, ...decoder.end()]
}

describe('WatchDecoder', () => {
  it('decodes a whole stream', () => {
    expect(decodeChunks([wire])).toEqual(events)
  })

  it('decodes byte by byte, including inside multi-byte characters', () => {
    const bytes = [...wire].map((b) => Uint8Array.of(b))
    expect(decodeChunks(bytes)).toEqual(events)
  })

  it('decodes at every two-way split point', () => {
    for (let i = 1; i < wire.length; i++) {
      expect(decodeChunks([wire.subarray(0, i), wire.subarray(i)])).toEqual(events)
    }
  })

  it('returns nothing until a line is complete, and the last line without newline on end()', () => {
    const decoder = new WatchDecoder<KubeObject>()
    const line = JSON.stringify(events[0])
    expect(decoder.push(line.slice(0, 10))).toEqual([])
    expect(decoder.push(line.slice(10))).toEqual([])
    expect(decoder.end()).toEqual([events[0]])
  })

  it('skips blank lines and CRLF endings', () => {
    const text = `\n${JSON.stringify(events[0])}\r\n\n${JSON.stringify(events[1])}\n`
    expect(decodeChunks([Buffer.from(text)])).toEqual([events[0], events[1]])
  })

  it('rejects non-JSON, unknown types, missing objects and oversized lines as protocol errors', () => {
    const bad = ['{nope}\n', '{"type":"WEIRD","object":{}}\n', '{"type":"ADDED"}\n', '[1]\n']
    for (const text of bad) {
      const err = (() => {
        try {
          new WatchDecoder().push(text)
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect(err).toBeInstanceOf(TransportError)
      expect((err as TransportError).kind).toBe('protocol')
    }
    expect(() => new WatchDecoder(16).push('x'.repeat(17))).toThrow(/exceeds 16 bytes/)
  })
})
