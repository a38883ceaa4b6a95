/**
 * The api-server as discovery tests use it (discovery.test.ts against the documents, and
 * discovery-kubectl.test.ts with the real kubectl): the real ApiServer on 127.0.0.1 (port 0, memory
 * storage) with registerDiscovery, recording every request's URL and Accept header. Call
 * `stopDiscoveryServers()` in afterEach.
 */
import { createMemoryStorage, type Storage } from '@hakube/storage'
import type { FastifyRequest } from 'fastify'
import { registerDiscovery } from '../discovery.js'
import { parseApiServerFlags } from '../options.js'
import { ApiServer } from '../server.js'

/** What kubectl 1.30–1.33 sends to /api and /apis: aggregated v2, then v2beta1, then legacy. */
export const ACCEPT_KUBECTL_132 =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'
/** What kubectl 1.27–1.29 sends: aggregated v2beta1, then legacy. */
export const ACCEPT_KUBECTL_127 =
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'

export interface SeenRequest {
  url: string
  accept: string | undefined
}

const silent = { debug() {}, info() {}, warn() {}, error() {} }
const open: Array<{ server: ApiServer; storage: Storage }> = []

export async function startDiscoveryServer(opts: { onRequest?: (req: FastifyRequest) => void } = {}) {
  const r = parseApiServerFlags(['--bind-address=127.0.0.1', '--secure-port=0'])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  const storage = createMemoryStorage()
  const server = new ApiServer({ config: r.config, storage, logger: silent })
  open.push({ server, storage })
  const seen: SeenRequest[] = []
  server.app.addHook('onRequest', async (req) => {
    opts.onRequest?.(req)
    seen.push({ url: req.url, accept: req.headers.accept })
  })
  registerDiscovery(server.app)
  const port = await server.listen()
  return { port, base: `http://127.0.0.1:${port}`, seen }
}

export async function stopDiscoveryServers(): Promise<void> {
  for (const { server, storage } of open.splice(0)) {
    await server.shutdown()
    await storage.close()
  }
}
