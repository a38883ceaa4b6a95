import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findWorker } from './node-faults.js'
import type { WorkerPlan } from './topology.js'

// A stand-in for a worker's admin endpoint (GET /admin/nodes) on 127.0.2.110, to check how
// `hakube fail-node` finds the worker that simulates a node the plan does not name.
let server: http.Server
let url = ''

beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify(req.url === '/admin/nodes' ? [{ name: 'extra-1', heartbeating: true, pods: 2 }] : {}),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.2.110', r))
  url = `http://127.0.2.110:${(server.address() as AddressInfo).port}`
})

afterAll(() => {
  server.close()
})

const worker = (host: string, nodes: string[], at = url): WorkerPlan => ({
  host,
  address: '127.0.2.110',
  url: at,
  nodes,
})

describe('findWorker', () => {
  it('takes the worker cluster.json names for the node', async () => {
    const w = await findWorker(
      [worker('worker-1', ['worker-1']), worker('worker-2', ['worker-2'])],
      'worker-2',
    )
    expect(w.host).toBe('worker-2')
  })

  it("asks each worker's /admin/nodes for a node the plan does not name", async () => {
    const down = worker('worker-1', ['worker-1'], 'http://127.0.2.110:1')
    const w = await findWorker([down, worker('worker-2', ['worker-2'])], 'extra-1')
    expect(w.host).toBe('worker-2')
  })

  it('refuses an unknown node, listing the nodes there are', async () => {
    await expect(findWorker([worker('worker-1', ['worker-1'])], 'nope')).rejects.toThrow(
      'no node "nope" in this cluster (nodes: worker-1, extra-1)',
    )
    await expect(findWorker([], 'nope')).rejects.toThrow(
      'no node "nope": this cluster has no workers (`hakube up --workers N`)',
    )
  })
})
