/**
 * The flag table of hakube-store: etcd 3.4's names, defaults (as `etcd --help` prints them) and
 * meanings, plus the three readers that turn argv, `ETCD_*` environment variables and a YAML config
 * file into raw values keyed by flag name. Values are checked by schema.ts (checkStoreValues).
 *
 * Sources: etcd v3.4 etcdmain/config.go (flag set, `configFromCmdLine`, `configFromFile`),
 * etcdmain/help.go (texts), pkg/flags (ETCD_* variables), embed/config.go (YAML keys = flag names).
 */

export type FlagKind = 'string' | 'uint' | 'int' | 'bool' | 'urls' | 'cluster' | 'enum'

export interface FlagSpec {
  readonly name: string
  readonly kind: FlagKind
  /** The default exactly as etcd 3.4's help prints it. */
  readonly etcdDefault: string
  readonly help: string
  readonly group: 'Member' | 'Clustering' | 'Logging'
  /** Allowed values of an `enum` flag. */
  readonly values?: readonly string[]
}

/** The flags hakube-store implements, in etcd's help order. */
export const STORE_FLAGS: readonly FlagSpec[] = [
  {
    name: 'name',
    kind: 'string',
    etcdDefault: 'default',
    group: 'Member',
    help: 'Human-readable name for this member.',
  },
  {
    name: 'data-dir',
    kind: 'string',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: etcd's help prints this literal default.
    etcdDefault: '${name}.etcd',
    group: 'Member',
    help: 'Path to the data directory (relative paths are relative to the working directory).',
  },
  {
    name: 'snapshot-count',
    kind: 'uint',
    etcdDefault: '100000',
    group: 'Member',
    help: 'Number of committed transactions to trigger a snapshot to disk (0 means the default).',
  },
  {
    name: 'heartbeat-interval',
    kind: 'uint',
    etcdDefault: '100',
    group: 'Member',
    help: 'Time (in milliseconds) of a heartbeat interval.',
  },
  {
    name: 'election-timeout',
    kind: 'uint',
    etcdDefault: '1000',
    group: 'Member',
    help: 'Time (in milliseconds) for an election to timeout; at least 5 heartbeat intervals, at most 50000.',
  },
  {
    name: 'initial-election-tick-advance',
    kind: 'bool',
    etcdDefault: 'true',
    group: 'Member',
    help: 'Whether to fast-forward initial election ticks on boot for faster election.',
  },
  {
    name: 'listen-peer-urls',
    kind: 'urls',
    etcdDefault: 'http://localhost:2380',
    group: 'Member',
    help: 'List of URLs to listen on for peer traffic (host: an IP address or localhost).',
  },
  {
    name: 'listen-client-urls',
    kind: 'urls',
    etcdDefault: 'http://localhost:2379',
    group: 'Member',
    help: 'List of URLs to listen on for client traffic (host: an IP address or localhost).',
  },
  {
    name: 'quota-backend-bytes',
    kind: 'int',
    etcdDefault: '0',
    group: 'Member',
    help: 'Raise alarms when backend size exceeds the given quota (0 defaults to 2 GiB; negative disables).',
  },
  {
    name: 'max-txn-ops',
    kind: 'uint',
    etcdDefault: '128',
    group: 'Member',
    help: 'Maximum number of operations permitted in a transaction.',
  },
  {
    name: 'max-request-bytes',
    kind: 'uint',
    etcdDefault: '1572864',
    group: 'Member',
    help: 'Maximum client request size in bytes the server will accept.',
  },
  {
    name: 'initial-advertise-peer-urls',
    kind: 'urls',
    etcdDefault: 'http://localhost:2380',
    group: 'Clustering',
    help: "List of this member's peer URLs to advertise to the rest of the cluster.",
  },
  {
    name: 'initial-cluster',
    kind: 'cluster',
    etcdDefault: 'default=http://localhost:2380',
    group: 'Clustering',
    help: 'Initial cluster configuration for bootstrapping: name=url,... (a name repeated adds a URL).',
  },
  {
    name: 'initial-cluster-state',
    kind: 'enum',
    values: ['new', 'existing'],
    etcdDefault: 'new',
    group: 'Clustering',
    help: "Initial cluster state ('new' or 'existing').",
  },
  {
    name: 'initial-cluster-token',
    kind: 'string',
    etcdDefault: 'etcd-cluster',
    group: 'Clustering',
    help: 'Initial cluster token for the etcd cluster during bootstrap.',
  },
  {
    name: 'advertise-client-urls',
    kind: 'urls',
    etcdDefault: 'http://localhost:2379',
    group: 'Clustering',
    help: "List of this member's client URLs to advertise to the public (required when --listen-client-urls is set).",
  },
  {
    name: 'strict-reconfig-check',
    kind: 'bool',
    etcdDefault: 'true',
    group: 'Clustering',
    help: 'Reject reconfiguration requests that would cause quorum loss.',
  },
  {
    name: 'pre-vote',
    kind: 'bool',
    etcdDefault: 'false',
    group: 'Clustering',
    help: 'Enable to run an additional Raft election phase.',
  },
  {
    name: 'log-level',
    kind: 'enum',
    values: ['debug', 'info', 'warn', 'error', 'panic', 'fatal'],
    etcdDefault: 'info',
    group: 'Logging',
    help: 'Configures log level. Only supports debug, info, warn, error, panic, or fatal.',
  },
]

