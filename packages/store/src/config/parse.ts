/**
 * hakube-store's start-up configuration: etcd 3.4's flags, ETCD_* variables and config file, with
 * etcd 3.4's precedence (etcdmain/config.go `parse`):
 *
 * 1. The command line is parsed first; a syntax error or a bad value of any flag is an error, even
 *    when a config file is used. `-h`/`--help` prints the help, `--version` the version.
 * 2. The config file is `--config-file`, else `ETCD_CONFIG_FILE`. When there is one, the
 *    configuration comes from the file ALONE (plus etcd's defaults): every other command-line flag
 *    and every other ETCD_* variable is ignored (a warning says so).
 * 3. Without a config file: a command-line flag wins over its `ETCD_<FLAG>` variable, which wins
 *    over the default. Empty variables are ignored; unknown ETCD_* variables only warn.
 *
 * The result is checked by {@link checkStoreValues}; an error is one line naming the flag (and where
 * its value came from), for the binary to print before exiting with code 2.
 *
 * This module reads no file format: the config file is read and decoded by the caller's loader
 * (config-file.ts: YAML), so the binary's flag path loads the YAML parser only when a config file is
 * named (main.ts).
 */
import { applyEnv, flagToEnv, type RawFlags, type RawValue, readArgv, storeHelpText } from './flags.js'
import { checkFlagValues, checkStoreValues, type StoreConfig } from './schema.js'

/** hakube-store's own version (package.json). */
export const STORE_VERSION = '0.1.0'
/** The etcd API hakube-store emulates. */
export const ETCD_API_VERSION = '3.4'

export type StoreFlagsResult =
  | { ok: true; config: Readonly<StoreConfig> }
  /** `--help` or `--version`: print `output` to stdout and exit 0. */
  | { ok: true; exit: 'help' | 'version'; output: string }
  | { ok: false; error: string }

/**
 * Reads a config file into raw values (warnings appended to `warnings`), or returns the one-line error.
 */
export type ConfigFileLoader = (path: string, warnings: string[]) => RawFlags | string

export function storeVersionText(): string {
  return `hakube-store version ${STORE_VERSION} (etcd API ${ETCD_API_VERSION})\n`
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}

export function oneLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? s).trim()
}

/**
 * Parses hakube-store's command line (without the program name) and environment. Never throws for
 * bad input; reads the config file through `loadConfigFile` when one is given.
 */
export function parseStoreArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  loadConfigFile: ConfigFileLoader,
): StoreFlagsResult {
  const cmd = readArgv(argv)
  if (!cmd.ok) return { ok: false, error: cmd.error }
  if (cmd.value.help) return { ok: true, exit: 'help', output: storeHelpText() }
  if (cmd.value.version) return { ok: true, exit: 'version', output: storeVersionText() }

  const warnings: string[] = []
  const envConfigFile = env['ETCD_CONFIG_FILE']
  const configFile = cmd.value.configFile ?? (envConfigFile ? envConfigFile : undefined)
  let raw: RawFlags
  let input: Record<string, RawValue>
  if (configFile !== undefined) {
    // etcd's flag.Set has already validated each command-line value before the file replaces them.
    const bad = checkFlagValues(cmd.value.values)
    if (bad) return { ok: false, error: bad }
    const ignored = Object.keys(cmd.value.values)
    if (ignored.length > 0) {
      warnings.push(`config file ${configFile} in use: command-line flags ignored: --${ignored.join(', --')}`)
    }
    const loaded = loadConfigFile(configFile, warnings)
    if (typeof loaded === 'string') return { ok: false, error: loaded }
    raw = loaded
    input = { ...raw.values, 'config-file': configFile }
  } else {
    raw = { values: { ...cmd.value.values }, origin: { ...cmd.value.origin } }
    const envError = applyEnv(raw, env, warnings)
    if (envError) return { ok: false, error: envError }
    input = { ...raw.values }
  }

  const parsed = checkStoreValues(input)
  if (!parsed.ok) {
    const origin = raw.origin[parsed.flag]
    let where = ''
    if (configFile !== undefined) where = ` (config file ${configFile})`
    else if (origin?.startsWith('env ')) where = ` (from ${flagToEnv(parsed.flag)})`
    return { ok: false, error: oneLine(`${parsed.message}${where}`) }
  }
  return { ok: true, config: deepFreeze({ ...parsed.config, warnings }) }
}

/**
 * Whether a command line and environment may name a config file (then the binary parses them with
 * config-file.ts's `parseStoreFlags`). Errs towards yes: any argument mentioning `config-file`, or a non-empty
 * ETCD_CONFIG_FILE (an empty one names no file, as in parse.ts).
 */
export function mayNameConfigFile(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  return argv.some((a) => a.includes('config-file')) || Boolean(env['ETCD_CONFIG_FILE'])
}
