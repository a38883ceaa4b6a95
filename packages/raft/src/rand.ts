/**
 * Seeded randomness. The core draws randomness only through `RandomSource`, so a run is a pure function
 * of its inputs and its seed.
 */
export interface RandomSource {
  /** A uniformly distributed integer in [0, n). */
  intn(n: number): number
}

/**
 * A small, fast PRNG (sfc32 seeded through splitmix32). Not cryptographic; deterministic across
 * platforms for the same seed.
 */
export class SeededRandom implements RandomSource {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.nextUint32()
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** A float in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296
  }

  intn(n: number): number {
    if (!(n > 0)) throw new Error(`intn: n must be positive, got ${n}`)
    return Math.floor(this.float() * n)
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p
  }

  /** An integer in [lo, hi] inclusive. */
  between(lo: number, hi: number): number {
    return lo + this.intn(hi - lo + 1)
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.intn(items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }
}