/** Flags handled before the schema (not in `STORE_FLAGS`, never read from ETCD_* except config-file). */
export const META_FLAGS = ['config-file', 'version', 'help', 'h'] as const

const SPECS = new Map(STORE_FLAGS.map((f) => [f.name, f]))

export function flagSpec(name: string): FlagSpec | undefined {
  return SPECS.get(name)
}

/**
 * etcd 3.4 flags and config-file keys hakube-store does not implement. On the command line or in
 * ETCD_* they are an error (the caller asked for a behaviour we do not have); in a config file, which
 * may be shared with a real etcd, they are ignored with a warning.
 */
export const UNSUPPORTED_ETCD_FLAGS: ReadonlySet<string> = new Set(
  (
    'wal-dir max-snapshots max-wals backend-batch-interval backend-batch-limit max-concurrent-streams ' +
    'grpc-keepalive-min-time grpc-keepalive-interval grpc-keepalive-timeout discovery discovery-fallback ' +
    'discovery-proxy discovery-srv discovery-srv-name auto-compaction-retention auto-compaction-mode ' +
    'enable-v2 cert-file key-file client-cert-auth client-crl-file client-cert-allowed-hostname ' +
    'trusted-ca-file auto-tls peer-cert-file peer-key-file peer-client-cert-auth peer-trusted-ca-file ' +
    'peer-cert-allowed-cn peer-cert-allowed-hostname peer-auto-tls peer-crl-file cipher-suites cors ' +
    'host-whitelist auth-token bcrypt-cost auth-token-ttl enable-pprof metrics listen-metrics-urls logger ' +
    'log-outputs proxy proxy-failure-wait proxy-refresh-interval proxy-dial-timeout proxy-write-timeout ' +
    'proxy-read-timeout experimental-initial-corrupt-check experimental-corrupt-check-time ' +
    'experimental-enable-v2v3 experimental-backend-bbolt-freelist-type experimental-enable-lease-checkpoint ' +
    'experimental-compaction-batch-limit experimental-peer-skip-client-san-verification ' +
    'experimental-watch-progress-notify-interval experimental-warning-apply-duration force-new-cluster ' +
    'debug log-package-levels ' +
    // YAML-only keys of embed.configYAML / etcdmain.configProxy:
    'client-transport-security peer-transport-security enable-grpc-gateway self-signed-cert-validity'
  ).split(' '),
)

