import { describe, expect, it, onTestFailed } from 'vitest'
import { fitErrorMessage, numFeasibleNodesToFind, type Scheduling, schedulePod } from './algorithm.js'
import { SchedulerCache } from './cache.js'
import { compilePod, REASON_AFFINITY } from './filters.js'
import { makeNode, makePod, seededRandom, testSeed } from './testing/objects.js'

function scheduling(cache: SchedulerCache, seed = 1): Scheduling {
  return { nodes: cache.list(), random: seededRandom(seed), nextStartNodeIndex: 0 }
}

describe('fitErrorMessage', () => {
  it("prints kube's histogram, sorted as strings", () => {
    const reasons = new Map([
      ['Insufficient cpu', 2],
      [REASON_AFFINITY, 1],
    ])
    expect(fitErrorMessage(3, reasons)).toBe(
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu.",
    )
    expect(fitErrorMessage(3, new Map([['Insufficient cpu', 3]]))).toBe(
      '0/3 nodes are available: 3 Insufficient cpu.',
    )
    // Go's sort.Strings: "10 ..." before "2 ...".
    expect(
      fitErrorMessage(
        12,
        new Map([
          ['Insufficient memory', 2],
          ['Insufficient cpu', 10],
        ]),
      ),
    ).toBe('0/12 nodes are available: 10 Insufficient cpu, 2 Insufficient memory.')
    expect(fitErrorMessage(0, new Map())).toBe('0/0 nodes are available:')
  })
})

describe('numFeasibleNodesToFind', () => {
  it('follows kube: all below 100 nodes, then the adaptive percentage, at least 100', () => {
    expect(numFeasibleNodesToFind(50)).toBe(50)
    expect(numFeasibleNodesToFind(150)).toBe(100)
    expect(numFeasibleNodesToFind(1000)).toBe(420)
    expect(numFeasibleNodesToFind(5000)).toBe(500)
    expect(numFeasibleNodesToFind(10_000)).toBe(500)
    expect(numFeasibleNodesToFind(1000, 100)).toBe(1000)
  })
})

describe('schedulePod', () => {
  it('counts every node once in the FitError, with all the resource reasons of a node', () => {
    const cache = new SchedulerCache()
    cache.setNode(makeNode({ name: 'a', cpu: '1', memory: '1Gi', labels: { disk: 'ssd' } }))
    cache.setNode(makeNode({ name: 'b', cpu: '1', memory: '1Gi', labels: { disk: 'ssd' } }))
    cache.setNode(makeNode({ name: 'c', cpu: '8', labels: { disk: 'hdd' } }))
    const r = schedulePod(
      compilePod(makePod({ name: 'p', cpu: '2', memory: '2Gi', nodeSelector: { disk: 'ssd' } })),
      scheduling(cache),
    )
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.message).toBe(
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu, 2 Insufficient memory.",
    )
  })

  it('prefers the least allocated node', () => {
    const cache = new SchedulerCache()
    cache.setNode(makeNode({ name: 'busy', cpu: '4', memory: '8Gi' }))
    cache.setNode(makeNode({ name: 'idle', cpu: '4', memory: '8Gi' }))
    cache.addOrUpdateBoundPod(makePod({ name: 'x', cpu: '3', memory: '6Gi', nodeName: 'busy' }))
    for (let seed = 1; seed <= 20; seed++) {
      const r = schedulePod(compilePod(makePod({ name: 'p', cpu: '100m' })), scheduling(cache, seed))
      expect(r.ok && r.node.name).toBe('idle')
    }
  })

  it("spreads one controller's pods over equal nodes and breaks ties with the seeded source", () => {
    const seed = testSeed()
    onTestFailed(() => console.log(`SEED=${seed}`))
    const cache = new SchedulerCache()
    for (let i = 0; i < 5; i++) cache.setNode(makeNode({ name: `n${i}`, cpu: '100', memory: '100Gi' }))
    const s = scheduling(cache, seed)
    const counts = new Map<string, number>()
    for (let i = 0; i < 10; i++) {
      const pod = makePod({ name: `p${i}`, cpu: '10m', memory: '1Mi', ownerUid: 'rs-1' })
      const r = schedulePod(compilePod(pod), s)
      if (!r.ok) throw new Error(r.message)
      cache.assume(pod, r.node.name)
      counts.set(r.node.name, (counts.get(r.node.name) ?? 0) + 1)
    }
    expect([...counts.values()].sort()).toEqual([2, 2, 2, 2, 2])
    // The same seed makes the same choices.
    const again = new SchedulerCache()
    for (let i = 0; i < 5; i++) again.setNode(makeNode({ name: `n${i}`, cpu: '100', memory: '100Gi' }))
    const pick = (c: SchedulerCache) => {
      const r = schedulePod(compilePod(makePod({ name: 'q', cpu: '10m' })), scheduling(c, seed))
      return r.ok ? r.node.name : ''
    }
    expect(pick(again)).toBe(pick(again))
  })

  it('stops after numFeasibleNodesToFind and starts the next search where it stopped', () => {
    const cache = new SchedulerCache()
    for (let i = 0; i < 1000; i++) cache.setNode(makeNode({ name: `n${i}` }))
    const s = scheduling(cache)
    const r = schedulePod(compilePod(makePod({ name: 'p', cpu: '1m' })), s)
    expect(r.ok && r.evaluated).toBe(420)
    expect(s.nextStartNodeIndex).toBe(420)
    schedulePod(compilePod(makePod({ name: 'p', cpu: '1m' })), s)
    expect(s.nextStartNodeIndex).toBe(840)
  })

  it('places 1,000 pods on 1,000 nodes without over-committing any node', () => {
    const seed = testSeed()
    onTestFailed(() => console.log(`SEED=${seed}`))
    const random = seededRandom(seed)
    const cache = new SchedulerCache()
    for (let i = 0; i < 1000; i++)
      cache.setNode(makeNode({ name: `n${i}`, cpu: '2', memory: '4Gi', labels: { group: String(i % 4) } }))
    const s: Scheduling = { nodes: cache.list(), random, nextStartNodeIndex: 0 }
    for (let i = 0; i < 1000; i++) {
      const pod = makePod({
        name: `p${i}`,
        cpu: `${100 + Math.floor(random() * 900)}m`,
        memory: '256Mi',
        nodeSelector: { group: String(i % 3) },
      })
      const r = schedulePod(compilePod(pod), s)
      if (!r.ok) throw new Error(r.message)
      expect(r.node.labels['group']).toBe(String(i % 3))
      cache.assume(pod, r.node.name)
    }
    for (const n of cache.list()) expect(n.requested.milliCpu).toBeLessThanOrEqual(2000)
  })
})
