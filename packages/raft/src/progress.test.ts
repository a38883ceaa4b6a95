import { describe, expect, it } from 'vitest'
import { Progress } from './progress.js'

function pr(match: number, next: number, maxInflight = 4): Progress {
  return new Progress({ match, next, maxInflight, maxInflightBytes: 0, isLearner: false })
}

describe('Progress', () => {
  it('maybeUpdate advances match and next, and ignores stale acknowledgements', () => {
    const p = pr(3, 5)
    expect(p.maybeUpdate(2)).toBe(false)
    expect(p.maybeUpdate(3)).toBe(false)
    expect(p.match).toBe(3)
    expect(p.maybeUpdate(4)).toBe(true)
    expect([p.match, p.next]).toEqual([4, 5])
    expect(p.maybeUpdate(8)).toBe(true)
    expect([p.match, p.next]).toEqual([8, 9])
  })

  it('maybeUpdate unpauses a probe', () => {
    const p = pr(0, 1)
    p.sentEntries(3, 30)
    expect(p.isPaused()).toBe(true)
    p.maybeUpdate(3)
    expect(p.isPaused()).toBe(false)
  })

  it('probe: one message at a time', () => {
    const p = pr(1, 2)
    expect(p.isPaused()).toBe(false)
    p.sentEntries(5, 10)
    expect(p.isPaused()).toBe(true)
    expect(p.next).toBe(2) // a probe does not move next optimistically
  })

  it('replicate: optimistic next, paused when the window is full', () => {
    const p = pr(1, 2, 2)
    p.becomeReplicate()
    p.sentEntries(3, 1)
    expect(p.next).toBe(4)
    expect(p.isPaused()).toBe(false)
    p.sentEntries(5, 1)
    expect(p.next).toBe(6)
    expect(p.isPaused()).toBe(true)
    p.maybeUpdate(3)
    p.inflights.freeLE(3)
    expect(p.inflights.len()).toBe(1)
  })

  it('snapshot: always paused; sending an append there is a bug', () => {
    const p = pr(1, 2)
    p.becomeSnapshot(10)
    expect(p.isPaused()).toBe(true)
    expect(p.pendingSnapshot).toBe(10)
    expect(() => p.sentEntries(3, 1)).toThrow(/unhandled state/)
  })

  it('becomeProbe from snapshot resumes after the snapshot', () => {
    const p = pr(1, 2)
    p.becomeSnapshot(10)
    p.becomeProbe()
    expect(p.state).toBe('probe')
    expect(p.next).toBe(11)
    expect(p.pendingSnapshot).toBe(0)

    const q = pr(12, 13)
    q.becomeSnapshot(10)
    q.becomeProbe()
    expect(q.next).toBe(13) // match is already past the snapshot
  })

  it('becomeProbe from replicate restarts after match', () => {
    const p = pr(4, 5)
    p.becomeReplicate()
    p.sentEntries(9, 1)
    p.becomeProbe()
    expect(p.next).toBe(5)
    expect(p.inflights.len()).toBe(0)
  })

  it('maybeDecrTo in replicate: falls back to match+1, ignores stale rejections', () => {
    const p = pr(5, 6)
    p.becomeReplicate()
    p.sentEntries(10, 1)
    expect(p.maybeDecrTo(4, 4)).toBe(false) // rejected <= match: stale
    expect(p.next).toBe(11)
    expect(p.maybeDecrTo(8, 7)).toBe(true)
    expect(p.next).toBe(6)
  })

  it('maybeDecrTo in probe: uses the hint, ignores rejections of other probes', () => {
    const p = pr(0, 10)
    p.sentEntries(12, 1)
    expect(p.maybeDecrTo(7, 3)).toBe(false) // not next-1: stale
    expect(p.isPaused()).toBe(true)
    expect(p.maybeDecrTo(9, 3)).toBe(true)
    expect(p.next).toBe(4)
    expect(p.isPaused()).toBe(false)
    // The hint can never move next below match+1, nor above the rejected index.
    const q = pr(5, 10)
    expect(q.maybeDecrTo(9, 1)).toBe(true)
    expect(q.next).toBe(6)
    const r = pr(0, 10)
    expect(r.maybeDecrTo(9, 100)).toBe(true)
    expect(r.next).toBe(9)
  })
})
