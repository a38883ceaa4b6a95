/**
 * kube-scheduler's PriorityQueue (pkg/scheduler/backend/queue/scheduling_queue.go), pure: time comes
 * in as arguments, nothing here sets a timer.
 *
 * - activeQ: pods ready to be tried, highest `spec.priority` first, then the earliest time they
 *   entered the queue (the PrioritySort plugin).
 * - backoffQ: pods that failed and wait out their backoff, 1 s doubling per attempt up to 10 s
 *   (`--pod-initial-backoff-seconds`, `--pod-max-backoff-seconds`).
 * - unschedulable: pods no node could take. They stay until a cluster event that may make them
 *   fit (`moveAllToActiveOrBackoff`: a node added or changed, a bound pod gone), or for at most
 *   5 minutes (`flushUnschedulableLeftover`). A pod whose attempt started before the last such
 *   event goes to backoffQ instead, so an event during its attempt is not lost.
 *
 * Guarantees: a pod (by uid) is in at most one of the three, or handed out (`pop`) and in none;
 * `pop` never hands out a pod twice without a requeue in between.
 * Non-guarantees: a priority change of a queued pod does not reorder it until it is requeued.
 */
import type { Pod } from '@hakube/api'

export interface QueuedPod {
  readonly uid: string
  pod: Pod
  priority: number
  /** When it last entered a queue (ms): the activeQ order and the backoff's start. */
  timestampMs: number
  /** When it first entered the queue (ms): the e2e latency's start. */
  readonly initialTimestampMs: number
  /** Attempts so far (`pop` counts one). */
  attempts: number
  /** Where it is: a queue, or `inFlight` between pop and the outcome. */
  where: 'active' | 'backoff' | 'unschedulable' | 'inFlight'
  /** Bumped on every move, so heap entries left behind are skipped (lazy deletion). */
  seq: number
}

export interface QueueOptions {
  podInitialBackoffMs?: number
  podMaxBackoffMs?: number
  podMaxInUnschedulablePodsDurationMs?: number
}

interface HeapEntry {
  readonly qp: QueuedPod
  readonly seq: number
}

/** A binary min-heap on `less`. */
class Heap {
  private readonly items: HeapEntry[] = []
  constructor(private readonly less: (a: HeapEntry, b: HeapEntry) => boolean) {}
  get length(): number {
    return this.items.length
  }
  peek(): HeapEntry | undefined {
    return this.items[0]
  }
  push(e: HeapEntry): void {
    const a = this.items
    a.push(e)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(a[i] as HeapEntry, a[parent] as HeapEntry)) break
      ;[a[i], a[parent]] = [a[parent] as HeapEntry, a[i] as HeapEntry]
      i = parent
    }
  }
  pop(): HeapEntry | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && this.less(a[l] as HeapEntry, a[m] as HeapEntry)) m = l
        if (r < a.length && this.less(a[r] as HeapEntry, a[m] as HeapEntry)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m] as HeapEntry, a[i] as HeapEntry]
        i = m
      }
    }
    return top
  }
}

export class SchedulingQueue {
  private readonly pods = new Map<string, QueuedPod>()
  private readonly active: Heap
  private readonly backoff: Heap
  private readonly unschedulable = new Set<QueuedPod>()
  private activeCount = 0
  private backoffCount = 0
  private schedulingCycle = 0
  private moveRequestCycle = -1
  private readonly initialBackoffMs: number
  private readonly maxBackoffMs: number
  private readonly maxInUnschedulableMs: number
  /** Called whenever a pod enters activeQ (the driver wakes its loop). */
  onActive: () => void = () => {}

  constructor(options: QueueOptions = {}) {
    this.initialBackoffMs = options.podInitialBackoffMs ?? 1000
    this.maxBackoffMs = options.podMaxBackoffMs ?? 10_000
    this.maxInUnschedulableMs = options.podMaxInUnschedulablePodsDurationMs ?? 300_000
    this.active = new Heap((a, b) =>
      a.qp.priority !== b.qp.priority ? a.qp.priority > b.qp.priority : a.qp.timestampMs < b.qp.timestampMs,
    )
    this.backoff = new Heap((a, b) => this.backoffExpiryMs(a.qp) < this.backoffExpiryMs(b.qp))
  }

  /** A new pending pod (or one seen again): into activeQ unless already known. */
  add(pod: Pod, nowMs: number): void {
    const uid = pod.metadata?.uid ?? ''
    const known = this.pods.get(uid)
    if (known !== undefined) {
      known.pod = pod
      return
    }
    const qp: QueuedPod = {
      uid,
      pod,
      priority: pod.spec?.priority ?? 0,
      timestampMs: nowMs,
      initialTimestampMs: nowMs,
      attempts: 0,
      where: 'active',
      seq: 0,
    }
    this.pods.set(uid, qp)
    this.toActive(qp)
  }

