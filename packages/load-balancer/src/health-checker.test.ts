/**
 * Goal: a health check reports what the backend did, not how busy the balancer was. A balancer whose
 * event loop was held up past the check's timeout, while the answer already sat in its socket, must
 * read that answer (Node runs expired timers before it polls I/O) rather than declare a timeout.
 * Real sockets on 127.0.1.167.
 */
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { checkOnce } from './health-checker.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A backend that answers /readyz at once, then holds the (shared) event loop for `stallMs`. */
async function answerThenStall(stallMs: number): Promise<URL> {
  const server = net.createServer((s) => {
    s.on('error', () => s.destroy())
    s.once('data', () => {
      s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok')
      // The answer is in the balancer's socket now; the loop is starved past the check's timeout.
      const until = Date.now() + stallMs
      while (Date.now() < until) {
        // busy: the balancer process is starved
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.1.167', resolve))
  cleanups.push(() => new Promise((r) => server.close(r)))
  return new URL(`http://127.0.1.167:${(server.address() as net.AddressInfo).port}`)
}

describe('checkOnce', () => {
  it('reads an answer that arrived before a starved balancer got to its timeout', async () => {
    const url = await answerThenStall(400)
    const r = await checkOnce(url, { path: '/readyz', timeoutMs: 100, ca: undefined })
    expect(r).toEqual({ error: undefined, dead: false })
  })

  it('still times out a backend that never answers', async () => {
    const server = net.createServer(() => {
      // accepts, never answers (a stopped process)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.1.167', resolve))
    const sockets: net.Socket[] = []
    server.on('connection', (s) => {
      s.on('error', () => s.destroy())
      sockets.push(s)
    })
    cleanups.push(() => {
      for (const s of sockets) s.destroy()
      return new Promise((r) => server.close(r))
    })
    const url = new URL(`http://127.0.1.167:${(server.address() as net.AddressInfo).port}`)
    const started = Date.now()
    const r = await checkOnce(url, { path: '/readyz', timeoutMs: 100, ca: undefined })
    expect(r).toMatchObject({ error: 'timeout after 100ms', dead: true, timedOut: true })
    expect(Date.now() - started).toBeGreaterThanOrEqual(95)
  })
})
