/**
 * Goal: a watch client that stops reading cannot make the api-server buffer without bound: through
 * the watch cache, the handler's backpressure (watch.ts) leaves the events in the cache's bounded
 * per-watcher buffer, and once that overflows the stream is ended without an ERROR event (kube closes
 * a slow watcher's connection; client-go then watches again from its last resourceVersion, where an
 * ERROR 410 would make it relist), while a watcher that reads keeps getting every event.
 * Method: a server with the watch cache; a raw HTTP watch whose socket is paused, and a normal one;
 * 400 pods of ~20 KB each (8 MB: far more than the socket buffers, the response's 1 MiB and the
 * cache's 100-event bound); then
 * the paused socket is read: its stream must have ended by itself, with fewer than 400 ADDED events
 * and no ERROR, and the reading watcher must have all 400.
 */
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestServer, stopTestServers } from '../testing/harness.js'

afterEach(stopTestServers)

const PODS = 400
const PAD = 'x'.repeat(20_000)

describe('a slow watcher through the watch cache', () => {
  it('is ended without an ERROR event, while a reading watcher gets every event', async () => {
    const t = await startTestServer({ watchCache: true, namespaces: ['slow'] })
    const path = '/api/v1/namespaces/slow/pods?watch=true'
    // The slow client: a raw socket that reads nothing until the writes are done.
    const slow = connect(t.port, '127.0.0.1')
    slow.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
    slow.pause()
    const slowData: Buffer[] = []
    // The response ends with chunked encoding's last chunk (the connection may stay open: keep-alive).
    const slowEnded = new Promise<void>((resolve) =>
      slow.on('data', (b: Buffer) => {
        slowData.push(b)
        if (Buffer.concat(slowData.slice(-2)).toString('latin1').endsWith('0\r\n\r\n')) resolve()
      }),
    )
    // The reading client.
    const fast = await fetch(`${t.base}${path}`)
    const reader = (fast.body as ReadableStream<Uint8Array>).getReader()
    let fastAdded = 0
    let fastTail = ''
    const fastDone = (async () => {
      const dec = new TextDecoder()
      while (fastAdded < PODS) {
        const { value, done } = await reader.read()
        if (done) break
        const lines = (fastTail + dec.decode(value, { stream: true })).split('\n')
        fastTail = lines.pop() ?? ''
        for (const line of lines) if (line.startsWith('{"type":"ADDED"')) fastAdded++
      }
    })()
    await new Promise((r) => setTimeout(r, 200))
    const t0 = Date.now()
    for (let i = 0; i < PODS; i++) {
      await t.storage.create(`/registry/pods/slow/p${i}`, {
        metadata: { name: `p${i}`, namespace: 'slow', annotations: { pad: PAD } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      })
      // As writes coming over HTTP would, let the server's sockets run between two writes.
      await new Promise((r) => setImmediate(r))
    }
    await fastDone
    console.log(`[watch-slow] ${PODS} pods of 20 KB written and watched in ${Date.now() - t0} ms`)
    expect(fastAdded).toBe(PODS)
    // Now read the slow socket: its response must have been ended (its last chunk sent) by itself.
    slow.resume()
    await Promise.race([
      slowEnded,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the slow watch was not ended')), 10_000)),
    ])
    const text = Buffer.concat(slowData).toString('utf8')
    const added = (text.match(/"type":"ADDED"/g) ?? []).length
    console.log(`[watch-slow] the slow watcher got ${added} of ${PODS} events before its stream ended`)
    expect(text.startsWith('HTTP/1.1 200')).toBe(true)
    expect(added).toBeLessThan(PODS)
    expect(text).not.toMatch(/"type":"ERROR"/)
    await reader.cancel()
    slow.destroy()
  }, 60_000)
})
