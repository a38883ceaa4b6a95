/**
 * The `hakube` command's flags, declared by their command-line name (`'lb-address': flag({...})`) and
 * parsed by @hakube/api's pflag parser (`--name=value`, `--name value`, booleans as `--name` or
 * `--name=false`, one-letter shorthands, `--` ending the flags, pflag's error texts).
 *
 * The parser comes through the light `@hakube/api/flags` subpath, never the package's main entry: that
 * entry loads every object schema (about a second here), and `hakube status` or `hakube kill` must
 * answer at once.
 */
import {
  type FlagDef,
  type FlagType,
  parseFlags as pflagParse,
  flagUsages as pflagUsages,
} from '@hakube/api/flags'

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

const PFLAG_TYPE: Record<FlagKind, FlagType> = {
  string: 'string',
  int: 'int',
  bool: 'bool',
  strings: 'stringSlice',
}

/** The same flags as pflag definitions, keyed and named by their command-line name. */
function toPflag(defs: Record<string, Flag>): Record<string, FlagDef> {
  const out: Record<string, FlagDef> = {}
  for (const [name, d] of Object.entries(defs))
    out[name] = {
      name,
      type: PFLAG_TYPE[d.kind],
      default: d.default,
      usage: d.usage,
      ...(d.short === undefined ? {} : { shorthand: d.short }),
    } as FlagDef
  return out
}

/** Parses `argv` against `defs`, keyed by the command-line name (`lb-address`). */
export function parseFlags<D extends Record<string, Flag>>(defs: D, argv: readonly string[]): Parsed<D> {
  // Same keys, and each kind's value type is the pflag type's, so the result is the cli's shape.
  return pflagParse(toPflag(defs), argv) as Parsed<D>
}

/** One line per flag, pflag's layout, for `--help`. */
export function flagUsages(defs: Record<string, Flag>): string {
  return pflagUsages(toPflag(defs))
}
