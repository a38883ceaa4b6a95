#!/usr/bin/env node
/**
 * hakube-controller-manager: the binary. Flags (config.ts); `--help`/`--version` print and exit, bad
 * flags print one line and exit 2, all without loading the controllers (serve.ts, imported only to
 * serve).
 */
import { helpText, parseControllerManagerFlags } from './config.js'

async function main(): Promise<void> {
  const parsed = parseControllerManagerFlags(process.argv.slice(2))
  if (!parsed.ok) {
    process.stderr.write(`hakube-controller-manager: ${parsed.error}\n`)
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
  process.stderr.write(`hakube-controller-manager: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
