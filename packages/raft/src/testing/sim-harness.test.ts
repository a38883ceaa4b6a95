import { describe, expect, it } from 'vitest'
import { silentLogger } from '../logger.js'
import { RaftLog } from '../raft-log.js'
import { SeededRandom } from '../rand.js'
import { MemoryStorage } from '../storage.js'
import type { Entry } from '../types.js'
import { newMessage } from '../types.js'
import { SimChecker, SimViolation, type ViolationKind } from './sim-checker.js'
import { decodeImage, encodeImage } from './sim-member.js'
import { SimNetwork } from './sim-network.js'
import { parseSeed } from './sim-options.js'

/**
 * Goal: the simulation's building blocks do what the simulation relies on. Method: drive each piece
 * directly (checkers with hand-made histories, the network with fixed fault rates, seed parsing).
 */

const enc = new TextEncoder()

function entry(index: number, term: number, data = `e${index}`): Entry {
  return { index, term, type: 'normal', data: enc.encode(data) }
}

function kindOf(f: () => void): ViolationKind | undefined {
  try {
    f()
  } catch (e) {
    if (e instanceof SimViolation) return e.kind
    throw e
  }
  return undefined
}

function logOf(entries: Entry[]): RaftLog {
  const storage = new MemoryStorage()
  storage.append(entries)
  return new RaftLog(storage, silentLogger, Number.POSITIVE_INFINITY)
}

describe('SimChecker', () => {
  it('flags two leaders in one term, not one leader seen twice', () => {
    const c = new SimChecker()
    c.onLeader(1, 2, logOf([]))
    expect(kindOf(() => c.onLeader(1, 2, logOf([])))).toBeUndefined()
    expect(kindOf(() => c.onLeader(2, 3, logOf([])))).toBeUndefined()
    expect(kindOf(() => c.onLeader(3, 2, logOf([])))).toBe('electionSafety')
  })

  it('flags log matching violations: payload or predecessor differs at the same (index, term)', () => {
    const c = new SimChecker()
    c.onPersist(1, [entry(1, 1), entry(2, 1)], 0)
    expect(kindOf(() => c.onPersist(2, [entry(2, 1)], 1))).toBeUndefined()
    expect(kindOf(() => c.onPersist(2, [entry(2, 1, 'other')], 1))).toBe('logMatching')
    expect(kindOf(() => c.onPersist(3, [entry(2, 1)], 0))).toBe('logMatching')
  })

  it('flags a new leader of a later term that lacks a committed entry', () => {
    const c = new SimChecker()
    c.onCommit(1, 2, 2, 2)
    // A leader of the same term may still be elected with it missing (votes cast before the commit).
    expect(kindOf(() => c.onLeader(2, 2, logOf([entry(1, 1)])))).toBeUndefined()
    expect(kindOf(() => c.onLeader(3, 3, logOf([entry(1, 1), entry(2, 2)])))).toBeUndefined()
    expect(kindOf(() => c.onLeader(4, 4, logOf([entry(1, 1), entry(2, 3)])))).toBe('leaderCompleteness')
    expect(kindOf(() => c.onLeader(5, 5, logOf([entry(1, 1)])))).toBe('leaderCompleteness')
  })

  it('flags members applying different entries at one index, or diverging images', () => {
    const c = new SimChecker()
    c.onApply(1, entry(1, 1), 11)
    expect(kindOf(() => c.onApply(2, entry(1, 1), 11))).toBeUndefined()
    expect(kindOf(() => c.onApply(3, entry(1, 2), 11))).toBe('stateMachineSafety')
    expect(kindOf(() => c.checkChain(4, 1, 12))).toBe('stateMachineSafety')
  })

  it('only counts disabled kinds', () => {
    const c = new SimChecker(['electionSafety'])
    c.onLeader(1, 2, logOf([]))
    c.onLeader(2, 2, logOf([]))
    expect(c.suppressed.get('electionSafety')).toBe(1)
  })
})

describe('SimNetwork', () => {
  const calm = {
    dropRate: 0,
    duplicateRate: 0,
    latencyMin: 1,
    latencyMax: 5,
    longDelayRate: 0,
    longDelayMax: 5,
  }

  it('delivers within the latency bounds, and cuts links one way', () => {
    const net = new SimNetwork(new SeededRandom(1), calm)
    for (let i = 0; i < 50; i++) net.send(newMessage({ type: 'MsgHeartbeat', from: 1, to: 2 }), 100, 1)
    let delivered = 0
    for (let t = 100; t <= 106; t++) {
      const due = net.takeDue(t)
      if (t < 101) expect(due).toEqual([])
      delivered += due.length
    }
    expect(delivered).toBe(50)
    net.block([1], [2])
    expect(net.isBlocked(1, 2)).toBe(true)
    expect(net.isBlocked(2, 1)).toBe(false)
    net.heal()
    expect(net.isBlocked(1, 2)).toBe(false)
  })

  it('loses everything at drop rate 1, and purges what is in flight to a crashed member', () => {
    const lossy = new SimNetwork(new SeededRandom(2), { ...calm, dropRate: 1 })
    expect(lossy.send(newMessage({ type: 'MsgApp', from: 1, to: 2 }), 0, 1)).toBe(false)
    const net = new SimNetwork(new SeededRandom(3), calm)
    net.send(newMessage({ type: 'MsgApp', from: 1, to: 2 }), 0, 1)
    net.send(newMessage({ type: 'MsgApp', from: 1, to: 3 }), 0, 1)
    expect(net.purgeTo(2).map((e) => e.msg.to)).toEqual([2])
    expect(net.inFlightCount()).toBe(1)
  })
})

describe('seeds and images', () => {
  it('parses decimal seeds and folds a 40-hex commit SHA into 32 bits', () => {
    expect(parseSeed('123')).toBe(123)
    const sha = 'c0ffee00'.repeat(5)
    expect(parseSeed(sha)).toBe(parseSeed(sha))
    expect(parseSeed(sha)).toBeLessThan(2 ** 32)
    expect(() => parseSeed('12x')).toThrow()
    expect(() => parseSeed(String(2 ** 32))).toThrow()
  })

  it('round-trips a state machine image', () => {
    const img = { index: 42, hash: 0xdeadbeef, confEpoch: 3 }
    expect(decodeImage(encodeImage(img))).toEqual(img)
  })
})
