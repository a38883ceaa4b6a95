/**
 * The controller framework, sample-controller's shape with @hakube/api's WorkQueue: informer
 * handlers enqueue keys (`enqueue`), the queue deduplicates and rate-limits, N workers take keys and
 * call the controller's `sync(key, actions)`, which reads the caches and converges; an error requeues
 * the key with the queue's backoff (5 ms·2^n up to 1000 s, plus a 10 qps / burst 100 bucket), a
 * success forgets its failures, and a `requeueAfterMs` answer checks again later.
 *
 * Leadership: `run(signal)` is one term. It waits for the informers, then builds a fresh queue filled
 * with every key the caches hold (a new leader reconciles everything once, as kube's informers'
 * initial adds do) and the term's `Actions` (bound to the signal). When the signal aborts, the queue
 * shuts down at once, the requests in flight abort with it, and `run` resolves once the workers have
 * drained: nothing this instance started outlives its term. Between terms (a standby) `enqueue` is a
 * no-op while the informers keep the caches warm.
 */
import { WorkQueue } from '@hakube/api'
import type { Logger } from 'pino'
import type { Actions } from './actions.js'

export interface SyncResult {
  /** Check the key again after this long (a deletion in progress, a grace period). */
  requeueAfterMs?: number
}

/** One controller: its informer wiring, its keys and its sync function. */
export interface ControllerSpec {
  /** kube's controller name (`serviceaccount`, `namespace`, `garbagecollector`). */
  readonly name: string
  /** Called once: register informer handlers that call `enqueue(key)`. */
  register(enqueue: (key: string) => void): void
  /** True once the informers the controller reads have listed. */
  hasSynced(): boolean
  /** Every key to check when a term starts. */
  initialKeys(): Iterable<string>
  sync(key: string, actions: Actions): Promise<SyncResult | undefined>
}

export interface ControllerMetrics {
  syncs: { inc(labels: { controller: string; result: string }): void }
  depth: { set(labels: { controller: string }, value: number): void }
}

export interface ControllerOptions {
  spec: ControllerSpec
  workers: number
  /** Builds the term's actions (bound to its signal). */
  actionsFor: (signal: AbortSignal) => Actions
  log: Logger
  metrics?: ControllerMetrics
}

export class Controller {
  private queue: WorkQueue<string> | undefined
  readonly name: string

  constructor(private readonly o: ControllerOptions) {
    this.name = o.spec.name
    o.spec.register((key) => this.queue?.add(key))
  }

  /** Reconciles until `signal` aborts; resolves once every worker has stopped. */
  async run(signal: AbortSignal): Promise<void> {
    const { spec, log } = this.o
    while (!spec.hasSynced()) {
      if (signal.aborted) return
      await sleep(50, signal)
    }
    if (signal.aborted) return
    const queue = new WorkQueue<string>()
    this.queue = queue
    for (const key of spec.initialKeys()) queue.add(key)
    const actions = this.o.actionsFor(signal)
    log.info({ workers: this.o.workers, queued: queue.len() }, 'starting controller')
    const stop = () => queue.shutDown()
    signal.addEventListener('abort', stop, { once: true })
    const workers = Array.from({ length: this.o.workers }, () => this.worker(queue, actions, signal))
    await Promise.all(workers)
    signal.removeEventListener('abort', stop)
    await queue.shutDownWithDrain()
    if (this.queue === queue) this.queue = undefined
    log.info('stopped controller')
  }

  private async worker(queue: WorkQueue<string>, actions: Actions, signal: AbortSignal): Promise<void> {
    const { spec, log, metrics } = this.o
    for (;;) {
      const key = await queue.get()
      if (key === undefined) return
      try {
        if (signal.aborted) continue
        const result = await spec.sync(key, actions)
        queue.forget(key)
        metrics?.syncs.inc({ controller: spec.name, result: 'success' })
        if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs)
      } catch (err) {
        if (!signal.aborted) {
          metrics?.syncs.inc({ controller: spec.name, result: 'error' })
          log.warn(
            { key, err: err instanceof Error ? err.message : String(err), requeues: queue.numRequeues(key) },
            'sync failed; requeued',
          )
          queue.addRateLimited(key)
        }
      } finally {
        queue.done(key)
        metrics?.depth.set({ controller: spec.name }, queue.len())
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
