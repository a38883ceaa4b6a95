/**
 * Goal: with --workers, a worker's pool takes its primary's states (set and health) as sent over IPC
 * (JSON, undefined fields dropped), and the stats the primary serves are its own health view with the
 * workers' counts summed, a crashed worker's counts kept.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { BackendPool } from './backend-pool.js'
import {
  aggregateStats,
  applySnapshot,
  retire,
  snapshotPool,
  sumCounters,
  type WorkerReport,
  workerReport,
} from './cluster-protocol.js'

const log = pino({ level: 'silent' })
const pool = (urls: string[], now = () => 1_000): BackendPool =>
  new BackendPool({
    backends: urls.map((u) => new URL(u)),
    balance: 'roundrobin',
    thresholds: { fall: 2, rise: 2 },
    idleTimeoutMs: 1000,
    ca: undefined,
    log,
    now,
  })
const A = 'http://127.0.2.240:6443'
const B = 'http://127.0.2.241:6443'
const C = 'http://127.0.2.242:6443'
/** What IPC does to a message (the 'json' serialization node:cluster uses). */
const overIpc = <T>(m: T): T => JSON.parse(JSON.stringify(m)) as T

describe('cluster protocol', () => {
  it('a worker takes the set and the states of its primary, keeping its own counts', () => {
    const primary = pool([A, B])
    const worker = pool([A, B])
    const workerA = worker.backends[0]
    if (workerA === undefined) throw new Error('no backend')
    workerA.requests = 7
    const pb = primary.backends[1]
    if (pb === undefined) throw new Error('no backend')
    primary.recordCheck(pb, 'ECONNREFUSED', true)
    primary.recordCheck(pb, 'ECONNREFUSED', true)
    expect(pb.up).toBe(false)
    applySnapshot(worker, overIpc(snapshotPool(primary)))
    expect(worker.backends.map((b) => b.state.health)).toEqual(['up', 'down'])
    expect(worker.backends[1]?.state).toEqual(pb.state)
    // The worker now balances by it: B is never picked.
    for (let i = 0; i < 4; i++) expect(worker.pick()?.key).toBe(A)
    // A changed set (Endpoints): kept backends keep their counts, a new one comes in with its state.
    primary.setBackends([new URL(A), new URL(C)])
    applySnapshot(worker, overIpc(snapshotPool(primary)))
    expect(worker.backends.map((b) => b.key)).toEqual([A, C])
    expect(worker.backends[0]).toBe(workerA)
    expect(workerA.requests).toBe(7)
    expect(worker.backends[1]?.up).toBe(true)
  })

  it('a worker reports its passive failures; the primary does not hear its own snapshots back', () => {
    const worker = pool([A, B])
    const events: string[] = []
    worker.onUpdate = (e) => events.push(e.kind === 'set' ? 'set' : `${e.kind} ${e.backend.key} ${e.error}`)
    const b = worker.backends[1]
    if (b === undefined) throw new Error('no backend')
    worker.recordPassiveFailure(b, 'ECONNREFUSED')
    expect(b.up).toBe(false)
    applySnapshot(worker, overIpc(snapshotPool(pool([A, B]))))
    expect(events).toEqual([`passive ${B} ECONNREFUSED`])
    expect(b.up).toBe(true)
  })

  it('sums the workers counts over the primary health view', () => {
    const primary = pool([A, B])
    const w1 = pool([A, B])
    const w2 = pool([A, B])
    const [a1, b1] = w1.backends
    const [a2] = w2.backends
    if (a1 === undefined || b1 === undefined || a2 === undefined) throw new Error('no backend')
    a1.requests = 3
    a1.active = 1
    b1.requests = 2
    b1.errors = 1
    a2.requests = 5
    a2.active = 2
    const r1 = overIpc(workerReport(w1, { retries: 1, noBackend: 0, badGateway: 2, aborted: 0 }, 1))
    const r2 = overIpc(workerReport(w2, { retries: 4, noBackend: 1, badGateway: 0, aborted: 3 }, 2))
    const stats = aggregateStats(primary.stats(), [r1, r2])
    expect(stats.map((s) => [s.url, s.state, s.activeConnections, s.requests, s.errors])).toEqual([
      [A, 'up', 3, 8, 0],
      [B, 'up', 0, 2, 1],
    ])
    expect(sumCounters([r1, r2])).toEqual({ retries: 5, noBackend: 1, badGateway: 2, aborted: 3 })
    // Worker 1 crashes: its requests and errors stay counted, its connections are gone.
    let retired: WorkerReport = { backends: [], counters: sumCounters([]), inFlight: 0 }
    retired = retire(retired, r1)
    const after = aggregateStats(primary.stats(), [retired, r2])
    expect(after.map((s) => [s.activeConnections, s.requests, s.errors])).toEqual([
      [2, 8, 0],
      [0, 2, 1],
    ])
    expect(sumCounters([retired, r2])).toEqual({ retries: 5, noBackend: 1, badGateway: 2, aborted: 3 })
  })
})
