/**
 * Goal: the benchmark hook runs end to end and reports sane numbers; each transport also works on its
 * own 127.0.1.x loopback address (how `hakube up` places hosts).
 */
import { describe, expect, it } from 'vitest'
import { benchPeerTransport } from './peer-bench.js'

describe('benchPeerTransport', () => {
  it('measures messages/s and MB/s on loopback', async () => {
    const r = await benchPeerTransport({ messages: 20_000, entryBytes: 128 })
    console.log(`peer transport: ${Math.round(r.messagesPerSec)} msg/s, ${r.mbPerSec.toFixed(1)} MB/s`)
    expect(r.messages).toBe(20_000)
    expect(r.messagesPerSec).toBeGreaterThan(0)
  })

  it('runs between members on their own 127.0.1.x addresses', async () => {
    const r = await benchPeerTransport({ messages: 1000, hosts: ['127.0.1.2', '127.0.1.3'] })
    expect(r.messages).toBe(1000)
  })
})
