/** Goal: a request is replayed only when replaying cannot apply it twice. */
import { describe, expect, it } from 'vitest'
import { decideRetry, type FailedAttempt, isIdempotent } from './retry-policy.js'

const base: FailedAttempt = {
  method: 'GET',
  stage: 'sent',
  responseStarted: false,
  bodyReplayable: true,
  attempts: 1,
  maxAttempts: 3,
}

describe('decideRetry', () => {
  it.each([
    ['GET after send', {}, 'retry'],
    ['HEAD after send', { method: 'HEAD' }, 'retry'],
    ['OPTIONS after send', { method: 'options' }, 'retry'],
    ['POST not connected', { method: 'POST', stage: 'connect' }, 'retry'],
    ['DELETE not connected', { method: 'DELETE', stage: 'connect' }, 'retry'],
    ['POST after send', { method: 'POST' }, 'fail'],
    ['PATCH after send', { method: 'PATCH' }, 'fail'],
    ['PUT after send', { method: 'PUT' }, 'fail'],
    [
      'POST with a streamed body, not connected',
      { method: 'POST', stage: 'connect', bodyReplayable: false },
      'fail',
    ],
    ['GET whose response started', { responseStarted: true }, 'abort'],
    ['POST whose response started', { method: 'POST', responseStarted: true }, 'abort'],
    ['GET out of attempts', { attempts: 3 }, 'fail'],
  ] as const)('%s: %s', (_name, over, action) => {
    expect(decideRetry({ ...base, ...over }).action).toBe(action)
  })

  it('says whether a failed request was safe to replay', () => {
    expect(decideRetry({ ...base, method: 'POST' })).toEqual({ action: 'fail', replayable: false })
    expect(decideRetry({ ...base, attempts: 3 })).toEqual({ action: 'fail', replayable: true })
  })

  it('knows the idempotent methods', () => {
    expect(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'].map(isIdempotent)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ])
  })
})
