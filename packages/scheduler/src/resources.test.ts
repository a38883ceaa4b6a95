import { describe, expect, it } from 'vitest'
import { DEFAULT_MEMORY_REQUEST, milliValue, nonZeroRequests, podRequests, wholeValue } from './resources.js'

describe('resources', () => {
  it('rounds quantities up as Quantity.MilliValue and Value do, without float drift', () => {
    expect(milliValue('0.1')).toBe(100)
    expect(milliValue('100m')).toBe(100)
    expect(milliValue('1.5')).toBe(1500)
    expect(milliValue('1n')).toBe(1)
    expect(wholeValue('1Gi')).toBe(2 ** 30)
    expect(wholeValue('128974848')).toBe(128974848)
    expect(wholeValue('129e6')).toBe(129e6)
    expect(wholeValue('0.5')).toBe(1)
  })

  it('takes the larger of the app containers sum and the largest init container, plus overhead', () => {
    const spec = {
      containers: [
        { resources: { requests: { cpu: '200m', memory: '100Mi' } } },
        { resources: { requests: { cpu: '300m' } } },
      ],
      initContainers: [{ resources: { requests: { cpu: '1', memory: '50Mi' } } }],
      overhead: { cpu: '10m' },
    }
    const r = podRequests(spec)
    expect(r.milliCpu).toBe(1010)
    expect(r.memory).toBe(100 * 2 ** 20)
  })

  it('adds sidecars (restartable init containers) to everything after them', () => {
    const spec = {
      containers: [{ resources: { requests: { cpu: '500m' } } }],
      initContainers: [
        { restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
        { resources: { requests: { cpu: '550m' } } },
      ],
    }
    // max(500 + 100 sidecar, 550 + 100 running sidecar) = 650
    expect(podRequests(spec).milliCpu).toBe(650)
  })

  it('counts extended resources as scalar resources', () => {
    const r = podRequests({ containers: [{ resources: { requests: { 'example.com/gpu': '2' } } }] })
    expect(r.scalar?.get('example.com/gpu')).toBe(2)
  })

  it('gives best-effort containers the default non-zero requests for scoring', () => {
    const nz = nonZeroRequests({ containers: [{}, { resources: { requests: { cpu: '1' } } }] })
    expect(nz.milliCpu).toBe(1100)
    expect(nz.memory).toBe(2 * DEFAULT_MEMORY_REQUEST)
  })
})
