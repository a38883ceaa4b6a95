#!/usr/bin/env node
// The installed command. npm links it when the workspace is installed, before dist/ exists, so it is a
// small committed file that loads the compiled entry point (`npm ci` builds it through the root
// `prepare` script; `npm run build` rebuilds it).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/main.js', import.meta.url)
if (!existsSync(entry)) {
  console.error('hakube-controller-manager: not built yet; run `npm run build` in the hakube repository')
  process.exit(1)
}
await import(entry.href)
