/**
 * One timer for the whole simulator: a binary heap of due tasks and a single `setTimeout` armed for
 * the earliest. 5,000 nodes each renewing a Lease every 10 s, posting status and running pods would
 * otherwise hold tens of thousands of timers; the heap makes scheduling O(log n) and the process
 * wakes once per due instant, however many tasks share it.
 *
 * `DueHeap` is the pure part (no clock, no timers): tests drive it with plain numbers.
 */

interface Entry<T> {
  readonly dueMs: number
  readonly seq: number
  readonly value: T
}

/** A min-heap by due time, FIFO among equal times. */
export class DueHeap<T> {
  private readonly heap: Entry<T>[] = []
  private seq = 0

  get size(): number {
    return this.heap.length
  }

  push(dueMs: number, value: T): void {
    const h = this.heap
    h.push({ dueMs, seq: this.seq++, value })
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!less(h[i] as Entry<T>, h[parent] as Entry<T>)) break
      swap(h, i, parent)
      i = parent
    }
  }

  /** The earliest due time, or undefined when empty. */
  peekMs(): number | undefined {
    return this.heap[0]?.dueMs
  }

  /** Removes and returns the earliest entry if it is due at `nowMs`. */
  popDue(nowMs: number): { dueMs: number; value: T } | undefined {
    const h = this.heap
    const top = h[0]
    if (top === undefined || top.dueMs > nowMs) return undefined
    const last = h.pop() as Entry<T>
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && less(h[l] as Entry<T>, h[m] as Entry<T>)) m = l
        if (r < h.length && less(h[r] as Entry<T>, h[m] as Entry<T>)) m = r
        if (m === i) break
        swap(h, i, m)
        i = m
      }
    }
    return { dueMs: top.dueMs, value: top.value }
  }

  clear(): void {
    this.heap.length = 0
  }
}

function less<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq)
}

function swap<T>(h: T[], i: number, j: number): void {
  const t = h[i] as T
  h[i] = h[j] as T
  h[j] = t
}

export type Task = (dueMs: number) => void

/** Runs tasks at their due time off one timer. A task that throws is reported, not rethrown. */
export class Scheduler {
  private readonly heap = new DueHeap<Task>()
  private timer: NodeJS.Timeout | undefined
  private armedMs: number | undefined
  private stopped = false

  constructor(
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Runs `task` at `dueMs` (at once if past). */
  at(dueMs: number, task: Task): void {
    if (this.stopped) return
    this.heap.push(dueMs, task)
    if (this.armedMs === undefined || dueMs < this.armedMs) this.arm()
  }

  get pending(): number {
    return this.heap.size
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.heap.clear()
  }

  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    const next = this.heap.peekMs()
    this.timer = undefined
    this.armedMs = next
    if (next === undefined || this.stopped) return
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - this.now()))
  }

  private fire(): void {
    this.timer = undefined
    this.armedMs = undefined
    const now = this.now()
    for (let e = this.heap.popDue(now); e !== undefined; e = this.heap.popDue(now)) {
      try {
        e.value(e.dueMs)
      } catch (err) {
        this.onError(err)
      }
      if (this.stopped) return
    }
    this.arm()
  }
}
