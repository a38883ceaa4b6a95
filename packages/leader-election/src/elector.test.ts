/**
 * LeaderElector against a real in-process api-server (memory storage), for each lock kind, with
 * short durations (lease 3 s, renew 2 s, retry 0.5 s) and four electors whose lock calls pass
 * through a switch that can make them fail at once (a killed process: nothing more reaches the
 * server) or hang until their timeout (a leader cut off from the api-server).
 *
 * Each kind runs: one leader among three, named by the record in the object(s) and by an Event;
 * kill of the leader → a standby leads within lease + 2.2 × retry (+ slack for a loaded machine);
 * release (abort) → the last standby leads within about one jittered retry period; a leader cut
 * off → it stops leading before the fourth elector starts (recorded times), within the bound.
 * Throughout, leading intervals (onStartedLeading → abort of its signal) never overlap.
 */
import type { CallOptions, Endpoints, Event, KubeList, Lease } from '@hakube/api'
import { ApiClient } from '@hakube/api'
import { startTestServer, stopTestServers, type TestServer } from '@hakube/api-server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LockRead, WriteOutcome } from './election-core.js'
import { LeaderElector } from './elector.js'
import type { ResourceLockKind } from './flags.js'
import { type EventOptions, newResourceLock, type ResourceLock } from './locks.js'
import { decodeRecord, LEADER_ANNOTATION, type LeaderElectionRecord } from './record.js'

const LEASE_MS = 3_000
const RENEW_MS = 2_000
const RETRY_MS = 500
/** Extra time allowed for a loaded 2-core machine. */
const SLACK_MS = 1_500

let server: TestServer
let client: ApiClient

beforeAll(async () => {
  server = await startTestServer({ namespaces: ['kube-system'] })
  client = new ApiClient({ baseUrl: server.base, requestTimeoutMs: 5_000 })
})
afterAll(async () => {
  await client?.close()
  await stopTestServers()
})

type Mode = 'ok' | 'dead' | 'hang'

/** A lock whose calls can fail at once (dead) or hang until their timeout (hang). */
class SwitchedLock implements ResourceLock {
  mode: Mode = 'ok'
  constructor(private readonly inner: ResourceLock) {}
  get kind() {
    return this.inner.kind
  }
  describe(): string {
    return this.inner.describe()
  }
  formatTime(ms: number): string {
    return this.inner.formatTime(ms)
  }
  private async gate(options: CallOptions): Promise<string | undefined> {
    if (this.mode === 'dead') return 'connect ECONNREFUSED (test: killed)'
    if (this.mode === 'hang') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.timeoutMs ?? 1_000)
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer)
          resolve()
        })
      })
      return 'timeout (test: cut off)'
    }
    return undefined
  }
  async get(options: CallOptions): Promise<LockRead> {
    const e = await this.gate(options)
    return e === undefined ? this.inner.get(options) : { kind: 'error', message: e }
  }
  /**
   * When the last write that succeeded and changed the record was sent (others saw it no earlier).
   * A renewal within the same second as the one before writes the same Endpoints annotation
   * (RFC 3339 seconds, as client-go's): the others observe no change, so it does not count.
   */
  lastOkWriteSentAt = 0
  private lastRaw: string | undefined
  async create(record: LeaderElectionRecord, options: CallOptions): Promise<WriteOutcome> {
    return this.write(() => this.inner.create(record, options), options)
  }
  async update(record: LeaderElectionRecord, options: CallOptions): Promise<WriteOutcome> {
    return this.write(() => this.inner.update(record, options), options)
  }
  private async write(send: () => Promise<WriteOutcome>, options: CallOptions): Promise<WriteOutcome> {
    const e = await this.gate(options)
    if (e !== undefined) return { kind: 'error', message: e }
    const sentAt = Date.now()
    const outcome = await send()
    if (outcome.kind === 'ok' && outcome.raw !== this.lastRaw) {
      this.lastRaw = outcome.raw
      this.lastOkWriteSentAt = Math.max(this.lastOkWriteSentAt, sentAt)
    }
    return outcome
  }
  async recordEvent(message: string, options: EventOptions): Promise<void> {
    if (this.mode === 'ok') await this.inner.recordEvent(message, options)
  }
}

interface Interval {
  who: string
  start: number
  end?: number
}

interface Candidate {
  id: string
  elector: LeaderElector
  lock: SwitchedLock
  abort: AbortController
  done: Promise<void>
}

