import { describe, expect, it } from 'vitest'
import { MemoryCluster } from './memory-cluster.js'

const enc = new TextEncoder()

describe('MemoryCluster smoke', () => {
  it('elects a leader and commits proposals on every member', () => {
    const c = new MemoryCluster([1, 2, 3])
    c.stabilize()
    c.elect(1)
    for (let i = 0; i < 10; i++) expect(c.member(2).node.propose(enc.encode(`v${i}`))).toBeUndefined()
    c.stabilize()
    for (const m of c.members.values()) {
      const data = m.applied
        .filter((e) => e.data.length > 0 && e.type === 'normal')
        .map((e) => new TextDecoder().decode(e.data))
      expect(data).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`))
    }
  })

  it('elects by timeout', () => {
    const c = new MemoryCluster([1, 2, 3], { seed: 5 })
    for (let i = 0; i < 100 && c.leader() === undefined; i++) {
      c.tickAll()
      c.stabilize()
    }
    expect(c.leader()).toBeDefined()
  })
})
