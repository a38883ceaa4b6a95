import { memberLogs, StoreProcessCluster, waitFor } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiServerProcess } from './apiserver.js'

// Goal: the hakube-apiserver binary runs as kube-apiserver does in front of a real 3-member hakube-store
// cluster: ready while the store has a quorum, /readyz fails (and says which check) while it has none and
// recovers when it is back, bad flags exit 2 with one line, and SIGTERM makes /readyz fail first and the
// process exit 0. Method: real processes on their own 127.0.1.x hosts.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }
const HOST = '127.0.1.199'

async function readyz(): Promise<{ status: number; text: string } | undefined> {
  try {
    const r = await fetch(`http://${HOST}:6443/readyz?verbose`)
    return { status: r.status, text: await r.text() }
  } catch {
    return undefined
  }
}

describe('the hakube-apiserver process over a 3-member hakube-store', () => {
  let store: StoreProcessCluster
  let api: ApiServerProcess | undefined

  beforeAll(() => {
    store = new StoreProcessCluster(3, 190, TIMING)
    store.startAll()
  })
  afterAll(() => {
    api?.stop()
    store?.destroy()
  })

  it('exits 2 with one line for a bad flag', async () => {
    const bad = new ApiServerProcess(HOST, ['--secure-port=x'])
    const code = await new Promise<number | null>((r) => bad.proc.once('exit', (c) => r(c)))
    expect(code).toBe(2)
    expect(bad.logs().trim()).toBe(
      'hakube-apiserver: invalid argument "x" for "--secure-port" flag: strconv.ParseInt: parsing "x": invalid syntax',
    )
  })

  it('is ready with the store, not ready without its quorum, ready again after, and stops cleanly', async () => {
    api = new ApiServerProcess(HOST, [`--etcd-servers=${store.clientUrls.join(',')}`])
    const logs = () => `${api?.logs()}\n${memberLogs(store)}`
    await waitFor(async () => ((await readyz())?.status === 200 ? true : undefined), 30_000, logs)
    expect((await readyz())?.text).toContain('[+]etcd ok')

    const [, m2, m3] = store.members
    store.kill(m2!)
    store.kill(m3!)
    const down = await waitFor(
      async () => {
        const r = await readyz()
        return r?.status === 500 ? r : undefined
      },
      20_000,
      logs,
    )
    expect(down.text).toContain('[-]etcd failed: reason withheld')
    expect(down.text).toContain('readyz check failed')
    expect((await fetch(`http://${HOST}:6443/livez`)).status).toBe(500)

    store.start(m2!)
    await waitFor(async () => ((await readyz())?.status === 200 ? true : undefined), 30_000, logs)

    const exited = new Promise<number | null>((r) => api?.proc.once('exit', (c) => r(c)))
    api.proc.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(api.logs()).toContain('shutting down: /readyz now fails')
  })
})