function startCandidate(kind: ResourceLockKind, name: string, id: string, intervals: Interval[]): Candidate {
  const lock = new SwitchedLock(
    newResourceLock(kind, client, { namespace: 'kube-system', name, identity: id }),
  )
  const elector = new LeaderElector({
    client,
    lock: kind,
    name,
    namespace: 'kube-system',
    identity: id,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: RENEW_MS,
    retryPeriodMs: RETRY_MS,
    eventSource: 'test-elector',
    resourceLock: lock,
    callbacks: {
      onStartedLeading(signal) {
        const interval: Interval = { who: id, start: Date.now() }
        intervals.push(interval)
        signal.addEventListener('abort', () => {
          interval.end = Date.now()
        })
      },
      onStoppedLeading() {},
    },
  })
  const abort = new AbortController()
  return { id, elector, lock, abort, done: elector.run(abort.signal) }
}

async function waitFor<T>(what: string, fn: () => T | undefined, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const value = fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

function leaders(cs: Candidate[]): Candidate[] {
  return cs.filter((c) => c.elector.isLeader())
}

function assertNoOverlap(intervals: Interval[]): void {
  const sorted = [...intervals].sort((a, b) => a.start - b.start)
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as Interval
    const cur = sorted[i] as Interval
    expect(prev.end, `${prev.who} still leads when ${cur.who} starts`).toBeDefined()
    expect(
      prev.end as number,
      `${prev.who} [${prev.start}, ${prev.end}] overlaps ${cur.who} from ${cur.start}`,
    ).toBeLessThanOrEqual(cur.start)
  }
}

