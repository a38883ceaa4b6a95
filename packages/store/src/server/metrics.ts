/**
 * The member's Prometheus metrics, under etcd's names so that dashboards and alerts written for etcd
 * read them (etcd's server/etcdserver/metrics.go, mvcc/metrics.go, wal/metrics.go): leader presence and
 * changes, proposals committed/applied/pending/failed, WAL fsync and apply latency, the current revision.
 *
 * NB: `etcd_disk_wal_fsync_duration_seconds` times a whole synced WAL append (write + fdatasync of one
 * group-commit batch); etcd times the fsync alone. Both are dominated by the fsync.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** etcd's disk latency buckets: 1 ms doubling to about 8 s. */
const DISK_BUCKETS = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i)
/** etcd's apply latency buckets: 0.1 ms doubling. */
const APPLY_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.0001 * 2 ** i)

export class StoreMetrics {
  readonly hasLeader: Gauge
  readonly isLeader: Gauge
  readonly leaderChanges: Counter
  readonly proposalsCommitted: Gauge
  readonly proposalsApplied: Gauge
  readonly proposalsPending: Gauge
  readonly proposalsFailed: Counter
  readonly walFsync: Histogram
  readonly applyDuration: Histogram
  readonly revision: Gauge

  constructor(registry: Registry) {
    const registers = [registry]
    this.hasLeader = new Gauge({
      name: 'etcd_server_has_leader',
      help: 'Whether or not a leader exists. 1 is existence, 0 is not.',
      registers,
    })
    this.isLeader = new Gauge({
      name: 'etcd_server_is_leader',
      help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.',
      registers,
    })
    this.leaderChanges = new Counter({
      name: 'etcd_server_leader_changes_seen_total',
      help: 'The number of leader changes seen.',
      registers,
    })
    this.proposalsCommitted = new Gauge({
      name: 'etcd_server_proposals_committed_total',
      help: 'The total number of consensus proposals committed.',
      registers,
    })
    this.proposalsApplied = new Gauge({
      name: 'etcd_server_proposals_applied_total',
      help: 'The total number of consensus proposals applied.',
      registers,
    })
    this.proposalsPending = new Gauge({
      name: 'etcd_server_proposals_pending',
      help: 'The current number of pending proposals to commit.',
      registers,
    })
    this.proposalsFailed = new Counter({
      name: 'etcd_server_proposals_failed_total',
      help: 'The total number of failed proposals seen.',
      registers,
    })
    this.walFsync = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by WAL.',
      buckets: DISK_BUCKETS,
      registers,
    })
    this.applyDuration = new Histogram({
      name: 'etcd_server_apply_duration_seconds',
      help: 'The latency distributions of v2 apply called by backend.',
      buckets: APPLY_BUCKETS,
      registers,
    })
    this.revision = new Gauge({
      name: 'etcd_mvcc_current_revision',
      help: 'The current revision of the key space.',
      registers,
    })
  }
}
