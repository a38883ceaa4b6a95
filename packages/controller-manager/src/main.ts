#!/usr/bin/env node
/**
 * hakube-controller-manager: the binary. Flags (config.ts); `--help`/`--version` print and exit, bad flags print one
 * line and exit 2, all without loading the controllers (serve.ts, imported only to serve).
 */
import { runBinary } from '@hakube/api/flags'
import { parseControllerManagerFlags } from './config.js'

runBinary({
  name: 'hakube-controller-manager',
  parse: parseControllerManagerFlags,
  load: () => import('./serve.js'),
})
