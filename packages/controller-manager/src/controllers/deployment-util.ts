/**
 * Deployment helpers after kube's pkg/controller/deployment/util: the pod-template-hash, template
 * equality ignoring it, revisions, maxSurge / maxUnavailable resolution, and conditions.
 */
import type { Deployment, PodTemplateSpec, ReplicaSet } from '@hakube/api'

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash'
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision'
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas'
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas'

/** JSON with object keys sorted (a stable dump of a template). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`
  return JSON.stringify(value)
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

/**
 * ComputeHash: FNV-32a over a key-sorted dump of the template, then `collisionCount` as 8
 * little-endian bytes if set, written as rand.SafeEncodeString of the decimal sum. (kube dumps with
 * spew, so the values differ from kube's; the properties are the same: stable, template-derived.)
 */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = 0x811c9dc5
  const feed = (byte: number) => {
    h ^= byte
    h = Math.imul(h, 0x01000193) >>> 0
  }
  for (const b of Buffer.from(canonical(template ?? {}), 'utf8')) feed(b)
  if (collisionCount !== undefined) {
    const buf = Buffer.alloc(8)
    buf.writeBigUInt64LE(BigInt(collisionCount))
    for (const b of buf) feed(b)
  }
  return [...String(h >>> 0)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('')
}

function withoutHash(t: PodTemplateSpec | undefined): string {
  const copy = structuredClone(t ?? {})
  if (copy.metadata?.labels !== undefined) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL]
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels
  }
  return canonical(copy)
}

/** EqualIgnoreHash. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return withoutHash(a) === withoutHash(b)
}

export function revisionOf(obj: { metadata?: { annotations?: Record<string, string> } }): number {
  const v = Number(obj.metadata?.annotations?.[REVISION_ANNOTATION] ?? '0')
  return Number.isFinite(v) ? v : 0
}

/** intstr.GetScaledValueFromIntOrPercent. */
function scaled(value: number | string | undefined, total: number, roundUp: boolean): number {
  if (value === undefined) return 0
  if (typeof value === 'number') return value
  const m = /^(\d+)%$/.exec(value)
  if (m === null) return Number(value) || 0
  const x = (Number(m[1]) * total) / 100
  return roundUp ? Math.ceil(x) : Math.floor(x)
}

/** ResolveFenceposts: maxSurge rounded up, maxUnavailable down; both 0 means maxUnavailable 1. */
export function resolveFenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec?.replicas ?? 1
  if (d.spec?.strategy?.type === 'Recreate') return { maxSurge: 0, maxUnavailable: replicas }
  const ru = d.spec?.strategy?.rollingUpdate
  const maxSurge = scaled(ru?.maxSurge ?? '25%', replicas, true)
  let maxUnavailable = scaled(ru?.maxUnavailable ?? '25%', replicas, false)
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1
  return { maxSurge, maxUnavailable }
}

export const specReplicas = (rs: ReplicaSet | undefined) => rs?.spec?.replicas ?? 0
export const sum = (rss: readonly ReplicaSet[], f: (rs: ReplicaSet) => number) =>
  rss.reduce((n, rs) => n + f(rs), 0)

type Condition = NonNullable<NonNullable<Deployment['status']>['conditions']>[number]

/** SetDeploymentCondition: keeps lastTransitionTime when the status does not change. */
export function setCondition(conditions: readonly Condition[], next: Condition, now: string): Condition[] {
  const old = conditions.find((c) => c.type === next.type)
  if (
    old !== undefined &&
    old.status === next.status &&
    old.reason === next.reason &&
    old.message === next.message
  )
    return [...conditions]
  const merged: Condition = {
    ...next,
    lastUpdateTime: now,
    lastTransitionTime: old !== undefined && old.status === next.status ? old.lastTransitionTime : now,
  } as Condition
  return [...conditions.filter((c) => c.type !== next.type), merged]
}
