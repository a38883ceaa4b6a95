/**
 * What every kind's table printer is built from (pkg/printers/internalversion/printers.go, 1.32): the
 * metav1.Table row and column types, lenient readers of objects (a missing or mistyped field reads as
 * empty), duration.HumanDuration ages, the column descriptions kube quotes, and the cells several
 * kinds share (labels, selectors, containers). The printers themselves are table-printers*.ts.
 */
import { LabelSelectorError, labelSelectorAsSelector } from '@hakube/api'

/** metav1.TableColumnDefinition. */
export interface TableColumnDefinition {
  name: string
  type: string
  format: string
  description: string
  priority: number
}

/** metav1.TableRowCondition (only pods set them: Completed when Succeeded or Failed). */
export interface TableRowCondition {
  type: string
  status: string
  reason?: string
  message?: string
}

export type TableCell = string | number | boolean

/** A printed row before its `object` is attached. */
export interface PrintedRow {
  cells: TableCell[]
  conditions?: TableRowCondition[]
}

/** One kind's printer: its columns (wide form) and a row per object. */
export interface Printer {
  columns: readonly TableColumnDefinition[]
  print(obj: unknown, nowMs: number): PrintedRow
}

// ---------------------------------------------------------------------------------------------
// Reading objects leniently.

export function at(o: unknown, ...path: string[]): unknown {
  let cur = o
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[p]
  }
  return cur
}
export const str = (o: unknown, ...path: string[]): string => {
  const v = at(o, ...path)
  return typeof v === 'string' ? v : ''
}
export const int = (o: unknown, ...path: string[]): number => {
  const v = at(o, ...path)
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}
export const list = (o: unknown, ...path: string[]): unknown[] => {
  const v = at(o, ...path)
  return Array.isArray(v) ? v : []
}
export const map = (o: unknown, ...path: string[]): Record<string, unknown> => {
  const v = at(o, ...path)
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}
}
export const bool = (o: unknown, ...path: string[]): boolean => at(o, ...path) === true

/** An RFC 3339 timestamp in ms; undefined for a missing or unparsable one (Go's zero time). */
export function timeOf(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined
  const ms = Date.parse(v)
  return Number.isNaN(ms) ? undefined : ms
}

// ---------------------------------------------------------------------------------------------
// Durations (k8s.io/apimachinery/pkg/util/duration).

/** duration.HumanDuration: ~2-3 significant figures, truncating like Go's integer conversions. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000)
  // Up to 2 s in the future still reads as now (clock skew between machines).
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 60 * 2) return `${seconds}s`
  const minutes = Math.trunc(ms / 60_000)
  if (minutes < 10) {
    const s = seconds % 60
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`
  }
  if (minutes < 60 * 3) return `${minutes}m`
  const hours = Math.trunc(ms / 3_600_000)
  if (hours < 8) {
    const m = minutes % 60
    return m === 0 ? `${hours}h` : `${hours}h${m}m`
  }
  if (hours < 48) return `${hours}h`
  if (hours < 24 * 8) {
    const h = hours % 24
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365
    const y = Math.trunc(hours / 24 / 365)
    return dy === 0 ? `${y}y` : `${y}y${dy}d`
  }
  return `${Math.trunc(hours / 24 / 365)}y`
}

/** printers.go translateTimestampSince: `<unknown>` for the zero time. */
export function translateTimestampSince(timestamp: unknown, nowMs: number): string {
  const t = timeOf(timestamp)
  return t === undefined ? '<unknown>' : humanDuration(nowMs - t)
}

// ---------------------------------------------------------------------------------------------
// Column descriptions (the Swagger docs kube's printers quote).

const NAME_DESC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names'
export const CREATED_DESC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata'
export const CONTAINERS_DESC = 'Names of each container in the template.'
export const IMAGES_DESC = 'Images referenced by each container in the template.'

export function col(
  name: string,
  type: string,
  description: string,
  priority = 0,
  format = '',
): TableColumnDefinition {
  return Object.freeze({ name, type, format, description, priority })
}
export const nameCol = (priority = 0) => col('Name', 'string', NAME_DESC, priority, 'name')
export const ageCol = () => col('Age', 'string', CREATED_DESC)

// ---------------------------------------------------------------------------------------------
// Shared cell helpers.

/** layoutContainerCells: container names and images, comma-joined. */
export function containerCells(podSpec: unknown): [string, string] {
  const cs = list(podSpec, 'containers')
  return [cs.map((c) => str(c, 'name')).join(','), cs.map((c) => str(c, 'image')).join(',')]
}

/** labels.FormatLabels: sorted `k=v` pairs, `<none>` when empty. */
export function formatLabels(labels: Record<string, unknown>): string {
  const keys = Object.keys(labels).sort()
  if (keys.length === 0) return '<none>'
  return keys.map((k) => `${k}=${String(labels[k] ?? '')}`).join(',')
}

/** metav1.LabelSelectorAsSelector(...).String(); `bad` when the selector does not convert. */
export function selectorString(sel: unknown, bad: string): string {
  try {
    return labelSelectorAsSelector(
      sel === undefined || sel === null ? undefined : (sel as Parameters<typeof labelSelectorAsSelector>[0]),
    ).toString()
  } catch (err) {
    if (err instanceof LabelSelectorError || err instanceof Error) return bad
    throw err
  }
}

/** metav1.FormatLabelSelector: `<none>` for an empty string, `<error>` when it does not convert. */
export function formatLabelSelector(sel: unknown): string {
  const s = selectorString(sel, '<error>')
  return s === '' ? '<none>' : s
}

export const age = (o: unknown, nowMs: number) =>
  translateTimestampSince(at(o, 'metadata', 'creationTimestamp'), nowMs)
export const name = (o: unknown) => str(o, 'metadata', 'name')
