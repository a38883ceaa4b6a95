import { SeededRandom } from '../rand.js'
import { RawNode, raftOf } from '../raw-node.js'
import type { ConfState, Message, NodeId } from '../types.js'
import { SimChecker, SimViolation, type ViolationKind } from './sim-checker.js'
import { type ClientStats, SimClients } from './sim-clients.js'
import { type CrashPoint, type DriverHost, handleReady } from './sim-driver.js'
import { HEALED_NETWORK, partitionNetwork } from './sim-faults.js'
import { decodeImage, emptyImage, SimMember } from './sim-member.js'
import { SimMembership } from './sim-membership.js'
import {
  type DropReason,
  describeMessage,
  type Envelope,
  messageTypeCode,
  SimNetwork,
} from './sim-network.js'
import {
  deriveOptions,
  ELECTION_TICKS,
  LIVENESS_CONVERGE_TICKS_MAX,
  leaderElectionBoundTicks,
  raftConfigOf,
  type SimOptions,
  UNITS_PER_TICK,
} from './sim-options.js'

/**
 * The deterministic simulation of a Raft cluster (after TigerBeetle's VOPR and FoundationDB's
 * simulator): members are RawNodes over MemoryStorage "disks", driven through the Ready contract by a
 * driver that can crash them at any point; a simulated network loses, delays, reorders and duplicates
 * messages and partitions the cluster; clients propose, read, transfer leadership and change membership.
 * Everything (topology, faults, workload, and the nodes' own election timeouts) is drawn from one seeded
 * generator, so a run is a pure function of its seed and a failure replays exactly.
 *
 * A run is a safety phase (faults on, checkers watching every event) followed by a liveness phase (all
 * faults healed): a leader must then emerge within `leaderElectionBoundTicks` and, from then on, every
 * pending proposal must commit on every member within `LIVENESS_CONVERGE_TICKS_MAX`.
 */

export interface SimHooks {
  /** Called for every RawNode the simulation creates (start, restart, join): broken variants patch it. */
  onNodeCreated?: (id: NodeId, node: RawNode) => void
}

export interface SimRunOptions {
  /** Replace some seed-derived parameters (the rest are still derived from the seed). */
  overrides?: Partial<Omit<SimOptions, 'seed'>>
  hooks?: SimHooks
  /** 0: no trace; 1: faults, leaders, membership; 2: also every message. */
  traceLevel?: number
  /** Checks that only count instead of failing (for tests that prove each checker fails on its own). */
  disabledChecks?: readonly ViolationKind[]
}

export interface SimStats extends ClientStats {
  ticks: number
  messagesSent: number
  messagesDelivered: number
  messagesDropped: number
  messagesDuplicated: number
  crashes: number
  crashesInReady: number
  restarts: number
  partitions: number
  snapshotsCreated: number
  snapshotsInstalled: number
  leadersElected: number
  transfers: number
  membershipChanges: number
  maxTerm: number
  highestCommit: number
}

export interface SimResult {
  readonly seed: number
  readonly options: SimOptions
  readonly violation: SimViolation | undefined
  /** Ticks from the heal to a leader every member follows (-1 if not reached). */
  readonly leaderAfterHealTicks: number
  /** Ticks from that leader to every proposal committed and every member caught up (-1 if not reached). */
  readonly convergedAfterLeaderTicks: number
  readonly stats: SimStats
  /** Hash over every event of the run: equal seeds give equal digests. */
  readonly digest: number
  readonly trace: readonly string[]
}

/** Where a member may crash while handling a Ready (what a real process would lose at that point). */
/** Bounds on the workload, so a long leaderless stretch cannot pile up unbounded work. */
const PENDING_PROPOSALS_MAX = 64
/** A client told at once that its request was refused retries after this many ticks. */
const REFUSED_RETRY_TICKS = ELECTION_TICKS / 2
/** Ready rounds within one time unit before the driver declares a livelock in the core. */
const READY_ROUNDS_MAX = 1000

