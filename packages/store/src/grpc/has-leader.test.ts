/**
 * Goal: etcd's `hasleader` request metadata (clientv3.WithRequireLeader) is honoured as etcd 3.4's
 * interceptors do: a unary request or a watch from such a client gets "etcdserver: no leader"
 * (Unavailable) at once from a member without a leader, a watch that loses its leader is ended after a
 * few checks, and clients that do not ask are served as before.
 * Method: the real client server over a LocalBackend whose leadership the test switches.
 */
import { credentials, loadPackageDefinition, Metadata, type ServiceError, status } from '@grpc/grpc-js'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ClientServer, startClientServer } from './client-server.js'
import { loadEtcdProto } from './proto.js'
import { LocalBackend } from './testing/local-backend.js'

class SwitchableLeader extends LocalBackend {
  leader = true
  override hasLeader(): boolean {
    return this.leader
  }
}

type Client = Record<string, (...a: unknown[]) => unknown> & { close(): void }

describe('the hasleader metadata', () => {
  let backend: SwitchableLeader
  let server: ClientServer
  let kv: Client
  let watch: Client
  const requireLeader = (): Metadata => {
    const md = new Metadata()
    md.set('hasleader', 'true')
    return md
  }

  beforeAll(async () => {
    backend = new SwitchableLeader()
    server = await startClientServer({ host: '127.0.0.1', port: 0, backend, registry: new Registry() })
    const pb = loadPackageDefinition(loadEtcdProto().packageDefinition) as unknown as {
      etcdserverpb: Record<string, new (addr: string, creds: unknown) => Client>
    }
    const addr = `127.0.0.1:${server.port}`
    kv = new pb.etcdserverpb['KV']!(addr, credentials.createInsecure())
    watch = new pb.etcdserverpb['Watch']!(addr, credentials.createInsecure())
  })
  afterAll(async () => {
    kv?.close()
    watch?.close()
    await server?.close()
    backend?.close()
  })

  const range = (md?: Metadata) =>
    new Promise<ServiceError | null>((resolve) => {
      const args: unknown[] = [{ key: Buffer.from('a') }]
      if (md !== undefined) args.push(md)
      args.push((err: ServiceError | null) => resolve(err))
      kv['Range']?.(...args)
    })

  it('refuses unary requests that require a leader when there is none, serves the others', async () => {
    backend.leader = true
    expect(await range(requireLeader())).toBeNull()
    backend.leader = false
    const err = await range(requireLeader())
    expect(err?.code).toBe(status.UNAVAILABLE)
    expect(err?.details).toBe('etcdserver: no leader')
    expect(await range()).toBeNull()
    backend.leader = true
  })

  it('refuses a watch without a leader, and ends one whose leader goes away', async () => {
    const ended = (call: { on(ev: string, f: (e: ServiceError) => void): void }) =>
      new Promise<ServiceError>((resolve) => call.on('error', resolve))
    backend.leader = false
    const refused = watch['Watch']?.(requireLeader()) as {
      on(ev: string, f: (e: ServiceError) => void): void
    }
    const e1 = await ended(refused)
    expect(e1.code).toBe(status.UNAVAILABLE)
    expect(e1.details).toBe('etcdserver: no leader')

    backend.leader = true
    const live = watch['Watch']?.(requireLeader()) as {
      on(ev: string, f: (e: ServiceError) => void): void
      write(x: unknown): void
    }
    live.write({ create_request: { key: Buffer.from('w') } })
    await new Promise((r) => setTimeout(r, 300))
    const t0 = Date.now()
    const done = ended(live)
    backend.leader = false
    const e2 = await done
    expect(e2.details).toBe('etcdserver: no leader')
    // etcd's monitorLeader: a few checks in a row, not the first miss.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500)
    backend.leader = true
  })
})
