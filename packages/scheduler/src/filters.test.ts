import { describe, expect, it } from 'vitest'
import { NodeInfo, SchedulerCache } from './cache.js'
import {
  compilePod,
  filterNode,
  REASON_AFFINITY,
  REASON_TOO_MANY_PODS,
  REASON_UNSCHEDULABLE,
  toleratesTaint,
} from './filters.js'
import { makeNode, makePod, type NodeSpec, type PodSpecInput } from './testing/objects.js'

function nodeInfo(s: NodeSpec): NodeInfo {
  const n = new NodeInfo(s.name)
  n.setNode(makeNode(s))
  return n
}

const check = (pod: PodSpecInput, node: NodeSpec) => filterNode(compilePod(makePod(pod)), nodeInfo(node))

function affinity(...terms: unknown[]): unknown {
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } }
}

describe('filters', () => {
  it('refuses a cordoned node unless the pod tolerates the unschedulable taint', () => {
    expect(check({ name: 'p' }, { name: 'n', unschedulable: true })).toEqual([REASON_UNSCHEDULABLE])
    const tolerations = [
      { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
    ]
    expect(check({ name: 'p', tolerations }, { name: 'n', unschedulable: true })).toBeUndefined()
  })

  it('refuses an unready node with the lifecycle taint kube would show, unless tolerated', () => {
    expect(check({ name: 'p' }, { name: 'n', ready: 'False' })).toEqual([
      'node(s) had untolerated taint {node.kubernetes.io/not-ready: }',
    ])
    expect(check({ name: 'p' }, { name: 'n', ready: 'missing' })).toEqual([
      'node(s) had untolerated taint {node.kubernetes.io/unreachable: }',
    ])
    // The default NoExecute tolerations every pod gets do not cover NoSchedule.
    const defaults = [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }]
    expect(check({ name: 'p', tolerations: defaults }, { name: 'n', ready: 'False' })).toHaveLength(1)
    expect(
      check({ name: 'p', tolerations: [{ operator: 'Exists' }] }, { name: 'n', ready: 'False' }),
    ).toBeUndefined()
  })

  it('matches tolerations as v1helper.ToleratesTaint', () => {
    const taint = { key: 'dedicated', value: 'db', effect: 'NoSchedule' }
    expect(toleratesTaint({ key: 'dedicated', operator: 'Equal', value: 'db' }, taint)).toBe(true)
    expect(toleratesTaint({ key: 'dedicated', value: 'db', effect: 'NoSchedule' }, taint)).toBe(true)
    expect(toleratesTaint({ key: 'dedicated', value: 'web' }, taint)).toBe(false)
    expect(toleratesTaint({ key: 'dedicated', operator: 'Exists' }, taint)).toBe(true)
    expect(toleratesTaint({ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, taint)).toBe(false)
    expect(toleratesTaint({ operator: 'Exists' }, taint)).toBe(true)
    expect(toleratesTaint({ key: 'other', operator: 'Exists' }, taint)).toBe(false)
    expect(toleratesTaint({ key: 'dedicated', operator: 'Bogus' }, taint)).toBe(false)
  })

  it('ignores PreferNoSchedule taints and names the first untolerated one', () => {
    const taints = [
      { key: 'soft', effect: 'PreferNoSchedule' },
      { key: 'a', value: '1', effect: 'NoExecute' },
      { key: 'b', value: '2', effect: 'NoSchedule' },
    ]
    expect(check({ name: 'p' }, { name: 'n', taints })).toEqual(['node(s) had untolerated taint {a: 1}'])
    const tolerations = [{ key: 'a', operator: 'Exists' }]
    expect(check({ name: 'p', tolerations }, { name: 'n', taints })).toEqual([
      'node(s) had untolerated taint {b: 2}',
    ])
  })

  it('applies nodeSelector and required node affinity operators', () => {
    const node = { name: 'n1', labels: { disk: 'ssd', cores: '8', zone: 'a' } }
    expect(check({ name: 'p', nodeSelector: { disk: 'ssd' } }, node)).toBeUndefined()
    expect(check({ name: 'p', nodeSelector: { disk: 'hdd' } }, node)).toEqual([REASON_AFFINITY])
    const cases: [unknown, boolean][] = [
      [{ key: 'disk', operator: 'In', values: ['ssd', 'nvme'] }, true],
      [{ key: 'disk', operator: 'NotIn', values: ['ssd'] }, false],
      [{ key: 'gpu', operator: 'NotIn', values: ['x'] }, true],
      [{ key: 'zone', operator: 'Exists' }, true],
      [{ key: 'gpu', operator: 'DoesNotExist' }, true],
      [{ key: 'cores', operator: 'Gt', values: ['4'] }, true],
      [{ key: 'cores', operator: 'Lt', values: ['4'] }, false],
      [{ key: 'disk', operator: 'Gt', values: ['4'] }, false],
      [{ key: 'cores', operator: 'Gt', values: ['x'] }, false],
      [{ key: 'disk', operator: 'Bogus', values: ['ssd'] }, false],
    ]
    for (const [expr, fits] of cases) {
      const r = check({ name: 'p', affinity: affinity({ matchExpressions: [expr] }) }, node)
      expect({ expr, fits: r === undefined }).toEqual({ expr, fits })
    }
    // Terms are ORed; an empty term matches nothing; matchFields reads metadata.name.
    expect(
      check(
        {
          name: 'p',
          affinity: affinity({}, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }),
        },
        node,
      ),
    ).toBeUndefined()
    expect(check({ name: 'p', affinity: affinity({}) }, node)).toEqual([REASON_AFFINITY])
    expect(
      check(
        {
          name: 'p',
          affinity: affinity({ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n1'] }] }),
        },
        node,
      ),
    ).toEqual([REASON_AFFINITY])
  })

  it('checks resources against allocatable minus what bound and assumed pods request', () => {
    const cache = new SchedulerCache()
    cache.setNode(makeNode({ name: 'n', cpu: '1', memory: '1Gi', pods: 2 }))
    cache.addOrUpdateBoundPod(makePod({ name: 'a', cpu: '600m', memory: '512Mi', nodeName: 'n' }))
    const n = cache.get('n') as NodeInfo
    expect(filterNode(compilePod(makePod({ name: 'p', cpu: '400m' })), n)).toBeUndefined()
    expect(filterNode(compilePod(makePod({ name: 'p', cpu: '500m', memory: '600Mi' })), n)).toEqual([
      'Insufficient cpu',
      'Insufficient memory',
    ])
    cache.assume(makePod({ name: 'b', cpu: '100m' }), 'n')
    expect(filterNode(compilePod(makePod({ name: 'p' })), n)).toEqual([REASON_TOO_MANY_PODS])
    cache.forget('uid-b')
    expect(filterNode(compilePod(makePod({ name: 'p', cpu: '400m' })), n)).toBeUndefined()
    // The init container's larger request counts.
    expect(filterNode(compilePod(makePod({ name: 'p', cpu: '100m', initCpu: '500m' })), n)).toEqual([
      'Insufficient cpu',
    ])
  })
})
