/**
 * The window of MsgApp messages sent to one follower and not yet acknowledged, bounded by a message
 * count and by bytes. Each in-flight message is identified by the last index it carried.
 *
 * Invariant: indexes in the window are increasing; 0 <= count <= size.
 */
export class Inflights {
  private start = 0
  private count = 0
  private bytes = 0
  private readonly indexes: number[]
  private readonly sizes: number[]

  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {
    this.indexes = new Array<number>(size).fill(0)
    this.sizes = new Array<number>(size).fill(0)
  }

  clone(): Inflights {
    const c = new Inflights(this.size, this.maxBytes)
    for (let i = 0; i < this.count; i++) {
      const at = (this.start + i) % this.size
      c.add(this.indexes[at]!, this.sizes[at]!)
    }
    return c
  }

  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('cannot add into a full inflights')
    const next = (this.start + this.count) % this.size
    this.indexes[next] = index
    this.sizes[next] = bytes
    this.count++
    this.bytes += bytes
  }

  /** Frees every in-flight message whose last index is <= `to`. */
  freeLE(to: number): void {
    if (this.count === 0 || to < this.indexes[this.start]!) return
    let i = 0
    let idx = this.start
    let bytes = 0
    for (; i < this.count; i++) {
      if (to < this.indexes[idx]!) break
      bytes += this.sizes[idx]!
      idx = (idx + 1) % this.size
    }
    this.count -= i
    this.bytes -= bytes
    this.start = this.count === 0 ? 0 : idx
  }

  full(): boolean {
    return this.count === this.size || (this.maxBytes !== 0 && this.bytes >= this.maxBytes)
  }

  len(): number {
    return this.count
  }

  reset(): void {
    this.count = 0
    this.start = 0
    this.bytes = 0
  }
}
