/**
 * Goal: `pods/{name}/log` answers as kube-apiserver does (its LogLocation checks, then the kubelet's
 * answer streamed back or turned into a Status), and exec/attach/portforward are refused naming the
 * simulation. Method: an in-process api-server and a stand-in kubelet on 127.0.2.51 that records the
 * requests it gets and answers what each test asks.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { call, startTestServer, stopTestServers } from '../testing/harness.js'

let kubelet: Server
let kubeletPort = 0
const seen: string[] = []
let answer: (url: string, res: import('node:http').ServerResponse) => void = () => {}

beforeAll(async () => {
  kubelet = createServer((req, res) => {
    seen.push(req.url ?? '')
    answer(req.url ?? '', res)
  })
  await new Promise<void>((r) => kubelet.listen(0, '127.0.2.51', r))
  kubeletPort = (kubelet.address() as AddressInfo).port
})
afterAll(async () => {
  kubelet.closeAllConnections()
  await new Promise((r) => kubelet.close(r))
})
afterEach(async () => {
  seen.length = 0
  await stopTestServers()
})

async function setup(): Promise<string> {
  const t = await startTestServer({ namespaces: ['default'] })
  const node = {
    metadata: { name: 'n1' },
    status: {
      addresses: [
        { type: 'Hostname', address: 'n1' },
        { type: 'InternalIP', address: '127.0.2.51' },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
    },
  }
  expect((await call('POST', `${t.base}/api/v1/nodes`, node)).status).toBe(201)
  expect(
    (await call('PUT', `${t.base}/api/v1/nodes/n1/status`, { ...node, apiVersion: 'v1', kind: 'Node' }))
      .status,
  ).toBe(200)
  const pod = (name: string, containers: string[], nodeName?: string) => ({
    metadata: { name },
    spec: {
      ...(nodeName && { nodeName }),
      containers: containers.map((c) => ({ name: c, image: 'busybox' })),
    },
  })
  for (const p of [
    pod('one', ['main'], 'n1'),
    pod('two', ['a', 'b'], 'n1'),
    pod('unbound', ['main']),
    pod('lost', ['main'], 'gone'),
  ])
    expect((await call('POST', `${t.base}/api/v1/namespaces/default/pods`, p)).status).toBe(201)
  return `${t.base}/api/v1/namespaces/default/pods`
}

describe('pods/log', () => {
  it("checks the pod, container and node as kube's LogLocation does", async () => {
    const pods = await setup()
    const status = async (url: string) => {
      const r = await call('GET', url)
      return [r.status, r.body['reason'], r.body['message']]
    }
    expect(await status(`${pods}/nope/log`)).toEqual([404, 'NotFound', 'pods "nope" not found'])
    expect(await status(`${pods}/two/log`)).toEqual([
      400,
      'BadRequest',
      'a container name must be specified for pod two, choose one of: [a b]',
    ])
    expect(await status(`${pods}/one/log?container=x`)).toEqual([
      400,
      'BadRequest',
      'container x is not valid for pod one',
    ])
    expect(await status(`${pods}/unbound/log`)).toEqual([
      400,
      'BadRequest',
      'pod unbound does not have a host assigned',
    ])
    expect(await status(`${pods}/lost/log`)).toEqual([404, 'NotFound', 'nodes "gone" not found'])
    const bad = await call('GET', `${pods}/one/log?tailLines=-1`)
    expect(bad.status).toBe(422)
    expect(bad.body['message']).toBe(
      'PodLogOptions "one" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
    )
    expect(seen).toEqual([])
  })

  it("streams the kubelet's answer, passing the options on", async () => {
    const pods = await setup()
    answer = (_url, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('line 1\nline 2\n')
    }
    const r = await request(
      `${pods}/two/log?container=b&tailLines=2&timestamps=true&limitBytes=100&sinceSeconds=5`,
    )
    expect(r.statusCode).toBe(200)
    expect(await r.body.text()).toBe('line 1\nline 2\n')
    expect(seen).toEqual([
      '/containerLogs/default/two/b?timestamps=true&sinceSeconds=5&tailLines=2&limitBytes=100',
    ])
  })

  it('turns kubelet errors into Statuses, and follows a stream as it grows', async () => {
    const pods = await setup()
    answer = (_url, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end('container "main" in pod "one" is waiting to start: ContainerCreating')
    }
    const r = await call('GET', `${pods}/one/log`)
    expect([r.status, r.body['reason'], r.body['message']]).toEqual([
      400,
      'BadRequest',
      'container "main" in pod "one" is waiting to start: ContainerCreating',
    ])
    answer = (_url, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first\n')
      setTimeout(() => res.end('second\n'), 300)
    }
    const f = await request(`${pods}/one/log?follow=true`)
    const chunks: string[] = []
    for await (const c of f.body) chunks.push(String(c))
    expect(chunks.join('')).toBe('first\nsecond\n')
    expect(seen.at(-1)).toBe('/containerLogs/default/one/main?follow=true')
  })

  it('refuses exec, attach and portforward naming the simulation', async () => {
    const pods = await setup()
    for (const sub of ['exec', 'attach', 'portforward']) {
      const r = await call('POST', `${pods}/one/${sub}?command=ls&container=main`)
      expect(r.status).toBe(400)
      expect(r.body['message']).toMatch(/^hakube-node-sim: node "n1" is simulated and runs no containers; /)
    }
    expect((await call('POST', `${pods}/two/exec?command=ls`)).body['message']).toBe(
      'a container name must be specified for pod two, choose one of: [a b]',
    )
    expect((await call('POST', `${pods}/nope/exec?command=ls`)).status).toBe(404)
    expect(seen).toEqual([])
  })
})