/** A raw value before the schema: strings from argv/env, any YAML scalar from a config file. */
export type RawValue = string | number | boolean

export interface RawFlags {
  /** Flag name → value as given (last one wins, as in Go's flag package). */
  readonly values: Record<string, RawValue>
  /** Where each value came from, for error messages. */
  readonly origin: Record<string, string>
}

export type ReadResult<T> = { ok: true; value: T } | { ok: false; error: string }

export interface ArgvFlags extends RawFlags {
  readonly configFile?: string
  readonly version: boolean
  readonly help: boolean
}

/** Go's strconv.ParseBool, which Go's flag package uses for boolean flags. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false
  return undefined
}

function isBoolFlag(name: string): boolean {
  return name === 'version' || name === 'help' || name === 'h' || flagSpec(name)?.kind === 'bool'
}

/**
 * Go's flag package syntax, as etcd uses it: `-flag` or `--flag`; `--flag=value` or `--flag value`
 * (the next argument is taken even if it starts with a dash); boolean flags take no separate argument
 * (`--pre-vote`, `--pre-vote=false`); `--` ends the flags; the last occurrence wins. Parsing stops at the
 * first non-flag argument, which etcd then rejects ("'x' is not a valid flag").
 */
export function readArgv(argv: readonly string[]): ReadResult<ArgvFlags> {
  const values: Record<string, RawValue> = {}
  const origin: Record<string, string> = {}
  let configFile: string | undefined
  let version = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      const rest = argv[i + 1]
      if (rest !== undefined) return { ok: false, error: `'${rest}' is not a valid flag` }
      break
    }
    if (arg.length < 2 || !arg.startsWith('-')) return { ok: false, error: `'${arg}' is not a valid flag` }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1)
    if (body.length === 0 || body.startsWith('-') || body.startsWith('=')) {
      return { ok: false, error: `bad flag syntax: ${arg}` }
    }
    const eq = body.indexOf('=')
    const name = eq < 0 ? body : body.slice(0, eq)
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1)
    const known = name === 'config-file' || isBoolFlag(name) || flagSpec(name) !== undefined
    if (!known) {
      if (UNSUPPORTED_ETCD_FLAGS.has(name)) {
        return { ok: false, error: `flag --${name} is an etcd 3.4 flag that hakube-store does not support` }
      }
      return { ok: false, error: `flag provided but not defined: --${name}` }
    }
    if (isBoolFlag(name)) {
      let b = true
      if (value !== undefined) {
        const parsed = parseGoBool(value)
        if (parsed === undefined) {
          return {
            ok: false,
            error: `invalid boolean value "${value}" for --${name}: expected true or false`,
          }
        }
        b = parsed
      }
      // Go's flag package stops at -h/-help whatever follows (flag.ErrHelp).
      if (name === 'help' || name === 'h') return { ok: true, value: { values, origin, version, help: true } }
      if (name === 'version') version = b
      else {
        values[name] = b
        origin[name] = 'flag'
      }
      continue
    }
    if (value === undefined) {
      const next = argv[i + 1]
      if (next === undefined) return { ok: false, error: `flag needs an argument: --${name}` }
      value = next
      i++
    }
    if (name === 'config-file') configFile = value
    else {
      values[name] = value
      origin[name] = 'flag'
    }
  }
  return { ok: true, value: { values, origin, version, help: false, ...(configFile ? { configFile } : {}) } }
}

/** etcd's pkg/flags.FlagToEnv: `ETCD_` + upper case, dashes to underscores. */
export function flagToEnv(name: string): string {
  return `ETCD_${name.toUpperCase().replaceAll('-', '_')}`
}

/**
 * etcd's pkg/flags.SetFlagsFromEnv: for every flag not set on the command line, a non-empty
 * `ETCD_<FLAG>` sets it (the command line wins). Unrecognized ETCD_* variables and variables
 * shadowed by a flag only produce warnings, as in etcd; a variable of an etcd flag hakube-store does
 * not implement is an error (returned), as that flag is on the command line.
 */
