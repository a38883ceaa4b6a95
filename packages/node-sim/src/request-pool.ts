/**
 * A bound on the requests the simulator has in flight (`--max-requests-inflight`), over all nodes:
 * heartbeats (Lease renewals, node status) go before pod work, each class first in, first out, so a
 * burst of pod status writes cannot make a Lease late.
 */

export type Priority = 'heartbeat' | 'pods'

interface Job {
  run(): Promise<void>
}

export class RequestPool {
  private inFlight = 0
  private readonly queues: Record<Priority, Job[]> = { heartbeat: [], pods: [] }
  private closed = false

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error('limit must be >= 1')
  }

  get active(): number {
    return this.inFlight
  }

  get queued(): number {
    return this.queues.heartbeat.length + this.queues.pods.length
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
    this.queues.heartbeat.length = 0
    this.queues.pods.length = 0
  }

  private pump(): void {
    while (this.inFlight < this.limit) {
      const job = this.queues.heartbeat.shift() ?? this.queues.pods.shift()
      if (job === undefined) return
      this.inFlight++
      job.run().finally(() => {
        this.inFlight--
        this.pump()
      })
    }
  }
}
