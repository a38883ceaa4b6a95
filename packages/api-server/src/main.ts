#!/usr/bin/env node
/**
 * hakube-apiserver: the binary. kube-apiserver's flags; `--help`/`--version` print and exit, bad flags
 * print one line and exit 2, both without loading the server (serve.ts, imported only to serve: the
 * binary answers at once and starts serving sooner).
 */
import { runBinary } from '@hakube/api/flags'
import { parseApiServerFlags } from './options.js'

runBinary({ name: 'hakube-apiserver', parse: parseApiServerFlags, load: () => import('./serve.js') })
