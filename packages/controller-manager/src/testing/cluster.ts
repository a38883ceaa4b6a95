/**
 * In-process test fixture: a real api-server (`startTestServer`, memory storage) and a
 * ControllerManager leading over it with the chosen controllers, plus `eventually` for polling.
 * `stop()` aborts the term (the controllers drain), stops the informers and the server.
 */
import { ApiClient, RESOURCES } from '@hakube/api'
import { startTestServer, stopTestServers, type TestServer } from '@hakube/api-server/testing'
import pino from 'pino'
import type { ControllerName } from '../config.js'
import { servedResources } from '../controllers/resources.js'
import { ControllerManager } from '../manager.js'
import { ControllerManagerMetrics } from '../metrics.js'

export interface TestCluster {
  server: TestServer
  client: ApiClient
  manager: ControllerManager
  metrics: ControllerManagerMetrics
  identity: string
  /** Resolves when the term's controllers have all stopped. */
  running: Promise<void>
  stop(): Promise<void>
}

export async function startTestCluster(
  controllers: readonly ControllerName[],
  o: {
    namespaces?: string[]
    discovery?: boolean
    identity?: string
    nodeLifecycle?: { monitorPeriodMs: number; gracePeriodMs: number; evictionRate: number }
  } = {},
): Promise<TestCluster> {
  const server = await startTestServer({
    namespaces: o.namespaces ?? ['default', 'kube-system'],
    ...(o.discovery === true && { discovery: true, openapi: true }),
  })
  const client = new ApiClient({ baseUrl: server.base, userAgent: 'controller-manager-test' })
  const identity = o.identity ?? 'test-host_0000'
  const metrics = new ControllerManagerMetrics()
  const manager = new ControllerManager({
    client,
    log: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
    identity,
    controllers,
    resources: servedResources(RESOURCES),
    metrics,
    workers: { garbagecollector: 4, namespace: 2 },
    ...(o.nodeLifecycle !== undefined && { nodeLifecycle: o.nodeLifecycle }),
  })
  manager.start()
  const term = new AbortController()
  const running = manager.runLeading(term.signal)
  return {
    server,
    client,
    manager,
    metrics,
    identity,
    running,
    async stop() {
      term.abort()
      await running
      await manager.events.idle()
      await manager.stop()
      await client.close()
      await stopTestServers()
    },
  }
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
