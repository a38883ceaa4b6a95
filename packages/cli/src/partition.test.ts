import { describe, expect, it } from 'vitest'
import { chainName, dropPairs } from './partition.js'

describe('partition rules', () => {
  it('drops both directions between each cut-off host and each other host, never a host with itself', () => {
    expect(dropPairs(['127.0.1.1'], ['127.0.1.2', '127.0.1.3', '127.0.1.1'])).toEqual([
      ['127.0.1.1', '127.0.1.2'],
      ['127.0.1.2', '127.0.1.1'],
      ['127.0.1.1', '127.0.1.3'],
      ['127.0.1.3', '127.0.1.1'],
    ])
  })

  it('names one chain per cluster directory, within iptables’ 28 characters', () => {
    expect(chainName('/a/.hakube')).toMatch(/^HAKUBE-[0-9a-f]{10}$/)
    expect(chainName('/a/.hakube')).not.toBe(chainName('/b/.hakube'))
    expect(chainName('/a/.hakube').length).toBeLessThanOrEqual(28)
  })
})
