/**
 * Goal: the Done-when faults with real processes behind the balancer: SIGSTOP of a backend (hung, not
 * dead) is found by the check timeout, its in-flight GETs finish elsewhere and a POST on it ends with a
 * 502 Status, never a hang; SIGCONT brings it back within rise checks; SIGKILL under load costs no
 * idempotent request. The backends are child node processes on 127.0.1.151/152.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import http from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { startBalancer } from './testing/fake-backend.js'

const BACKEND = `
const http = require('node:http')
const [host, name] = process.argv.slice(1)
const s = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x')
  if (u.pathname === '/readyz') return res.end('ok')
  req.resume()
  req.on('end', () => setTimeout(() => res.end(name + ' ' + req.method), Number(u.searchParams.get('delay') || 0)))
})
s.listen(0, host, () => process.stdout.write(String(s.address().port) + '\\n'))
`

const children: ChildProcess[] = []
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue
    c.kill('SIGCONT')
    c.kill('SIGKILL')
  }
})

function backendProcess(host: string, name: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', BACKEND, host, name], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(child)
    child.stdout?.once('data', (d: Buffer) =>
      resolve({ child, url: `http://${host}:${d.toString().trim()}` }),
    )
    child.once('exit', (code) => reject(new Error(`backend exited ${code}`)))
  })
}

function request(url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false })
    req.on('response', (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(method === 'GET' ? undefined : '{}')
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('real backend processes', () => {
  it('SIGSTOP: found by the check timeout, GETs finish elsewhere, a POST gets a 502; SIGCONT: back', async () => {
    const a = await backendProcess('127.0.1.151', 'a')
    const b = await backendProcess('127.0.1.152', 'b')
    // interval 200ms, timeout 200ms, fall 2: out of rotation within ~0.4 s of the stop (plus load slack).
    const { lb, url } = await startBalancer(
      '127.0.1.166',
      [a.url, b.url],
      ['--health-interval=200ms', '--health-timeout=200ms', '--fall=2', '--rise=2'],
    )
    cleanups.push(() => lb.shutdown(0))
    expect((await request(`${url}/warm`)).status).toBe(200)
    a.child.kill('SIGSTOP')
    const started = Date.now()
    const gets = Promise.all([0, 1, 2, 3].map(() => request(`${url}/x?delay=20`)))
    const post = request(`${url}/api/v1/namespaces/default/configmaps?delay=20`, 'POST')
    const [answers, postAnswer] = await Promise.all([gets, post])
    const elapsed = Date.now() - started
    expect(answers.map((x) => x.status)).toEqual([200, 200, 200, 200])
    expect(answers.every((x) => x.body === 'b GET')).toBe(true)
    // The POST either went to b (200) or met the stopped a (a 502 Status, not a hang).
    if (postAnswer.status !== 200)
      expect(JSON.parse(postAnswer.body)).toMatchObject({ kind: 'Status', code: 502 })
    expect(elapsed).toBeLessThan(2500)
    expect(lb.pool.stats()[0]?.state).toBe('down')
    a.child.kill('SIGCONT')
    const contAt = Date.now()
    while (lb.pool.stats()[0]?.state !== 'up') {
      if (Date.now() - contAt > 3000) throw new Error('backend a did not come back')
      await sleep(20)
    }
  })

  it('SIGKILL under load: no GET fails', async () => {
    const a = await backendProcess('127.0.1.151', 'a')
    const b = await backendProcess('127.0.1.152', 'b')
    // Checks slow enough to never time out on a loaded machine: the kill is found passively here.
    const { lb, url } = await startBalancer('127.0.1.166', [a.url, b.url], ['--health-timeout=5s'])
    cleanups.push(() => lb.shutdown(0))
    const failures: string[] = []
    let sent = 0
    let answered = 0
    let stop = false
    const worker = async (): Promise<void> => {
      while (!stop) {
        sent++
        const r = await request(`${url}/x?delay=10`).catch((e: Error) => ({ status: 0, body: e.message }))
        answered++
        if (r.status !== 200) failures.push(`${r.status} ${r.body}`)
      }
    }
    const served = (): number[] => lb.pool.stats().map((s) => s.requests)
    const until = async (cond: () => boolean, what: string): Promise<void> => {
      const end = Date.now() + 15_000
      while (!cond()) {
        if (Date.now() > end) throw new Error(`${what}: not within 15 s`)
        await sleep(10)
      }
    }
    const workers = Array.from({ length: 6 }, worker)
    await until(() => served().every((n) => n >= 3), 'both backends used')
    a.child.kill('SIGKILL')
    const bAtKill = served()[1] as number
    await until(
      () => lb.pool.stats()[0]?.state === 'down' && (served()[1] as number) >= bAtKill + 3,
      'a out of rotation, b serving',
    )
    stop = true
    await Promise.all(workers)
    expect(failures).toEqual([])
    expect(answered).toBe(sent)
    expect(lb.pool.stats()[0]?.state).toBe('down')
  })
})
