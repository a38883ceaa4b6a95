/**
 * Small fake api-servers for the balancer's tests: real node:http servers on loopback that answer
 * the health path, echo their name, answer slowly, stream a watch, accept upgrades, and can be killed
 * (every connection reset, like SIGKILL), hung (accept but never answer, like SIGSTOP) or restarted
 * on the same address.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import pino, { type Logger } from 'pino'
import { parseLbFlags } from '../config.js'
import { LoadBalancer } from '../load-balancer.js'

export class FakeBackend {
  readonly name: string
  readonly host: string
  port = 0
  /** /readyz answers 200 while true, 500 otherwise. */
  ready = true
  /** Accept connections but never answer anything (a stopped process). */
  hung = false
  /** Bodies of non-GET requests received, as text. */
  readonly received: string[] = []
  private server: http.Server | undefined
  private readonly sockets = new Set<Socket>()

  constructor(name: string, host: string) {
    this.name = name
    this.host = host
  }

  get url(): string {
    return `http://${this.host}:${this.port}`
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => this.handle(req, res))
    server.keepAliveTimeout = 30_000
    server.on('connection', (s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    server.on('upgrade', (req, socket) => {
      if (this.hung) return
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${req.headers.upgrade}\r\nconnection: Upgrade\r\n\r\n`,
      )
      socket.write(`hello from ${this.name}\n`)
      socket.pipe(socket)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, this.host, () => resolve())
    })
    this.port = (server.address() as AddressInfo).port
    this.server = server
    return this
  }

  /** SIGKILL: the listener closes and every connection is reset. */
  kill(): void {
    this.server?.close()
    for (const s of this.sockets) s.resetAndDestroy()
    this.sockets.clear()
    this.server = undefined
  }

  async restart(): Promise<void> {
    this.hung = false
    await this.start()
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.hung) return
    const url = new URL(req.url ?? '/', 'http://x')
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') this.received.push(Buffer.concat(chunks).toString())
      if (this.hung) return
      if (url.pathname === '/readyz') {
        res.writeHead(this.ready ? 200 : 500).end(this.ready ? 'ok' : 'not ready')
        return
      }
      if (url.searchParams.get('watch') === 'true' || url.pathname === '/stream') {
        res.writeHead(200, { 'content-type': 'application/json' })
        let n = 0
        const send = (): void => {
          res.write(`${JSON.stringify({ type: 'ADDED', object: { backend: this.name, n: n++ } })}\n`)
        }
        send()
        const t = setInterval(send, 50)
        res.on('close', () => clearInterval(t))
        return
      }
      if (url.pathname === '/die') {
        // The request reached this backend, which dies before answering.
        req.socket.resetAndDestroy()
        return
      }
      const delayMs = Number(url.searchParams.get('delay') ?? '0')
      const answer = (): void => {
        if (res.destroyed) return
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`${this.name} ${req.method} ${url.pathname}`)
      }
      if (delayMs > 0) setTimeout(answer, delayMs)
      else answer()
    })
  }
}

/** Log lines a test can read (pino writes JSON lines to it). */
export function captureLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const log = pino(
    { level: 'info' },
    {
      write(line: string): void {
        lines.push(JSON.parse(line) as Record<string, unknown>)
      },
    },
  )
  return { log, lines }
}

/** A balancer on `host`, port 0, with fast checks, from hakube-lb flags. */
export async function startBalancer(
  host: string,
  backends: readonly string[],
  extra: readonly string[] = [],
  log: Logger = pino({ level: 'silent' }),
): Promise<{ lb: LoadBalancer; url: string; statsUrl: string | undefined }> {
  const r = parseLbFlags([
    `--bind-address=${host}`,
    '--port=0',
    `--backends=${backends.join(',')}`,
    '--health-interval=100ms',
    '--health-timeout=150ms',
    '--connect-timeout=300ms',
    ...extra,
  ])
  if (!r.ok || !('config' in r)) throw new Error(`bad test flags: ${JSON.stringify(r)}`)
  const lb = new LoadBalancer(r.config, log)
  const ports = await lb.start()
  return {
    lb,
    url: `http://${host}:${ports.port}`,
    statsUrl: ports.statsPort === undefined ? undefined : `http://${host}:${ports.statsPort}`,
  }
}
