/**
 * Events, as client-go's event recorder writes them (tools/record): reason, message and type on an
 * Event named `<object>.<hex unix nanos>` in the object's namespace (`default` for cluster-scoped
 * objects), `source.component` and `reportingComponent` the controller's component name
 * (`replicaset-controller`, `namespace-controller`, ...) and `reportingInstance` the acting
 * instance's identity, so each replica's actions can be told apart. A repeat (same object, reason
 * and message) within 10 minutes updates the existing Event's `count` and `lastTimestamp` (the
 * EventCorrelator's aggregation).
 *
 * Sending is asynchronous and bounded (`maxInFlight`, `maxQueued`; beyond that an event is dropped
 * and counted, as client-go's broadcaster drops when its queue is full). Events never delay a sync.
 */
import type { ApiClient } from './api-client.js'
import type { Clock } from './rate-limiter.js'
import type { KubeObject } from './types.js'

/** What the recorder logs with (a pino logger fits). */
export interface EventLogger {
  warn(obj: object, msg: string): void
}

const EVENTS = { group: '', version: 'v1', plural: 'events', namespaced: true }
const CORRELATION_WINDOW_MS = 10 * 60 * 1000
const CORRELATION_ENTRIES_MAX = 4096

export type EventType = 'Normal' | 'Warning'

/** What an Event is about: an object with its apiVersion and kind. */
export interface InvolvedObject extends KubeObject {
  apiVersion: string
  kind: string
}

/** The recording half controllers see (fakes in tests). */
export interface EventSink {
  record(component: string, obj: InvolvedObject, type: EventType, reason: string, message: string): void
}

export interface EventRecorderOptions {
  client: ApiClient
  instance: string
  clock: Clock
  log: EventLogger
  maxInFlight?: number
  maxQueued?: number
}

interface Seen {
  name: string
  namespace: string
  count: number
  lastMs: number
}

export class EventRecorder implements EventSink {
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

  record(component: string, obj: InvolvedObject, type: EventType, reason: string, message: string): void {
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
    const meta = obj.metadata ?? {}
    const namespace = meta.namespace || 'default'
    const key = `${component}\u0000${meta.uid}\u0000${reason}\u0000${message}`
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
    this.remember(key, { name, namespace, count: 1, lastMs: nowMs })
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        kind: obj.kind,
        ...(meta.namespace ? { namespace: meta.namespace } : {}),
        name: meta.name,
        uid: meta.uid,
        apiVersion: obj.apiVersion,
        resourceVersion: meta.resourceVersion,
      },
      reason,
      message,
      source: { component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      reportingComponent: component,
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