  /**
   * A pending pod changed. The stored copy is replaced; an unschedulable pod whose scheduling
   * inputs changed (`relevant`) is moved on, as kube's Update does.
   */
  update(pod: Pod, relevant: boolean, nowMs: number): void {
    const qp = this.pods.get(pod.metadata?.uid ?? '')
    if (qp === undefined) {
      this.add(pod, nowMs)
      return
    }
    qp.pod = pod
    if (relevant && qp.where === 'unschedulable') {
      this.unschedulable.delete(qp)
      if (this.isBackingOff(qp, nowMs)) this.toBackoff(qp)
      else this.toActive(qp)
    }
  }

  /** The pod is gone, bound, or no longer ours. */
  delete(uid: string): void {
    const qp = this.pods.get(uid)
    if (qp === undefined) return
    this.leave(qp)
    this.pods.delete(uid)
  }

  has(uid: string): boolean {
    return this.pods.has(uid)
  }

  /** The next pod to try, now in flight; undefined when activeQ is empty. */
  pop(): QueuedPod | undefined {
    for (;;) {
      const e = this.active.pop()
      if (e === undefined) return undefined
      if (e.seq !== e.qp.seq || e.qp.where !== 'active' || this.pods.get(e.qp.uid) !== e.qp) continue
      this.activeCount--
      e.qp.where = 'inFlight'
      e.qp.seq++
      e.qp.attempts++
      this.schedulingCycle++
      return e.qp
    }
  }

  /** The cycle number of the pod last popped (an attempt records it to requeue with). */
  currentCycle(): number {
    return this.schedulingCycle
  }

  /** The attempt found no node: park it (or back it off if a move request came meanwhile). */
  addUnschedulable(qp: QueuedPod, podCycle: number, nowMs: number): void {
    if (this.pods.get(qp.uid) !== qp) return
    this.leave(qp)
    qp.timestampMs = nowMs
    if (this.moveRequestCycle >= podCycle) this.toBackoff(qp)
    else {
      qp.where = 'unschedulable'
      qp.seq++
      this.unschedulable.add(qp)
    }
  }

  /** The attempt failed for another reason (an API error): retry after the backoff. */
  addBackoff(qp: QueuedPod, nowMs: number): void {
    if (this.pods.get(qp.uid) !== qp) return
    this.leave(qp)
    qp.timestampMs = nowMs
    this.toBackoff(qp)
  }

  /** The pod was assumed on a node: it leaves the queue (binding owns it now). */
  done(uid: string): void {
    this.delete(uid)
  }

  /** A cluster event that may make unschedulable pods fit. */
  moveAllToActiveOrBackoff(nowMs: number): void {
    for (const qp of [...this.unschedulable]) {
      this.unschedulable.delete(qp)
      if (this.isBackingOff(qp, nowMs)) this.toBackoff(qp)
      else this.toActive(qp)
    }
    this.moveRequestCycle = this.schedulingCycle
  }

  /** Moves the pods whose backoff is over into activeQ (kube runs this every second). */
  flushBackoffCompleted(nowMs: number): void {
    for (;;) {
      const e = this.backoff.peek()
      if (e === undefined) return
      const stale = e.seq !== e.qp.seq || e.qp.where !== 'backoff' || this.pods.get(e.qp.uid) !== e.qp
      if (!stale && this.backoffExpiryMs(e.qp) > nowMs) return
      this.backoff.pop()
      if (stale) continue
      this.backoffCount--
      this.toActive(e.qp)
    }
  }

  /** Retries pods parked as unschedulable for longer than the limit (kube: every 30 s, 5 min). */
  flushUnschedulableLeftover(nowMs: number): void {
    for (const qp of [...this.unschedulable]) {
      if (nowMs - qp.timestampMs <= this.maxInUnschedulableMs) continue
      this.unschedulable.delete(qp)
      if (this.isBackingOff(qp, nowMs)) this.toBackoff(qp)
      else this.toActive(qp)
    }
  }

  /** `calculateBackoffDuration`: initial × 2^(attempts-1), capped. */
  backoffDurationMs(qp: QueuedPod): number {
    let d = this.initialBackoffMs
    for (let i = 1; i < qp.attempts; i++) {
      d *= 2
      if (d > this.maxBackoffMs) return this.maxBackoffMs
    }
    return d
  }

  backoffExpiryMs(qp: QueuedPod): number {
    return qp.timestampMs + this.backoffDurationMs(qp)
  }

  /** Pending pods per queue (the `scheduler_pending_pods` gauge). */
  counts(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.activeCount, backoff: this.backoffCount, unschedulable: this.unschedulable.size }
  }

  private isBackingOff(qp: QueuedPod, nowMs: number): boolean {
    return qp.attempts > 0 && this.backoffExpiryMs(qp) > nowMs
  }

  private leave(qp: QueuedPod): void {
    if (qp.where === 'active') this.activeCount--
    else if (qp.where === 'backoff') this.backoffCount--
    else if (qp.where === 'unschedulable') this.unschedulable.delete(qp)
    qp.where = 'inFlight'
    qp.seq++
  }

  private toActive(qp: QueuedPod): void {
    qp.where = 'active'
    qp.seq++
    this.activeCount++
    this.active.push({ qp, seq: qp.seq })
    this.onActive()
  }

  private toBackoff(qp: QueuedPod): void {
    qp.where = 'backoff'
    qp.seq++
    this.backoffCount++
    this.backoff.push({ qp, seq: qp.seq })
  }
}
