/**
 * The `main` every hakube binary shares: parse the flags (light modules only), print `--help` or
 * `--version` and exit 0, print a bad flag as one line and exit 2, and only then load the serving
 * half (`serve.ts`, imported lazily so neither `--help` nor a bad flag pays for it) and serve. Any
 * error that escapes is one line on stderr and exit code 1.
 */

/** What a binary's flag parser answers. */
export type BinaryFlagsResult<C> =
  | { ok: true; config: C }
  | { ok: true; exit?: 'help' | 'version'; output: string }
  | { ok: false; error: string }

export interface BinaryOptions<C> {
  /** The binary's name, prefixed to every line it prints on stderr. */
  name: string
  parse: (argv: readonly string[]) => BinaryFlagsResult<C>
  /** Loads the serving half (`() => import('./serve.js')`). */
  load: () => Promise<{ serve: (config: C) => Promise<void> }>
  argv?: readonly string[]
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

async function main<C>(o: BinaryOptions<C>): Promise<void> {
  const parsed = o.parse(o.argv ?? process.argv.slice(2))
  if (!parsed.ok) {
    process.stderr.write(`${o.name}: ${parsed.error}\n`)
    process.exit(2)
  }
  if (!('config' in parsed)) {
    process.stdout.write(parsed.output.endsWith('\n') ? parsed.output : `${parsed.output}\n`)
    process.exit(0)
  }
  const { serve } = await o.load()
  await serve(parsed.config)
}

/** Runs the binary (see the module comment); never rejects. */
export function runBinary<C>(o: BinaryOptions<C>): void {
  main(o).catch((err: unknown) => {
    process.stderr.write(`${o.name}: ${message(err)}\n`)
    process.exit(1)
  })
}
