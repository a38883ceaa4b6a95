import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { adminRequest, serveAdmin } from './admin.js'
import { procState } from './cluster-state.js'
import type { ComponentSpec } from './components.js'
import { Supervisor } from './supervisor.js'

// Real child processes (tiny node scripts) under a Supervisor with a short backoff.

const dirs: string[] = []
const supervisors: Supervisor[] = []
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.shutdown()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'hakube-sup-'))
  dirs.push(d)
  return d
}

function script(name: string, code: string): ComponentSpec {
  return { name: name as ComponentSpec['name'], command: process.execPath, args: ['-e', code] }
}

const SLEEP = 'setInterval(() => {}, 1e6)'

function start(specs: ComponentSpec[], graceMs = 5000): { sup: Supervisor; dir: string } {
  const dir = tmp()
  const sup = new Supervisor(specs, {
    logFileOf: (c) => join(dir, 'logs', `${c}.log`),
    backoff: { initialMs: 100, maxMs: 400, resetAfterMs: 10_000 },
    graceMs,
  })
  supervisors.push(sup)
  sup.start()
  return { sup, dir }
}

async function until<T>(f: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = f()
    if (v !== undefined && v !== null && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('Supervisor', () => {
  it('restarts a SIGKILLed component after the backoff and counts the restart', async () => {
    const { sup } = start([script('store', SLEEP)])
    const first = await until(() => sup.status()[0]?.pid, 'a pid')
    const after = await sup.act('store', 'kill')
    expect(after.state).toBe('restarting')
    expect(after.lastExit?.signal).toBe('SIGKILL')
    const second = await until(
      () => sup.status()[0]?.state === 'running' && sup.status()[0]?.pid,
      'the restart',
    )
    expect(second).not.toBe(first)
    expect(sup.status()[0]?.restarts).toBe(1)
  })

  it('backs off a crash loop: 100, 200, 400, 400 ms; the exit code is kept', async () => {
    const { sup, dir } = start([script('apiserver', 'process.exit(3)')])
    const delays: number[] = []
    let seen = ''
    await until(() => {
      const s = sup.status()[0]
      if (s?.state === 'restarting' && s.nextRestartAt !== seen && s.lastExit !== null) {
        seen = s.nextRestartAt ?? ''
        delays.push(Date.parse(seen) - Date.parse(s.lastExit.at))
      }
      return delays.length >= 4
    }, 'four crashes')
    expect(delays.map((d) => Math.round(d / 100) * 100)).toEqual([100, 200, 400, 400])
    expect(sup.status()[0]?.lastExit?.code).toBe(3)
    expect(readFileSync(join(dir, 'logs', 'apiserver.log'), 'utf8')).toMatch(/hakube node: restart/)
  })

  it('does not restart a component the user stopped, until it is started', async () => {
    const { sup } = start([script('store', SLEEP)])
    await until(() => sup.status()[0]?.pid, 'a pid')
    expect((await sup.act('store', 'stop')).state).toBe('stopped')
    await new Promise((r) => setTimeout(r, 400))
    expect(sup.status()[0]).toMatchObject({ state: 'stopped', pid: null, restarts: 0 })
    expect((await sup.act('store', 'start')).state).toBe('running')
  })

  it('pause sends SIGSTOP and is not mistaken for a failure; resume sends SIGCONT', async () => {
    const { sup } = start([script('store', SLEEP)])
    const pid = await until(() => sup.status()[0]?.pid, 'a pid')
    await sup.act('store', 'pause')
    await until(() => procState(pid) === 'T', 'the process stopped')
    await new Promise((r) => setTimeout(r, 300))
    expect(sup.status()[0]).toMatchObject({ state: 'paused', pid, restarts: 0 })
    await sup.act('store', 'resume')
    await until(() => procState(pid) !== 'T', 'the process running again')
    expect(sup.status()[0]?.state).toBe('running')
  })

  it('shutdown stops the components in reverse start order, each waited for', async () => {
    const dir = tmp()
    const order = join(dir, 'order')
    const graceful = (name: string): ComponentSpec =>
      script(
        name,
        `const fs = require('node:fs'); process.on('SIGTERM', () => { fs.appendFileSync(${JSON.stringify(order)}, '${name} got SIGTERM\\n'); setTimeout(() => { fs.appendFileSync(${JSON.stringify(order)}, '${name} exits\\n'); process.exit(0) }, 200) }); fs.writeFileSync(${JSON.stringify(order)} + '.${name}', ''); setInterval(() => {}, 1e6)`,
      )
    const { sup } = start([graceful('store'), graceful('apiserver')])
    // Node takes a while to start on a busy machine: wait until both scripts installed their handlers.
    await until(() => existsSync(`${order}.store`) && existsSync(`${order}.apiserver`), 'both running')
    await sup.shutdown()
    expect(readFileSync(order, 'utf8').trim().split('\n')).toEqual([
      'apiserver got SIGTERM',
      'apiserver exits',
      'store got SIGTERM',
      'store exits',
    ])
    expect(sup.status().map((s) => s.state)).toEqual(['stopped', 'stopped'])
  })

  it('SIGKILLs a component that ignores SIGTERM after the grace', async () => {
    const ready = join(tmp(), 'ready')
    const { sup } = start(
      [
        script(
          'lb',
          `process.on('SIGTERM', () => {}); require('node:fs').writeFileSync(${JSON.stringify(ready)}, ''); ${SLEEP}`,
        ),
      ],
      500,
    )
    await until(() => existsSync(ready), 'the handler installed')
    const t0 = Date.now()
    await sup.shutdown()
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450)
    expect(sup.status()[0]?.lastExit?.signal).toBe('SIGKILL')
  })
})

describe('admin endpoint', () => {
  it('reports the components and applies actions over the unix socket', async () => {
    const { sup, dir } = start([script('store', SLEEP), script('apiserver', SLEEP)])
    const socket = join(dir, 'admin.sock')
    const server = await serveAdmin(socket, sup, {
      host: 'master-1',
      role: 'stacked-master',
      address: '127.0.1.1',
      pid: process.pid,
      startedAt: 'now',
    })
    try {
      const status = await adminRequest(socket, 'GET', '/status')
      expect(status.status).toBe(200)
      expect((status.body as { components: Array<{ name: string }> }).components.map((c) => c.name)).toEqual([
        'store',
        'apiserver',
      ])
      const paused = await adminRequest(socket, 'POST', '/components/*/pause')
      expect(
        (paused.body as { components: Array<{ state: string }> }).components.map((c) => c.state),
      ).toEqual(['paused', 'paused'])
      await adminRequest(socket, 'POST', '/components/*/resume')
      const missing = await adminRequest(socket, 'POST', '/components/scheduler/kill')
      expect(missing).toEqual({
        status: 404,
        body: { error: 'master-1 runs no component "scheduler" (it runs store, apiserver)' },
      })
      expect((await adminRequest(socket, 'POST', '/components/store/explode')).status).toBe(400)
    } finally {
      server.close()
    }
  })
})
