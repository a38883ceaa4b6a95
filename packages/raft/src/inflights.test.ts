import { describe, expect, it } from 'vitest'
import { Inflights } from './inflights.js'

describe('Inflights', () => {
  it('fills up to its size and refuses more', () => {
    const in_ = new Inflights(3, 0)
    in_.add(1, 10)
    in_.add(2, 10)
    expect(in_.full()).toBe(false)
    in_.add(3, 10)
    expect(in_.len()).toBe(3)
    expect(in_.full()).toBe(true)
    expect(() => in_.add(4, 10)).toThrow(/full inflights/)
  })

  it('freeLE frees every message up to and including the index', () => {
    const in_ = new Inflights(10, 0)
    for (let i = 1; i <= 5; i++) in_.add(i * 10, 1)
    in_.freeLE(5) // below the window: nothing
    expect(in_.len()).toBe(5)
    in_.freeLE(25) // frees 10 and 20
    expect(in_.len()).toBe(3)
    in_.freeLE(30)
    expect(in_.len()).toBe(2)
    in_.freeLE(1000)
    expect(in_.len()).toBe(0)
    in_.freeLE(2000) // empty: no-op
    expect(in_.len()).toBe(0)
  })

  it('wraps around the ring buffer', () => {
    const in_ = new Inflights(5, 0)
    for (let i = 1; i <= 5; i++) in_.add(i, 1)
    in_.freeLE(3) // start moves to slot 3
    expect(in_.len()).toBe(2)
    // These land in slots 0..2 (wrapped).
    in_.add(6, 1)
    in_.add(7, 1)
    in_.add(8, 1)
    expect(in_.full()).toBe(true)
    in_.freeLE(6) // frees 4, 5 (end of buffer) and 6 (wrapped slot 0)
    expect(in_.len()).toBe(2)
    expect(in_.full()).toBe(false)
    in_.add(9, 1)
    in_.add(10, 1)
    in_.add(11, 1)
    expect(in_.full()).toBe(true)
    in_.freeLE(10)
    expect(in_.len()).toBe(1)
    in_.freeLE(11)
    expect(in_.len()).toBe(0)
  })

  it('is full when the byte limit is reached, and frees bytes with messages', () => {
    const in_ = new Inflights(10, 100)
    in_.add(1, 40)
    in_.add(2, 40)
    expect(in_.full()).toBe(false)
    in_.add(3, 20) // exactly at the limit
    expect(in_.full()).toBe(true)
    expect(() => in_.add(4, 1)).toThrow()
    in_.freeLE(1)
    expect(in_.full()).toBe(false)
    in_.add(4, 50) // may overshoot: a message is always admitted when not full
    expect(in_.full()).toBe(true)
    in_.freeLE(4)
    expect(in_.len()).toBe(0)
    expect(in_.full()).toBe(false)
    in_.add(5, 99)
    expect(in_.full()).toBe(false)
  })

  it('reset empties the window', () => {
    const in_ = new Inflights(2, 10)
    in_.add(1, 10)
    expect(in_.full()).toBe(true)
    in_.reset()
    expect(in_.len()).toBe(0)
    expect(in_.full()).toBe(false)
    in_.add(2, 5)
    in_.add(3, 4)
    expect(in_.full()).toBe(true)
  })

  it('clone copies the window (including a wrapped one) independently', () => {
    const in_ = new Inflights(3, 0)
    in_.add(1, 1)
    in_.add(2, 1)
    in_.add(3, 1)
    in_.freeLE(2)
    in_.add(4, 1) // wrapped
    const c = in_.clone()
    expect(c.len()).toBe(2)
    expect(c.full()).toBe(false)
    c.freeLE(3)
    expect(c.len()).toBe(1)
    expect(in_.len()).toBe(2)
    c.freeLE(4)
    expect(c.len()).toBe(0)
  })
})
