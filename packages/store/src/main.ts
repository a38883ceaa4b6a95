#!/usr/bin/env node
/**
 * hakube-store: the binary. Parses etcd's flags; `--help`/`--version` print and exit, bad flags print one
 * line and exit 2, both without loading the server (serve.ts, imported only to serve: the binary answers
 * at once and starts serving sooner). `hakube-store snapshot ...` runs etcdctl's offline snapshot commands.
 * The YAML parser is loaded only when a config file may be named (config/config-file.ts).
 */
import { mayNameConfigFile, parseStoreArgs } from './config/parse.js'

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  // `hakube-store snapshot restore|status ...`: etcdctl's offline snapshot commands (src/restore).
  if (argv[0] === 'snapshot') {
    const { runSnapshotCommand } = await import('./restore/cli.js')
    process.exit(await runSnapshotCommand(argv.slice(1), process))
  }
  const parsed = mayNameConfigFile(argv, process.env)
    ? (await import('./config/config-file.js')).parseStoreFlags(argv, process.env)
    : parseStoreArgs(argv, process.env, () => 'internal error: no config file loader')
  if (!parsed.ok) {
    process.stderr.write(`hakube-store: ${parsed.error}\n`)
    process.exit(2)
  }
  if (!('config' in parsed)) {
    process.stdout.write(parsed.output.endsWith('\n') ? parsed.output : `${parsed.output}\n`)
    process.exit(0)
  }
  const { serve } = await import('./serve.js')
  await serve(parsed.config)
}

main().catch((err: unknown) => {
  process.stderr.write(`hakube-store: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
