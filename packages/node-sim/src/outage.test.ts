/**
 * Goal: while the api-server is unreachable the simulated pods go on (a crashing container keeps
 * restarting in memory), and when it is back the simulator catches up: the missed pod is started, the
 * restart count written, the Lease renewed again. Method: the simulator reaches an in-process
 * api-server through a TCP relay on 127.0.2.52 that the test closes (connections refused, open ones
 * cut) and reopens on the same port; the test itself talks to the api-server directly.
 */

import type { AddressInfo } from 'node:net'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { call, type Json, startTestServer, stopTestServers } from '@hakube/api-server/testing'
import pino from 'pino'
import { afterEach, expect, it } from 'vitest'
import { parseNodeSimFlags } from './config.js'
import { NodeSimulator } from './simulator.js'

class Relay {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  port = 0

  constructor(private readonly targetPort: number) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1')
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('close', () => this.sockets.delete(s))
        s.on('error', () => {})
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((r) => server.listen(this.port, '127.0.2.52', r))
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    const server = this.server
    this.server = undefined
    if (server !== undefined) await new Promise((r) => server.close(r))
  }
}

let sim: NodeSimulator | undefined
let relay: Relay | undefined
afterEach(async () => {
  await sim?.stop()
  await relay?.close()
  await stopTestServers()
})

const podJson = (name: string, annotations: Json = {}) => ({
  metadata: { name, annotations },
  spec: { nodeName: 'solo', containers: [{ name: 'c', image: 'busybox' }] },
})

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

it('keeps running pods while the api-server is unreachable and catches up when it returns', async () => {
  const t = await startTestServer({ namespaces: ['default', 'kube-node-lease'] })
  relay = new Relay(t.port)
  await relay.open()
  const r = parseNodeSimFlags([
    `--master=http://127.0.2.52:${relay.port}`,
    '--bind-address=127.0.2.52',
    '--port=0',
    '--node-name=solo',
    '--node-lease-duration=4s',
    '--node-lease-renew-interval=1s',
    '--pod-start-delay=200ms',
    '--crash-backoff=500ms',
    '--crash-backoff-max=500ms',
  ])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  sim = new NodeSimulator(
    { baseUrl: `http://127.0.2.52:${relay.port}` },
    r.config.groups ?? [],
    r.config,
    pino({ level: 'silent' }),
  )
  await sim.start()
  const pods = `${t.base}/api/v1/namespaces/default/pods`
  const restarts = async (name: string) =>
    ((await call('GET', `${pods}/${name}`)).body['status']?.['containerStatuses']?.[0]?.['restartCount'] ??
      -1) as number
  expect((await call('POST', pods, podJson('crash', { 'hakube.io/crash-after': '700ms' }))).status).toBe(201)
  await until('crash running', async () => (await restarts('crash')) >= 0, 10_000)
  const lease = `${t.base}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/solo`
  await until('the Lease', async () => (await call('GET', lease)).status === 200, 10_000)

  await relay.close()
  const cutAt = Date.now()
  expect((await call('POST', pods, podJson('late'))).status).toBe(201)
  await new Promise((res) => setTimeout(res, 3000))
  const seenByServer = await restarts('crash')
  const local = sim.pod('default', 'crash')?.sim.restartCount ?? 0
  // The container went on crashing and restarting in memory; nothing reached the api-server.
  expect(local).toBeGreaterThan(seenByServer + 1)
  expect((await call('GET', `${pods}/late`)).body['status']).toEqual({ phase: 'Pending' })
  const leaseNow = await call('GET', lease)
  expect(leaseNow.status, JSON.stringify(leaseNow.body)).toBe(200)
  const renewBefore = Date.parse(leaseNow.body['spec']['renewTime'])
  expect(renewBefore).toBeLessThan(cutAt + 200)

  await relay.open()
  await until(
    'late Running',
    async () => (await call('GET', `${pods}/late`)).body['status']?.['phase'] === 'Running',
    25_000,
  )
  await until('restarts written', async () => (await restarts('crash')) >= local, 10_000)
  await until(
    'lease renewed',
    async () => Date.parse((await call('GET', lease)).body['spec']['renewTime']) > renewBefore,
    10_000,
  )
}, 60_000)
