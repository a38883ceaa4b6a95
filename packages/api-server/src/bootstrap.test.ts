import { createMemoryStorage, type Storage, StorageError } from '@hakube/storage'
import { afterEach, describe, expect, it } from 'vitest'
import { SYSTEM_NAMESPACES, type SystemNamespacesController, startSystemNamespaces } from './bootstrap.js'

const running: Array<{ c: SystemNamespacesController; s: Storage }> = []
afterEach(async () => {
  for (const { c, s } of running.splice(0)) {
    c.stop()
    await s.close()
  }
})

function start(storage: Storage, onError?: (err: unknown) => void): SystemNamespacesController {
  const c = startSystemNamespaces(storage, { intervalMs: 50, retryMs: 20, ...(onError && { onError }) })
  running.push({ c, s: storage })
  return c
}

async function names(storage: Storage): Promise<string[]> {
  const list = await storage.list({ prefix: '/registry/namespaces/' })
  return list.items.map((i) => (i.value as { metadata: { name: string } }).metadata.name).sort()
}

describe('the system namespaces controller', () => {
  it('creates default, kube-system, kube-public and kube-node-lease as ordinary namespaces', async () => {
    const storage = createMemoryStorage()
    await start(storage).ready
    expect(await names(storage)).toEqual([...SYSTEM_NAMESPACES].sort())
    const stored = await storage.get('/registry/namespaces/kube-system')
    expect(stored.value).toMatchObject({
      kind: 'Namespace',
      metadata: { name: 'kube-system', uid: expect.any(String), creationTimestamp: expect.any(String) },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    })
  })

  it('recreates a system namespace that was removed', async () => {
    const storage = createMemoryStorage()
    await start(storage).ready
    await storage.delete('/registry/namespaces/kube-node-lease')
    expect(await names(storage)).not.toContain('kube-node-lease')
    const deadline = Date.now() + 5_000
    while (!(await names(storage)).includes('kube-node-lease') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    expect(await names(storage)).toContain('kube-node-lease')
  })

  it('keeps retrying while the store fails, then succeeds', async () => {
    const storage = createMemoryStorage()
    let failures = 3
    const flaky: Storage = Object.create(storage, {
      create: {
        value: (...args: Parameters<Storage['create']>) =>
          failures-- > 0 ? Promise.reject(new StorageError('Unavailable')) : storage.create(...args),
      },
    })
    const errors: unknown[] = []
    await start(flaky, (err) => errors.push(err)).ready
    expect(errors.length).toBe(3)
    expect(await names(storage)).toEqual([...SYSTEM_NAMESPACES].sort())
  })
})
