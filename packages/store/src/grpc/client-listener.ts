/**
 * ClientListener: one TCP port for gRPC and HTTP/1.1, as etcd's client URL (etcd multiplexes with
 * cmux; etcdctl speaks h2c with prior knowledge). Each accepted connection is peeked: one that opens
 * with the HTTP/2 preface ("PRI * HTTP/2.0") is injected into the grpc-js server
 * (`Server.createConnectionInjector`), any other is emitted as a connection of the HTTP/1.1 server. The
 * peeked bytes are put back (`unshift`). An HTTP/1.1 connection is handed over as is; an HTTP/2 one
 * is wrapped in an {@link AuthorityRewritingSocket}, which strips a URL scheme from `:authority`
 * (etcdctl 3.4 sends `http://host:port` for Status/HashKV/MoveLeader; Node's HTTP/2 refuses it).
 */
import { once } from 'node:events'
import type { Server as HttpServer } from 'node:http'
import { createServer, type Server as NetServer, type Socket } from 'node:net'
import { type Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js'
import { AuthorityRewritingSocket } from './authority-rewriter.js'

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0')

export interface ClientListenerOptions {
  host: string
  port: number
  grpc: GrpcServer
  http: HttpServer
}

export class ClientListener {
  private readonly sockets = new Set<Socket>()

  private constructor(
    private readonly server: NetServer,
    private readonly injector: ReturnType<GrpcServer['createConnectionInjector']>,
    private readonly http: HttpServer,
    readonly port: number,
  ) {}

  static async listen(opts: ClientListenerOptions): Promise<ClientListener> {
    const injector = opts.grpc.createConnectionInjector(ServerCredentials.createInsecure())
    const server = createServer({ pauseOnConnect: true })
    server.listen(opts.port, opts.host)
    await once(server, 'listening')
    const addr = server.address()
    if (addr === null || typeof addr === 'string') throw new Error('client listener: no TCP address')
    const listener = new ClientListener(server, injector, opts.http, addr.port)
    server.on('connection', (socket) => listener.accept(socket))
    return listener
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      const n = Math.min(head.length, H2_PREFACE.length)
      const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n))
      if (isH2 && head.length < H2_PREFACE.length) return
      socket.off('data', onData)
      socket.off('error', onError)
      socket.pause()
      socket.unshift(head)
      // HTTP/2 goes through the :authority rewriter (see AuthorityRewriter), as a JS stream.
      if (isH2) this.injector.injectConnection(new AuthorityRewritingSocket(socket))
      else {
        // The HTTP/1.1 server reads the socket's handle natively; resuming flushes the peeked bytes
        // (buffered in the stream) to its 'data' listener first.
        this.http.emit('connection', socket)
        socket.resume()
      }
    }
    const onError = (): void => {
      socket.destroy()
    }
    socket.on('data', onData)
    socket.on('error', onError)
    socket.resume()
  }

  /** Stops accepting, closes every connection (gRPC streams are cancelled) and releases the port. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.injector.destroy()
    for (const s of this.sockets) s.destroy()
    this.http.closeAllConnections?.()
    await closed
  }
}
