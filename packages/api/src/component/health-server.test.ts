import type { Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { type Check, startHealthServer } from './health-server.js'

let server: Server | undefined

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
})

async function start(livez: Check[], readyz: Check[]): Promise<string> {
  const started = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    livez,
    readyz,
    // What a prom-client Registry offers the server.
    registry: {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      metrics: async () => '# HELP up 1 when serving\n# TYPE up gauge\nup 1\n',
    },
  })
  server = started.server
  return `http://127.0.0.1:${started.port}`
}

describe('health server', () => {
  it("answers ok, kube's verbose list, and 500 with the failed check when the watchdog fails", async () => {
    let leaderOk = true
    const checks: Check[] = [
      { name: 'ping', run: () => ({ ok: true }) },
      {
        name: 'leaderElection',
        run: () => (leaderOk ? { ok: true } : { ok: false, reason: 'lease expired' }),
      },
    ]
    const base = await start(checks, checks)
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok')
    expect(await (await fetch(`${base}/livez?verbose`)).text()).toBe(
      '[+]ping ok\n[+]leaderElection ok\nlivez check passed\n',
    )
    leaderOk = false
    const r = await fetch(`${base}/healthz`)
    expect(r.status).toBe(500)
    expect(await r.text()).toBe(
      '[+]ping ok\n[-]leaderElection failed: reason withheld\nhealthz check failed\n',
    )
    expect((await fetch(`${base}/readyz`)).status).toBe(500)
    const metrics = await fetch(`${base}/metrics`)
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(await metrics.text()).toContain('up 1')
    expect((await fetch(`${base}/nope`)).status).toBe(404)
  })
})
