/**
 * hakube-store's flag values checked: per-flag parsing (etcd's Go flag types), etcd's defaults and
 * defaulting rules, the cross-field rules of etcd 3.4's `embed.Config.Validate` and
 * `etcdserver.ServerConfig.VerifyBootstrap` (etcd's messages, which name the flags), and the derived
 * values the server needs. Plain functions rather than a zod schema: this runs on every start, before
 * the server loads, and zod alone took longer to load than the rest of the flag path.
 */
import { type FlagSpec, parseGoBool, type RawValue, STORE_FLAGS } from './flags.js'
import {
  clusterString,
  isBindableHost,
  type Parsed,
  type ParsedUrl,
  parseInitialCluster,
  parseUrlList,
} from './urls.js'

/** etcd's DefaultSnapshotCount (3.4); `--snapshot-count 0` means this. */
export const DEFAULT_SNAPSHOT_COUNT = 100_000
/** etcd's DefaultQuotaBytes (2 GiB); `--quota-backend-bytes 0` means this. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024
/** etcd's maxElectionMs. */
export const MAX_ELECTION_MS = 50_000
const DEFAULT_NAME = 'default'
const DEFAULT_INITIAL_CLUSTER = 'default=http://localhost:2380'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal'

export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/** hakube-store's configuration after parsing, defaulting, validation and derivation. Deep-frozen. */
export interface StoreConfig {
  /** --name: this member's key in `initialCluster`. */
  readonly name: string
  /** --data-dir: default `${name}.etcd`, relative to the working directory as given. */
  readonly dataDir: string
  /** --listen-client-urls, sorted. Hosts are IP addresses or `localhost`. */
  readonly listenClientUrls: readonly string[]
  readonly listenClientAddresses: readonly ListenAddress[]
  /** --advertise-client-urls, sorted: this member's client URLs as published to the cluster. */
  readonly advertiseClientUrls: readonly string[]
  /** --listen-peer-urls, sorted. */
  readonly listenPeerUrls: readonly string[]
  readonly listenPeerAddresses: readonly ListenAddress[]
  /** --initial-advertise-peer-urls, sorted: this member's peer URLs. */
  readonly initialAdvertisePeerUrls: readonly string[]
  /** This member's peer URLs (= initialAdvertisePeerUrls). */
  readonly peerUrls: readonly string[]
  /** This member's client URLs (= advertiseClientUrls). */
  readonly clientUrls: readonly string[]
  /** --initial-cluster: member name → sorted peer URLs, names in sorted order. Contains `name`. */
  readonly initialCluster: Readonly<Record<string, readonly string[]>>
  readonly initialClusterState: 'new' | 'existing'
  readonly initialClusterToken: string
  /** --heartbeat-interval in ms (> 0). */
  readonly heartbeatIntervalMs: number
  /** --election-timeout in ms: ≥ 5 × heartbeatIntervalMs and ≤ 50000. */
  readonly electionTimeoutMs: number
  /** Raft election ticks: floor(electionTimeoutMs / heartbeatIntervalMs), as etcd (≥ 5). */
  readonly electionTicks: number
  /**
   * Minimum lease TTL in seconds: ceil(floor(3 × electionTicks / 2) × heartbeat), etcd's lessor
   * minTTL (≈ 1.5 election timeouts), so a lease survives a leader election.
   */
  readonly minLeaseTtlSeconds: number
  /** --snapshot-count with 0 resolved to 100000. */
  readonly snapshotCount: number
  /** --quota-backend-bytes as given (0 = default, negative = no quota). */
  readonly quotaBackendBytes: number
  /** The effective backend quota in bytes; null when disabled (negative --quota-backend-bytes). */
  readonly backendQuotaBytes: number | null
  readonly maxRequestBytes: number
  readonly maxTxnOps: number
  readonly logLevel: LogLevel
  readonly preVote: boolean
  readonly initialElectionTickAdvance: boolean
  readonly strictReconfigCheck: boolean
  /** The config file the values came from, or null when from flags and environment. */
  readonly configFile: string | null
  /** Non-fatal notes (ignored keys, shadowed or unrecognized ETCD_* variables) for the log. */
  readonly warnings: readonly string[]
}

function show(v: RawValue): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}

/** A flag's parser: its value, or an error naming the flag. */
type FieldParser = (v: RawValue) => Parsed<unknown>

/** One flag: a value is parsed, or reported in one line naming the flag. */
function field(name: string, parse: (v: RawValue) => Parsed<unknown>): FieldParser {
  return (v) => {
    const r = parse(v)
    return r.ok ? r : { ok: false, error: `invalid value ${show(v)} for --${name}: ${r.error}` }
  }
}

function asString(v: RawValue): Parsed<string> {
  return typeof v === 'string' ? { ok: true, value: v } : { ok: false, error: 'expected a string' }
}