export class Simulation {
  readonly rng: SeededRandom
  readonly options: SimOptions
  readonly network: SimNetwork
  readonly checker: SimChecker
  readonly clients: SimClients
  /** Every member ever started, by id (ascending: new members get fresh, higher ids). */
  readonly members = new Map<NodeId, SimMember>()
  private readonly hooks: SimHooks
  private readonly traceLevel: number
  readonly trace: string[] = []
  private phase: 'safety' | 'liveness' = 'safety'
  tick = 0
  /** Current time in units (UNITS_PER_TICK per tick). */
  now = 0
  private digest = 0x811c9dc5
  private nextMemberId: NodeId
  private readonly membership: SimMembership
  private readonly driverHost: DriverHost
  private readonly stats = {
    crashes: 0,
    crashesInReady: 0,
    restarts: 0,
    partitions: 0,
    snapshotsCreated: 0,
    snapshotsInstalled: 0,
    transfers: 0,
    delivered: 0,
    dropped: 0,
    maxTerm: 0,
  }

  constructor(seed: number, run: SimRunOptions = {}) {
    this.rng = new SeededRandom(seed)
    this.options = { ...deriveOptions(seed, this.rng), ...run.overrides }
    this.hooks = run.hooks ?? {}
    this.traceLevel = run.traceLevel ?? 0
    this.checker = new SimChecker(run.disabledChecks)
    this.clients = new SimClients(this.checker, this.options.reproposeTicks, REFUSED_RETRY_TICKS)
    const o = this.options
    const sim = this
    this.network = new SimNetwork(this.rng, {
      dropRate: o.dropRate,
      duplicateRate: o.duplicateRate,
      latencyMin: o.latencyMin,
      latencyMax: o.latencyMax,
      longDelayRate: o.longDelayRate,
      longDelayMax: o.longDelayMax,
    })
    const founders = Array.from({ length: o.clusterSize }, (_, i) => i + 1)
    this.nextMemberId = founders.length + 1
    for (const id of founders) this.members.set(id, new SimMember(id, founders))
    this.membership = new SimMembership(
      {
        rng: this.rng,
        get tick() {
          return sim.tick
        },
        tracing: this.traceLevel > 0,
        runningMembers: () => this.runningMembers(),
        currentConfig: () => this.currentConfig(),
        addMember: () => this.addMember(),
        retire: (id) => this.retire(id),
        afterInput: (m) => this.afterInput(m),
        log: (line) => this.log(line),
      },
      o.membershipChanges,
      o.reproposeTicks,
      REFUSED_RETRY_TICKS,
    )
    this.driverHost = {
      rng: this.rng,
      options: o,
      checker: this.checker,
      clients: this.clients,
      membership: this.membership,
      get safetyPhase() {
        return sim.phase === 'safety'
      },
      tracing: this.traceLevel > 0,
      stats: this.stats,
      canCrash: () => this.canCrash(),
      crash: (m, point) => this.crash(m, point),
      send: (from, msg) => this.send(from, msg),
      afterInput: (m) => this.afterInput(m),
      log: (line) => this.log(line),
    }
  }

  log(line: string): void {
    this.trace.push(`t=${this.tick}.${this.now % UNITS_PER_TICK} ${line}`)
  }

  private mix(...values: number[]): void {
    let h = this.digest
    for (const v of values) h = Math.imul(h ^ (v | 0), 0x01000193) >>> 0
    this.digest = h
  }

