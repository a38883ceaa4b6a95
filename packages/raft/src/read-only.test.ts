import { describe, expect, it } from 'vitest'
import { ctxKey, ReadOnly } from './read-only.js'
import { newMessage } from './types.js'

const enc = new TextEncoder()
const req = (ctx: string, from = 1) => newMessage({ type: 'MsgReadIndex', from, context: enc.encode(ctx) })

describe('ReadOnly', () => {
  it('queues requests by context, ignoring duplicates', () => {
    const ro = new ReadOnly()
    ro.addRequest(5, req('a'))
    ro.addRequest(6, req('a'))
    ro.addRequest(7, req('b'))
    expect(ro.pendingCount()).toBe(2)
    expect(new TextDecoder().decode(ro.lastPendingRequestCtx())).toBe('b')
  })

  it('collects acknowledgements per request; unknown contexts have none', () => {
    const ro = new ReadOnly()
    ro.addRequest(5, req('a'))
    ro.recvAck(1, enc.encode('a'))
    const acks = ro.recvAck(2, enc.encode('a'))
    expect([...acks.keys()].sort()).toEqual([1, 2])
    expect(ro.recvAck(3, enc.encode('zzz')).size).toBe(0)
  })

  it('advance dequeues the request and every earlier one, in order', () => {
    const ro = new ReadOnly()
    ro.addRequest(5, req('a'))
    ro.addRequest(6, req('b', 2))
    ro.addRequest(7, req('c'))
    const done = ro.advance(enc.encode('b'))
    expect(done.map((s) => [s.index, s.req.from])).toEqual([
      [5, 1],
      [6, 2],
    ])
    expect(ro.pendingCount()).toBe(1)
    expect(ro.advance(enc.encode('a'))).toEqual([]) // already done
    expect(ro.advance(enc.encode('c')).map((s) => s.index)).toEqual([7])
    expect(ro.lastPendingRequestCtx()).toBeUndefined()
  })

  it('keys contexts by their bytes, also for views into larger buffers', () => {
    const buf = new Uint8Array([9, 97, 98, 9])
    expect(ctxKey(buf.subarray(1, 3))).toBe(ctxKey(enc.encode('ab')))
    expect(ctxKey(undefined)).toBe('')
  })
})
