import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { KUBECTL_VERSIONS, Kubectl, removeKubectlHomes } from '@hakube/api-server/testing'
import { memberLogs, StoreProcessCluster, waitFor } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiServerProcess } from '../apiserver.js'
import { kubectlSuite } from './suite.js'

// Goal (issue 11): kubectl through hakube-lb behaves exactly as against an api-server directly.
// Method: a 3-member hakube-store on 127.0.1.131-133, three hakube-apiserver processes on
// 127.0.1.134-136 (etcd3 backend, all three members), and the hakube-lb binary on 127.0.1.137:6443 in
// front of them (round robin, so consecutive kubectl requests land on different api-servers). The
// whole kubectl suite (suite.ts, `get -w` included) runs once per kubectl version through the balancer;
// then one api-server is killed and kubectl, still pointed at the balancer, keeps working.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }
const LB_MAIN = fileURLToPath(new URL('../../../../packages/load-balancer/dist/main.js', import.meta.url))
const LB_HOST = '127.0.1.137'

describe('kubectl through hakube-lb in front of three api-servers', () => {
  let store: StoreProcessCluster
  const apis: ApiServerProcess[] = []
  let lb: ChildProcess | undefined
  const lbOutput: string[] = []
  const base = `http://${LB_HOST}:6443`
  const logs = () =>
    [
      `--- hakube-lb\n${lbOutput.join('')}`,
      ...apis.map((a) => `--- api-server ${a.host}\n${a.logs()}`),
      store === undefined ? '' : memberLogs(store),
    ].join('\n')

  beforeAll(async () => {
    if (!existsSync(LB_MAIN)) throw new Error(`${LB_MAIN} is missing: build first (npm run build)`)
    store = new StoreProcessCluster(3, 131, TIMING)
    store.startAll()
    for (const host of ['127.0.1.134', '127.0.1.135', '127.0.1.136'])
      apis.push(
        new ApiServerProcess(host, [`--etcd-servers=${store.clientUrls.join(',')}`, '--request-timeout=5s']),
      )
    await Promise.all(apis.map((a) => a.ready(30_000, logs)))
    lb = spawn(
      process.execPath,
      [
        LB_MAIN,
        `--bind-address=${LB_HOST}`,
        '--port=6443',
        `--backends=${apis.map((a) => a.base).join(',')}`,
        // This file judges kubectl compatibility, not failover timing (test/e2e/src/lb-failover does):
        // a check answered late on a loaded 2-core machine must not take a busy backend out of rotation.
        '--health-interval=200ms',
        '--health-timeout=5s',
        '--stats-port=9000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    lb.stdout?.on('data', (b: Buffer) => lbOutput.push(b.toString()))
    lb.stderr?.on('data', (b: Buffer) => lbOutput.push(b.toString()))
    await waitFor(
      async () => {
        try {
          return (await fetch(`${base}/readyz`)).status === 200 ? true : undefined
        } catch {
          return undefined
        }
      },
      15_000,
      logs,
    )
  })
  afterAll(() => {
    lb?.kill('SIGKILL')
    for (const a of apis) a.stop()
    store?.destroy()
    removeKubectlHomes()
  })

  for (const version of KUBECTL_VERSIONS)
    describe(`kubectl ${version}`, () => kubectlSuite(version, () => ({ base, logs })))

  it('spread the suite over every api-server, each up and error-free', async () => {
    const stats = (await (await fetch(`http://${LB_HOST}:9000/stats`)).json()) as {
      backends: { url: string; state: string; requests: number; errors: number }[]
    }
    expect(stats.backends.map((b) => b.url).sort()).toEqual(apis.map((a) => a.base).sort())
    for (const b of stats.backends) {
      expect(b.state, b.url).toBe('up')
      // Round robin: each api-server served a large share of the suite's hundreds of requests.
      expect(b.requests, b.url).toBeGreaterThan(100)
      expect(b.errors, b.url).toBe(0)
    }
  })

  it('kubectl goes on working when an api-server is killed', async () => {
    apis[0]?.stop()
    const k = new Kubectl(base, KUBECTL_VERSIONS[KUBECTL_VERSIONS.length - 1] ?? '1.33')
    for (let i = 0; i < 10; i++) {
      const r = await k.run(['get', 'namespaces', 'kube-system', '-o', 'name'])
      expect(r.stderr, logs()).toBe('')
      expect(r.stdout).toBe('namespace/kube-system\n')
      const c = await k.run(['create', 'configmap', `after-kill-${i}`, '-n', 'default', '-o', 'name'])
      expect(c.stderr, logs()).toBe('')
      expect(c.stdout).toBe(`configmap/after-kill-${i}\n`)
    }
  }, 120_000)
})
