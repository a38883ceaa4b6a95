import { describe, expect, it } from 'vitest'
import { type RaftConfig, resolveConfig } from './config.js'
import { RaftError, RaftErrorCode } from './errors.js'
import { SeededRandom } from './rand.js'
import { RawNode } from './raw-node.js'
import { MemoryStorage } from './storage.js'

function base(over: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id: 1,
    electionTick: 10,
    heartbeatTick: 1,
    storage: new MemoryStorage(),
    random: new SeededRandom(1),
    ...over,
  }
}

function invalid(over: Partial<RaftConfig>): RaftError {
  try {
    resolveConfig(base(over))
  } catch (e) {
    expect(e).toBeInstanceOf(RaftError)
    expect((e as RaftError).code).toBe(RaftErrorCode.InvalidConfig)
    return e as RaftError
  }
  throw new Error(`config ${JSON.stringify(Object.keys(over))} was accepted`)
}

describe('resolveConfig', () => {
  it('fills the documented defaults and freezes the result', () => {
    const c = resolveConfig(base())
    expect(c).toMatchObject({
      applied: 0,
      maxSizePerMsg: 1024 * 1024,
      maxCommittedSizePerReady: 64 * 1024 * 1024,
      maxUncommittedEntriesSize: 0,
      maxInflightMsgs: 256,
      maxInflightBytes: 0,
      checkQuorum: true,
      preVote: true,
      disableProposalForwarding: false,
      stepDownOnRemoval: true,
    })
    expect(Object.isFrozen(c)).toBe(true)
  })

  it('keeps explicit values', () => {
    const c = resolveConfig(base({ checkQuorum: false, preVote: false, maxInflightMsgs: 3, applied: 7 }))
    expect([c.checkQuorum, c.preVote, c.maxInflightMsgs, c.applied]).toEqual([false, false, 3, 7])
  })

  it('rejects an id of 0, a negative or non-integer id', () => {
    expect(invalid({ id: 0 }).message).toMatch(/id must be a positive/)
    invalid({ id: -1 })
    invalid({ id: 1.5 })
    invalid({ id: Number.MAX_SAFE_INTEGER + 2 })
  })

  it('rejects electionTick <= heartbeatTick', () => {
    expect(invalid({ electionTick: 1, heartbeatTick: 1 }).message).toBe(
      'electionTick must be greater than heartbeatTick',
    )
    invalid({ electionTick: 2, heartbeatTick: 3 })
  })

  it('rejects non-positive ticks', () => {
    expect(invalid({ heartbeatTick: 0 }).message).toMatch(/heartbeatTick must be a positive integer/)
    expect(invalid({ electionTick: 0 }).message).toMatch(/electionTick must be a positive integer/)
    invalid({ heartbeatTick: 0.5 })
  })

  it('rejects bad sizes and limits', () => {
    expect(invalid({ maxSizePerMsg: 0 }).message).toMatch(/maxSizePerMsg/)
    expect(invalid({ maxCommittedSizePerReady: -1 }).message).toMatch(/maxCommittedSizePerReady/)
    expect(invalid({ maxInflightMsgs: 0 }).message).toMatch(/maxInflightMsgs/)
    expect(invalid({ maxInflightBytes: -1 }).message).toMatch(/maxInflightBytes/)
    expect(invalid({ maxUncommittedEntriesSize: -5 }).message).toMatch(/maxUncommittedEntriesSize/)
    expect(invalid({ applied: -1 }).message).toMatch(/applied/)
  })

  it('requires maxInflightBytes >= maxSizePerMsg when set', () => {
    expect(invalid({ maxSizePerMsg: 100, maxInflightBytes: 99 }).message).toBe(
      'maxInflightBytes must be >= maxSizePerMsg',
    )
    expect(resolveConfig(base({ maxSizePerMsg: 100, maxInflightBytes: 100 })).maxInflightBytes).toBe(100)
  })

  it('is checked when a node is built', () => {
    expect(() => new RawNode(base({ electionTick: 1 }))).toThrow(RaftError)
  })
})
