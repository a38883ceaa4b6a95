/**
 * The shared fixture of the api-server contract: one ApiServer over the setup's Storage (wrapped by
 * instrumentStorage, so storage metrics are checked too), an ApiClient pointed at it, plain-HTTP
 * helpers (`call`, `openWatch`), and the object builders the case files use. One fixture serves
 * every case of a setup; cases stay independent by each using its own namespaces and node names.
 *
 * With `watchCache`, the server reads through kube's watch cache (CachedStorage), as
 * hakube-apiserver does by default.
 *
 * The fixture's fields are only valid between `start` (beforeAll) and `stop` (afterAll).
 */
import {
  ApiClient,
  type ApiError,
  type KubeObject,
  type ResourceClient,
  type ResourceType,
  type WatchEvent,
} from '@hakube/api'
import type { Storage } from '@hakube/storage'
import { request } from 'undici'
import { expect } from 'vitest'
import { instrumentStorage } from '../../src/instrumented-storage.js'
import { parseApiServerFlags } from '../../src/options.js'
import { registerResourceRoutes } from '../../src/rest/index.js'
import { ApiServer } from '../../src/server.js'
import { withWatchCache } from '../../src/watch-cache.js'

export interface ContractSetup {
  storage: Storage
  /** Stops whatever the setup started beyond the storage (processes); the storage is closed first. */
  destroy?: () => Promise<void> | void
  /** Serve through the watch cache (--watch-cache), over the instrumented storage as serve.ts does. */
  watchCache?: boolean
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are arbitrary JSON, read field by field
export type Json = Record<string, any>
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
export const MERGE = 'application/merge-patch+json'
export const JSON_PATCH = 'application/json-patch+json'
export const STRATEGIC = 'application/strategic-merge-patch+json'
/** The watch cache's ring size per resource in the contract (fixed: it does not grow). */
export const WATCH_CACHE_RING = 50
/** How often a watch with allowWatchBookmarks=true gets a BOOKMARK in these tests. */
export const BOOKMARK_INTERVAL_MS = 200

export interface Obj extends KubeObject {
  metadata: {
    name: string
    namespace?: string
    labels?: Record<string, string>
    resourceVersion?: string
    [k: string]: unknown
  }
  spec?: Json
  status?: Json
  [k: string]: unknown
}

/** The resource types of issue 4 section 2, as @hakube/api addresses them. */
export const TYPES = {
  namespaces: { group: '', version: 'v1', plural: 'namespaces', namespaced: false },
  nodes: { group: '', version: 'v1', plural: 'nodes', namespaced: false },
  pods: { group: '', version: 'v1', plural: 'pods', namespaced: true },
  services: { group: '', version: 'v1', plural: 'services', namespaced: true },
  endpoints: { group: '', version: 'v1', plural: 'endpoints', namespaced: true },
  events: { group: '', version: 'v1', plural: 'events', namespaced: true },
  configmaps: { group: '', version: 'v1', plural: 'configmaps', namespaced: true },
  secrets: { group: '', version: 'v1', plural: 'secrets', namespaced: true },
  serviceaccounts: { group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
  replicasets: { group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true },
} as const satisfies Record<string, ResourceType>

export const pod = (name: string, labels: Record<string, string> = {}, spec: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'nginx:1.27' }], ...spec },
})
export const deployment = (name: string, replicas = 2): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
})
export const replicaSet = (name: string, replicas = 2): Json => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { rs: name } },
    template: { metadata: { labels: { rs: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
})
export const binding = (name: string, node: string): Json => ({
  apiVersion: 'v1',
  kind: 'Binding',
  metadata: { name },
  target: { apiVersion: 'v1', kind: 'Node', name: node },
})
export const configMap = (name: string, data: Record<string, string> = {}, meta: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...meta },
  data,
})

export const names = (list: Json): string[] =>
  (list['items'] as Json[]).map((i) => i['metadata'].name as string)
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
export async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check() && Date.now() < deadline) await sleep(20)
}
/** The ApiError a client call failed with, or undefined when it succeeded. */
export const caught = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e as ApiError)
/** `TYPE name` of watch events (`ERROR 410` for errors), bookmarks left out. */
/**
 * Reads a client watch in the background, recording `TYPE name` (`ERROR code` for errors) per event
 * and skipping BOOKMARKs, until `count` events; `settled()` waits for that (at most 20 s) and closes
 * the stream.
 */
export function collectEvents(
  stream: AsyncIterable<WatchEvent<Obj>> & { close(): void },
  count: number,
): { seen: string[]; settled: () => Promise<void> } {
  const seen: string[] = []
  const reading = (async () => {
    for await (const e of stream) {
      if (e.type === 'BOOKMARK') continue
      seen.push(`${e.type} ${e.type === 'ERROR' ? e.object.code : e.object.metadata.name}`)
      if (seen.length === count) break
    }
  })()
  return {
    seen,
    settled: async () => {
      await Promise.race([reading, sleep(20_000)])
      stream.close()
    },
  }
}

