/**
 * `hakube-store snapshot <restore|status> ...`: etcdctl 3.4's `snapshot restore` and `snapshot status`
 * for the files `etcdctl snapshot save` writes from a hakube-store member (etcdctl itself cannot read
 * them: it expects bbolt). Flags, defaults and messages are etcdctl's (cobra/pflag syntax: `--flag=v`
 * or `--flag v`, flags and the file name in any order). Exit codes: 0 done, 1 the restore or status
 * failed (message on stderr), 2 bad command line (one line on stderr, as the rest of the CLI).
 */
import { readFile } from 'node:fs/promises'
import { clusterString, parseInitialCluster, parseUrlList } from '../config/urls.js'
import { restoreSnapshot } from './restore.js'
import { readSnapshotBytes, SHA256_BYTES, SnapshotFileError } from './snapshot-file.js'

export interface CommandIo {
  readonly stdout: { write(s: string): unknown }
  readonly stderr: { write(s: string): unknown }
  /** Wall clock in seconds for log lines. Default Date.now() / 1000. */
  readonly now?: () => number
}

const SNAPSHOT_HELP = `NAME:
	snapshot - Manages hakube-store node snapshots

USAGE:
	hakube-store snapshot <subcommand> [flags]

COMMANDS:
	restore	Restores a hakube-store member snapshot to a hakube-store data directory
	status	Gets backend snapshot status of a given file

Snapshots are saved from a running member with the real etcdctl:
	ETCDCTL_API=3 etcdctl --endpoints=http://HOST:2379 snapshot save FILE
`

const RESTORE_HELP = `NAME:
	snapshot restore - Restores a hakube-store member snapshot to a hakube-store data directory

USAGE:
	hakube-store snapshot restore <filename> [options] [flags]

OPTIONS:
      --data-dir=""						Path to the data directory (default "<name>.etcd")
  -h, --help[=false]						help for restore
      --initial-advertise-peer-urls="http://localhost:2380"	List of this member's peer URLs to advertise to the rest of the cluster
      --initial-cluster="default=http://localhost:2380"		Initial cluster configuration for restore bootstrap
      --initial-cluster-token="etcd-cluster"			Initial cluster token for the etcd cluster during restore bootstrap
      --name="default"						Human-readable name for this member
      --skip-hash-check[=false]					Ignore snapshot integrity hash value (required if copied from data directory)

Start each restored member with the same --name, --initial-cluster, --initial-cluster-token and
--initial-advertise-peer-urls (and --initial-cluster-state new, the default).
`

const STATUS_HELP = `NAME:
	snapshot status - Gets backend snapshot status of a given file

USAGE:
	hakube-store snapshot status <filename> [flags]

DESCRIPTION:
	When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
	The items in the lists are hash, revision, total keys, total size.

OPTIONS:
  -h, --help[=false]	help for status
  -w, --write-out="simple"	set the output format (json, simple, table)
`

class UsageError extends Error {}

interface FlagDef {
  readonly bool?: boolean
  readonly short?: string
}

interface ParsedArgs {
  readonly values: Map<string, string | boolean>
  readonly args: string[]
  readonly help: boolean
}

function parseBool(name: string, v: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false
  throw new UsageError(
    `invalid argument "${v}" for "--${name}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`,
  )
}

/** pflag's syntax for the flags in `defs` (plus -h/--help); everything else is a positional argument. */
function parseArgs(argv: readonly string[], defs: Readonly<Record<string, FlagDef>>): ParsedArgs {
  const values = new Map<string, string | boolean>()
  const args: string[] = []
  let help = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      args.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith('-') || arg === '-') {
      args.push(arg)
      continue
    }
    let name: string
    let value: string | undefined
    if (arg.startsWith('--')) {
      const body = arg.slice(2)
      const eq = body.indexOf('=')
      name = eq < 0 ? body : body.slice(0, eq)
      value = eq < 0 ? undefined : body.slice(eq + 1)
      if (name === '' || name.startsWith('-') || name.startsWith('='))
        throw new UsageError(`bad flag syntax: ${arg}`)
      if (name !== 'help' && defs[name] === undefined) {
        if (name === 'wal-dir')
          throw new UsageError('flag --wal-dir is an etcd 3.4 flag that hakube-store does not support')
        throw new UsageError(`unknown flag: --${name}`)
      }
    } else {
      const short = arg[1] as string
      const found = Object.entries(defs).find(([, d]) => d.short === short)
      if (short !== 'h' && found === undefined)
        throw new UsageError(`unknown shorthand flag: '${short}' in ${arg}`)
      name = short === 'h' ? 'help' : (found?.[0] as string)
      const rest = arg.slice(2)
      value = rest === '' ? undefined : rest.startsWith('=') ? rest.slice(1) : rest
    }
    if (name === 'help') {
      if (value === undefined || parseBool(name, value)) help = true
      continue
    }
    if (defs[name]?.bool === true) {
      values.set(name, value === undefined ? true : parseBool(name, value))
      continue
    }
    if (value === undefined) {
      const next = argv[i + 1]
      if (next === undefined) throw new UsageError(`flag needs an argument: --${name}`)
      value = next
      i++
    }
    values.set(name, value)
  }
  return { values, args, help }
}

