/**
 * `hakube-store snapshot restore`: a new member data dir from a snapshot file, as etcd 3.4's
 * `etcdctl snapshot restore` (clientv3/snapshot/v3_snapshot.go `Restore`) builds one.
 *
 * What is kept: every key with its history, the current and compacted revisions, and the leases (ids,
 * granted TTLs, attached keys; as etcd, every lease restarts its full TTL once a leader is elected).
 * What is new: the membership. It is taken from `--initial-cluster` alone, with member ids and the
 * cluster id derived as founding members derive them (server/member-id.ts, main.ts), so restoring the
 * same file with the same flags for each member gives data dirs that form one cluster when every member
 * is started with those `--name` / `--initial-cluster` / `--initial-cluster-token` flags.
 *
 * The data dir holds a WAL (whose metadata names this member) and one Raft snapshot at index N (N =
 * number of members), term 1, committed by the hard state: as etcd's restore, which writes N
 * conf-change entries and a snapshot at their commit index. The dir is built under a temporary name
 * next to the target and renamed into place, so a failure never leaves a half-restored data dir.
 */
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MemoryStorage, type Snapshot } from '@hakube/raft'
import type { Member } from '../backend.js'
import { deriveClusterId, deriveMemberId } from '../server/member-id.js'
import { openMemberLog } from '../server/member-log.js'
import { silentStoreLogger } from '../server/options.js'
import { encodeSnapshotData } from '../server/snapshot-data.js'
import { snapDir, walDir } from '../wal/index.js'
import { readSnapshotBytes, SnapshotFileError } from './snapshot-file.js'

export interface RestoreOptions {
  readonly snapshotPath: string
  /** --name: this member's key in `initialCluster`. */
  readonly name: string
  readonly dataDir: string
  /** --initial-cluster: name → peer URLs (checked by the caller: contains `name`, no duplicate URL). */
  readonly initialCluster: Readonly<Record<string, readonly string[]>>
  readonly initialClusterToken: string
  readonly skipHashCheck: boolean
}

export interface RestoreResult {
  readonly memberId: number
  readonly clusterId: number
  readonly members: readonly Member[]
  readonly revision: number
  readonly compactRevision: number
  readonly leases: number
  readonly dataDir: string
  readonly walDir: string
  readonly snapDir: string
}

/** The Raft index and term of the restored snapshot for `memberCount` members (etcd's choice). */
export function restoredSnapshotPosition(memberCount: number): { index: number; term: number } {
  return { index: memberCount, term: 1 }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

/** The new membership: ids as a founding member derives them (server/member-id.ts). */
export function restoredMembership(
  initialCluster: Readonly<Record<string, readonly string[]>>,
  token: string,
): { members: Member[]; clusterId: number } {
  const members = Object.entries(initialCluster)
    .map(([name, urls]) => ({
      id: deriveMemberId(urls, token),
      name,
      peerUrls: [...urls].sort(),
      clientUrls: [],
      isLearner: false,
    }))
    .sort((a, b) => a.id - b.id)
  return { members, clusterId: deriveClusterId(members.map((m) => m.id)) }
}

export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  const own = o.initialCluster[o.name]
  if (own === undefined) {
    throw new SnapshotFileError(`couldn't find local name "${o.name}" in the initial cluster configuration`)
  }
  if (await exists(o.dataDir)) throw new SnapshotFileError(`data-dir "${o.dataDir}" exists`)
  let file: Buffer
  try {
    file = await readFile(o.snapshotPath)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new SnapshotFileError(
      `open ${o.snapshotPath}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`,
    )
  }
  const contents = readSnapshotBytes(file, o.snapshotPath, { skipHashCheck: o.skipHashCheck })

  const memberId = deriveMemberId(own, o.initialClusterToken)
  const { members, clusterId } = restoredMembership(o.initialCluster, o.initialClusterToken)
  const voters = members.map((m) => m.id)
  const confState = { voters, learners: [] }
  const { index, term } = restoredSnapshotPosition(members.length)
  const snap: Snapshot = {
    data: encodeSnapshotData({
      founders: voters,
      members,
      removed: [],
      confState,
      leases: [...(contents.leases ?? [])],
      mvcc: contents.mvccImage,
    }),
    metadata: { index, term, confState },
  }

  await mkdir(dirname(o.dataDir), { recursive: true })
  const tmp = `${o.dataDir}.restoring-${process.pid}`
  await rm(tmp, { recursive: true, force: true })
  try {
    await mkdir(tmp, { mode: 0o700 })
    // openMemberLog creates the WAL with the metadata StoreServer checks on start (member id, token).
    const opened = await openMemberLog(
      tmp,
      memberId,
      o.initialClusterToken,
      new MemoryStorage(),
      {},
      silentStoreLogger,
    )
    try {
      if (!opened.created) throw new Error(`${tmp} unexpectedly holds a WAL`)
      await opened.wal.saveSnapshot(snap)
      await opened.wal.save({ term, vote: 0, commit: index }, [], true)
    } finally {
      await opened.wal.close()
    }
    if (await exists(o.dataDir)) throw new SnapshotFileError(`data-dir "${o.dataDir}" exists`)
    await rename(tmp, o.dataDir)
  } catch (err) {
    await rm(tmp, { recursive: true, force: true })
    throw err
  }
  return {
    memberId,
    clusterId,
    members,
    revision: contents.store.revision,
    compactRevision: contents.store.compactRevision,
    leases: contents.leases?.length ?? 0,
    dataDir: o.dataDir,
    walDir: walDir(o.dataDir),
    snapDir: snapDir(o.dataDir),
  }
}