/** Go's uint flags (decimal here); YAML numbers must be integers. */
function asInteger(v: RawValue, signed: boolean): Parsed<number> {
  const what = signed ? 'an integer' : 'a non-negative integer'
  let n: number
  if (typeof v === 'number') n = v
  else if (typeof v === 'string' && (signed ? /^[-+]?\d+$/ : /^\+?\d+$/).test(v.trim())) n = Number(v.trim())
  else return { ok: false, error: `expected ${what}` }
  if (!Number.isSafeInteger(n) || (!signed && n < 0)) return { ok: false, error: `expected ${what}` }
  return { ok: true, value: n }
}

function specParser(spec: FlagSpec): (v: RawValue) => Parsed<unknown> {
  switch (spec.kind) {
    case 'string':
      return asString
    case 'uint':
      return (v) => asInteger(v, false)
    case 'int':
      return (v) => asInteger(v, true)
    case 'bool':
      return (v) => {
        const b = typeof v === 'boolean' ? v : typeof v === 'string' ? parseGoBool(v) : undefined
        return b === undefined ? { ok: false, error: 'expected true or false' } : { ok: true, value: b }
      }
    case 'urls':
      return (v) => (typeof v === 'string' ? parseUrlList(v) : { ok: false, error: 'expected a URL list' })
    case 'cluster':
      return (v) =>
        typeof v === 'string' ? parseInitialCluster(v) : { ok: false, error: 'expected name=url,...' }
    case 'enum': {
      const values = spec.values ?? []
      return (v) =>
        typeof v === 'string' && values.includes(v)
          ? { ok: true, value: v }
          : { ok: false, error: `expected one of ${values.join(', ')}` }
    }
  }
}

function spec(name: string): FlagSpec {
  const s = STORE_FLAGS.find((f) => f.name === name)
  if (!s) throw new Error(`no flag ${name}`)
  return s
}
const defaultUrls = (s: string): readonly ParsedUrl[] => {
  const r = parseUrlList(s)
  if (!r.ok) throw new Error(r.error)
  return r.value
}

/** The flags the configuration reads, in the order they are checked (the first bad one is reported). */
const FIELD_NAMES = [
  'name',
  'data-dir',
  'snapshot-count',
  'heartbeat-interval',
  'election-timeout',
  'initial-election-tick-advance',
  'listen-peer-urls',
  'listen-client-urls',
  'quota-backend-bytes',
  'max-txn-ops',
  'max-request-bytes',
  'initial-advertise-peer-urls',
  'initial-cluster',
  'initial-cluster-state',
  'initial-cluster-token',
  'advertise-client-urls',
  'strict-reconfig-check',
  'pre-vote',
  'log-level',
] as const
const FIELD_PARSERS: ReadonlyMap<string, FieldParser> = new Map(
  FIELD_NAMES.map((name) => [name, field(name, specParser(spec(name)))]),
)

/** Each flag's parsed value (absent = not given), and the config file when values came from one. */
interface Fields {
  'config-file'?: string
  name?: string
  'data-dir'?: string
  'snapshot-count'?: number
  'heartbeat-interval'?: number
  'election-timeout'?: number
  'initial-election-tick-advance'?: boolean
  'listen-peer-urls'?: readonly ParsedUrl[]
  'listen-client-urls'?: readonly ParsedUrl[]
  'quota-backend-bytes'?: number
  'max-txn-ops'?: number
  'max-request-bytes'?: number
  'initial-advertise-peer-urls'?: readonly ParsedUrl[]
  'initial-cluster'?: Record<string, string[]>
  'initial-cluster-state'?: 'new' | 'existing'
  'initial-cluster-token'?: string
  'advertise-client-urls'?: readonly ParsedUrl[]
  'strict-reconfig-check'?: boolean
  'pre-vote'?: boolean
  'log-level'?: LogLevel
}

/** A value that did not check: the flag it is about and etcd's one-line message. */
export interface FlagViolation {
  readonly ok: false
  readonly flag: string
  readonly message: string
}

/** Parses every given flag (keys other than the flags read are ignored); the first bad one fails. */
function parseFields(
  input: Readonly<Record<string, RawValue | undefined>>,
): { ok: true; value: Fields } | FlagViolation {
  const out: Record<string, unknown> = {}
  const file = input['config-file']
  if (file !== undefined) {
    if (typeof file !== 'string') return { ok: false, flag: 'config-file', message: 'expected a string' }
    out['config-file'] = file
  }
  for (const [name, parse] of FIELD_PARSERS) {
    const v = input[name]
    if (v === undefined) continue
    const r = parse(v)
    if (!r.ok) return { ok: false, flag: name, message: r.error }
    out[name] = r.value
  }
  return { ok: true, value: out as Fields }
}

