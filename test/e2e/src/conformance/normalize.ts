/**
 * What legitimately differs between two clusters answering the same requests, replaced by symbols so
 * the rest can be compared exactly:
 * - revisions (header.revision, create/mod/compact revisions) become `@n`, relative to the revision at
 *   the scenario's start (0 stays 0: "none");
 * - member ids, member names and hosts become roles (`<leader>`, `<target-follower>`, `<follower>`);
 *   the cluster id becomes `<cluster>`; raft terms, raft indexes and db sizes only say whether non-zero;
 * - lease ids the servers chose become `L1`, `L2`… in order of first appearance (ids the client chose
 *   are kept as they are);
 * - list orders that etcd takes from a Go map (lease keys, lease lists) are sorted; member lists become
 *   "sorted by id?" plus the members in role order;
 * - Maintenance.Status `version` only has to be an etcd 3.4 version (`<3.4.x>`); Hash/HashKV `hash`
 *   only has to be non-zero (a checksum of each implementation's own storage encoding).
 * Values keep their JSON type (a revision given as a number is tagged `:num`), so the gateway's
 * "int64 as string" rule is still compared. TTLs are compared within ±1 s by {@link alignTtls}.
 */

export interface MemberRole {
  id: string
  name: string
  host: string
  role: string
}

export interface NormState {
  base: number
  clusterId: string
  members: MemberRole[]
  leases: Map<string, string>
  explicitLeaseIds: Set<string>
}

const REVISIONS = new Set(['revision', 'create_revision', 'mod_revision', 'compact_revision'])
const NONZERO = new Set(['raft_term', 'raftIndex', 'raftTerm', 'raftAppliedIndex', 'dbSize', 'dbSizeInUse'])

type Json = unknown

const tag = (orig: unknown, s: string): string => (typeof orig === 'number' ? `${s}:num` : s)
const isIntLike = (v: unknown): v is string | number =>
  (typeof v === 'string' && /^-?\d+$/.test(v)) || typeof v === 'number'

function text(b: Buffer): string {
  const s = b.toString('utf8')
  return /^[\x20-\x7e]*$/.test(s) ? s : `b64:${b.toString('base64')}`
}

export function leaseSymbol(st: NormState, id: string): string {
  if (id === '0' || st.explicitLeaseIds.has(id)) return id
  let s = st.leases.get(id)
  if (s === undefined) {
    s = `L${st.leases.size + 1}`
    st.leases.set(id, s)
  }
  return s
}

function memberRole(st: NormState, id: string): string {
  if (id === '0') return '0'
  return st.members.find((m) => m.id === id)?.role ?? `<unknown member ${id}>`
}

function url(st: NormState, u: string): string {
  let out = u
  for (const m of st.members) out = out.split(`//${m.host}:`).join(`//${m.role}:`)
  return out
}

export function normalize(v: Json, st: NormState, key = '', parent?: Record<string, unknown>): Json {
  if (v === null || v === undefined) return v
  if (Buffer.isBuffer(v)) return text(v)
  if (Array.isArray(v)) {
    const arr = v.map((x) => normalize(x, st, key, parent))
    if (key === 'members') return members(v, arr)
    if (key === 'keys') return [...arr].sort()
    if (key === 'leases') return [...arr].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    return arr
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(o)) out[k] = normalize(x, st, k, o)
    return out
  }
  if (REVISIONS.has(key) && isIntLike(v)) {
    const n = Number(v)
    return n === 0 ? v : tag(v, `@${n - st.base}`)
  }
  if (NONZERO.has(key) && isIntLike(v)) return Number(v) === 0 ? v : tag(v, '<nonzero>')
  // Maintenance.Hash/HashKV: a checksum of the storage engine's own encoding (etcd: CRC-32C over bbolt's
  // revision keys and marshaled KeyValues), comparable between members of one implementation only.
  if (key === 'hash' && parent !== undefined && 'header' in parent && isIntLike(v)) {
    return Number(v) === 0 ? v : tag(v, '<nonzero>')
  }
  if ((key === 'member_id' || key === 'leader' || key === 'memberID') && isIntLike(v)) {
    return tag(v, memberRole(st, String(v)))
  }
  if (key === 'cluster_id' && isIntLike(v)) {
    return String(v) === st.clusterId ? tag(v, '<cluster>') : v
  }
  if (key === 'ID' && isIntLike(v)) {
    if (parent !== undefined && 'peerURLs' in parent) return tag(v, memberRole(st, String(v)))
    return tag(v, leaseSymbol(st, String(v)))
  }
  if (key === 'lease' && isIntLike(v)) return tag(v, leaseSymbol(st, String(v)))
  if (key === 'name' && parent !== undefined && 'peerURLs' in parent && typeof v === 'string') {
    return st.members.find((m) => m.name === v)?.role ?? v
  }
  if (key === 'version' && parent !== undefined && 'raftIndex' in parent && typeof v === 'string') {
    // Maintenance.Status: the brief of this suite asks for an etcd 3.4 server version, not the patch.
    return /^3\.4\.\d+/.test(v) ? '<3.4.x>' : v
  }
  if (typeof v === 'string' && v.startsWith('http://')) return url(st, v)
  return v
}

const ROLE_ORDER = ['<leader>', '<target-follower>', '<follower>']

/**
 * A member list: etcd orders it by member id, and ids differ between clusters, so what is compared is
 * whether it is in id order and the members in role order.
 */
function members(raw: unknown[], normalized: unknown[]): Json {
  const ids = raw.map((m) => BigInt(String((m as Record<string, unknown>)['ID'] ?? 0)))
  const byRole = [...normalized].sort((a, b) => {
    const ra = ROLE_ORDER.indexOf(String((a as Record<string, unknown>)['name']))
    const rb = ROLE_ORDER.indexOf(String((b as Record<string, unknown>)['name']))
    return ra - rb
  })
  return { sortedById: ids.every((id, i) => i === 0 || (ids[i - 1] ?? 0n) < id), byRole }
}

/**
 * Where both transcripts hold a `TTL` and they differ by at most 1 s, the candidate's is set to the
 * oracle's (remaining TTLs tick independently on two clusters). Anything else is left to differ.
 */
export function alignTtls(oracle: Json, candidate: Json): Json {
  if (Array.isArray(oracle) && Array.isArray(candidate)) {
    return candidate.map((c, i) => (i < oracle.length ? alignTtls(oracle[i], c) : c))
  }
  if (oracle !== null && candidate !== null && typeof oracle === 'object' && typeof candidate === 'object') {
    const o = oracle as Record<string, unknown>
    const out: Record<string, unknown> = {}
    for (const [k, c] of Object.entries(candidate as Record<string, unknown>)) {
      const e = o[k]
      if (k === 'TTL' && isIntLike(e) && isIntLike(c) && typeof e === typeof c) {
        const de = Number(e)
        const dc = Number(c)
        out[k] = de > 0 && dc > 0 && Math.abs(de - dc) <= 1 ? e : c
      } else {
        out[k] = k in o ? alignTtls(e, c) : c
      }
    }
    return out
  }
  return candidate
}
