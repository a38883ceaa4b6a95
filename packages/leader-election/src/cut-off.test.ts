/**
 * A leader that loses its connection to the api-server for real: its ApiClient goes through a TCP
 * relay on 127.0.2.1 that, once cut, stops forwarding bytes either way (packets dropped, sockets left
 * open), so only the ApiClient's per-call timeout (max(1 s, renewDeadline/2)) ends its calls. A
 * standby talks to the api-server directly. Checks, from recorded times: the cut-off leader's
 * leading signal aborts within the renew deadline of the cut, before the standby leads; the standby
 * leads within lease + 2.2 × retry (+ slack); the cut-off leader's run() resolves on its own (lost),
 * and the new leader's Event is recorded.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'
import { ApiClient, type Event } from '@hakube/api'
import { startTestServer, stopTestServers, type TestServer } from '@hakube/api-server/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { LeaderElector } from './elector.js'

const LEASE_MS = 3_000
const RENEW_MS = 2_000
const RETRY_MS = 500
const SLACK_MS = 1_500
const RELAY_HOST = '127.0.2.1'

let server: TestServer
let relay: Server
let relayPort = 0
let cut = false
const sockets = new Set<Socket>()
const clients: ApiClient[] = []

beforeAll(async () => {
  server = await startTestServer({ namespaces: ['kube-system'] })
  relay = createServer((inbound) => {
    sockets.add(inbound)
    inbound.on('close', () => sockets.delete(inbound))
    inbound.on('error', () => {})
    if (cut) return // accepted, never forwarded: a black hole
    const outbound = connect(server.port, '127.0.0.1')
    sockets.add(outbound)
    outbound.on('close', () => sockets.delete(outbound))
    outbound.on('error', () => inbound.destroy())
    inbound.on('data', (chunk) => {
      if (!cut) outbound.write(chunk)
    })
    outbound.on('data', (chunk) => {
      if (!cut) inbound.write(chunk)
    })
    inbound.on('end', () => outbound.end())
    outbound.on('end', () => inbound.end())
  })
  await new Promise<void>((resolve) => relay.listen(0, RELAY_HOST, resolve))
  const address = relay.address()
  if (address === null || typeof address === 'string') throw new Error('relay: no port')
  relayPort = address.port
})

afterAll(async () => {
  for (const c of clients) await c.close()
  for (const s of sockets) s.destroy()
  await new Promise<void>((resolve) => relay?.close(() => resolve()))
  await stopTestServers()
})

function elector(
  client: ApiClient,
  identity: string,
  times: { start?: number; end?: number },
): LeaderElector {
  return new LeaderElector({
    client,
    lock: 'endpoints',
    name: 'cut-off',
    namespace: 'kube-system',
    identity,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: RENEW_MS,
    retryPeriodMs: RETRY_MS,
    eventSource: 'cut-off-test',
    callbacks: {
      onStartedLeading(signal) {
        times.start = Date.now()
        signal.addEventListener('abort', () => {
          times.end = Date.now()
        })
      },
      onStoppedLeading() {},
    },
  })
}

async function until(what: string, check: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

it('a leader cut off from the api-server stops before the standby acquires', async () => {
  const viaRelay = new ApiClient({ baseUrl: `http://${RELAY_HOST}:${relayPort}` })
  const direct = new ApiClient({ baseUrl: server.base })
  clients.push(viaRelay, direct)
  const aTimes: { start?: number; end?: number } = {}
  const bTimes: { start?: number; end?: number } = {}
  const a = elector(viaRelay, 'a_cut', aTimes)
  const aStop = new AbortController()
  const aDone = a.run(aStop.signal)
  await until('a to lead', () => a.isLeader(), LEASE_MS + SLACK_MS)
  const b = elector(direct, 'b_direct', bTimes)
  const bStop = new AbortController()
  const bDone = b.run(bStop.signal)
  try {
    await until('b to observe a', () => b.getLeader() === 'a_cut', 2.2 * RETRY_MS + SLACK_MS)
    await new Promise((r) => setTimeout(r, RETRY_MS * 2))
    expect(a.isLeader()).toBe(true)
    expect(b.isLeader()).toBe(false)

    const cutAt = Date.now()
    cut = true
    await aDone // leadership lost: run() resolves without an abort
    expect(aStop.signal.aborted).toBe(false)
    expect(aTimes.end).toBeDefined()
    expect((aTimes.end as number) - cutAt).toBeLessThanOrEqual(RENEW_MS + 500)

    await until('b to lead', () => b.isLeader(), LEASE_MS + 2.2 * RETRY_MS + SLACK_MS)
    expect(bTimes.start as number).toBeGreaterThanOrEqual(aTimes.end as number)
    expect((bTimes.start as number) - cutAt).toBeLessThanOrEqual(LEASE_MS + 2.2 * RETRY_MS + SLACK_MS)

    const events = await direct
      .resource<Event>({ group: '', version: 'v1', plural: 'events', namespaced: true })
      .namespace('kube-system')
      .list()
    const messages = events.items.filter((e) => e.involvedObject.name === 'cut-off').map((e) => e.message)
    expect(messages).toContain('a_cut became leader')
    expect(messages).toContain('b_direct became leader')
  } finally {
    aStop.abort()
    bStop.abort()
    await Promise.all([aDone, bDone])
  }
})
