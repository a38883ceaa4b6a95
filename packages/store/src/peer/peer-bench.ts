/**
 * Benchmark hook for the peer transport: two {@link HttpTransport}s on loopback, one sending MsgApp
 * messages with `entryBytes` of payload each, the other counting. The sender keeps at most
 * `windowMessages` unacknowledged messages in its queue (a closed loop, like a leader bounded by
 * Raft's in-flight window), so the number reflects throughput, not queue drops.
 */
import { type Message, newMessage } from '@hakube/raft'
import { HttpTransport } from './http-transport.js'
import type { PeerLogger } from './peer-protocol.js'

export interface PeerBenchOptions {
  /** Messages to send. Default 100 000. */
  messages?: number
  /** Payload bytes of the single entry each message carries. Default 256. */
  entryBytes?: number
  /** Messages allowed in flight (sent, not yet received). Default 1024. */
  windowMessages?: number
  /** Listen hosts of the sender and the receiver. Default both 127.0.0.1. */
  hosts?: readonly [string, string]
}

export interface PeerBenchResult {
  messages: number
  elapsedMs: number
  messagesPerSec: number
  /** Entry payload megabytes (2^20) per second. */
  mbPerSec: number
}

const silent: PeerLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** Measures messages/s and MB/s between two transports on loopback. */
export async function benchPeerTransport(opts: PeerBenchOptions = {}): Promise<PeerBenchResult> {
  const total = opts.messages ?? 100_000
  const entryBytes = opts.entryBytes ?? 256
  const window = opts.windowMessages ?? 1024
  const [hostA, hostB] = opts.hosts ?? ['127.0.0.1', '127.0.0.1']
  const common = { clusterId: 7, logger: silent }
  const a = await HttpTransport.start({ ...common, memberId: 1, listen: { host: hostA, port: 0 } })
  const b = await HttpTransport.start({ ...common, memberId: 2, listen: { host: hostB, port: 0 } })
  try {
    a.addPeer(2, [b.url()])
    const data = new Uint8Array(entryBytes).fill(0x61)
    let sent = 0
    let received = 0
    const start = performance.now()
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        const batch: Message[] = []
        while (sent < total && sent - received < window) {
          sent++
          batch.push(
            newMessage({
              type: 'MsgApp',
              from: 1,
              to: 2,
              term: 1,
              index: sent,
              logTerm: 1,
              commit: sent,
              entries: [{ term: 1, index: sent + 1, type: 'normal', data }],
            }),
          )
        }
        a.send(batch)
      }
      b.onMessage(() => {
        received++
        if (received === total) resolve()
        else if (sent - received < window / 2) pump()
      })
      pump()
    })
    const elapsedMs = performance.now() - start
    return {
      messages: total,
      elapsedMs,
      messagesPerSec: (total / elapsedMs) * 1000,
      mbPerSec: ((total * entryBytes) / (1024 * 1024) / elapsedMs) * 1000,
    }
  } finally {
    await Promise.all([a.close(), b.close()])
  }
}
