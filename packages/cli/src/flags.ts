/**
 * The `hakube` command's own flag parser, in pflag's syntax (`--name=value`, `--name value`, booleans
 * as `--name` or `--name=false`, one-letter shorthands, `--` ending the flags) with pflag's error texts.
 *
 * Why not @hakube/api's parser: importing that package's entry point loads its object schemas (about a
 * second on this machine), and `hakube status` or `hakube kill` must answer at once.
 */

export type FlagKind = 'string' | 'int' | 'bool' | 'strings'

interface KindValue {
  string: string
  int: number
  bool: boolean
  strings: string[]
}

export interface Flag<K extends FlagKind = FlagKind> {
  readonly kind: K
  readonly default: KindValue[K]
  readonly usage: string
  readonly short?: string
}

export function flag<K extends FlagKind>(def: Flag<K>): Flag<K> {
  return def
}

export type Values<D extends Record<string, Flag>> = { -readonly [N in keyof D]: KindValue[D[N]['kind']] }

export type Parsed<D extends Record<string, Flag>> =
  | { ok: true; help: false; values: Values<D>; set: Set<keyof D>; args: string[] }
  | { ok: true; help: true }
  | { ok: false; error: string }

/** Parses `argv` against `defs`, keyed by the command-line name (`lb-address`). */
export function parseFlags<D extends Record<string, Flag>>(defs: D, argv: readonly string[]): Parsed<D> {
  const values: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(defs))
    values[name] = Array.isArray(def.default) ? [...def.default] : def.default
  const shorts = new Map<string, string>()
  for (const [name, def] of Object.entries(defs)) if (def.short !== undefined) shorts.set(def.short, name)
  const set = new Set<keyof D>()
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--') {
      args.push(...argv.slice(i + 1))
      break
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a)
      continue
    }
    const long = a.startsWith('--')
    const body = a.slice(long ? 2 : 1)
    const eq = body.indexOf('=')
    const given = eq < 0 ? body : body.slice(0, eq)
    const name = long ? given : shorts.get(given)
    const def = name === undefined ? undefined : defs[name]
    if (name === undefined || def === undefined) {
      if (given === 'help' || given === 'h') return { ok: true, help: true }
      return {
        ok: false,
        error: long ? `unknown flag: --${given}` : `unknown shorthand flag: '${given}' in ${a}`,
      }
    }
    let raw: string
    if (eq >= 0) raw = body.slice(eq + 1)
    else if (def.kind === 'bool') raw = 'true'
    else {
      const next = argv[i + 1]
      if (next === undefined)
        return { ok: false, error: `flag needs an argument: ${long ? '--' : '-'}${given}` }
      raw = next
      i++
    }
    const v = convert(def.kind, raw)
    if (v instanceof Error)
      return {
        ok: false,
        error: `invalid argument ${JSON.stringify(raw)} for "--${name}" flag: ${v.message}`,
      }
    if (def.kind === 'strings' && set.has(name)) (values[name] as string[]).push(...(v as string[]))
    else values[name] = v
    set.add(name)
  }
  return { ok: true, help: false, values: values as Values<D>, set, args }
}

function convert(kind: FlagKind, raw: string): KindValue[FlagKind] | Error {
  switch (kind) {
    case 'string':
      return raw
    case 'int':
      return /^[+-]?\d{1,15}$/.test(raw)
        ? Number(raw)
        : new Error(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`)
    case 'bool':
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false
      return new Error(`strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`)
    case 'strings':
      return raw === '' ? [] : raw.split(',')
  }
}

/** One line per flag, pflag's layout, for `--help`. */
export function flagUsages(defs: Record<string, Flag>): string {
  const rows = Object.entries(defs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, d]) => {
      const short = d.short === undefined ? '    ' : `-${d.short}, `
      const type = d.kind === 'bool' ? '' : ` ${d.kind}`
      const dflt =
        d.kind === 'bool' ||
        d.default === '' ||
        d.default === 0 ||
        (Array.isArray(d.default) && d.default.length === 0)
          ? ''
          : ` (default ${Array.isArray(d.default) ? `[${d.default.join(',')}]` : JSON.stringify(d.default)})`
      return { left: `  ${short}--${name}${type}`, usage: d.usage + dflt }
    })
  const width = Math.max(...rows.map((r) => r.left.length)) + 3
  return rows.map((r) => `${r.left.padEnd(width)}${r.usage}`).join('\n')
}
