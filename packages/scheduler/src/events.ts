/**
 * Events about pods, as client-go's core/v1 event recorder writes them (tools/record): reason,
 * message and type on an Event named `<pod>.<hex unix nanos>` in the pod's namespace, with
 * `source.component` and `reportingComponent` `default-scheduler` and `reportingInstance` the
 * scheduler's identity (so each replica's actions can be told apart). A repeat of the same event
 * (same pod, reason and message) within 10 minutes updates the existing Event's `count` and
 * `lastTimestamp` instead of creating another (the EventCorrelator's aggregation).
 *
 * Sending is asynchronous and bounded: at most `maxInFlight` requests at once and `maxQueued`
 * waiting; beyond that an event is dropped and counted, as client-go's broadcaster drops when its
 * queue is full. Events never delay scheduling.
 */
import type { ApiClient, Clock, Pod } from '@hakube/api'
import type { Logger } from 'pino'

const EVENTS = { group: '', version: 'v1', plural: 'events', namespaced: true }
const CORRELATION_WINDOW_MS = 10 * 60 * 1000
const CORRELATION_ENTRIES_MAX = 4096

export interface EventRecorderOptions {
  client: ApiClient
  component: string
  instance: string
  clock: Clock
  log: Logger
  maxInFlight?: number
  maxQueued?: number
}

interface Seen {
  name: string
  namespace: string
  count: number
  firstTimestamp: string
  lastMs: number
}

export class EventRecorder {
  private readonly queue: (() => Promise<void>)[] = []
  private inFlight = 0
  private seq = 0
  private readonly seen = new Map<string, Seen>()
  private readonly maxInFlight: number
  private readonly maxQueued: number
  dropped = 0
  private idleWaiters: (() => void)[] = []

  constructor(private readonly o: EventRecorderOptions) {
    this.maxInFlight = o.maxInFlight ?? 8
    this.maxQueued = o.maxQueued ?? 1000
  }

  /** Records an event about `pod` (fire and forget). */
  record(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.queue.length >= this.maxQueued) {
      if (this.dropped++ % 1000 === 0)
        this.o.log.warn(
          { dropped: this.dropped, maxQueued: this.maxQueued },
          'event queue full; dropping events',
        )
      return
    }
    const nowMs = this.o.clock.now()
    const now = new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z')
    const meta = pod.metadata ?? {}
    const namespace = meta.namespace ?? 'default'
    const key = `${meta.uid}\u0000${reason}\u0000${message}`
    const prior = this.seen.get(key)
    const events = this.o.client.resource(EVENTS).namespace(namespace)
    if (prior !== undefined && nowMs - prior.lastMs < CORRELATION_WINDOW_MS) {
      prior.count++
      prior.lastMs = nowMs
      const count = prior.count
      this.enqueue(async () => {
        await events.patch(prior.name, { count, lastTimestamp: now }, 'merge')
      })
      return
    }
    const name = `${meta.name}.${(BigInt(nowMs) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`
    this.remember(key, { name, namespace, count: 1, firstTimestamp: now, lastMs: nowMs })
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        kind: 'Pod',
        namespace,
        name: meta.name,
        uid: meta.uid,
        apiVersion: 'v1',
        resourceVersion: meta.resourceVersion,
      },
      reason,
      message,
      source: { component: this.o.component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      reportingComponent: this.o.component,
      reportingInstance: this.o.instance,
    }
    this.enqueue(async () => {
      await events.create(body)
    })
  }

  /** Resolves once nothing is queued or in flight (tests, shutdown). */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private remember(key: string, seen: Seen): void {
    if (this.seen.size >= CORRELATION_ENTRIES_MAX) {
      const oldest = this.seen.keys().next().value
      if (oldest !== undefined) this.seen.delete(oldest)
    }
    this.seen.set(key, seen)
  }

  private enqueue(send: () => Promise<void>): void {
    this.queue.push(send)
    this.pump()
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight) {
      const send = this.queue.shift()
      if (send === undefined) break
      this.inFlight++
      send()
        .catch((err: unknown) => this.o.log.warn({ err: String(err) }, 'could not write event'))
        .finally(() => {
          this.inFlight--
          this.pump()
          if (this.inFlight === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w()
        })
    }
  }
}
