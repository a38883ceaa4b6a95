/**
 * The kubelet's node heartbeats for every simulated node: registration (POST the Node; an existing
 * one is adopted), the node Lease in kube-node-lease renewed every `renewIntervalMs` (the kubelet's
 * nodelease controller: update with the cached resourceVersion, get-or-create after a conflict or a
 * missing Lease, retries backing off 200 ms → 7 s), and NodeStatus posts (computed every
 * `statusUpdateMs`, posted when changed or when `statusReportMs` passed since the last post, as the
 * kubelet with leases does since 1.17).
 *
 * Scale: no per-node timer. Every renewal is a task on the shared Scheduler (one heap, one timer);
 * node i of N renews at i/N of the interval (renewalDueMs), so renewals spread evenly; every request
 * goes through the RequestPool (renewals first, then registration and status, then pod work; a
 * bounded number in flight). Lateness (start of a renewal minus its due time) is recorded for the stats.
 *
 * A failed node (`fail`) keeps its objects as they are and stops renewing and posting until
 * `recover`, which renews and posts at once.
 */
import { type ApiClient, isAlreadyExists, isConflict, isNotFound, type KubeObject } from '@hakube/api'
import type { Logger } from 'pino'
import {
  leaseObject,
  microTime,
  NODE_LEASE_NAMESPACE,
  type NodeIdentity,
  nodeObject,
  nodeStatus,
} from './node-object.js'
import type { RequestPool } from './request-pool.js'
import type { Scheduler } from './scheduler.js'

export interface HeartbeatOptions {
  readonly leaseDurationMs: number
  readonly renewIntervalMs: number
  readonly statusUpdateMs: number
  readonly statusReportMs: number
}

const NODES = { group: '', version: 'v1', plural: 'nodes', namespaced: false }
const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true }
const RETRY_MS_INITIAL = 200
const RETRY_MS_MAX = 7000
const LATENESS_SAMPLES_MAX = 20_000

interface LeaseObject extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string }
}

class NodeAgent {
  heartbeating = true
  registered = false
  uid: string | undefined
  lease: LeaseObject | undefined
  statusDirty = true
  lastStatusPostMs = 0
  transitionMs: number
  /** Bumped by fail/recover: tasks of an older generation end. */
  gen = 0
  leaseRetries = 0
  registerRetries = 0
  renewals = 0
  lastRenewMs: number | undefined

  constructor(
    readonly id: NodeIdentity,
    readonly index: number,
    nowMs: number,
  ) {
    this.transitionMs = nowMs
  }
}

export interface HeartbeatStats {
  renewals: number
  renewFailures: number
  statusPosts: number
  latenessMs: { samples: number; p50: number; p99: number; max: number }
}

export interface NodeSummary {
  name: string
  heartbeating: boolean
  registered: boolean
  lastRenewTime: string | null
}

export class Heartbeats {
  private readonly agents = new Map<string, NodeAgent>()
  private readonly boot: number
  private stopped = false
  private renewals = 0
  private renewFailures = 0
  private statusPosts = 0
  private lateness: number[] = []

  constructor(
    private readonly client: ApiClient,
    private readonly pool: RequestPool,
    private readonly scheduler: Scheduler,
    private readonly opts: HeartbeatOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly onLateness: (ms: number) => void = () => {},
  ) {
    this.boot = now()
  }

  /** Registers every node and starts its heartbeats; nodes in `failed` register, then stay silent. */
  start(nodes: readonly NodeIdentity[], failed: ReadonlySet<string>): void {
    const t0 = this.now()
    nodes.forEach((id, i) => {
      const a = new NodeAgent(id, i, t0)
      if (failed.has(id.name)) a.heartbeating = false
      this.agents.set(id.name, a)
      this.register(a, a.gen)
    })
  }

  has(name: string): boolean {
    return this.agents.has(name)
  }

  /** Stops the node's heartbeat (a node failure). False if the node is not simulated here. */
  fail(name: string): boolean {
    const a = this.agents.get(name)
    if (a === undefined) return false
    if (!a.heartbeating) return true
    a.heartbeating = false
    a.gen++
    this.log.info({ node: name }, 'node heartbeat stopped (simulated failure)')
    return true
  }

