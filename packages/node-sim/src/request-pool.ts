/**
 * A bound on the requests the simulator has in flight (`--max-requests-inflight`), over all nodes, in
 * three classes served in order, each first in, first out: Lease renewals first (what the node
 * lifecycle controller watches), then node registration and status, then pod work; so neither the
 * registration of thousands of nodes nor a burst of pod status writes makes a Lease late.
 */

export type Priority = 'lease' | 'heartbeat' | 'pods'

const ORDER: readonly Priority[] = ['lease', 'heartbeat', 'pods']

interface Job {
  run(): Promise<void>
}

export class RequestPool {
  private inFlight = 0
  private readonly queues: Record<Priority, Job[]> = { lease: [], heartbeat: [], pods: [] }
  private closed = false

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error('limit must be >= 1')
  }

  get active(): number {
    return this.inFlight
  }

  get queued(): number {
    return this.queues.lease.length + this.queues.heartbeat.length + this.queues.pods.length
  }

  /** Runs `fn` when a slot is free; resolves or rejects with its result. */
  submit<T>(priority: Priority, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the request pool is closed'))
    return new Promise<T>((resolve, reject) => {
      this.queues[priority].push({
        run: () => fn().then(resolve, reject),
      })
      this.pump()
    })
  }

  /** Refuses new work; queued jobs are dropped (their promises never settle). */
  close(): void {
    this.closed = true
    for (const p of ORDER) this.queues[p].length = 0
  }

  private pump(): void {
    while (this.inFlight < this.limit) {
      const q = ORDER.find((p) => this.queues[p].length > 0)
      if (q === undefined) return
      const job = this.queues[q].shift() as Job
      this.inFlight++
      job.run().finally(() => {
        this.inFlight--
        this.pump()
      })
    }
  }
}