const RESTORE_FLAGS: Record<string, FlagDef> = {
  'data-dir': {},
  name: {},
  'initial-cluster': {},
  'initial-cluster-token': {},
  'initial-advertise-peer-urls': {},
  'skip-hash-check': { bool: true },
}

export interface RestoreCommand {
  readonly snapshotPath: string
  readonly name: string
  readonly dataDir: string
  readonly initialCluster: Record<string, string[]>
  readonly initialClusterToken: string
  readonly skipHashCheck: boolean
}

/**
 * `snapshot restore`'s command line (after `restore`), with etcdserver.ServerConfig.VerifyBootstrap's
 * checks and messages. Returns 'help' for -h/--help; throws UsageError on bad input.
 */
function parseRestoreArgs(argv: readonly string[]): RestoreCommand | 'help' {
  const p = parseArgs(argv, RESTORE_FLAGS)
  if (p.help) return 'help'
  if (p.args.length !== 1) throw new UsageError('snapshot restore requires exactly one argument')
  const str = (k: string, d: string): string => {
    const v = p.values.get(k)
    return typeof v === 'string' ? v : d
  }
  const name = str('name', 'default')
  const ic = parseInitialCluster(str('initial-cluster', 'default=http://localhost:2380'))
  if (!ic.ok) throw new UsageError(`--initial-cluster: ${ic.error}`)
  const ap = parseUrlList(str('initial-advertise-peer-urls', 'http://localhost:2380'))
  if (!ap.ok) throw new UsageError(`--initial-advertise-peer-urls: ${ap.error}`)
  const cluster = ic.value
  const own = Object.hasOwn(cluster, name) ? cluster[name] : undefined
  if (own === undefined)
    throw new UsageError(`couldn't find local name "${name}" in the initial cluster configuration`)
  const apurls = ap.value.map((u) => u.href)
  const missing = own.filter((u) => !apurls.includes(u))
  if (missing.length > 0) {
    throw new UsageError(
      `--initial-cluster has ${missing.map((u) => `${name}=${u}`).join(',')} but missing from --initial-advertise-peer-urls=${apurls.join(',')}`,
    )
  }
  const extra = apurls.filter((u) => !own.includes(u))
  if (extra.length > 0) {
    throw new UsageError(
      `--initial-advertise-peer-urls has ${extra.join(',')} but missing from --initial-cluster=${clusterString({ [name]: apurls })}`,
    )
  }
  const seen = new Set<string>()
  for (const u of Object.values(cluster).flat()) {
    if (seen.has(u)) throw new UsageError(`initial cluster ${clusterString(cluster)} has duplicate url`)
    seen.add(u)
  }
  return {
    snapshotPath: p.args[0] as string,
    name,
    dataDir: str('data-dir', '') || `${name}.etcd`,
    initialCluster: cluster,
    initialClusterToken: str('initial-cluster-token', 'etcd-cluster'),
    skipHashCheck: p.values.get('skip-hash-check') === true,
  }
}

function logLine(io: CommandIo, msg: string, fields: Record<string, unknown>): void {
  const ts = io.now?.() ?? Date.now() / 1000
  io.stderr.write(`${JSON.stringify({ level: 'info', ts, msg, ...fields })}\n`)
}

