/**
 * The kubelet's read API for the simulated pods (one server for every node of the process: they share
 * the address, as their InternalIP says), and the admin endpoint:
 *
 * - `GET /healthz` → `ok`; `GET /metrics` (Prometheus, metrics.ts); `GET /pods` → a PodList of the pods on our nodes, with their current status;
 * - `GET /containerLogs/{namespace}/{pod}/{container}` with `follow`, `previous`, `tailLines`,
 *   `timestamps`, `limitBytes`, `sinceSeconds`/`sinceTime`: the generated output (container-logs.ts),
 *   streamed while the container runs when `follow` is set. Errors are the kubelet's plain-text 400s
 *   (`container "c" in pod "p" is waiting to start: ContainerCreating`), which the api-server turns
 *   into a BadRequest Status;
 * - `GET /admin/nodes` → `[{name, heartbeating, registered, lastRenewTime, pods}]`;
 *   `POST /admin/nodes/{name}/fail` and `/recover` stop and resume a node's heartbeat (JSON answers;
 *   404 for a node not simulated here); `GET /admin/stats` → heartbeat and request figures (renewals,
 *   their lateness, requests in flight), `POST /admin/stats/reset` starts a new measuring window.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  formatLine,
  type LogLine,
  type LogRun,
  linesUntil,
  parseLogQuery,
  selectLines,
} from './container-logs.js'
import type { PodView } from './pod-runner.js'

export interface KubeletBackend {
  views(): PodView[]
  view(namespace: string, name: string): PodView | undefined
  nodes(): Array<{
    name: string
    heartbeating: boolean
    registered: boolean
    lastRenewTime: string | null
    pods: number
  }>
  fail(name: string): boolean
  recover(name: string): boolean
  stats(): Record<string, unknown>
  resetStats(): void
  /** Prometheus text exposition. */
  metrics(): Promise<string>
  readonly logIntervalMs: number
  now(): number
}

const LOG_PATH = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/
const ADMIN_NODE = /^\/admin\/nodes\/([^/]+)\/(fail|recover)$/

export class KubeletServer {
  private readonly server: Server
  private readonly followers = new Set<ServerResponse>()

  constructor(private readonly backend: KubeletBackend) {
    this.server = createServer((req, res) => {
      try {
        this.route(req, res)
      } catch (err) {
        text(res, 500, err instanceof Error ? err.message : String(err))
      }
    })
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    return (this.server.address() as AddressInfo).port
  }

  async close(): Promise<void> {
    for (const r of this.followers) r.end()
    this.followers.clear()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections()
  }

  private route(req: IncomingMessage, res: ServerResponse): undefined {
    const url = new URL(req.url ?? '/', 'http://kubelet')
    const path = url.pathname
    const method = req.method ?? 'GET'
    if (path === '/healthz' && method === 'GET') return text(res, 200, 'ok')
    if (path === '/pods' && method === 'GET')
      return json(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: {},
        items: this.backend.views().map((v) => ({ ...v.pod, status: v.status })),
      })
    if (path === '/metrics' && method === 'GET') {
      this.backend.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
          res.end(body)
        },
        (err: unknown) => text(res, 500, err instanceof Error ? err.message : String(err)),
      )
      return undefined
    }
    if (path === '/admin/nodes' && method === 'GET') return json(res, 200, this.backend.nodes())
    if (path === '/admin/stats' && method === 'GET') return json(res, 200, this.backend.stats())
    if (path === '/admin/stats/reset' && method === 'POST') {
      this.backend.resetStats()
      return json(res, 200, this.backend.stats())
    }
    const admin = ADMIN_NODE.exec(path)
    if (admin !== null) {
      if (method !== 'POST') return json(res, 405, { error: `${method} is not allowed here; use POST` })
      const name = decodeURIComponent(admin[1] ?? '')
      const ok = admin[2] === 'fail' ? this.backend.fail(name) : this.backend.recover(name)
      if (!ok) return json(res, 404, { error: `node ${JSON.stringify(name)} is not simulated here` })
      const node = this.backend.nodes().find((n) => n.name === name)
      return json(res, 200, node ?? { name })
    }
    const logs = LOG_PATH.exec(path)
    if (logs !== null && method === 'GET') {
      const [ns, pod, container] = [logs[1], logs[2], logs[3]].map((s) => decodeURIComponent(s ?? ''))
      return this.serveLogs(ns as string, pod as string, container as string, url.searchParams, res)
    }
    return text(res, 404, '404 page not found')
  }

  private serveLogs(
    ns: string,
    pod: string,
    container: string,
    params: URLSearchParams,
    res: ServerResponse,
  ): undefined {
    const now = this.backend.now()
    const q = parseLogQuery(params, now)
    if (typeof q === 'string') return text(res, 400, q)
    const view = this.backend.view(ns, pod)
    if (view === undefined) return text(res, 404, `pod "${ns}/${pod}" is not on a node of this simulator`)
    const c =
      view.facts.containers.find((x) => x.name === container) ??
      view.facts.initContainers.find((x) => x.name === container)
    if (c === undefined) return text(res, 400, `container "${container}" not found in pod "${pod}"`)
    const picked = pickRun(view, container, c.image, q.previous)
    if (typeof picked === 'string') return text(res, 400, picked)
    const interval = this.backend.logIntervalMs
    const lines = selectLines(linesUntil(picked, now, interval), q)
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache' })
    let budget = q.limitBytes ?? Number.POSITIVE_INFINITY
    const write = (l: LogLine): boolean => {
      let out = formatLine(l, q.timestamps)
      if (Buffer.byteLength(out) > budget) out = Buffer.from(out).subarray(0, budget).toString()
      budget -= Buffer.byteLength(out)
      res.write(out)
      return budget > 0
    }
    for (const l of lines) if (!write(l)) return end(res)
    if (!q.follow || picked.end !== undefined) return end(res)
    // Follow: the lines written from now on, until the run ends, the pod goes or the client leaves.
    let cursorMs = now
    this.followers.add(res)
    const timer = setInterval(
      () => {
        const t = this.backend.now()
        const v = this.backend.view(ns, pod)
        const run = v === undefined ? undefined : runStartingAt(v, container, c.image, picked.startMs)
        if (run === undefined) return stop()
        for (const l of linesUntil(run, t, interval)) if (l.ms > cursorMs && !write(l)) return stop()
        cursorMs = t
        if (run.end !== undefined) stop()
      },
      Math.min(interval, 1000),
    )
    const stop = () => {
      clearInterval(timer)
      this.followers.delete(res)
      res.end()
    }
    res.on('close', () => {
      clearInterval(timer)
      this.followers.delete(res)
    })
  }
}

