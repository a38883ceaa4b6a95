import type { MemoryStorage } from '@hakube/raft'
import type { WalReplay } from './replay.js'

/**
 * Loads a replayed WAL into the Raft core's storage, in the order Raft expects on restart: the snapshot
 * (which resets the log), then the entries after it, then the hard state (whose commit must point into
 * the log just loaded). Type-only import of `MemoryStorage`: the caller constructs it.
 */
export function loadIntoStorage(storage: MemoryStorage, replay: WalReplay): void {
  if (replay.snapshot.metadata.index > 0) {
    const err = storage.applySnapshot(replay.snapshot)
    if (err !== undefined) throw err
  }
  storage.append(replay.entries)
  storage.setHardState(replay.hardState)
}
