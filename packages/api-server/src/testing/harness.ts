/**
 * Test harness for the api-server's HTTP tests (not built into dist): a real ApiServer on 127.0.0.1
 * (port 0) over a storage (memory by default) with the resource routes and, optionally, discovery; a
 * raw HTTP `call` that returns the status and the parsed body; `stopTestServers()` for afterEach.
 */
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { request } from 'undici'
import { registerDiscovery } from '../discovery.js'
import { type OpenAPIOptions, registerOpenAPI } from '../openapi/register.js'
import { parseApiServerFlags } from '../options.js'
import { registerResourceRoutes } from '../rest/index.js'
import { ApiServer } from '../server.js'
import { withWatchCache } from '../watch-cache.js'

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} }

// biome-ignore lint/suspicious/noExplicitAny: response bodies are arbitrary JSON, read field by field
export type Json = Record<string, any>

export interface TestServer {
  server: ApiServer
  storage: Storage
  port: number
  /** http://127.0.0.1:<port> */
  base: string
}

export interface TestServerOptions {
  storage?: Storage
  /** Register discovery too (kubectl needs it). */
  discovery?: boolean
  /** Register the OpenAPI documents too (kubectl create/apply validate against them), with options. */
  openapi?: boolean | OpenAPIOptions
  bookmarkIntervalMs?: number
  /** Namespaces created before the server is handed over. */
  namespaces?: readonly string[]
  /**
   * Serve through the watch cache (--watch-cache, watch-cache.ts) over the storage; default off, or
   * on when the environment has HAKUBE_TEST_WATCH_CACHE=1.
   */
  watchCache?: boolean
}

const open: TestServer[] = []

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  const storage = withWatchCache(o.storage ?? createMemoryStorage(), {
    ...r.config,
    watchCache: o.watchCache ?? process.env['HAKUBE_TEST_WATCH_CACHE'] === '1',
  })
  const server = new ApiServer({ config: r.config, storage, logger: silentLogger })
  if (o.discovery === true) registerDiscovery(server.app)
  if (o.openapi !== undefined && o.openapi !== false)
    registerOpenAPI(server.app, o.openapi === true ? {} : o.openapi)
  registerResourceRoutes(
    server,
    storage,
    o.bookmarkIntervalMs === undefined ? {} : { bookmarkIntervalMs: o.bookmarkIntervalMs },
  )
  const port = await server.listen()
  const t = { server, storage, port, base: `http://127.0.0.1:${port}` }
  open.push(t)
  for (const name of o.namespaces ?? []) {
    const created = await call('POST', `${t.base}/api/v1/namespaces`, { metadata: { name } })
    if (created.status !== 201)
      throw new Error(`namespace ${name}: ${created.status} ${JSON.stringify(created.body)}`)
  }
  return t
}

/** Shuts down every server started since the last call (tests call it in afterEach). */
export async function stopTestServers(): Promise<void> {
  for (const { server, storage } of open.splice(0)) {
    await server.shutdown()
    await storage.close()
  }
}

/** One HTTP request; a string body is sent as is, anything else as JSON. */
export async function call(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: Json }> {
  const r = await request(url, {
    method,
    ...(body !== undefined && {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': contentType },
    }),
  })
  const text = await r.body.text()
  return { status: r.statusCode, body: text === '' ? {} : (JSON.parse(text) as Json) }
}
