/**
 * hakube-store's flags with its YAML config file (`--config-file`, `ETCD_CONFIG_FILE`): parse.ts's
 * rules, with the file read and decoded here. The binary loads this module (and the YAML parser) only
 * when a config file is named; the library and tests use {@link parseStoreFlags} always.
 */
import { readFileSync } from 'node:fs'
import { LineCounter, parseDocument } from 'yaml'
import { type RawFlags, readConfigObject } from './flags.js'
import { oneLine, parseStoreArgs, type StoreFlagsResult } from './parse.js'

export interface StoreFlagsIo {
  /** Reads the config file (default: fs.readFileSync as UTF-8). */
  readFile(path: string): string
}

const defaultIo: StoreFlagsIo = { readFile: (p) => readFileSync(p, 'utf8') }

function loadConfigFile(path: string, io: StoreFlagsIo, warnings: string[]): RawFlags | string {
  let text: string
  try {
    text = io.readFile(path)
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    return `--config-file ${path}: cannot read: ${err.code ?? oneLine(String(err.message))}`
  }
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter })
  const yamlError = doc.errors[0]
  if (yamlError) {
    const pos = lineCounter.linePos(yamlError.pos[0])
    const at = pos ? ` at line ${pos.line}, column ${pos.col}` : ''
    return `--config-file ${path}: invalid YAML${at}: ${oneLine(yamlError.message)}`
  }
  const read = readConfigObject(doc.toJS(), path, warnings)
  return read.ok ? read.value : read.error
}

/**
 * Parses hakube-store's command line (without the program name) and environment. Never throws for
 * bad input; reads the config file through `io` when one is given.
 */
export function parseStoreFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: StoreFlagsIo = defaultIo,
): StoreFlagsResult {
  return parseStoreArgs(argv, env, (path, warnings) => loadConfigFile(path, io, warnings))
}
