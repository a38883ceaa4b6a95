import { describe, expect, it } from 'vitest'
import { IntervalTree } from './interval-tree.js'

function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0
    return a / 2 ** 32
  }
}

describe('IntervalTree', () => {
  it('matches a brute-force scan under random inserts, removes and stabs', () => {
    const rnd = rng(42)
    const key = () => String.fromCharCode(97 + Math.floor(rnd() * 8), 97 + Math.floor(rnd() * 8))
    const tree = new IntervalTree<number>()
    const live = new Map<number, { start: string; end: string | null }>()
    for (let id = 0; id < 3000; id++) {
      if (rnd() < 0.6 || live.size === 0) {
        const start = key()
        const end = rnd() < 0.2 ? null : key()
        tree.insert(start, end, id, id)
        live.set(id, { start, end })
      } else {
        const ids = [...live.keys()]
        const victim = ids[Math.floor(rnd() * ids.length)] as number
        expect(tree.remove((live.get(victim) as { start: string }).start, victim)).toBe(true)
        live.delete(victim)
      }
      const p = key()
      const got: number[] = []
      tree.stab(p, (v) => got.push(v))
      const want = [...live]
        .filter(([, iv]) => iv.start <= p && (iv.end === null || p < iv.end))
        .map(([i]) => i)
      expect(got.sort((x, y) => x - y)).toEqual(want.sort((x, y) => x - y))
      expect(tree.size).toBe(live.size)
    }
    expect(tree.remove('zz', 99999)).toBe(false)
  })
})
