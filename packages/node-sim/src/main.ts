#!/usr/bin/env node
/**
 * hakube-node-sim: the binary. Flags (config.ts); `--help`/`--version` print and exit, bad flags print one
 * line and exit 2, all without loading the simulator (serve.ts, imported only to serve).
 */
import { runBinary } from '@hakube/api/flags'
import { parseNodeSimFlags } from './config.js'

runBinary({ name: 'hakube-node-sim', parse: parseNodeSimFlags, load: () => import('./serve.js') })
