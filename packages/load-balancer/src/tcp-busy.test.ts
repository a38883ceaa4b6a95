/**
 * Goal: in TCP mode, as in http mode, busy is not hung. A backend whose health checks time out while
 * data still flows from it leaves rotation but its piped connections are not cut; once it stops
 * sending anything it is hung, and they are cut so their clients see a closed connection, not a hang.
 * Raw backend on 127.0.1.167, balancer on 127.0.1.169.
 */
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startBalancer } from './testing/fake-backend.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('--mode tcp, a backend whose checks time out', () => {
  it('keeps its piped connections while it sends, cuts them once it stops', async () => {
    let sending = true
    const sockets = new Set<net.Socket>()
    const backend = net.createServer((s) => {
      sockets.add(s)
      s.on('error', () => s.destroy())
      s.on('close', () => sockets.delete(s))
      s.once('data', (d: Buffer) => {
        // Its checks never get an answer (its request queue is long); the stream goes on.
        if (d.toString().includes('/readyz')) return
        const t = setInterval(() => {
          if (sending) s.write('x')
        }, 20)
        s.on('close', () => clearInterval(t))
      })
    })
    await new Promise<void>((resolve) => backend.listen(0, '127.0.1.167', resolve))
    cleanups.push(() => {
      for (const s of sockets) s.destroy()
      return new Promise((r) => backend.close(r))
    })
    const port = (backend.address() as net.AddressInfo).port
    const { lb, url } = await startBalancer(
      '127.0.1.169',
      [`http://127.0.1.167:${port}`],
      ['--mode=tcp', '--health-interval=100ms', '--health-timeout=150ms', '--fall=2'],
    )
    cleanups.push(() => lb.shutdown(0))
    const target = new URL(url)
    const client = net.connect({ host: target.hostname, port: Number(target.port) })
    cleanups.push(() => client.destroy())
    let received = 0
    let closed = false
    client.on('data', (d: Buffer) => {
      received += d.length
    })
    client.on('error', () => undefined)
    client.on('close', () => {
      closed = true
    })
    client.write('GET /stream HTTP/1.1\r\nhost: x\r\n\r\n')
    await until(() => received > 0, 'stream started')
    await until(() => lb.pool.stats()[0]?.state === 'down', 'backend out of rotation')
    // Several more timed-out checks while it still sends: the stream is left alone.
    await until(() => (lb.pool.stats()[0]?.consecutiveFailures ?? 0) >= 5, 'more failed checks')
    expect(closed).toBe(false)
    const before = received
    await until(() => received > before, 'stream still flowing')
    sending = false
    await until(() => closed, 'hung stream cut')
  })
})