  /** Runs both phases and the final checks; a violation ends the run and is returned, never thrown. */
  run(): SimResult {
    const o = this.options
    let violation: SimViolation | undefined
    let leaderAfterHeal = -1
    let convergedAfterLeader = -1
    try {
      for (const m of this.members.values()) this.start(m)
      for (; this.tick < o.safetyTicks; this.tick++) {
        this.now = this.tick * UNITS_PER_TICK
        this.injectFaults()
        this.clientActions()
        this.runTick()
      }
      const healTick = this.heal()
      const leaderBound = leaderElectionBoundTicks(o)
      for (; ; this.tick++) {
        this.now = this.tick * UNITS_PER_TICK
        this.membership.retireDue()
        this.reproposeDue()
        this.membership.step(false)
        this.runTick()
        const since = this.tick + 1 - healTick
        const leader = this.stableLeader()
        if (leader !== undefined && leaderAfterHeal < 0) leaderAfterHeal = since
        if (leader === undefined && leaderAfterHeal < 0 && since >= leaderBound) {
          throw new SimViolation(
            'liveness',
            `no leader followed by every member ${since} ticks after the faults healed (bound ${leaderBound}): ${this.describeProgress()}`,
          )
        }
        if (leader !== undefined && this.converged(leader)) {
          convergedAfterLeader = since - leaderAfterHeal
          this.clients.checkDurability(this.finalMembers(leader))
          break
        }
        if (leaderAfterHeal >= 0 && since - leaderAfterHeal >= LIVENESS_CONVERGE_TICKS_MAX) {
          throw new SimViolation(
            'liveness',
            `not converged ${since - leaderAfterHeal} ticks after a leader emerged (bound ${LIVENESS_CONVERGE_TICKS_MAX}): ${this.describeProgress()}`,
          )
        }
      }
    } catch (e) {
      violation =
        e instanceof SimViolation
          ? e
          : new SimViolation('coreInvariant', e instanceof Error ? (e.stack ?? e.message) : String(e))
      this.log(`VIOLATION ${violation.message}`)
    }
    return {
      seed: o.seed,
      options: o,
      violation,
      leaderAfterHealTicks: leaderAfterHeal,
      convergedAfterLeaderTicks: convergedAfterLeader,
      stats: this.collectStats(),
      digest: this.digest,
      trace: this.trace,
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Time

  /** One tick: every running member ticks, then messages arrive at their delivery times. */
  private runTick(): void {
    for (let u = 0; u < UNITS_PER_TICK; u++) {
      this.now = this.tick * UNITS_PER_TICK + u
      if (u === 0) {
        for (const m of this.members.values()) {
          if (m.node === undefined) continue
          m.node.tick()
          this.afterInput(m)
        }
      }
      for (const env of this.network.takeDue(this.now)) this.deliver(env)
      this.processReadies()
    }
  }

  private processReadies(): void {
    for (let round = 0; ; round++) {
      if (round >= READY_ROUNDS_MAX) throw new Error(`members still have Ready work after ${round} rounds`)
      let any = false
      for (const m of this.members.values()) {
        if (m.node?.hasReady()) {
          any = true
          handleReady(this.driverHost, m, m.node.ready())
        }
      }
      if (!any) return
    }
  }

  /** Checks run after every input a member processed. */
  private afterInput(m: SimMember): void {
    const r = m.node === undefined ? undefined : raftOf(m.node)
    if (r === undefined) return
    if (r.term > this.stats.maxTerm) this.stats.maxTerm = r.term
    if (r.state === 'leader') this.checker.onLeader(m.id, r.term, r.raftLog)
  }

  // ---------------------------------------------------------------------------------------------
  // Transport

  private send(from: SimMember, msg: Message): void {
    const to = this.members.get(msg.to)
    if (this.traceLevel > 1) this.log(`send ${describeMessage(msg)}`)
    if (to?.node === undefined) {
      this.dropped(msg, from.incarnation, 'down')
      return
    }
    if (!this.network.send(msg, this.now, from.incarnation)) this.dropped(msg, from.incarnation, 'lost')
  }

  private deliver(env: Envelope): void {
    const msg = env.msg
    const to = this.members.get(msg.to)
    if (to?.node === undefined) {
      this.dropped(msg, env.original ? env.fromIncarnation : -1, 'down')
      return
    }
    if (this.network.isBlocked(msg.from, msg.to)) {
      this.dropped(msg, env.original ? env.fromIncarnation : -1, 'partition')
      return
    }
    this.stats.delivered++
    this.mix(this.now, msg.from, msg.to, messageTypeCode(msg.type), msg.term, msg.index, msg.entries.length)
    if (this.traceLevel > 1) this.log(`recv ${describeMessage(msg)}`)
    // A fresh copy, as a real transport decodes one: duplicates must not share mutable state.
    to.node.step({ ...msg, entries: msg.entries.slice() })
    this.afterInput(to)
    if (msg.type === 'MsgSnap' && env.original) {
      const sender = this.members.get(msg.from)
      if (sender?.node !== undefined && sender.incarnation === env.fromIncarnation) {
        sender.node.reportSnapshot(msg.to, 'finish')
      }
    }
  }

  /**
   * A message did not arrive. The sender's transport notices a failed snapshot stream always, and a
   * broken connection sometimes (`reportUnreachableRate`). `fromIncarnation` -1: nobody to tell.
   */
  private dropped(msg: Message, fromIncarnation: number, reason: DropReason): void {
    this.stats.dropped++
    if (this.traceLevel > 1) this.log(`drop(${reason}) ${describeMessage(msg)}`)
    const sender = this.members.get(msg.from)
    if (sender?.node === undefined || sender.incarnation !== fromIncarnation) return
    if (msg.type === 'MsgSnap') sender.node.reportSnapshot(msg.to, 'failure')
    else if (this.rng.chance(this.options.reportUnreachableRate)) sender.node.reportUnreachable(msg.to)
  }

  // ---------------------------------------------------------------------------------------------
  // Crashes and restarts

  private downCount(): number {
    let n = 0
    for (const m of this.members.values()) if (!m.retired && m.node === undefined) n++
    return n
  }

  private canCrash(): boolean {
    return this.downCount() < this.options.maxDown
  }

  /** The process dies: its RawNode, state machine, client waiters and inbound connections are gone. */
  private crash(m: SimMember, point: CrashPoint | 'idle' | 'retired'): void {
    m.node = undefined
    m.waiters.clear()
    if (point !== 'retired') this.stats.crashes++
    if (point !== 'idle' && point !== 'retired') this.stats.crashesInReady++
    this.mix(0xc4a54, this.now, m.id)
    if (this.traceLevel > 0) this.log(`${m.id} crashed (${point})`)
    for (const env of this.network.purgeTo(m.id)) {
      this.dropped(env.msg, env.original ? env.fromIncarnation : -1, 'down')
    }
  }

  /**
   * Starts (or restarts) a member's process over its disk: a new RawNode, the state machine rebuilt from
   * the storage's snapshot (the node then hands out the committed entries after it again). A founding
   * member that never persisted its bootstrap bootstraps again, as a fresh data directory would.
   */
  private start(m: SimMember): void {
    const node = new RawNode({
      ...raftConfigOf(this.options),
      id: m.id,
      storage: m.storage,
      random: this.rng,
    })
    if (m.bootstrapPeers.length > 0 && m.storage.lastIndex() === 0) node.bootstrap(m.bootstrapPeers)
    const snap = m.storage.snapshot()
    m.sm = snap.metadata.index > 0 ? decodeImage(snap.data) : emptyImage()
    if (m.sm.index !== snap.metadata.index) throw new Error(`member ${m.id}: snapshot image mismatch`)
    if (m.sm.index > 0) this.checker.checkChain(m.id, m.sm.index, m.sm.hash)
    m.confState = snap.metadata.confState
    m.incarnation++
    this.hooks.onNodeCreated?.(m.id, node)
    m.node = node
    this.mix(0x57a47, this.now, m.id)
    if (this.traceLevel > 0 && m.incarnation > 1)
      this.log(`${m.id} restarted (snapshot ${snap.metadata.index})`)
  }

  // ---------------------------------------------------------------------------------------------
  // Faults (safety phase)

  private injectFaults(): void {
    const o = this.options
    if (this.rng.chance(o.crashRate) && this.canCrash()) {
      const up = this.runningMembers()
      if (up.length > 0) this.crash(this.rng.pick(up), 'idle')
    }
    for (const m of this.members.values()) {
      if (m.node === undefined && !m.retired && this.rng.chance(o.restartRate)) {
        this.stats.restarts++
        this.start(m)
      }
    }
    if (this.network.blockedLinks() > 0 && this.rng.chance(o.healRate)) {
      this.network.heal()
      if (this.traceLevel > 0) this.log('partition healed')
    } else if (this.rng.chance(o.partitionRate)) {
      this.partition()
    }
    this.membership.retireDue()
  }

  private partition(): void {
    const ids = [...this.members.values()].filter((m) => !m.retired).map((m) => m.id)
    if (ids.length < 2) return
    const leader = this.runningMembers().find((m) => raftOf(m.node!).state === 'leader')?.id
    const desc = partitionNetwork(this.rng, this.network, ids, leader)
    this.stats.partitions++
    this.mix(0x9a47, this.now, this.network.blockedLinks())
    if (this.traceLevel > 0) this.log(`partition: ${desc}`)
  }

  runningMembers(): SimMember[] {
    const up: SimMember[] = []
    for (const m of this.members.values()) if (m.node !== undefined) up.push(m)
    return up
  }

  /** Ends the safety phase: heals the network, restarts every member. Returns the heal tick. */
  private heal(): number {
    this.phase = 'liveness'
    this.network.heal()
    this.network.faults = HEALED_NETWORK
    this.membership.retireDue(true)
    for (const m of this.members.values()) {
      if (m.node === undefined && !m.retired) {
        this.stats.restarts++
        this.start(m)
      }
    }
    if (this.traceLevel > 0) this.log('=== liveness phase: faults healed ===')
    return this.tick
  }

  // ---------------------------------------------------------------------------------------------
  // Workload

  private clientActions(): void {
    const o = this.options
    const up = this.runningMembers()
    if (up.length === 0) return
    const proposals = Math.floor(o.proposeRate) + (this.rng.chance(o.proposeRate % 1) ? 1 : 0)
    for (let i = 0; i < proposals && this.clients.pending.size < PENDING_PROPOSALS_MAX; i++) {
      const m = this.rng.pick(up)
      const count = this.rng.chance(o.batchRate) ? this.rng.between(2, 8) : 1
      const ps = this.clients.propose(m, this.tick, count)
      this.afterInput(m)
      if (this.traceLevel > 0) {
        this.log(
          `propose ${ps.map((p) => `p${p.id}`)} at ${m.id}${ps[0]!.status === 'failed' ? ' (refused)' : ''}`,
        )
      }
    }
    if (this.rng.chance(o.readRate)) {
      const m = this.rng.pick(up)
      this.clients.issueRead(m)
      this.afterInput(m)
    }
    if (this.rng.chance(o.transferRate)) this.transferLeadership(up)
    this.reproposeDue()
    this.membership.step(true)
  }

  private transferLeadership(up: readonly SimMember[]): void {
    const leader = up.find((m) => raftOf(m.node!).state === 'leader')
    if (leader === undefined) return
    // Any other member, learners included: the leader must refuse to hand leadership to a learner.
    const members = [...raftOf(leader.node!).trk.progress.keys()].filter((id) => id !== leader.id)
    if (members.length === 0) return
    const target = this.rng.pick(members.sort((a, b) => a - b))
    // Ask the leader directly, or a random member (a follower forwards the request to its leader).
    const via = this.rng.chance(0.5) ? leader : this.rng.pick(up)
    via.node!.transferLeadership(target)
    this.afterInput(via)
    this.stats.transfers++
    if (this.traceLevel > 0) this.log(`transfer leadership ${leader.id} -> ${target} (via ${via.id})`)
  }

  /** Proposes again every pending proposal whose timeout expired. */
  private reproposeDue(): void {
    const up = this.runningMembers()
    if (up.length === 0) return
    for (const id of this.clients.pending) {
      const p = this.clients.proposal(id)!
      if (this.tick < p.retryTick) continue
      const m = this.rng.pick(up)
      this.clients.repropose(m, id, this.tick)
      this.afterInput(m)
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Membership (driven by SimMembership)

  private addMember(): SimMember {
    const m = new SimMember(this.nextMemberId++, [])
    this.members.set(m.id, m)
    this.start(m)
    return m
  }

  /** Shuts a removed member down for good. */
  private retire(id: NodeId): void {
    const m = this.members.get(id)!
    if (m.node !== undefined) this.crash(m, 'retired')
    m.retired = true
    if (this.traceLevel > 0) this.log(`${id} retired`)
  }

  /** The configuration of the member that applied the most. */
  private currentConfig(): ConfState {
    let best: SimMember | undefined
    for (const m of this.members.values()) {
      if (!m.retired && (best === undefined || m.sm.index > best.sm.index)) best = m
    }
    return best!.confState
  }

  // ---------------------------------------------------------------------------------------------
  // Liveness

  /** A leader that every running member of its configuration follows. */
  private stableLeader(): SimMember | undefined {
    const leader = this.runningMembers().find((m) => raftOf(m.node!).state === 'leader')
    if (leader === undefined) return undefined
    for (const id of raftOf(leader.node!).trk.progress.keys()) {
      const m = this.members.get(id)
      if (m?.node === undefined || raftOf(m.node).lead !== leader.id) return undefined
    }
    return leader
  }

  /** The running members of the leader's configuration (all of it, in the liveness phase). */
  private finalMembers(leader: SimMember): SimMember[] {
    const ids = [...raftOf(leader.node!).trk.progress.keys()].sort((a, b) => a - b)
    return ids.map((id) => this.members.get(id)).filter((m): m is SimMember => m?.node !== undefined)
  }

  private converged(leader: SimMember): boolean {
    if (this.clients.pending.size > 0 || this.membership.pending()) return false
    const log = raftOf(leader.node!).raftLog
    if (log.committed !== log.lastIndex()) return false
    return this.finalMembers(leader).every((m) => m.sm.index === log.committed)
  }

  private describeProgress(): string {
    const parts = [`pending proposals ${this.clients.pending.size}`]
    const membership = this.membership.describePending()
    if (membership !== undefined) parts.push(membership)
    for (const m of this.members.values()) {
      if (m.retired) continue
      const r = m.node === undefined ? undefined : raftOf(m.node)
      parts.push(
        r === undefined
          ? `${m.id}: down`
          : `${m.id}: ${r.state} term ${r.term} vote ${r.vote} lead ${r.lead} commit ${r.raftLog.committed} applied ${m.sm.index} last ${r.raftLog.lastIndex()}/${r.raftLog.lastTerm()} voters [${[...r.trk.voters]}] learners [${[...r.trk.learners]}]`,
      )
    }
    return parts.join('; ')
  }

  private collectStats(): SimStats {
    return {
      ...this.clients.stats,
      ticks: this.tick,
      messagesSent: this.network.sent,
      messagesDelivered: this.stats.delivered,
      messagesDropped: this.stats.dropped,
      messagesDuplicated: this.network.duplicated,
      crashes: this.stats.crashes,
      crashesInReady: this.stats.crashesInReady,
      restarts: this.stats.restarts,
      partitions: this.stats.partitions,
      snapshotsCreated: this.stats.snapshotsCreated,
      snapshotsInstalled: this.stats.snapshotsInstalled,
      leadersElected: this.checker.leadersElected,
      transfers: this.stats.transfers,
      membershipChanges: this.membership.epochsDone,
      maxTerm: this.stats.maxTerm,
      highestCommit: this.checker.highestCommit,
    }
  }
}

/** Runs one seed. */
export function runSimulation(seed: number, run: SimRunOptions = {}): SimResult {
  return new Simulation(seed, run).run()
}