/** Values after etcd's defaults; `listenClientUrlsSet` drives etcd's advertise-client-urls rule. */
interface Defaulted {
  name: string
  dataDir: string
  snapshotCount: number
  heartbeatMs: number
  electionMs: number
  tickAdvance: boolean
  lpurls: readonly ParsedUrl[]
  lcurls: readonly ParsedUrl[]
  apurls: readonly ParsedUrl[]
  /** Undefined when etcd would clear the default (listen-client-urls given explicitly on the command line). */
  acurls: readonly ParsedUrl[] | undefined
  quota: number
  maxTxnOps: number
  maxRequestBytes: number
  cluster: Record<string, string[]>
  state: 'new' | 'existing'
  token: string
  strictReconfigCheck: boolean
  preVote: boolean
  logLevel: LogLevel
  configFile: string | null
}

function applyDefaults(v: Fields): Defaulted {
  const name = v.name ?? DEFAULT_NAME
  const apurls = v['initial-advertise-peer-urls'] ?? defaultUrls('http://localhost:2380')
  // etcd's UpdateDefaultClusterFromName: `etcd --name abc` alone bootstraps `abc=<advertise peer urls>`.
  let cluster = v['initial-cluster']
  const clusterIsDefault = cluster === undefined || clusterString(cluster) === DEFAULT_INITIAL_CLUSTER
  if (name !== DEFAULT_NAME && clusterIsDefault) cluster = { [name]: apurls.map((u) => u.href) }
  cluster ??= { default: ['http://localhost:2380'] }
  const fromFile = v['config-file'] !== undefined
  // etcdmain.configFromCmdLine: "disable default advertise-client-urls if lcurls is set".
  const acDefault =
    !fromFile && v['listen-client-urls'] !== undefined ? undefined : defaultUrls('http://localhost:2379')
  return {
    name,
    dataDir: v['data-dir'] || `${name}.etcd`,
    snapshotCount: v['snapshot-count'] || DEFAULT_SNAPSHOT_COUNT,
    heartbeatMs: v['heartbeat-interval'] ?? 100,
    electionMs: v['election-timeout'] ?? 1000,
    tickAdvance: v['initial-election-tick-advance'] ?? true,
    lpurls: v['listen-peer-urls'] ?? defaultUrls('http://localhost:2380'),
    lcurls: v['listen-client-urls'] ?? defaultUrls('http://localhost:2379'),
    apurls,
    acurls: v['advertise-client-urls'] ?? acDefault,
    quota: v['quota-backend-bytes'] ?? 0,
    maxTxnOps: v['max-txn-ops'] ?? 128,
    maxRequestBytes: v['max-request-bytes'] ?? 1_572_864,
    cluster,
    state: v['initial-cluster-state'] ?? 'new',
    token: v['initial-cluster-token'] ?? 'etcd-cluster',
    strictReconfigCheck: v['strict-reconfig-check'] ?? true,
    preVote: v['pre-vote'] ?? false,
    logLevel: v['log-level'] ?? 'info',
    configFile: v['config-file'] ?? null,
  }
}

const hrefs = (us: readonly ParsedUrl[]) => us.map((u) => u.href)

