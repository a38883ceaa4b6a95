/**
 * Opening a member's durable log: an existing WAL is replayed into the Raft storage image (after
 * checking it belongs to this member); otherwise a new WAL is created with the member's identity as
 * its metadata.
 */
import type { MemoryStorage, NodeId, Snapshot } from '@hakube/raft'
import { loadIntoStorage, Wal, type WalOptions } from '../wal/index.js'
import { decodeJson, encodeJson } from './codec.js'
import type { StoreLogger } from './options.js'

export interface OpenedLog {
  wal: Wal
  /** The snapshot the state machine restarts from (undefined: start from the empty state). */
  snapshot: Snapshot | undefined
  /** True when the WAL was just created (nothing on disk before). */
  created: boolean
}

export async function openMemberLog(
  dataDir: string,
  memberId: NodeId,
  clusterToken: string,
  storage: MemoryStorage,
  walOptions: WalOptions,
  log: StoreLogger,
): Promise<OpenedLog> {
  if (!(await Wal.exists(dataDir))) {
    const meta = encodeJson({ memberId, token: clusterToken })
    return { wal: await Wal.create(dataDir, meta, walOptions), snapshot: undefined, created: true }
  }
  const wal = await Wal.open(dataDir, walOptions)
  const replay = await wal.replay()
  const meta = decodeJson<{ memberId?: number }>(replay.metadata)
  if (meta.memberId !== memberId) {
    await wal.close()
    throw new Error(
      `data dir ${dataDir} belongs to member ${String(meta.memberId)}, not ${memberId} (--name/--initial-cluster changed?)`,
    )
  }
  loadIntoStorage(storage, replay)
  const snap = replay.snapshot
  log.info(
    { snapshotIndex: snap.metadata.index, entries: replay.entries.length, hardState: replay.hardState },
    'restarting member from its WAL',
  )
  return { wal, snapshot: snap.metadata.index > 0 ? snap : undefined, created: false }
}
