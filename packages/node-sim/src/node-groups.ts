/**
 * `--config FILE`: several node groups in one YAML (or JSON) document, a list of
 *
 * ```yaml
 * - count: 3            # nodes PREFIX-1 .. PREFIX-3
 *   prefix: ssd
 *   labels: {disk: ssd}
 *   taints: ["dedicated=db:NoSchedule"]   # or {key, value, effect} objects
 *   capacity: {cpu: "16", memory: 64Gi, pods: 110}
 * ```
 *
 * (also accepted: the list under a `nodeGroups` key). Missing capacity fields take the `--node-*`
 * defaults. Errors are one line naming the file and the entry.
 */
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import {
  ConfigError,
  checkCapacity,
  checkUniqueNames,
  groupNames,
  isLabelValue,
  isQualifiedName,
  NODE_SIM_FLAGS,
  type NodeGroup,
  parseTaint,
  type Taint,
} from './config.js'

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Reads and checks the groups of a --config file. */
export function loadNodeGroupsFile(path: string): NodeGroup[] {
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new ConfigError(
      `--config: ${path}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    )
  }
  return nodeGroupsFromDocument(doc, path)
}

/** The groups of a parsed --config document. */
export function nodeGroupsFromDocument(doc: unknown, path: string): NodeGroup[] {
  const list = isObject(doc) ? doc['nodeGroups'] : doc
  if (!Array.isArray(list) || list.length === 0)
    throw new ConfigError(`--config: ${path}: expected a non-empty list of node groups`)
  const groups = list.map((entry, i) => groupFrom(entry, `--config: ${path}: group ${i + 1}: `))
  checkUniqueNames(groups)
  return groups
}

function groupFrom(entry: unknown, where: string): NodeGroup {
  if (!isObject(entry)) throw new ConfigError(`${where}not a mapping`)
  const known = new Set(['count', 'prefix', 'labels', 'taints', 'capacity'])
  for (const k of Object.keys(entry))
    if (!known.has(k)) throw new ConfigError(`${where}unknown field ${JSON.stringify(k)}`)
  const count = entry['count'] ?? 1
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1)
    throw new ConfigError(`${where}count must be a positive integer`)
  const prefix = entry['prefix']
  if (typeof prefix !== 'string' || prefix === '') throw new ConfigError(`${where}prefix is required`)
  const labels: Record<string, string> = {}
  const rawLabels = entry['labels'] ?? {}
  if (!isObject(rawLabels)) throw new ConfigError(`${where}labels must be a mapping`)
  for (const [k, v] of Object.entries(rawLabels)) {
    const value = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v
    if (!isQualifiedName(k) || typeof value !== 'string' || !isLabelValue(value))
      throw new ConfigError(`${where}label ${JSON.stringify(k)} is not a valid key: value`)
    labels[k] = value
  }
  const rawTaints = entry['taints'] ?? []
  if (!Array.isArray(rawTaints)) throw new ConfigError(`${where}taints must be a list`)
  const taints = rawTaints.map((t): Taint => {
    if (typeof t === 'string') return parseTaint(t, `${where}taint`)
    if (!isObject(t)) throw new ConfigError(`${where}a taint must be a string or a mapping`)
    const text = `${String(t['key'] ?? '')}${t['value'] === undefined ? '' : `=${String(t['value'])}`}:${String(t['effect'] ?? '')}`
    return parseTaint(text, `${where}taint`)
  })
  const cap = entry['capacity'] ?? {}
  if (!isObject(cap)) throw new ConfigError(`${where}capacity must be a mapping`)
  const cpu = String(cap['cpu'] ?? NODE_SIM_FLAGS.nodeCpu.default)
  const memory = String(cap['memory'] ?? NODE_SIM_FLAGS.nodeMemory.default)
  const pods = Number(cap['pods'] ?? NODE_SIM_FLAGS.nodePods.default)
  checkCapacity(cpu, memory, pods, `${where}capacity.`)
  return { names: groupNames(prefix, count, `${where}prefix`), labels, taints, cpu, memory, pods }
}
