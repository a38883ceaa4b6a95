/**
 * TCP pass-through mode (kubeadm's HAProxy example runs `mode tcp`): each client connection is piped
 * to a backend chosen round robin, untouched, so TLS and client certificates reach the api-server as
 * sent. A backend that refuses the connection (or does not accept it within the connect timeout) is
 * marked down and the next one is tried: the client has sent nothing to it, so nothing is lost. Once
 * piped, a broken side closes the other at once. A backend whose checks time out while it still sends
 * is busy, not hung: out of rotation, its connections kept; one that sends nothing is cut.
 */
import net from 'node:net'
import type { Logger } from 'pino'
import type { Backend, BackendPool, InFlight } from './backend-pool.js'

export interface TcpBalancerOptions {
  readonly pool: BackendPool
  readonly log: Logger
  readonly connectTimeoutMs: number
}

export class TcpBalancer {
  readonly counters = { retries: 0, noBackend: 0, badGateway: 0, aborted: 0 }
  private readonly live = new Set<net.Socket>()

  constructor(private readonly opts: TcpBalancerOptions) {}

  get inFlight(): number {
    return this.live.size
  }

  handle(client: net.Socket): void {
    this.live.add(client)
    client.once('close', () => this.live.delete(client))
    client.on('error', () => client.destroy())
    // Hold what the client sends (the TLS ClientHello) until a backend is connected.
    client.pause()
    this.connect(client, new Set())
  }

  abortAll(): void {
    for (const s of this.live) s.destroy()
  }

  private connect(client: net.Socket, tried: Set<Backend>): void {
    if (client.destroyed) return
    const b = this.opts.pool.pick(tried)
    if (b === undefined) {
      this.counters.noBackend++
      client.destroy()
      return
    }
    tried.add(b)
    b.requests++
    const port = Number(b.url.port !== '' ? b.url.port : b.url.protocol === 'https:' ? 443 : 80)
    const upstream = net.connect({ host: b.url.hostname, port, noDelay: true })
    let connected = false
    const timer = setTimeout(
      () => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'LB_CONNECT_TIMEOUT' })),
      this.opts.connectTimeoutMs,
    )
    const handle: InFlight = {
      abort: () => {
        upstream.destroy()
        client.destroy()
      },
    }
    upstream.once('connect', () => {
      clearTimeout(timer)
      connected = true
      if (client.destroyed) {
        upstream.destroy()
        return
      }
      b.active++
      b.inFlight.add(handle)
      upstream.once('close', () => {
        b.active--
        b.inFlight.delete(handle)
        client.destroy()
      })
      client.once('close', () => upstream.destroy())
      // Bytes from the backend mean it is alive, however slowly its checks come back: a check that
      // times out meanwhile takes it out of rotation but leaves this connection (health-checker.ts),
      // as in http mode; one that stops sending anything is hung and is cut.
      upstream.on('data', () => {
        b.lastProgressAtMs = Date.now()
      })
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      b.errors++
      if (connected) {
        client.destroy()
        return
      }
      this.opts.pool.recordPassiveFailure(b, err.code ?? err.message)
      this.counters.retries++
      this.connect(client, tried)
    })
  }
}