export const describeEvents = (events: Json[]): string[] =>
  events
    .filter((e) => e['type'] !== 'BOOKMARK')
    .map((e) => `${e['type']} ${e['type'] === 'ERROR' ? e['object'].code : e['object'].metadata.name}`)

/** A watch opened over plain HTTP; every frame (bookmarks included) lands in `frames`. */
export interface HttpWatch {
  readonly frames: Json[]
  /** Frames other than BOOKMARK. */
  events(): Json[]
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>
  /** Waits until `check(frames)` holds, the stream ended, or `ms` passed. */
  waitFor(check: (frames: Json[]) => boolean, ms?: number): Promise<void>
  close(): void
}

export interface CallResult {
  status: number
  body: Json
  headers: Record<string, string | string[] | undefined>
}

export class ContractFixture {
  env: ContractSetup | undefined
  storage!: Storage
  /** Whether the server reads through the watch cache (its ring holds WATCH_CACHE_RING events per resource). */
  watchCache = false
  server: ApiServer | undefined
  private apiClient: ApiClient | undefined
  base = ''

  async start(setup: () => Promise<ContractSetup>): Promise<void> {
    this.env = await setup()
    const instrumented = instrumentStorage(this.env.storage)
    const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
    if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
    this.watchCache = this.env.watchCache === true
    // A fixed ring (no growth while fresh), so a case can push a revision out of it (410 Expired).
    this.storage = withWatchCache(
      instrumented,
      { ...r.config, watchCache: this.watchCache, defaultWatchCacheSize: WATCH_CACHE_RING },
      { eventFreshMs: 0 },
    )
    this.server = new ApiServer({ config: r.config, storage: this.storage, logger: silent })
    instrumented.registerMetrics(this.server.registry)
    registerResourceRoutes(this.server, this.storage, { bookmarkIntervalMs: BOOKMARK_INTERVAL_MS })
    this.base = `http://127.0.0.1:${await this.server.listen()}`
    // maxRetries 0: the contract is the server's answer itself (a 504 with Retry-After for a too-large
    // resourceVersion would otherwise be sent again until the call's deadline, as client-go does).
    this.apiClient = new ApiClient({ baseUrl: this.base, requestTimeoutMs: 10_000, maxRetries: 0 })
  }

  async stop(): Promise<void> {
    await this.apiClient?.close()
    await this.server?.shutdown()
    // The watch cache closes the storage it wraps; without one this is the setup's storage itself.
    if (this.storage !== undefined) await this.storage.close()
    await this.env?.storage.close()
    await this.env?.destroy?.()
  }

  get client(): ApiClient {
    if (this.apiClient === undefined) throw new Error('the fixture is not started')
    return this.apiClient
  }

  resource<T extends KubeObject = Obj>(type: ResourceType): ResourceClient<T> {
    return this.client.resource<T>(type)
  }

  /** One HTTP request; the body is sent as JSON unless `ct` says otherwise. */
  async call(method: Method, path: string, body?: unknown, ct = 'application/json'): Promise<CallResult> {
    const r = await request(`${this.base}${path}`, {
      method,
      ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': ct } }),
    })
    return { status: r.statusCode, body: (await r.body.json()) as Json, headers: r.headers }
  }

  /** Creates a namespace and checks it was created. */
  async ns(name: string): Promise<void> {
    const r = await this.call('POST', '/api/v1/namespaces', { metadata: { name } })
    expect(r.status).toBe(201)
  }

  async openWatch(path: string): Promise<HttpWatch> {
    const r = await request(`${this.base}${path}`)
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    const frames: Json[] = []
    const listeners = new Set<() => void>()
    let buf = ''
    r.body.setEncoding('utf8')
    const ended = new Promise<void>((resolve) => {
      r.body.on('end', () => resolve())
      r.body.on('error', () => resolve())
      r.body.on('close', () => resolve())
    })
    r.body.on('data', (chunk: string) => {
      buf += chunk
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        frames.push(JSON.parse(buf.slice(0, i)) as Json)
        buf = buf.slice(i + 1)
      }
      for (const l of listeners) l()
    })
    return {
      frames,
      ended,
      events: () => frames.filter((f) => f['type'] !== 'BOOKMARK'),
      async waitFor(check, ms = 20_000) {
        if (check(frames)) return
        let wake = () => {}
        const listener = () => {
          if (check(frames)) wake()
        }
        listeners.add(listener)
        try {
          await Promise.race([new Promise<void>((res) => (wake = res)), ended, sleep(ms)])
        } finally {
          listeners.delete(listener)
        }
      },
      close: () => r.body.destroy(),
    }
  }

  /** Opens a watch over HTTP, runs `during`, and reads events until `n` came (or the stream ended). */
  async watchHttp(path: string, n: number, during: () => Promise<void>): Promise<Json[]> {
    const w = await this.openWatch(path)
    await during()
    await w.waitFor((f) => f.filter((e) => e['type'] !== 'BOOKMARK').length >= n)
    w.close()
    return w.events()
  }
}

const silent = { debug() {}, info() {}, warn() {}, error() {} }
