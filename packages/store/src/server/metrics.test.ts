/**
 * Goal: a member's /metrics carries etcd's metric names with values that follow what happened: a
 * leader exists (and which member it is), leader changes are counted, proposals are committed and
 * applied, WAL fsyncs and applies are timed.
 * Method: a single-member in-process cluster with its registry, a few writes, then the text format.
 */
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { StoreMetrics } from './metrics.js'
import { TestCluster, until } from './testing/test-cluster.js'

let cluster: TestCluster | undefined
afterEach(async () => {
  await cluster?.destroy()
  cluster = undefined
})

function value(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  if (line === undefined) throw new Error(`${name} missing from:\n${text}`)
  return Number(line.split(' ')[1])
}

describe('StoreServer metrics', () => {
  it('reports leadership, proposals and latencies under etcd names', async () => {
    const reg = new Registry()
    cluster = await TestCluster.start(1, { metrics: new StoreMetrics(reg) })
    const s = cluster.server('m1')
    await until('m1 leads', () => s.leader() === s.memberId)
    for (let i = 0; i < 5; i++) {
      const r = await s.put({ key: new TextEncoder().encode(`k${i}`), value: new Uint8Array([i]) })
      expect(r.ok).toBe(true)
    }
    const text = await reg.metrics()
    expect(value(text, 'etcd_server_has_leader')).toBe(1)
    expect(value(text, 'etcd_server_is_leader')).toBe(1)
    expect(value(text, 'etcd_server_leader_changes_seen_total')).toBeGreaterThanOrEqual(1)
    expect(value(text, 'etcd_server_proposals_applied_total')).toBeGreaterThanOrEqual(5)
    expect(value(text, 'etcd_server_proposals_committed_total')).toBeGreaterThanOrEqual(
      value(text, 'etcd_server_proposals_applied_total'),
    )
    expect(value(text, 'etcd_mvcc_current_revision')).toBe(6)
    expect(value(text, 'etcd_disk_wal_fsync_duration_seconds_count')).toBeGreaterThanOrEqual(5)
    expect(value(text, 'etcd_server_apply_duration_seconds_count')).toBeGreaterThanOrEqual(5)
    expect(value(text, 'etcd_server_proposals_pending')).toBe(0)
  })
})
