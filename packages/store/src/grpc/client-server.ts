/**
 * startClientServer: hakube-store's client URL — the etcd v3 gRPC services and the JSON gateway on one
 * host:port, over any {@link EtcdBackend}.
 */
import type { Registry } from 'prom-client'
import type { EtcdBackend } from '../backend.js'
import { ClientListener } from './client-listener.js'
import { createGateway } from './gateway.js'
import { createGrpcServer, type Logger } from './grpc-services.js'

export interface ClientServerOptions {
  host: string
  /** 0 picks a free port. */
  port: number
  backend: EtcdBackend
  /** Served at /metrics. */
  registry: Registry
  logger?: Logger
  /** etcd server version reported by /version. */
  version?: string
}

export interface ClientServer {
  readonly port: number
  /** Closes every client connection and releases the port. */
  close(): Promise<void>
}

export async function startClientServer(opts: ClientServerOptions): Promise<ClientServer> {
  const grpc = createGrpcServer(opts.backend, opts.logger)
  const gateway = await createGateway({
    backend: opts.backend,
    registry: opts.registry,
    version: opts.version,
  })
  const listener = await ClientListener.listen({
    host: opts.host,
    port: opts.port,
    grpc,
    http: gateway.server,
  })
  return {
    port: listener.port,
    async close() {
      await listener.close()
      grpc.forceShutdown()
      await gateway.close()
    },
  }
}
