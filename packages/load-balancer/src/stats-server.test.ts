/** Goal: --stats-port serves each backend's state and counts as JSON, and Prometheus metrics. */
import { afterEach, describe, expect, it } from 'vitest'
import { FakeBackend, startBalancer } from './testing/fake-backend.js'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('stats server', () => {
  it('reports backends, counts and metrics', async () => {
    const up = await new FakeBackend('b0', '127.0.1.153').start()
    const dead = await new FakeBackend('b1', '127.0.1.154').start()
    cleanups.push(() => up.kill())
    dead.kill()
    const { url, statsUrl, lb } = await startBalancer(
      '127.0.1.162',
      [up.url, dead.url],
      ['--stats-port=16462'],
    )
    cleanups.push(() => lb.shutdown(0))
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/echo`)).status).toBe(200)
    await new Promise((r) => setTimeout(r, 250))
    const stats = (await (await fetch(`${statsUrl}/stats`)).json()) as {
      mode: string
      backends: Array<Record<string, unknown>>
      counters: Record<string, number>
    }
    expect(stats.mode).toBe('http')
    const [s0, s1] = stats.backends
    expect(s0).toMatchObject({
      url: up.url,
      state: 'up',
      consecutiveFailures: 0,
      activeConnections: 0,
      errors: 0,
    })
    expect(s0?.['requests']).toBeGreaterThanOrEqual(2)
    expect(typeof s0?.['lastCheck']).toBe('string')
    expect(s1).toMatchObject({ url: dead.url, state: 'down', lastCheckError: 'ECONNREFUSED' })
    expect(Date.parse(s1?.['lastStateChange'] as string)).toBeGreaterThan(Date.now() - 5000)
    const metrics = await (await fetch(`${statsUrl}/metrics`)).text()
    expect(metrics).toContain(`hakube_lb_backend_up{backend="${up.url}"} 1`)
    expect(metrics).toContain(`hakube_lb_backend_up{backend="${dead.url}"} 0`)
    expect(metrics).toMatch(new RegExp(`hakube_lb_backend_requests_total\\{backend="${up.url}"\\} [2-9]`))
    expect(metrics).toContain('# TYPE hakube_lb_retries_total counter')
    expect(metrics).toContain('# TYPE hakube_lb_backend_requests_total counter')
    expect((await fetch(`${statsUrl}/nope`)).status).toBe(404)
  })
})
