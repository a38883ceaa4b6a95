/**
 * What sharing frozen objects costs and saves (src/cache/freeze.ts).
 * Goal: the cache's choice (freeze each object once, share it with every list and watcher) is cheap
 * next to the decode the store already pays, and far cheaper than a copy per watcher.
 * Method: 5,000 pod-sized objects (about 1.5 KB of JSON each) are parsed, deep-frozen and, for
 * comparison, structured-cloned, timed with performance.now; then 50 watchers of one CachedStorage
 * get the same instance of each event's object.
 */
import { describe, expect, it } from 'vitest'
import { deepFreeze } from '../src/cache/freeze.js'
import { CachedStorage, createMemoryStorage, type WatchEvent } from '../src/index.js'

function podLike(i: number): unknown {
  return {
    metadata: {
      name: `pod-${i}`,
      namespace: `ns-${i % 50}`,
      uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
      labels: { app: `app-${i % 20}`, tier: 'backend', 'pod-template-hash': 'abcdef1234' },
      annotations: { 'kubernetes.io/created-by': 'x'.repeat(200) },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `rs-${i % 20}`, uid: 'u', controller: true },
      ],
    },
    spec: {
      nodeName: `node-${i % 100}`,
      containers: [
        {
          name: 'main',
          image: 'registry.k8s.io/pause:3.9',
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '200m', memory: '256Mi' } },
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          env: Array.from({ length: 8 }, (_, k) => ({ name: `VAR_${k}`, value: `value-${k}` })),
        },
      ],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
    },
    status: {
      phase: 'Running',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
      })),
      podIP: `10.0.${i % 250}.${i % 200}`,
    },
  }
}

describe('cache object sharing', () => {
  it('freezing once costs a fraction of the decode; a copy per watcher would cost more than freezing', () => {
    const n = 5_000
    const json = Array.from({ length: n }, (_, i) => JSON.stringify(podLike(i)))
    const t0 = performance.now()
    const parsed = json.map((j) => JSON.parse(j) as object)
    const t1 = performance.now()
    for (const o of parsed) deepFreeze(o)
    const t2 = performance.now()
    for (const o of parsed) structuredClone(o)
    const t3 = performance.now()
    const us = (ms: number) => ((ms * 1000) / n).toFixed(1)
    console.log(
      `[cache] per object (${Math.round(json[0]!.length)} B JSON): parse ${us(t1 - t0)} µs, deep freeze ${us(t2 - t1)} µs, one structuredClone ${us(t3 - t2)} µs`,
    )
    expect(parsed.every((o) => Object.isFrozen(o))).toBe(true)
    expect((t2 - t1) / n).toBeLessThan(1) // well under a millisecond per object even on a loaded machine
  })

  it('every watcher gets the same frozen instance (one decode for all)', async () => {
    const cache = new CachedStorage(createMemoryStorage())
    const seen: WatchEvent[][] = Array.from({ length: 50 }, () => [])
    for (const log of seen)
      await cache.watch({ prefix: '/registry/pods/', afterRevision: 0 }, (ev) => log.push(ev))
    await cache.create('/registry/pods/ns/p', podLike(1))
    const deadline = Date.now() + 5_000
    while (seen.some((l) => l.length === 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5))
    const first = seen[0]![0]
    expect(first?.type).toBe('ADDED')
    for (const log of seen) expect(log[0]).toBe(first)
    if (first?.type === 'ADDED') expect(Object.isFrozen(first.object.value)).toBe(true)
    await cache.close()
  })
})