/**
 * The run whose output a request reads (the kubelet's validateContainerLogStatus): with `previous`
 * the last terminated run; else the running one, the terminated one, or the last terminated one; a
 * container still waiting for its first run is an error.
 */
export function pickRun(view: PodView, container: string, image: string, previous: boolean): LogRun | string {
  const { sim, facts } = view
  const base = { namespace: facts.namespace, pod: facts.name, container, image, node: view.node }
  const init = facts.initContainers.some((c) => c.name === container)
  if (init) {
    if (previous) return `previous terminated container "${container}" in pod "${facts.name}" not found`
    return { ...base, restartCount: 0, startMs: sim.acceptedMs, end: { ms: sim.acceptedMs, exitCode: 0 } }
  }
  const fromTerm = (
    t: { startedMs: number; finishedMs: number; exitCode: number },
    restartCount: number,
  ): LogRun => ({
    ...base,
    restartCount,
    startMs: t.startedMs,
    end: { ms: t.finishedMs, exitCode: t.exitCode },
  })
  if (previous) {
    if (sim.lastTermination === undefined)
      return `previous terminated container "${container}" in pod "${facts.name}" not found`
    return fromTerm(sim.lastTermination, Math.max(0, sim.restartCount - 1))
  }
  if (sim.runStartMs !== undefined)
    return { ...base, restartCount: sim.restartCount, startMs: sim.runStartMs, end: undefined }
  if (sim.terminated !== undefined) return fromTerm(sim.terminated, sim.restartCount)
  if (sim.lastTermination !== undefined)
    return fromTerm(sim.lastTermination, Math.max(0, sim.restartCount - 1))
  const reason = sim.waiting?.reason ?? 'ContainerCreating'
  return `container "${container}" in pod "${facts.name}" is waiting to start: ${reason}`
}

/** The run of `container` that started at `startMs` (running, or since terminated), if any. */
function runStartingAt(view: PodView, container: string, image: string, startMs: number): LogRun | undefined {
  const current = pickRun(view, container, image, false)
  if (typeof current !== 'string' && current.startMs === startMs) return current
  const last = view.sim.lastTermination
  if (last === undefined || last.startedMs !== startMs) return undefined
  const { facts } = view
  return {
    namespace: facts.namespace,
    pod: facts.name,
    container,
    image,
    node: view.node,
    restartCount: Math.max(0, view.sim.restartCount - 1),
    startMs,
    end: { ms: last.finishedMs, exitCode: last.exitCode },
  }
}

function text(res: ServerResponse, code: number, body: string): undefined {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(body)
}

function end(res: ServerResponse): undefined {
  res.end()
}

function json(res: ServerResponse, code: number, body: unknown): undefined {
  res.writeHead(code, { 'content-type': 'application/json' })
  res.end(`${JSON.stringify(body)}\n`)
}