async function storedRecords(kind: ResourceLockKind, name: string): Promise<LeaderElectionRecord[]> {
  const out: LeaderElectionRecord[] = []
  if (kind !== 'leases') {
    const ep = await client
      .resource<Endpoints>({ group: '', version: 'v1', plural: 'endpoints', namespaced: true })
      .namespace('kube-system')
      .get(name)
    out.push(decodeRecord(ep.metadata?.annotations?.[LEADER_ANNOTATION] ?? '{}'))
  }
  if (kind !== 'endpoints') {
    const lease = await client
      .resource<Lease>({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true })
      .namespace('kube-system')
      .get(name)
    expect(lease.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    out.push({
      holderIdentity: lease.spec?.holderIdentity ?? '',
      leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 0,
      acquireTime: lease.spec?.acquireTime ?? '',
      renewTime: lease.spec?.renewTime ?? '',
      leaderTransitions: lease.spec?.leaseTransitions ?? 0,
    })
  }
  return out
}

describe('LeaderElector against the api-server', () => {
  const kinds: ResourceLockKind[] = ['endpoints', 'leases', 'endpointsleases']
  it.concurrent.each(kinds)(
    '%s: kill, release and cut-off hand over in bound, never overlapping',
    async (kind) => {
      const name = `test-${kind}`
      const intervals: Interval[] = []
      const all: Candidate[] = []
      try {
        for (const n of [1, 2, 3]) all.push(startCandidate(kind, name, `${kind}-host${n}_id`, intervals))

        // One leader, named by the stored record(s) and an Event.
        const first = await waitFor('a first leader', () => leaders(all)[0], LEASE_MS + SLACK_MS)
        await new Promise((r) => setTimeout(r, RETRY_MS * 2))
        expect(leaders(all).map((c) => c.id)).toEqual([first.id])
        // Standbys learn the holder by their next read (within a jittered retry period).
        await waitFor(
          'every candidate to observe the leader',
          () => (all.every((c) => c.elector.getLeader() === first.id) ? true : undefined),
          2.2 * RETRY_MS + SLACK_MS,
        )
        const records = await storedRecords(kind, name)
        expect(records.length).toBe(kind === 'endpointsleases' ? 2 : 1)
        for (const r of records) {
          expect(r.holderIdentity).toBe(first.id)
          expect(r.leaseDurationSeconds).toBe(3)
        }
        expect(first.elector.healthz()).toEqual({ ok: true })
        const events = await client
          .resource<Event>({ group: '', version: 'v1', plural: 'events', namespaced: true })
          .namespace('kube-system')
          .list()
        const mine = (events as KubeList<Event>).items.filter((e) => e.involvedObject.name === name)
        expect(
          mine.some((e) => e.reason === 'LeaderElection' && e.message === `${first.id} became leader`),
        ).toBe(true)

        // Kill: nothing more reaches the server, no release.
        const killedAt = Date.now()
        first.lock.mode = 'dead'
        first.abort.abort()
        await first.done
        const second = await waitFor(
          'a leader after the kill',
          () => leaders(all)[0],
          LEASE_MS + 2.2 * RETRY_MS + SLACK_MS,
        )
        expect(second.id).not.toBe(first.id)
        // The standby waited out the lease after the killed leader's last renewal (which may
        // precede the kill by more than a retry period on a loaded machine).
        const secondStart = (intervals.find((i) => i.who === second.id) as Interval).start
        expect(secondStart - first.lock.lastOkWriteSentAt).toBeGreaterThanOrEqual(LEASE_MS)
        expect(secondStart - killedAt).toBeLessThanOrEqual(LEASE_MS + 2.2 * RETRY_MS + SLACK_MS)

        // Release: the last standby takes over within about one jittered retry period.
        const releasedAt = Date.now()
        second.abort.abort()
        await second.done
        const third = await waitFor(
          'a leader after the release',
          () => leaders(all)[0],
          2.2 * RETRY_MS + SLACK_MS,
        )
        expect(Date.now() - releasedAt).toBeLessThan(2.2 * RETRY_MS + SLACK_MS)
        const afterRelease = await storedRecords(kind, name)
        for (const r of afterRelease) expect(r.holderIdentity).toBe(third.id)

        // Cut off: the leader stops before the new standby acquires.
        const fourth = startCandidate(kind, name, `${kind}-host4_id`, intervals)
        all.push(fourth)
        await new Promise((r) => setTimeout(r, RETRY_MS * 3))
        const cutAt = Date.now()
        third.lock.mode = 'hang'
        await third.done // resolves on its own: leadership lost
        expect(third.elector.isLeader()).toBe(false)
        const thirdInterval = intervals.find((i) => i.who === third.id)
        expect(thirdInterval?.end).toBeDefined()
        expect((thirdInterval?.end as number) - cutAt).toBeLessThanOrEqual(RENEW_MS + 500)
        await waitFor(
          'the fourth to lead',
          () => (fourth.elector.isLeader() ? true : undefined),
          LEASE_MS + 2.2 * RETRY_MS + SLACK_MS,
        )
        const fourthInterval = intervals.find((i) => i.who === fourth.id) as Interval
        expect(fourthInterval.start).toBeGreaterThanOrEqual(thirdInterval?.end as number)
        assertNoOverlap(intervals)
        expect(intervals.map((i) => i.who)).toEqual([first.id, second.id, third.id, fourth.id])
      } finally {
        for (const c of all) {
          c.lock.mode = 'dead'
          c.abort.abort()
        }
        await Promise.all(all.map((c) => c.done))
      }
    },
  )

  it.concurrent.each([
    ['differing holders (read as unknown)', true],
    ['an old client holding only the Endpoints', false],
  ] as const)(
    'endpointsleases: %s: waits out the lease, then writes both objects',
    async (_what, withLease) => {
      const name = withLease ? 'multi-mismatch' : 'multi-old-client'
      const old = {
        holderIdentity: 'old-a',
        leaseDurationSeconds: 3,
        acquireTime: '',
        renewTime: '',
        leaderTransitions: 7,
      }
      await client
        .resource<Endpoints>({ group: '', version: 'v1', plural: 'endpoints', namespaced: true })
        .namespace('kube-system')
        .create({ metadata: { name, annotations: { [LEADER_ANNOTATION]: JSON.stringify(old) } } })
      if (withLease) {
        await client
          .resource<Lease>({
            group: 'coordination.k8s.io',
            version: 'v1',
            plural: 'leases',
            namespaced: true,
          })
          .namespace('kube-system')
          .create({
            metadata: { name },
            spec: { holderIdentity: 'old-b', leaseDurationSeconds: 3, leaseTransitions: 7 },
          })
      }
      const intervals: Interval[] = []
      const startedAt = Date.now()
      const c = startCandidate('endpointsleases', name, 'new_id', intervals)
      try {
        await waitFor(
          'the new candidate to lead',
          () => (c.elector.isLeader() ? true : undefined),
          LEASE_MS + 2.2 * RETRY_MS + SLACK_MS,
        )
        expect(Date.now() - startedAt).toBeGreaterThanOrEqual(LEASE_MS)
        expect(c.elector.getLeader()).toBe('new_id')
        const records = await storedRecords('endpointsleases', name)
        expect(records.map((r) => [r.holderIdentity, r.leaderTransitions])).toEqual([
          ['new_id', 8],
          ['new_id', 8],
        ])
      } finally {
        c.abort.abort()
        await c.done
      }
      // Released in both objects.
      expect((await storedRecords('endpointsleases', name)).map((r) => r.holderIdentity)).toEqual(['', ''])
    },
  )
})
