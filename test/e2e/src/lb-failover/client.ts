/**
 * The clients of the failover experiments, over undici with keep-alive connections to the balancer:
 * single requests recorded as outcomes (status, Status body, transport error, client-side timeout,
 * start and end times), a mixed load of concurrent loops (GET one object, LIST, POST create), and
 * watchers that resume from their last resourceVersion when their stream ends, as informers do.
 */
import { sleep, waitFor } from '@hakube/store/testing'
import { type Agent, request } from 'undici'
import type { BackendStats } from './cluster.js'

export type RequestKind = 'get' | 'list' | 'post' | 'watch-open'

/** What a JSON answer may hold: a Status, an object or a list. */
export interface JsonBody {
  kind?: string
  apiVersion?: string
  status?: string
  reason?: string
  message?: string
  code?: number
  metadata?: { name?: string; resourceVersion?: string }
  items?: Array<{ metadata?: { name?: string } }>
  subsets?: Array<{ addresses?: Array<{ ip?: string }> }>
}

export interface Outcome {
  kind: RequestKind
  path: string
  startMs: number
  endMs: number
  /** undefined: no HTTP answer (transport error or client-side timeout). */
  status: number | undefined
  body: JsonBody | undefined
  error: string | undefined
  /** The client-side timeout fired: the request hung. */
  timedOut: boolean
  /** A POST's object name. */
  name?: string
}

/** A Kubernetes Failure `Status` with this code, as hakube-lb and the api-server answer errors. */
export function isFailureStatus(body: JsonBody | undefined, code: number): boolean {
  return (
    body?.kind === 'Status' && body.apiVersion === 'v1' && body.status === 'Failure' && body.code === code
  )
}

/** One request through `agent`, never rejecting: everything that happened is in the outcome. */
export async function call(
  agent: Agent,
  base: string,
  kind: RequestKind,
  path: string,
  timeoutMs: number,
  body?: unknown,
): Promise<Outcome> {
  const startMs = Date.now()
  const o: Outcome = {
    kind,
    path,
    startMs,
    endMs: startMs,
    status: undefined,
    body: undefined,
    error: undefined,
    timedOut: false,
  }
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const r = await request(`${base}${path}`, {
      dispatcher: agent,
      method: body === undefined ? 'GET' : 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal,
    })
    o.status = r.statusCode
    const text = await r.body.text()
    try {
      o.body = JSON.parse(text) as JsonBody
    } catch {
      o.body = undefined
    }
  } catch (err) {
    o.timedOut = signal.aborted
    o.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    o.status = undefined
  }
  o.endMs = Date.now()
  return o
}

/** mulberry32: a small seeded generator, so a run's timing jitter can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface LoadOptions {
  agent: Agent
  base: string
  /** GET one object. */
  getPath: string
  /** LIST a few objects. */
  listPath: string
  /** Where POSTs create ConfigMaps. */
  postNamespace: string
  /** Prefix of created objects' names, unique per experiment. */
  prefix: string
  loops: { get: number; list: number; post: number }
  /** Pause between two requests of a loop, drawn from [min, max) ms. */
  pauseMs: readonly [number, number]
  timeoutMs: number
  random: () => number
}

/** Concurrent closed loops of GET, LIST and POST until `stop()`. */
export class MixedLoad {
  readonly outcomes: Outcome[] = []
  /** Names of the objects whose create was acknowledged (201). */
  readonly created = new Set<string>()
  private running = false
  private loops: Promise<void>[] = []

  constructor(private readonly o: LoadOptions) {}

  start(): void {
    this.running = true
    const { get, list, post } = this.o.loops
    for (let i = 0; i < get; i++) this.loops.push(this.loop('get', i))
    for (let i = 0; i < list; i++) this.loops.push(this.loop('list', i))
    for (let i = 0; i < post; i++) this.loops.push(this.loop('post', i))
  }

  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
    this.loops = []
  }

  /** GET, LIST (and watch openings are counted by the watchers). */
  idempotent(): Outcome[] {
    return this.outcomes.filter((x) => x.kind !== 'post')
  }

  posts(): Outcome[] {
    return this.outcomes.filter((x) => x.kind === 'post')
  }

  private async loop(kind: 'get' | 'list' | 'post', id: number): Promise<void> {
    const { agent, base, timeoutMs, pauseMs, random } = this.o
    for (let n = 0; this.running; n++) {
      let out: Outcome
      if (kind === 'post') {
        const name = `${this.o.prefix}-${id}-${n}`
        out = await call(
          agent,
          base,
          'post',
          `/api/v1/namespaces/${this.o.postNamespace}/configmaps`,
          timeoutMs,
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name },
            data: { loop: String(id), n: String(n) },
          },
        )
        out.name = name
        if (out.status === 201) this.created.add(name)
      } else {
        out = await call(agent, base, kind, kind === 'get' ? this.o.getPath : this.o.listPath, timeoutMs)
      }
      this.outcomes.push(out)
      await sleep(pauseMs[0] + random() * (pauseMs[1] - pauseMs[0]))
    }
  }
}

