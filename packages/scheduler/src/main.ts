#!/usr/bin/env node
/**
 * hakube-scheduler: the binary. Flags (config.ts); `--help`/`--version` print and exit, bad flags print one
 * line and exit 2, all without loading the scheduler (serve.ts, imported only to serve).
 */
import { runBinary } from '@hakube/api/flags'
import { parseSchedulerFlags } from './config.js'

runBinary({ name: 'hakube-scheduler', parse: parseSchedulerFlags, load: () => import('./serve.js') })