/** etcd 3.4's checks, in etcd's order, with etcd's messages (which name the flags): [flag, message]. */
function firstViolation(c: Defaulted): readonly [flag: string, message: string] | undefined {
  const fail = (flag: string, message: string) => [flag, message] as const
  for (const [flag, list] of [
    ['listen-peer-urls', c.lpurls],
    ['listen-client-urls', c.lcurls],
  ] as const) {
    const bad = list.find((u) => !isBindableHost(u.host))
    if (bad) return fail(flag, `--${flag}: expected IP in URL for binding (${bad.href})`)
  }
  for (const [flag, list] of [
    ['initial-advertise-peer-urls', c.apurls],
    ['advertise-client-urls', c.acurls ?? []],
  ] as const) {
    const bad = list.find((u) => u.host === '')
    if (bad) {
      return fail(
        flag,
        `--${flag} "${hrefs(list)}" must be "host:port" (unexpected empty host (${bad.href}))`,
      )
    }
    const zero = list.find((u) => u.port === 0)
    if (zero) return fail(flag, `--${flag}: an advertised URL needs a non-zero port (${zero.href})`)
  }
  if (c.heartbeatMs <= 0) {
    return fail('heartbeat-interval', `--heartbeat-interval must be >0 (set to ${c.heartbeatMs}ms)`)
  }
  if (c.electionMs <= 0)
    return fail('election-timeout', `--election-timeout must be >0 (set to ${c.electionMs}ms)`)
  if (5 * c.heartbeatMs > c.electionMs) {
    return fail(
      'election-timeout',
      `--election-timeout[${c.electionMs}ms] should be at least as 5 times as --heartbeat-interval[${c.heartbeatMs}ms]`,
    )
  }
  if (c.electionMs > MAX_ELECTION_MS) {
    return fail(
      'election-timeout',
      `--election-timeout[${c.electionMs}ms] is too long, and should be set less than ${MAX_ELECTION_MS}ms`,
    )
  }
  if (c.acurls === undefined) {
    return fail(
      'listen-client-urls',
      '--advertise-client-urls is required when --listen-client-urls is set explicitly',
    )
  }
  // etcdserver.ServerConfig: checkDuplicateURL, hasLocalMember, advertiseMatchesCluster (bootstrap).
  const seen = new Set<string>()
  for (const u of Object.values(c.cluster).flat()) {
    if (seen.has(u))
      return fail('initial-cluster', `--initial-cluster ${clusterString(c.cluster)} has duplicate url ${u}`)
    seen.add(u)
  }
  const own = Object.hasOwn(c.cluster, c.name) ? c.cluster[c.name] : undefined
  if (own === undefined) {
    return fail(
      'initial-cluster',
      `couldn't find local name "${c.name}" in the initial cluster configuration (--name, --initial-cluster)`,
    )
  }
  if (c.state === 'new') {
    const ap = hrefs(c.apurls)
    const missing = own.filter((u) => !ap.includes(u))
    if (missing.length > 0) {
      return fail(
        'initial-advertise-peer-urls',
        `--initial-cluster has ${missing.map((u) => `${c.name}=${u}`).join(',')} but missing from --initial-advertise-peer-urls=${ap.join(',')}`,
      )
    }
    const extra = ap.filter((u) => !own.includes(u))
    if (extra.length > 0) {
      return fail(
        'initial-advertise-peer-urls',
        `--initial-advertise-peer-urls has ${extra.join(',')} but missing from --initial-cluster=${clusterString({ [c.name]: ap })}`,
      )
    }
  }
  return undefined
}

function derive(c: Defaulted): StoreConfig {
  const electionTicks = Math.floor(c.electionMs / c.heartbeatMs)
  const acurls = hrefs(c.acurls ?? [])
  const apurls = hrefs(c.apurls)
  const addr = (us: readonly ParsedUrl[]) => us.map((u) => ({ host: u.host, port: u.port }))
  return {
    name: c.name,
    dataDir: c.dataDir,
    listenClientUrls: hrefs(c.lcurls),
    listenClientAddresses: addr(c.lcurls),
    advertiseClientUrls: acurls,
    listenPeerUrls: hrefs(c.lpurls),
    listenPeerAddresses: addr(c.lpurls),
    initialAdvertisePeerUrls: apurls,
    peerUrls: apurls,
    clientUrls: acurls,
    initialCluster: c.cluster,
    initialClusterState: c.state,
    initialClusterToken: c.token,
    heartbeatIntervalMs: c.heartbeatMs,
    electionTimeoutMs: c.electionMs,
    electionTicks,
    // etcd lease/lessor.go: minTTL := time.Duration((3*cfg.ElectionTicks)/2) * heartbeat, rounded up to seconds.
    minLeaseTtlSeconds: Math.ceil((Math.floor((3 * electionTicks) / 2) * c.heartbeatMs) / 1000),
    snapshotCount: c.snapshotCount,
    quotaBackendBytes: c.quota,
    backendQuotaBytes: c.quota < 0 ? null : c.quota === 0 ? DEFAULT_QUOTA_BYTES : c.quota,
    maxRequestBytes: c.maxRequestBytes,
    maxTxnOps: c.maxTxnOps,
    logLevel: c.logLevel,
    preVote: c.preVote,
    initialElectionTickAdvance: c.tickAdvance,
    strictReconfigCheck: c.strictReconfigCheck,
    configFile: c.configFile,
    warnings: [],
  }
}

/**
 * Raw values keyed by etcd flag name (from argv + ETCD_* or from a config file, never mixed, plus
 * `config-file` when from a file) → a validated, derived {@link StoreConfig}, or the first violation
 * (the flag it is about and etcd's message).
 */
export function checkStoreValues(
  input: Readonly<Record<string, RawValue | undefined>>,
): { ok: true; config: StoreConfig } | FlagViolation {
  const fields = parseFields(input)
  if (!fields.ok) return fields
  const defaulted = applyDefaults(fields.value)
  const v = firstViolation(defaulted)
  if (v) return { ok: false, flag: v[0], message: v[1] }
  return { ok: true, config: derive(defaulted) }
}

/** Per-flag checks alone (etcd validates command-line values even when --config-file wins). */
export function checkFlagValues(values: Record<string, RawValue>): string | undefined {
  const r = parseFields(values)
  return r.ok ? undefined : r.message
}
