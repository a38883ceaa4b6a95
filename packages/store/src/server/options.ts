/**
 * Options of {@link StoreServer}. Validation (etcd's flags and their relations) belongs to the caller
 * (src/config); this module only fills defaults.
 */
import type { RandomSource } from '@hakube/raft'
import type { RaftTransport } from '../backend.js'
import type { WalOptions } from '../wal/index.js'
import type { StoreMetrics } from './metrics.js'

/** The pino subset the server logs through (a pino child logger satisfies it). */
export interface StoreLogger {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface StoreServerOptions {
  /** etcd's --name: this member's key in `initialCluster`. */
  name: string
  dataDir: string
  /** etcd's --initial-cluster: member name → peer URLs. Must contain `name`. */
  initialCluster: Readonly<Record<string, readonly string[]>>
  /** etcd's --initial-cluster-token (hashed into member ids). */
  initialClusterToken: string
  /** `new`: bootstrap the founding members; `existing`: join a running cluster (after `member add`). */
  initialClusterState: 'new' | 'existing'
  /** etcd's --advertise-client-urls, published to the cluster once a leader is known. */
  clientUrls?: readonly string[]
  /** Default 100 (etcd's --heartbeat-interval). */
  heartbeatIntervalMs?: number
  /** Default 1000 (etcd's --election-timeout); a multiple of the heartbeat interval. */
  electionTimeoutMs?: number
  /** Applied entries between Raft snapshots. Default 100 000 (etcd 3.4 --snapshot-count). */
  snapshotCount?: number
  /** Entries kept before a snapshot so slow followers catch up by log. Default 5000 (etcd). */
  snapshotCatchUpEntries?: number
  /** Default 1.5 MiB + a little for the envelope (etcd's --max-request-bytes). */
  maxRequestBytes?: number
  /** Default 128 (etcd's --max-txn-ops). */
  maxTxnOps?: number
  /**
   * etcd's --quota-backend-bytes as resolved by the flags: the key space size (MvccStore.sizeBytes)
   * beyond which a write raises the NOSPACE alarm; null disables the quota. Default 2 GiB (etcd's).
   */
  quotaBackendBytes?: number | null
  /** How long a request may wait for Raft. Default 5000 + 2 × electionTimeoutMs (etcd's ReqTimeout). */
  requestTimeoutMs?: number
  transport: RaftTransport
  /** Wall clock in ms (lease deadlines). Default Date.now. */
  now?: () => number
  /** Randomness for election timeouts and generated lease ids. Default seeded from the member id and clock. */
  random?: RandomSource
  logger?: StoreLogger
  /** Prometheus metrics under etcd's names (main.ts registers them on the /metrics registry). */
  metrics?: StoreMetrics
  wal?: WalOptions
}

export interface ResolvedStoreOptions {
  heartbeatIntervalMs: number
  electionTimeoutMs: number
  snapshotCount: number
  snapshotCatchUpEntries: number
  maxRequestBytes: number
  maxTxnOps: number
  quotaBackendBytes: number | null
  requestTimeoutMs: number
}

/** Leader loop period for lease expiry (etcd's lessor checks every 500 ms). */
export const LEASE_EXPIRY_CHECK_MS = 500
/** etcd's maxGapBetweenApplyAndCommitIndex: refuse new proposals beyond this backlog. */
export const MAX_APPLY_BACKLOG_ENTRIES = 5000
/** Revokes proposed per expiry round (etcd rate-limits revocation to 1000 leases/s). */
export const MAX_REVOKES_PER_ROUND = 1000
/** How often an unanswered ReadIndex round is retried with a fresh context (etcd: 500 ms). */
export const READ_INDEX_RETRY_MS = 500
/** How often watchers whose consumer was full are retried (etcd's syncVictimsLoop). */
export const WATCH_VICTIM_RETRY_MS = 100

const noop = (): void => {}
export const silentStoreLogger: StoreLogger = { debug: noop, info: noop, warn: noop, error: noop }

export function resolveOptions(o: StoreServerOptions): ResolvedStoreOptions {
  const heartbeatIntervalMs = o.heartbeatIntervalMs ?? 100
  const electionTimeoutMs = o.electionTimeoutMs ?? 1000
  return {
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: o.snapshotCount ?? 100_000,
    snapshotCatchUpEntries: o.snapshotCatchUpEntries ?? 5000,
    maxRequestBytes: o.maxRequestBytes ?? 1.5 * 1024 * 1024,
    maxTxnOps: o.maxTxnOps ?? 128,
    quotaBackendBytes: o.quotaBackendBytes === undefined ? 2 * 1024 ** 3 : o.quotaBackendBytes,
    requestTimeoutMs: o.requestTimeoutMs ?? 5000 + 2 * electionTimeoutMs,
  }
}
