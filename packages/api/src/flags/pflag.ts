/**
 * Command lines as the Kubernetes binaries read them (spf13/pflag): `--name=value` or `--name value`,
 * booleans as `--name` or `--name=false`, one-letter shorthands (`-v=4`, `-v 4`), `--` ending the
 * flags, repeated flags overriding earlier ones (string slices: comma-separated, and repeats append).
 * Errors carry pflag's texts (`unknown flag: --foo`, `invalid argument "x" for "--secure-port" flag:
 * strconv.ParseInt: parsing "x": invalid syntax`), one line each, for a binary to print and exit 2.
 *
 * Values are checked for their type here; relations between flags (and ranges) are the component's.
 */
import { formatGoDuration, parseGoDuration } from './go-duration.js'

export type FlagType = 'string' | 'int' | 'bool' | 'duration' | 'stringSlice'

interface ValueOf {
  string: string
  int: number
  bool: boolean
  /** Milliseconds. */
  duration: number
  stringSlice: string[]
}

export interface FlagDef<T extends FlagType = FlagType> {
  readonly name: string
  readonly type: T
  readonly default: ValueOf[T]
  readonly usage: string
  readonly shorthand?: string
}

/** Declares a flag (keeps the value type tied to `type`). */
export function flag<T extends FlagType>(def: FlagDef<T>): FlagDef<T> {
  return def
}

export type FlagValues<D extends Record<string, FlagDef>> = {
  -readonly [K in keyof D]: ValueOf[D[K]['type']]
}

export type ParsedFlags<D extends Record<string, FlagDef>> =
  | {
      ok: true
      help: false
      values: FlagValues<D> /** Flags given explicitly. */
      set: Set<keyof D>
      args: string[]
    }
  | { ok: true; help: true }
  | { ok: false; error: string }

/**
 * Parses `argv` against `defs` (keyed by any name; `def.name` is the command-line name). `-h` and
 * `--help` give `{help: true}` unless a def takes those names.
 */
export function parseFlags<D extends Record<string, FlagDef>>(
  defs: D,
  argv: readonly string[],
): ParsedFlags<D> {
  const byName = new Map<string, [keyof D, FlagDef]>()
  const byShort = new Map<string, [keyof D, FlagDef]>()
  for (const [key, def] of Object.entries(defs) as Array<[keyof D, FlagDef]>) {
    byName.set(def.name, [key, def])
    if (def.shorthand !== undefined) byShort.set(def.shorthand, [key, def])
  }
  const values = {} as Record<keyof D, unknown>
  for (const [key, def] of Object.entries(defs) as Array<[keyof D, FlagDef]>)
    values[key] = Array.isArray(def.default) ? [...def.default] : def.default
  const set = new Set<keyof D>()
  const args: string[] = []
  const appended = new Set<keyof D>()
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
    const name = eq < 0 ? body : body.slice(0, eq)
    const shown = long ? `--${name}` : `-${name}`
    const found = long ? byName.get(name) : byShort.get(name)
    if (found === undefined) {
      if (name === 'help' || name === 'h') return { ok: true, help: true }
      return {
        ok: false,
        error: long ? `unknown flag: --${name}` : `unknown shorthand flag: '${name}' in ${a}`,
      }
    }
    const [key, def] = found
    let raw: string
    if (eq >= 0) raw = body.slice(eq + 1)
    else if (def.type === 'bool') raw = 'true'
    else {
      const next = argv[i + 1]
      if (next === undefined) return { ok: false, error: `flag needs an argument: ${shown}` }
      raw = next
      i++
    }
    const v = convert(def.type, raw)
    if (typeof v === 'object' && v !== null && 'error' in v)
      return { ok: false, error: `invalid argument ${JSON.stringify(raw)} for "${shown}" flag: ${v.error}` }
    if (def.type === 'stringSlice' && appended.has(key)) (values[key] as string[]).push(...(v as string[]))
    else values[key] = v
    if (def.type === 'stringSlice') appended.add(key)
    set.add(key)
  }
  return { ok: true, help: false, values: values as FlagValues<D>, set, args }
}

function convert(type: FlagType, raw: string): ValueOf[FlagType] | { error: string } {
  switch (type) {
    case 'string':
      return raw
    case 'int': {
      if (!/^[+-]?\d+$/.test(raw))
        return { error: `strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax` }
      const n = Number(raw)
      if (!Number.isSafeInteger(n))
        return { error: `strconv.ParseInt: parsing ${JSON.stringify(raw)}: value out of range` }
      return n
    }
    case 'bool': {
      const t = ['1', 't', 'T', 'TRUE', 'true', 'True']
      const f = ['0', 'f', 'F', 'FALSE', 'false', 'False']
      if (t.includes(raw)) return true
      if (f.includes(raw)) return false
      return { error: `strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax` }
    }
    case 'duration':
      try {
        return parseGoDuration(raw)
      } catch (e) {
        return { error: (e as Error).message }
      }
    case 'stringSlice':
      return raw === '' ? [] : raw.split(',')
  }
}

/** pflag's FlagUsages: one line per flag, sorted by name, with non-zero defaults shown. */
export function flagUsages(defs: Record<string, FlagDef>): string {
  const rows = Object.values(defs)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((d) => {
      const short = d.shorthand === undefined ? '    ' : `-${d.shorthand}, `
      const typeName = d.type === 'bool' ? '' : ` ${d.type === 'stringSlice' ? 'strings' : d.type}`
      return { left: `  ${short}--${d.name}${typeName}`, usage: d.usage + defaultText(d) }
    })
  const width = Math.max(...rows.map((r) => r.left.length)) + 3
  return rows.map((r) => `${r.left.padEnd(width)}${r.usage}`).join('\n')
}

function defaultText(d: FlagDef): string {
  switch (d.type) {
    case 'string':
      return d.default === '' ? '' : ` (default ${JSON.stringify(d.default)})`
    case 'int':
      return d.default === 0 ? '' : ` (default ${d.default})`
    case 'bool':
      return d.default === true ? ' (default true)' : ''
    case 'duration':
      return d.default === 0 ? '' : ` (default ${formatGoDuration(d.default as number)})`
    case 'stringSlice':
      return (d.default as string[]).length === 0 ? '' : ` (default [${(d.default as string[]).join(',')}])`
  }
}