  /** Resumes the node's heartbeat: renews and posts status at once. */
  recover(name: string): boolean {
    const a = this.agents.get(name)
    if (a === undefined) return false
    if (a.heartbeating) return true
    a.heartbeating = true
    a.gen++
    a.statusDirty = true
    a.transitionMs = this.now()
    this.log.info({ node: name }, 'node heartbeat resumed')
    if (!a.registered) this.register(a, a.gen)
    else {
      const now = this.now()
      this.renew(a, a.gen, now)
      this.scheduleStatus(a, a.gen, now)
    }
    return true
  }

  /**
   * The Node was deleted: register it again (the kubelet notices at its next status update and does
   * the same). A failed node does so when it recovers.
   */
  nodeDeleted(name: string): void {
    const a = this.agents.get(name)
    if (a === undefined || !a.registered || this.stopped) return
    a.registered = false
    a.lease = undefined
    a.statusDirty = true
    a.gen++
    this.log.info({ node: name }, 'node deleted; registering it again')
    if (a.heartbeating) this.register(a, a.gen)
  }

  /** Resolves once every node has been registered (or the heartbeats stopped). */
  allRegistered(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.stopped || [...this.agents.values()].every((a) => a.registered)) resolve()
        else this.scheduler.at(this.now() + 500, check)
      }
      check()
    })
  }

  isHeartbeating(name: string): boolean {
    return this.agents.get(name)?.heartbeating ?? false
  }

  summaries(): NodeSummary[] {
    return [...this.agents.values()].map((a) => ({
      name: a.id.name,
      heartbeating: a.heartbeating,
      registered: a.registered,
      lastRenewTime: a.lastRenewMs === undefined ? null : microTime(a.lastRenewMs),
    }))
  }

  stats(): HeartbeatStats {
    const s = [...this.lateness].sort((x, y) => x - y)
    const q = (p: number) =>
      s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number)
    return {
      renewals: this.renewals,
      renewFailures: this.renewFailures,
      statusPosts: this.statusPosts,
      latenessMs: {
        samples: s.length,
        p50: q(0.5),
        p99: q(0.99),
        max: s.length === 0 ? 0 : (s[s.length - 1] as number),
      },
    }
  }

  /** Forgets the lateness samples (the bench measures a steady window). */
  resetStats(): void {
    this.lateness = []
    this.renewals = 0
    this.renewFailures = 0
    this.statusPosts = 0
  }

  stop(): void {
    this.stopped = true
  }

  private live(a: NodeAgent, gen: number): boolean {
    return !this.stopped && a.gen === gen
  }

  private register(a: NodeAgent, gen: number): void {
    this.pool
      .submit('heartbeat', async () => {
        if (!this.live(a, gen)) return
        const nodes = this.client.resource(NODES)
        let node: KubeObject
        try {
          node = await nodes.create(nodeObject(a.id) as KubeObject)
          this.log.info({ node: a.id.name }, 'node registered')
        } catch (err) {
          if (!isAlreadyExists(err)) throw err
          node = await nodes.get(a.id.name)
          this.log.info({ node: a.id.name }, 'node already registered; adopted')
        }
        a.uid = node.metadata?.uid
        a.registered = true
        await this.postStatus(a)
        await this.renewRequest(a)
      })
      .then(
        () => {
          if (!this.live(a, gen)) return
          a.registerRetries = 0
          const now = this.now()
          if (a.heartbeating) {
            this.scheduler.at(this.firstDueAfterRenewal(a, now), (due) => this.renew(a, gen, due))
            this.scheduleStatus(a, gen, now + this.opts.statusUpdateMs)
          }
        },
        (err: unknown) => {
          if (!this.live(a, gen)) return
          const wait = backoffMs(a.registerRetries++)
          this.log.warn({ node: a.id.name, err: errText(err), retryMs: wait }, 'node registration failed')
          this.scheduler.at(this.now() + wait, () => this.register(a, gen))
        },
      )
  }

  private renew(a: NodeAgent, gen: number, dueMs: number): void {
    if (!this.live(a, gen) || !a.heartbeating) return
    this.pool
      .submit('lease', async () => {
        if (!this.live(a, gen)) return false
        const late = Math.max(0, this.now() - dueMs)
        this.lateness.push(late)
        this.onLateness(late)
        if (this.lateness.length > LATENESS_SAMPLES_MAX) this.lateness.splice(0, this.lateness.length / 2)
        await this.renewRequest(a)
        return true
      })
      .then(
        (done) => {
          if (!done || !this.live(a, gen)) return
          a.leaseRetries = 0
          this.renewals++
          this.scheduler.at(this.firstDueAfterRenewal(a, this.now()), (due) => this.renew(a, gen, due))
        },
        (err: unknown) => {
          if (!this.live(a, gen)) return
          this.renewFailures++
          const wait = backoffMs(a.leaseRetries++)
          this.log.warn({ node: a.id.name, err: errText(err), retryMs: wait }, 'failed to update lease')
          // A retry is due now + wait; its lateness counts from there.
          this.scheduler.at(this.now() + wait, (due) => this.renew(a, gen, due))
        },
      )
  }

  /** The node's next slot on its renewal grid after a renewal at `nowMs` (see renewalDueMs). */
  private firstDueAfterRenewal(a: NodeAgent, nowMs: number): number {
    return renewalDueMs(a.index, this.agents.size, this.opts.renewIntervalMs, this.boot, nowMs)
  }

  /** One Lease write: update the cached Lease, else get-or-create (the kubelet's ensureLease). */
  private async renewRequest(a: NodeAgent): Promise<void> {
    const leases = this.client.resource<LeaseObject>(LEASES).namespace(NODE_LEASE_NAMESPACE)
    const durationS = this.opts.leaseDurationMs / 1000
    const now = this.now()
    const fresh = leaseObject(a.id.name, a.uid, durationS, now) as LeaseObject
    if (a.lease !== undefined) {
      try {
        a.lease = await leases.update({ ...a.lease, spec: { ...a.lease.spec, ...fresh.spec } })
        a.lastRenewMs = now
        return
      } catch (err) {
        if (!isConflict(err) && !isNotFound(err)) throw err
        a.lease = undefined
      }
    }
    // Create first (one request on a fresh cluster); an existing Lease is read and updated.
    try {
      a.lease = await leases.create(fresh)
    } catch (err) {
      if (!isAlreadyExists(err)) throw err
      const current = await leases.get(a.id.name)
      a.lease = await leases.update({ ...current, spec: { ...current.spec, ...fresh.spec } })
    }
    a.lastRenewMs = now
  }

  private scheduleStatus(a: NodeAgent, gen: number, dueMs: number): void {
    this.scheduler.at(dueMs, (due) => {
      if (!this.live(a, gen) || !a.heartbeating) return
      const now = this.now()
      const next = () => this.scheduleStatus(a, gen, due + this.opts.statusUpdateMs)
      if (!a.statusDirty && now - a.lastStatusPostMs < this.opts.statusReportMs) return next()
      this.pool
        .submit('heartbeat', () => (this.live(a, gen) ? this.postStatus(a) : Promise.resolve()))
        .then(next, (err: unknown) => {
          this.log.warn({ node: a.id.name, err: errText(err) }, 'error updating node status')
          if (isNotFound(err)) {
            // Someone deleted the Node: register it again, as the kubelet does.
            a.registered = false
            a.lease = undefined
            a.gen++
            this.register(a, a.gen)
            return
          }
          next()
        })
    })
  }

  private async postStatus(a: NodeAgent): Promise<void> {
    const now = this.now()
    await this.client
      .resource(NODES)
      .patch(a.id.name, { status: nodeStatus(a.id, now, a.transitionMs, this.boot) }, 'merge', {
        subresource: 'status',
      })
    a.statusDirty = false
    a.lastStatusPostMs = now
    this.statusPosts++
  }
}

/**
 * When node `index` of `count` renews next after a renewal at `nowMs`. Every node has a grid of slots
 * `originMs + index/count·interval + k·interval`, so the fleet's renewals are spread evenly over the
 * interval whatever order the nodes registered in and whatever retries happened: the next slot is the
 * first one more than a quarter interval away (no double renewal right after a registration or a
 * retry), so at most 1.25 intervals away, once; on the grid, exactly one interval (config.ts keeps the
 * interval at most half the Lease duration, so a Lease never comes near expiry).
 */
export function renewalDueMs(
  index: number,
  count: number,
  intervalMs: number,
  originMs: number,
  nowMs: number,
): number {
  const phase = originMs + Math.floor((index * intervalMs) / Math.max(1, count))
  const earliest = nowMs + intervalMs / 4
  return phase > earliest ? phase : phase + (Math.floor((earliest - phase) / intervalMs) + 1) * intervalMs
}

/** The kubelet's lease retry: 200 ms doubling to 7 s. */
export function backoffMs(retries: number): number {
  return Math.min(RETRY_MS_MAX, RETRY_MS_INITIAL * 2 ** Math.min(retries, 10))
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
