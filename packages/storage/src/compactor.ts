/**
 * The periodic compaction kube-apiserver runs against its store (k8s.io/apiserver
 * pkg/storage/etcd3/compact.go), written once over a {@link KvEngine} so that both backends do it.
 *
 * Protocol (kube's): the store holds a key `compact_rev_key` whose value is the revision recorded by
 * the last round and whose *version* counts rounds (the "compact time"). Each round, a compactor that
 * believes the compact time is `t` and recorded revision `rev` last time sends one Txn:
 *   if version(compact_rev_key) == t then put(compact_rev_key, rev) else get(compact_rev_key).
 * - Success: this compactor won the round; the compact time is t + 1, and it compacts to `rev` (the
 *   revision current one interval ago; nothing on its first round, when rev is 0). It then records the
 *   Txn's revision for the next round.
 * - Failure: another compactor (another api-server sharing the store) won since; this one adopts the
 *   key's version as the compact time and the current revision, and tries again next interval.
 * So among any number of api-servers only one compacts per interval, each compaction keeps at least
 * one interval of history (watchers that fall behind by less than that resume without a relist), and
 * when the winner dies another takes over within two intervals. Atomicity comes from the Txn, not from
 * clocks.
 *
 * Guarantees: a round settles by its deadline; failures are reported, never thrown, and the next round
 * retries. Non-guarantees: rounds of one compactor are `intervalMs` apart plus the round's own
 * duration (not a fixed rate).
 */
import { StorageError } from './errors.js'
import type { KvEngine } from './kv-backend.js'

/** The key kube's compactor uses (outside /registry, so no list or watch of objects sees it). */
export const COMPACT_REV_KEY = 'compact_rev_key'

/** kube-apiserver's --etcd-compaction-interval default (storagebackend.DefaultCompactInterval). */
export const DEFAULT_COMPACTION_INTERVAL_MS = 5 * 60_000

/** What a compactor remembers between rounds. */
export interface CompactorState {
  /** The version of `compact_rev_key` this compactor believes current (0: the key does not exist). */
  compactTime: number
  /** The store revision seen last round: the next winning round compacts to it (0: none yet). */
  revision: number
}

export const INITIAL_COMPACTOR_STATE: CompactorState = Object.freeze({ compactTime: 0, revision: 0 })

export interface CompactRoundResult {
  state: CompactorState
  /** Whether this compactor won the round (its Txn succeeded). */
  won: boolean
  /** The revision compacted to, if this round compacted. */
  compacted?: number
  /** A failure; the state is still the one to use next round (kube's compact() likewise). */
  error?: StorageError
}

const encoder = new TextEncoder()

function asStorageError(err: unknown): StorageError {
  return err instanceof StorageError
    ? err
    : new StorageError('Unavailable', { detail: String(err), cause: err })
}

/** One round of kube's protocol (see the module doc). Never rejects. */
export async function compactRound(
  engine: KvEngine,
  state: CompactorState,
  deadline: number,
): Promise<CompactRoundResult> {
  const key = encoder.encode(COMPACT_REV_KEY)
  let res: Awaited<ReturnType<KvEngine['txn']>>
  try {
    res = await engine.txn(
      {
        compare: [{ key, target: 'VERSION', result: 'EQUAL', version: state.compactTime }],
        // The put bumps the key's version: that is the round counter.
        success: [{ op: 'put', request: { key, value: encoder.encode(String(state.revision)) } }],
        failure: [{ op: 'range', request: { key } }],
      },
      { deadline },
    )
  } catch (err) {
    return { state, won: false, error: asStorageError(err) }
  }
  const current = res.header.revision
  if (!res.succeeded) {
    const got = res.responses[0]
    const kv = got?.op === 'range' ? got.response.kvs[0] : undefined
    return { state: { compactTime: kv?.version ?? 0, revision: current }, won: false }
  }
  const next: CompactorState = { compactTime: state.compactTime + 1, revision: current }
  // kube does not compact on its first round: it has no revision from one interval ago yet.
  if (state.revision === 0) return { state: next, won: true }
  try {
    await engine.compact(state.revision, { deadline })
  } catch (err) {
    return { state: next, won: true, error: asStorageError(err) }
  }
  return { state: next, won: true, compacted: state.revision }
}

export interface CompactorOptions {
  /** Time between rounds; must be > 0 (0 means "no compactor": do not create one). */
  intervalMs: number
  /** Deadline of each round's requests. */
  requestTimeoutMs: number
  /** Told about every failed round (the next round retries). */
  onError?: (err: StorageError) => void
  /** Told after every compaction this compactor made. */
  onCompacted?: (revision: number) => void
}

/** Runs {@link compactRound} every `intervalMs` until stopped (timers unref'd: never keeps a process alive). */
export class Compactor {
  private state: CompactorState = INITIAL_COMPACTOR_STATE
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(
    private readonly engine: KvEngine,
    private readonly options: CompactorOptions,
  ) {
    if (!Number.isFinite(options.intervalMs) || options.intervalMs <= 0) {
      throw new StorageError('InvalidObject', { detail: 'compaction interval must be > 0' })
    }
    this.schedule()
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => void this.round(), this.options.intervalMs)
    this.timer.unref()
  }

  private async round(): Promise<void> {
    const r = await compactRound(this.engine, this.state, Date.now() + this.options.requestTimeoutMs)
    if (this.stopped) return
    this.state = r.state
    if (r.error !== undefined) this.options.onError?.(r.error)
    if (r.compacted !== undefined) this.options.onCompacted?.(r.compacted)
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }
}
