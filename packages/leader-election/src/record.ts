/**
 * The LeaderElectionRecord (client-go `resourcelock/interface.go`) and its two stored forms: JSON
 * in the `control-plane.alpha.kubernetes.io/leader` annotation of an Endpoints object (times as
 * metav1.Time, RFC 3339 in whole seconds), and a coordination.k8s.io/v1 Lease's spec (times as
 * MicroTime, `2006-01-02T15:04:05.000000Z`; `leaderTransitions` is `leaseTransitions`).
 *
 * The times are for people reading the object: the election never compares them with a clock
 * (leaderelection.go: only the local time at which a *change* of the record was observed counts).
 */

export interface LeaderElectionRecord {
  /** '' = nobody holds the lock (released); any candidate may take it at once. */
  holderIdentity: string
  leaseDurationSeconds: number
  /** RFC 3339 (seconds) in the Endpoints annotation, MicroTime in a Lease. */
  acquireTime: string
  renewTime: string
  leaderTransitions: number
}

/** The annotation holding the record on an Endpoints lock (`LeaderElectionRecordAnnotationKey`). */
export const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader'

/** MultiLock's holder when the primary and secondary records name different holders. */
export const UNKNOWN_LEADER = 'leaderelection.k8s.io/unknown'

/** metav1.Time: RFC 3339 in whole seconds, UTC (`2024-01-01T00:00:10Z`). */
export function formatTime(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`
}

/** metav1.MicroTime: RFC 3339 with six fractional digits (`2024-01-01T00:00:10.250000Z`). */
export function formatMicroTime(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString() // ...T00:00:10.250Z
  return `${iso.slice(0, 23)}000Z`
}

/** The record's JSON as client-go marshals it (field order of the Go struct). */
export function encodeRecord(r: LeaderElectionRecord): string {
  return JSON.stringify({
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: r.acquireTime,
    renewTime: r.renewTime,
    leaderTransitions: r.leaderTransitions,
  })
}

/**
 * Parses an annotation value; fields missing or of the wrong type become their zero values, as
 * Go's json.Unmarshal leaves them. Throws on text that is not a JSON object (client-go's Get
 * fails the attempt then).
 */
export function decodeRecord(text: string): LeaderElectionRecord {
  const value: unknown = JSON.parse(text)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('the leader election record is not a JSON object')
  }
  return recordFrom(value as Record<string, unknown>, 'leaderTransitions')
}

/** The fields of a Lease's spec that carry the record. */
export interface LeaseSpecRecord {
  holderIdentity?: string
  leaseDurationSeconds?: number
  acquireTime?: string
  renewTime?: string
  leaseTransitions?: number
}

/** LeaseSpecToLeaderElectionRecord. */
export function recordFromLeaseSpec(spec: LeaseSpecRecord | undefined): LeaderElectionRecord {
  return recordFrom((spec ?? {}) as Record<string, unknown>, 'leaseTransitions')
}

/** LeaderElectionRecordToLeaseSpec; the record's times are re-written as MicroTime. */
export function leaseSpecFromRecord(r: LeaderElectionRecord): LeaseSpecRecord {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: toMicroTime(r.acquireTime),
    renewTime: toMicroTime(r.renewTime),
    leaseTransitions: r.leaderTransitions,
  }
}

function toMicroTime(text: string): string {
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? text : formatMicroTime(ms)
}

function recordFrom(o: Record<string, unknown>, transitionsKey: string): LeaderElectionRecord {
  const str = (v: unknown): string => (typeof v === 'string' ? v : '')
  const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0)
  return {
    holderIdentity: str(o['holderIdentity']),
    leaseDurationSeconds: int(o['leaseDurationSeconds']),
    acquireTime: str(o['acquireTime']),
    renewTime: str(o['renewTime']),
    leaderTransitions: int(o[transitionsKey]),
  }
}
