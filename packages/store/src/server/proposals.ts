/**
 * Proposals and their waits (etcd's request ids, `wait.Wait` and admission checks): every write is
 * proposed through Raft under a request id unique to this member's life, and its caller waits until
 * this member applies the entry (or times out). Admission refuses a request up front when it cannot be
 * served: the member is stopping, its apply backlog is too long, the request is too big, it would take
 * the key space past the quota, or this member is a learner.
 *
 * Non-guarantee: a proposal lost with a leader change is not retried; it times out (the client retries,
 * as etcd's clients do for idempotent requests).
 */
import { type ConfChange, NONE, type NodeId, type RaftError, type RandomSource } from '@hakube/raft'
import type { Member } from '../backend.js'
import { StoreError } from '../errors.js'
import { checkRequestBytes, type Result } from '../mvcc/index.js'
import { approxRequestBytes, encodeJson } from './codec.js'
import type { StoreMetrics } from './metrics.js'
import { MAX_APPLY_BACKLOG_ENTRIES, type ResolvedStoreOptions, type StoreLogger } from './options.js'
import { PendingRequests } from './pending-requests.js'
import type { RaftLoop } from './raft-loop.js'
import type { ConfChangeContext, RequestBody } from './request.js'
import { addsData, type StateMachine } from './state-machine.js'

export interface ProposalsDeps {
  memberId: NodeId
  opts: ResolvedStoreOptions
  log: StoreLogger
  metrics: StoreMetrics | undefined
  now: () => number
  random: RandomSource
  sm: StateMachine
  /** The Raft loop (it exists once the member's log is open). */
  loop: () => RaftLoop
  /** Whether the member serves requests (not starting, stopping or stopped). */
  running: () => boolean
}

export class Proposals {
  private readonly pending = new PendingRequests()
  private readonly reqPrefix: string
  private reqSeq = 0
  private raisingNoSpace = false

  constructor(private readonly d: ProposalsDeps) {
    this.reqPrefix = `${d.memberId.toString(36)}.${d.now().toString(36)}.${d.random.intn(1 << 30)}`
  }

  /** Requests waiting for their entry to be applied here. */
  get size(): number {
    return this.pending.size
  }

  /** The error a request gets when it times out: no leader known → "no leader", else "request timed out". */
  timeoutError(): StoreError {
    return new StoreError(this.d.loop().leader === NONE ? 'STORE_ERR_NO_LEADER' : 'STORE_ERR_TIMEOUT')
  }

  /** etcd serves a learner only serializable reads and maintenance (design-learner.md). */
  learnerRefusal(): StoreError | undefined {
    return this.d.sm.member(this.d.memberId)?.isLearner === true
      ? new StoreError('STORE_ERR_NOT_SUPPORTED_FOR_LEARNER')
      : undefined
  }

  /** Proposes a request; resolves with its applied result. */
  propose<T>(body: RequestBody, signal?: AbortSignal): Promise<Result<T>> {
    const learner = body.kind === 'publish' ? undefined : this.learnerRefusal()
    if (learner !== undefined) return Promise.resolve({ ok: false, error: learner })
    const id = this.nextRequestId()
    const data = encodeJson({ ...body, id })
    // etcd limits the client's request, not our envelope (base64 would inflate it by a third).
    const cost = approxRequestBytes(body)
    const tooBig = checkRequestBytes(cost, this.d.opts.maxRequestBytes)
    if (tooBig !== undefined) return Promise.resolve({ ok: false, error: tooBig })
    // etcd's quotaKVServer: a write that would take the key space past the quota raises NOSPACE (through
    // Raft, for every member) and fails; while the alarm is raised the apply step refuses such writes.
    const quota = this.d.opts.quotaBackendBytes
    if (quota !== null && addsData(body) && this.d.sm.sizeBytes + cost > quota) {
      this.raiseNoSpace()
      return Promise.resolve({ ok: false, error: new StoreError('STORE_ERR_NO_SPACE') })
    }
    return this.waitApplied<T>(id, () => this.d.loop().propose(data), signal)
  }

  /** Proposes a membership change; resolves with the members after it was applied. */
  proposeConfChange(cc: Omit<ConfChange, 'context'>, member: Member): Promise<Result<Member[]>> {
    const reqId = this.nextRequestId()
    const context = encodeJson({ reqId, member } satisfies ConfChangeContext)
    return this.waitApplied<Member[]>(reqId, () => this.d.loop().proposeConfChange({ ...cc, context }))
  }

  /** The apply step's answer for request `id` (ignored unless this member proposed it). */
  finish(id: string, result: Result<unknown>): void {
    this.pending.finish(id, result)
  }

  failAll(error: StoreError): void {
    this.pending.failAll(error)
  }

  private raiseNoSpace(): void {
    if (this.raisingNoSpace || this.d.sm.noSpace()) return
    this.raisingNoSpace = true
    this.d.log.warn(
      { quotaBytes: this.d.opts.quotaBackendBytes, sizeBytes: this.d.sm.sizeBytes },
      'alarm NOSPACE raised',
    )
    void this.propose({
      kind: 'alarm',
      action: 'activate',
      memberId: this.d.memberId,
      alarm: 'NOSPACE',
    }).finally(() => {
      this.raisingNoSpace = false
    })
  }

  private admissionError(): StoreError | undefined {
    if (!this.d.running()) return new StoreError('STORE_ERR_STOPPED')
    const loop = this.d.loop()
    if (loop.committed - loop.appliedIndex > MAX_APPLY_BACKLOG_ENTRIES)
      return new StoreError('STORE_ERR_TOO_MANY_REQUESTS')
    return undefined
  }

  private nextRequestId(): string {
    return `${this.reqPrefix}.${++this.reqSeq}`
  }

  /** Proposes through Raft and resolves when this member applies the entry (or on timeout). */
  private async waitApplied<T>(
    id: string,
    propose: () => RaftError | undefined,
    signal?: AbortSignal,
  ): Promise<Result<T>> {
    const admit = this.admissionError()
    if (admit !== undefined) return { ok: false, error: admit }
    const { opts, metrics } = this.d
    const startedMs = this.d.now()
    // As etcd's raft node, hold proposals while there is no leader (an election is usually brief), but
    // not past the client's own deadline: a request its client gave up on is never proposed (etcd's
    // proposal waits on the request's context the same way).
    const led = await this.d.loop().waitForLeader((l) => l !== NONE, opts.requestTimeoutMs, signal)
    if (signal?.aborted === true) return { ok: false, error: new StoreError('STORE_ERR_CANCELED') }
    if (!led)
      return {
        ok: false,
        error: this.d.running() ? this.timeoutError() : new StoreError('STORE_ERR_STOPPED'),
      }
    // Bounded both ways: an injected clock may stand still or jump.
    const elapsedMs = Math.min(opts.requestTimeoutMs, Math.max(0, this.d.now() - startedMs))
    const remainingMs = Math.max(1, opts.requestTimeoutMs - elapsedMs)
    const result = this.pending.wait<T>(id, remainingMs, () => {
      metrics?.proposalsFailed.inc()
      return this.timeoutError()
    })
    const err = propose()
    if (err !== undefined) {
      this.d.log.debug({ err: err.message }, 'proposal dropped')
      metrics?.proposalsFailed.inc()
      this.pending.finish(id, { ok: false, error: this.timeoutError() })
    }
    return result
  }
}
