/**
 * `<data-dir>/member/cluster.json`: the cluster id this member belongs to, written at its first start.
 * A founding member could derive it again from its flags, but a member that joined a running cluster
 * learned it from a peer (the founders' ids, which its own flags need not list), and must find it on
 * restart without asking anyone. Written atomically (temp file, fsync, rename).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { memberDir } from '../wal/files.js'

const FILE = 'cluster.json'

/** The remembered cluster id, or undefined when there is none (a fresh or older data dir). */
export function readClusterIdFile(dataDir: string): number | undefined {
  let text: string
  try {
    text = readFileSync(join(memberDir(dataDir), FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const id = Number((JSON.parse(text) as { clusterId?: unknown }).clusterId)
  if (!Number.isSafeInteger(id) || id <= 0)
    throw new Error(`${join(memberDir(dataDir), FILE)}: no valid clusterId in ${text.slice(0, 80)}`)
  return id
}

export function writeClusterIdFile(dataDir: string, clusterId: number): void {
  const dir = memberDir(dataDir)
  mkdirSync(dir, { recursive: true })
  const path = join(dir, FILE)
  const fd = openSync(`${path}.tmp`, 'w')
  try {
    writeSync(fd, `${JSON.stringify({ clusterId: String(clusterId) })}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(`${path}.tmp`, path)
}
