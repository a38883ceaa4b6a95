/**
 * Goal: a gRPC client's cancellation or deadline reaches the backend's write as an aborted signal, so a
 * write held while there is no leader is dropped instead of proposed after the client gave up.
 * Method: the real client server over a LocalBackend whose put waits for its signal; a grpc-js client
 * with a short deadline, and one that cancels.
 */
import { credentials, loadPackageDefinition, type ServiceError, status } from '@grpc/grpc-js'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PutRequest } from '../mvcc/index.js'
import { type ClientServer, startClientServer } from './client-server.js'
import { loadEtcdProto } from './proto.js'
import { LocalBackend } from './testing/local-backend.js'

/** A backend whose puts hang (as with no leader) until their signal aborts, recording what they saw. */
class HangingBackend extends LocalBackend {
  readonly aborted: string[] = []
  override put(req: PutRequest, signal?: AbortSignal) {
    return new Promise<never>((_, reject) => {
      if (signal === undefined) return // never settles: the test then fails on `aborted`
      signal.addEventListener('abort', () => {
        this.aborted.push(Buffer.from(req.key).toString())
        reject(new Error('aborted'))
      })
    })
  }
}

describe('client cancellation reaches the backend', () => {
  let backend: HangingBackend
  let server: ClientServer
  let kv: Record<string, (...a: unknown[]) => { cancel(): void }> & { close(): void }

  beforeAll(async () => {
    backend = new HangingBackend()
    server = await startClientServer({ host: '127.0.0.1', port: 0, backend, registry: new Registry() })
    const pb = loadPackageDefinition(loadEtcdProto().packageDefinition) as unknown as {
      etcdserverpb: { KV: new (addr: string, creds: unknown) => typeof kv }
    }
    kv = new pb.etcdserverpb.KV(`127.0.0.1:${server.port}`, credentials.createInsecure())
  })
  afterAll(async () => {
    kv?.close()
    await server?.close()
    backend?.close()
  })

  const until = async (cond: () => boolean): Promise<void> => {
    const deadline = Date.now() + 5000
    while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  }

  it('a deadline that passes aborts the pending put', async () => {
    const err = await new Promise<ServiceError | null>((resolve) => {
      kv['Put']?.(
        { key: Buffer.from('deadline'), value: Buffer.from('v') },
        { deadline: Date.now() + 200 },
        resolve,
      )
    })
    expect(err?.code).toBe(status.DEADLINE_EXCEEDED)
    await until(() => backend.aborted.includes('deadline'))
    expect(backend.aborted).toContain('deadline')
  })

  it('a client cancel aborts the pending put', async () => {
    let done: ServiceError | null | undefined
    const call = kv['Put']?.(
      { key: Buffer.from('cancel'), value: Buffer.from('v') },
      (e: ServiceError | null) => {
        done = e
      },
    )
    await new Promise((r) => setTimeout(r, 100))
    call?.cancel()
    await until(() => backend.aborted.includes('cancel'))
    expect(backend.aborted).toContain('cancel')
    await until(() => done !== undefined)
    expect(done?.code).toBe(status.CANCELLED)
  })
})