async function runRestore(argv: readonly string[], io: CommandIo): Promise<number> {
  const cmd = parseRestoreArgs(argv)
  if (cmd === 'help') {
    io.stdout.write(RESTORE_HELP)
    return 0
  }
  const dirs = {
    path: cmd.snapshotPath,
    'wal-dir': `${cmd.dataDir}/member/wal`,
    'data-dir': cmd.dataDir,
    'snap-dir': `${cmd.dataDir}/member/snap`,
  }
  logLine(io, 'restoring snapshot', dirs)
  const r = await restoreSnapshot(cmd)
  for (const m of r.members) {
    logLine(io, 'added member', {
      'cluster-id': r.clusterId.toString(16),
      'local-member-id': '0',
      'added-peer-id': m.id.toString(16),
      'added-peer-peer-urls': m.peerUrls,
    })
  }
  logLine(io, 'restored snapshot', {
    ...dirs,
    'member-id': r.memberId.toString(16),
    revision: r.revision,
    ...(r.compactRevision > 0 ? { 'compact-revision': r.compactRevision } : {}),
    leases: r.leases,
  })
  return 0
}

/** go-humanize's Bytes (SI units), as etcdctl prints TOTAL SIZE. */
export function humanizeBytes(s: number): string {
  if (s < 10) return `${s} B`
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB']
  const e = Math.floor(Math.log(s) / Math.log(1000))
  // val = tenths / 10; Go prints it with %.1f below 10, else %.0f (which rounds half to even).
  const tenths = Math.floor((s / 1000 ** e) * 10 + 0.5)
  const [whole, frac] = [Math.floor(tenths / 10), tenths % 10]
  if (tenths < 100) return `${whole}.${frac} ${sizes[e]}`
  const rounded = frac > 5 || (frac === 5 && whole % 2 === 1) ? whole + 1 : whole
  return `${rounded} ${sizes[e]}`
}

/** olekukonko/tablewriter as etcdctl 3.4 uses it: upper-case centred header, cells right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const hdr = header.map((h) => h.toUpperCase())
  const widths = hdr.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+\n`
  const centre = (s: string, w: number): string => {
    const gap = w - s.length
    const left = Math.floor(gap / 2)
    return ' '.repeat(left) + s + ' '.repeat(gap - left)
  }
  const out = [line, `|${hdr.map((h, i) => ` ${centre(h, widths[i] ?? 0)} `).join('|')}|\n`, line]
  for (const r of rows) out.push(`|${r.map((c, i) => ` ${c.padStart(widths[i] ?? 0)} `).join('|')}|\n`)
  out.push(line)
  return out.join('')
}

async function runStatus(argv: readonly string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, { 'write-out': { short: 'w' } })
  if (p.help) {
    io.stdout.write(STATUS_HELP)
    return 0
  }
  if (p.args.length !== 1) throw new UsageError('snapshot status requires exactly one argument')
  const format = (p.values.get('write-out') as string | undefined) ?? 'simple'
  if (!['simple', 'table', 'json'].includes(format))
    throw new UsageError(`unsupported output format "${format}" (json, simple, table)`)
  const path = p.args[0] as string
  let file: Buffer
  try {
    file = await readFile(path)
  } catch (err) {
    throw new SnapshotFileError(`stat ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  // etcd's status reads the db without checking the integrity hash.
  const c = readSnapshotBytes(file, path, { skipHashCheck: true })
  const records = c.store.histories().reduce((n, h) => n + h.records.length, 0)
  const status = {
    hash: c.crc,
    revision: c.store.revision,
    totalKey: records + (c.leases?.length ?? 0),
    totalSize: c.fileBytes - (c.hasHash ? SHA256_BYTES : 0),
  }
  const row = [
    status.hash.toString(16),
    String(status.revision),
    String(status.totalKey),
    humanizeBytes(status.totalSize),
  ]
  if (format === 'json') io.stdout.write(`${JSON.stringify(status)}\n`)
  else if (format === 'table')
    io.stdout.write(renderTable(['hash', 'revision', 'total keys', 'total size'], [row]))
  else io.stdout.write(`${row.join(', ')}\n`)
  return 0
}

/** Runs `hakube-store snapshot <argv...>` and resolves to the exit code. */
export async function runSnapshotCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv
  try {
    if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
      io.stdout.write(SNAPSHOT_HELP)
      return 0
    }
    if (sub === 'restore') return await runRestore(rest, io)
    if (sub === 'status') return await runStatus(rest, io)
    if (sub === 'save')
      throw new UsageError(
        'snapshot save: use ETCDCTL_API=3 etcdctl --endpoints=<member client URL> snapshot save <file>',
      )
    throw new UsageError(`unknown command "${sub}" for "hakube-store snapshot" (restore, status)`)
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err)
    const oneLine = msg.split('\n')[0] ?? msg
    io.stderr.write(`hakube-store: ${oneLine}\n`)
    return err instanceof UsageError ? 2 : 1
  }
}
