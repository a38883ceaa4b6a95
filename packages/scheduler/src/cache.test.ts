import { describe, expect, it } from 'vitest'
import { type NodeInfo, SchedulerCache, schedulingTaints } from './cache.js'
import { makeNode, makePod } from './testing/objects.js'

const node = (c: SchedulerCache, name: string) => c.get(name) as NodeInfo

describe('SchedulerCache', () => {
  it('counts assumed pods until the informer confirms them, and forgets failed ones', () => {
    const c = new SchedulerCache()
    c.setNode(makeNode({ name: 'n', cpu: '2' }))
    const pod = makePod({ name: 'a', cpu: '500m', memory: '1Gi', ownerUid: 'rs' })
    c.assume(pod, 'n')
    expect(c.isAssumed('uid-a')).toBe(true)
    expect(node(c, 'n')).toMatchObject({ podCount: 1, requested: { milliCpu: 500, memory: 2 ** 30 } })
    expect(node(c, 'n').ownerCounts.get('rs')).toBe(1)
    // The informer shows it bound: confirmed, counted once.
    c.addOrUpdateBoundPod({ ...pod, spec: { ...pod.spec, nodeName: 'n' } })
    expect(c.isAssumed('uid-a')).toBe(false)
    expect(node(c, 'n')).toMatchObject({ podCount: 1, requested: { milliCpu: 500 } })
    c.forget('uid-a')
    expect(node(c, 'n').podCount).toBe(1)
    // An assumed pod whose binding failed is forgotten.
    c.assume(makePod({ name: 'b', cpu: '1' }), 'n')
    c.forget('uid-b')
    expect(node(c, 'n')).toMatchObject({ podCount: 1, requested: { milliCpu: 500 } })
    c.removePod('uid-a')
    expect(node(c, 'n')).toMatchObject({ podCount: 0, requested: { milliCpu: 0, memory: 0 } })
    expect(node(c, 'n').ownerCounts.size).toBe(0)
  })

  it('moves a pod that shows up on another node and keeps pods of nodes not seen yet', () => {
    const c = new SchedulerCache()
    c.setNode(makeNode({ name: 'a' }))
    const pod = makePod({ name: 'p', cpu: '1', nodeName: 'b' })
    c.addOrUpdateBoundPod(pod)
    expect(c.list().map((n) => n.name)).toEqual(['a'])
    c.setNode(makeNode({ name: 'b' }))
    expect(c.list().map((n) => n.name)).toEqual(['a', 'b'])
    expect(node(c, 'b').requested.milliCpu).toBe(1000)
    c.addOrUpdateBoundPod({ ...pod, spec: { ...pod.spec, nodeName: 'a' } })
    expect(node(c, 'a').requested.milliCpu).toBe(1000)
    expect(node(c, 'b').requested.milliCpu).toBe(0)
    c.removeNode('a')
    expect(c.list().map((n) => n.name)).toEqual(['b'])
    expect(c.pod('uid-p')?.nodeName).toBe('a')
  })

  it('keeps only the taints that filter, plus the lifecycle taint of an unready node', () => {
    const taints = [
      { key: 'soft', effect: 'PreferNoSchedule' },
      { key: 'hard', effect: 'NoSchedule' },
    ]
    expect(schedulingTaints(makeNode({ name: 'n', taints }))).toEqual([{ key: 'hard', effect: 'NoSchedule' }])
    expect(schedulingTaints(makeNode({ name: 'n', ready: 'Unknown' }))).toEqual([
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
    ])
    // Already tainted by the lifecycle controller: not twice.
    const tainted = makeNode({
      name: 'n',
      ready: 'False',
      taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }],
    })
    expect(schedulingTaints(tainted)).toHaveLength(1)
  })
})
