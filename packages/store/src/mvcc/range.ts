/**
 * Shaping of a Range result as etcd 3.4 does it after reading the key index (etcdserver/apply.go
 * `applierV3backend.Range`): min/max revision filters, sorting, limit with `more`, keys_only.
 */
import { compareBytes } from './bytes.js'
import type { KeyValue, RangeRequest, SortOrder } from './types.js'

type Less = (a: KeyValue, b: KeyValue) => number

const BY_TARGET: Record<string, Less> = {
  KEY: (a, b) => compareBytes(a.key, b.key),
  VERSION: (a, b) => a.version - b.version,
  CREATE: (a, b) => a.createRevision - b.createRevision,
  MOD: (a, b) => a.modRevision - b.modRevision,
  VALUE: (a, b) => compareBytes(a.value, b.value),
}

/**
 * `kvs` arrive in ascending key order. Sorting is stable, so ties keep key order in both directions;
 * etcd (Go sort.Sort, insertion sort below 13 elements) agrees for small results, and does not
 * promise an order for ties beyond that.
 */
export function shapeRange(req: RangeRequest, kvs: KeyValue[]): { kvs: KeyValue[]; more: boolean } {
  let out = kvs
  const maxMod = req.maxModRevision ?? 0
  const minMod = req.minModRevision ?? 0
  const maxCreate = req.maxCreateRevision ?? 0
  const minCreate = req.minCreateRevision ?? 0
  if (maxMod !== 0) out = out.filter((kv) => kv.modRevision <= maxMod)
  if (minMod !== 0) out = out.filter((kv) => kv.modRevision >= minMod)
  if (maxCreate !== 0) out = out.filter((kv) => kv.createRevision <= maxCreate)
  if (minCreate !== 0) out = out.filter((kv) => kv.createRevision >= minCreate)
  const limit = req.limit ?? 0
  const fetchAll =
    (req.sortOrder ?? 'NONE') !== 'NONE' || maxMod !== 0 || minMod !== 0 || maxCreate !== 0 || minCreate !== 0
  // etcd quirk: with sort order NONE and no filter it reads only limit+1 keys (in key order) before
  // sorting, so NONE + a non-KEY target sorts just that window, not the whole range.
  if (!fetchAll && limit > 0 && out.length > limit + 1) out = out.slice(0, limit + 1)

  const target = req.sortTarget ?? 'KEY'
  let order: SortOrder = req.sortOrder ?? 'NONE'
  // etcd: results already come ascending by key, so NONE sorts ascending only for non-KEY targets.
  if (target !== 'KEY' && order === 'NONE') order = 'ASCEND'
  if (order !== 'NONE') {
    const less = BY_TARGET[target] as Less
    out = out === kvs ? out.slice() : out
    if (order === 'ASCEND') out.sort(less)
    else out.sort((a, b) => less(b, a))
  }

  let more = false
  if (limit > 0 && out.length > limit) {
    out = out.slice(0, limit)
    more = true
  }
  if (req.keysOnly === true) out = out.map((kv) => ({ ...kv, value: new Uint8Array(0) }))
  return { kvs: out, more }
}