export function applyEnv(
  flags: RawFlags,
  env: Readonly<Record<string, string | undefined>>,
  warnings: string[],
): string | undefined {
  for (const name of UNSUPPORTED_ETCD_FLAGS) {
    const key = flagToEnv(name)
    if (env[key]) return `${key} sets --${name}, an etcd 3.4 flag that hakube-store does not support`
  }
  const used = new Set<string>(['ETCD_CONFIG_FILE'])
  for (const spec of STORE_FLAGS) {
    const key = flagToEnv(spec.name)
    used.add(key)
    const v = env[key]
    if (v === undefined || v === '') continue
    if (flags.values[spec.name] !== undefined) {
      warnings.push(`conflicting environment variable ${key} is shadowed by corresponding command-line flag`)
      continue
    }
    flags.values[spec.name] = v
    flags.origin[spec.name] = `env ${key}`
  }
  for (const key of Object.keys(env)) {
    if (key.startsWith('ETCD_') && !used.has(key) && env[key] !== undefined) {
      warnings.push(`unrecognized environment variable ${key}`)
    }
  }
  return undefined
}

/**
 * A config file's top-level mapping (etcd's YAML keys are the flag names). etcd decodes YAML to
 * JSON and then into its struct, so a key without a value (null) leaves the default. Keys of
 * unimplemented etcd features are ignored with a warning; other keys are rejected (etcd silently
 * ignores them, which hides typos).
 */
export function readConfigObject(doc: unknown, file: string, warnings: string[]): ReadResult<RawFlags> {
  const values: Record<string, RawValue> = {}
  const origin: Record<string, string> = {}
  if (doc === null || doc === undefined) return { ok: true, value: { values, origin } }
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, error: `--config-file ${file}: expected a YAML mapping of etcd configuration keys` }
  }
  for (const [key, v] of Object.entries(doc as Record<string, unknown>)) {
    if (v === null || v === undefined) continue
    if (flagSpec(key) === undefined) {
      if (UNSUPPORTED_ETCD_FLAGS.has(key)) {
        warnings.push(
          `config file ${file}: key ${key} (an etcd 3.4 setting hakube-store does not support) ignored`,
        )
        continue
      }
      return { ok: false, error: `--config-file ${file}: unknown key "${key}"` }
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      return {
        ok: false,
        error: `--config-file ${file}: key ${key} must be a scalar (URL lists are comma-separated)`,
      }
    }
    values[key] = v
    origin[key] = `config file ${file}`
  }
  return { ok: true, value: { values, origin } }
}

/** `--help` text: every flag with etcd's default and meaning, grouped like `etcd --help`. */
export function storeHelpText(): string {
  const lines = [
    'Usage:',
    '',
    '  hakube-store [flags]',
    '    Start a hakube-store member (an etcd 3.4-compatible key-value store).',
    '',
    '  hakube-store --version',
    '    Show the version of hakube-store.',
    '',
    '  hakube-store -h | --help',
    '    Show the help information about hakube-store.',
    '',
    '  hakube-store --config-file',
    '    Path to the server configuration file (YAML; keys are the flag names without dashes).',
    '    Note that if a configuration file is provided, other command line flags and environment',
    '    variables will be ignored. ETCD_CONFIG_FILE is used when --config-file is not given.',
    '',
    'Every flag can also be set by an environment variable ETCD_<FLAG> (upper case, dashes as',
    'underscores, e.g. ETCD_INITIAL_CLUSTER); a command-line flag wins over its variable.',
  ]
  for (const group of ['Member', 'Clustering', 'Logging'] as const) {
    lines.push('', `${group}:`)
    for (const f of STORE_FLAGS) {
      if (f.group !== group) continue
      lines.push(`  --${f.name} '${f.etcdDefault}'`, `    ${f.help}`)
    }
  }
  return `${lines.join('\n')}\n`
}
