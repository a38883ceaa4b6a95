#!/usr/bin/env node
/**
 * hakube-apiserver: the binary. kube-apiserver's flags; `--help`/`--version` print and exit, bad flags
 * print one line and exit 2, both without loading the server (serve.ts, imported only to serve: the
 * binary answers at once and starts serving sooner).
 */
import { helpText, parseApiServerFlags } from './options.js'

async function main(): Promise<void> {
  const parsed = parseApiServerFlags(process.argv.slice(2))
  if (!parsed.ok) {
    process.stderr.write(`hakube-apiserver: ${parsed.error}\n`)
    process.exit(2)
  }
  if (!('config' in parsed)) {
    process.stdout.write(`${parsed.exit === 'help' ? helpText() : parsed.output}\n`)
    process.exit(0)
  }
  const { serve } = await import('./serve.js')
  await serve(parsed.config)
}

main().catch((err: unknown) => {
  process.stderr.write(`hakube-apiserver: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