export interface WatchStream {
  openedMs: number
  /** Set when the stream ended (cleanly or not). */
  endedMs?: number
  /** 'end' (the stream finished cleanly), 'closed' (by us) or the error. */
  endReason?: string
}

/**
 * A watch of a collection that reopens itself from the last resourceVersion it saw when its stream
 * ends, recording every opening as an outcome and every object it saw ADDED.
 */
export class Watcher {
  readonly added = new Set<string>()
  readonly streams: WatchStream[] = []
  readonly opens: Outcome[] = []
  /** ERROR events (a 410 Expired would mean the resume lost its place). */
  readonly errorEvents: JsonBody[] = []
  lastRv: string
  private controller: AbortController | undefined
  private closed = false

  constructor(
    private readonly agent: Agent,
    private readonly base: string,
    private readonly collection: string,
    fromRv: string,
    private readonly timeoutMs: number,
  ) {
    this.lastRv = fromRv
  }

  /** Opens a stream at `lastRv`; resolves with it once its 200 headers are in, undefined on failure. */
  async open(): Promise<WatchStream | undefined> {
    const path = `${this.collection}?watch=true&resourceVersion=${this.lastRv}`
    const ctrl = new AbortController()
    this.controller = ctrl
    const o: Outcome = {
      kind: 'watch-open',
      path,
      startMs: Date.now(),
      endMs: 0,
      status: undefined,
      body: undefined,
      error: undefined,
      timedOut: false,
    }
    this.opens.push(o)
    // The client-side bound applies to the opening only: a watch streams for as long as it lives.
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      ctrl.abort()
    }, this.timeoutMs)
    try {
      const r = await request(`${this.base}${path}`, {
        dispatcher: this.agent,
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: ctrl.signal,
        bodyTimeout: 0,
      })
      clearTimeout(timer)
      o.status = r.statusCode
      o.endMs = Date.now()
      if (r.statusCode !== 200) {
        const text = await r.body.text()
        try {
          o.body = JSON.parse(text) as JsonBody
        } catch {
          o.body = undefined
        }
        return undefined
      }
      const s: WatchStream = { openedMs: o.startMs }
      this.streams.push(s)
      void this.pump(r.body, s)
      return s
    } catch (err) {
      clearTimeout(timer)
      o.endMs = Date.now()
      o.timedOut = timedOut
      o.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      return undefined
    }
  }

  /** The current stream (the last opened). */
  get current(): WatchStream | undefined {
    return this.streams[this.streams.length - 1]
  }

  close(): void {
    this.closed = true
    this.controller?.abort()
  }

  private async pump(body: AsyncIterable<Buffer>, s: WatchStream): Promise<void> {
    let buf = ''
    try {
      for await (const chunk of body) {
        buf += chunk.toString()
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl).trim()
          buf = buf.slice(nl + 1)
          if (line !== '') this.onEvent(JSON.parse(line) as { type: string; object: JsonBody })
        }
      }
      s.endReason = 'end'
    } catch (err) {
      s.endReason = this.closed ? 'closed' : `error: ${String(err)}`
    }
    s.endedMs = Date.now()
    if (this.closed) return
    // Reopen from where this stream stopped, as a reflector does after its watch ends.
    while (!this.closed) {
      if ((await this.open()) !== undefined) return
      await sleep(100)
    }
  }

  private onEvent(ev: { type: string; object: JsonBody }): void {
    if (ev.type === 'ERROR') {
      this.errorEvents.push(ev.object)
      return
    }
    const rv = ev.object.metadata?.resourceVersion
    if (rv !== undefined) this.lastRv = rv
    if (ev.type === 'ADDED' && ev.object.metadata?.name !== undefined) this.added.add(ev.object.metadata.name)
  }
}

/**
 * Opens the watchers one at a time, nothing else in flight through the balancer, and finds which
 * backend serves each from the balancer's per-backend in-flight count (a watch stays counted while it
 * streams). Returns the backend URL of each watcher.
 */
export async function openMapped(
  watchers: readonly Watcher[],
  stats: () => Promise<BackendStats[]>,
  logs: () => string,
): Promise<Map<Watcher, string>> {
  const at = new Map<Watcher, string>()
  for (const w of watchers) {
    const before = new Map((await stats()).map((b) => [b.url, b.activeConnections]))
    if ((await w.open()) === undefined) throw new Error(`watch did not open: ${JSON.stringify(w.opens)}`)
    const url = await waitFor(
      async () => {
        const now = await stats()
        const grown = now.filter((b) => b.activeConnections === (before.get(b.url) ?? 0) + 1)
        const total = now.reduce((n, b) => n + b.activeConnections, 0)
        const totalBefore = [...before.values()].reduce((n, v) => n + v, 0)
        return grown.length === 1 && total === totalBefore + 1 ? grown[0]?.url : undefined
      },
      3_000,
      () => `could not tell which backend serves a watch\n${logs()}`,
      20,
    )
    at.set(w, url)
  }
  return at
}
