/** The storage contract against the memory backend (the MVCC library in-process). */
import { describe, expect, it } from 'vitest'
import { createMemoryStorage } from '../src/index.js'
import { EventLog, storageContract } from './contract.js'

storageContract('memory', async () => {
  const storage = createMemoryStorage()
  return { storage, canTimeout: false, newStorage: () => storage.client() }
})

describe('memory backend specifics', () => {
  it('progressNotify watches get BOOKMARK events at the current revision', async () => {
    const s = createMemoryStorage({ progressNotifyIntervalMs: 50 })
    const log = new EventLog()
    const created = await s.create('/registry/pods/ns/a', {})
    await s.watch({ prefix: '/registry/pods/', afterRevision: 0, progressNotify: true }, log.handler)
    const [ev] = await log.until(1, 5_000)
    expect(ev).toEqual({ type: 'BOOKMARK', revision: created.modRevision })
    await s.close()
  })

  it('a slow handler does not lose events: past the buffer limit the watch replays from history', async () => {
    const s = createMemoryStorage({ maxBufferedWatchResponses: 4 })
    const log = new EventLog()
    await s.watch({ prefix: '/registry/pods/', afterRevision: 0 }, log.handler)
    // 50 writes in one synchronous burst: far more responses than the buffer holds.
    const writes = Array.from({ length: 50 }, (_, i) => s.create(`/registry/pods/ns/p${i}`, { i }))
    await Promise.all(writes)
    const evs = await log.until(50, 5_000)
    expect(evs.map((e) => (e.type === 'ADDED' ? e.object.value : e.type))).toEqual(
      Array.from({ length: 50 }, (_, i) => ({ i })),
    )
    await s.close()
  })
})
