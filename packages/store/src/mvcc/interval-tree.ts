/**
 * An interval tree of half-open key ranges [start, end) (end `null` = unbounded), as a treap ordered by
 * (start, id) and augmented with the maximum end of each subtree. A stabbing query for a key visits
 * O(log n + k) nodes in expectation (k = matches). Priorities come from a hash of the id, so the shape
 * is deterministic. `examined` counts visited nodes, to test efficiency without clocks.
 */

interface Node<T> {
  start: string
  end: string | null
  id: number
  value: T
  priority: number
  maxEnd: string | null
  left: Node<T> | undefined
  right: Node<T> | undefined
}

function endMax(a: string | null, b: string | null): string | null {
  if (a === null || b === null) return null
  return a > b ? a : b
}

function hashPriority(id: number): number {
  let h = Math.imul(id ^ 0x9e3779b9, 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

function before(aStart: string, aId: number, b: Node<unknown>): boolean {
  return aStart < b.start || (aStart === b.start && aId < b.id)
}

export class IntervalTree<T> {
  private root: Node<T> | undefined
  private count = 0
  /** Nodes visited by `stab` since construction. */
  examined = 0

  get size(): number {
    return this.count
  }

  insert(start: string, end: string | null, id: number, value: T): void {
    const node: Node<T> = {
      start,
      end,
      id,
      value,
      priority: hashPriority(id),
      maxEnd: end,
      left: undefined,
      right: undefined,
    }
    this.root = this.insertAt(this.root, node)
    this.count++
  }

  /** Removes the interval with this start and id; returns whether it was present. */
  remove(start: string, id: number): boolean {
    const before = this.count
    this.root = this.removeAt(this.root, start, id)
    return this.count < before
  }

  /** Calls `visit` for every interval containing `key`. */
  stab(key: string, visit: (value: T) => void): void {
    this.stabAt(this.root, key, visit)
  }

  private stabAt(n: Node<T> | undefined, key: string, visit: (value: T) => void): void {
    while (n !== undefined) {
      this.examined++
      // No interval in this subtree ends after `key`.
      if (n.maxEnd !== null && n.maxEnd <= key) return
      this.stabAt(n.left, key, visit)
      // Every interval to the right starts after n.start; if n starts after key, so do they.
      if (n.start > key) return
      if (n.end === null || key < n.end) visit(n.value)
      n = n.right
    }
  }

  private update(n: Node<T>): void {
    let m = n.end
    if (n.left !== undefined) m = endMax(m, n.left.maxEnd)
    if (n.right !== undefined) m = endMax(m, n.right.maxEnd)
    n.maxEnd = m
  }

  private rotateRight(n: Node<T>): Node<T> {
    const l = n.left as Node<T>
    n.left = l.right
    l.right = n
    this.update(n)
    this.update(l)
    return l
  }

  private rotateLeft(n: Node<T>): Node<T> {
    const r = n.right as Node<T>
    n.right = r.left
    r.left = n
    this.update(n)
    this.update(r)
    return r
  }

  private insertAt(n: Node<T> | undefined, node: Node<T>): Node<T> {
    if (n === undefined) return node
    if (before(node.start, node.id, n)) {
      n.left = this.insertAt(n.left, node)
      if ((n.left as Node<T>).priority > n.priority) return this.rotateRight(n)
    } else {
      n.right = this.insertAt(n.right, node)
      if ((n.right as Node<T>).priority > n.priority) return this.rotateLeft(n)
    }
    this.update(n)
    return n
  }

  private removeAt(n: Node<T> | undefined, start: string, id: number): Node<T> | undefined {
    if (n === undefined) return undefined
    if (n.start === start && n.id === id) {
      if (n.left === undefined) {
        this.count--
        return n.right
      }
      if (n.right === undefined) {
        this.count--
        return n.left
      }
      if (n.left.priority > n.right.priority) {
        const top = this.rotateRight(n)
        top.right = this.removeAt(top.right, start, id)
        this.update(top)
        return top
      }
      const top = this.rotateLeft(n)
      top.left = this.removeAt(top.left, start, id)
      this.update(top)
      return top
    }
    if (before(start, id, n)) n.left = this.removeAt(n.left, start, id)
    else n.right = this.removeAt(n.right, start, id)
    this.update(n)
    return n
  }
}
