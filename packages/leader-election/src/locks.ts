/**
 * The resource locks over the api-server (client-go `resourcelock`): `endpoints` (the record as JSON
 * in the `control-plane.alpha.kubernetes.io/leader` annotation of an Endpoints object), `leases`
 * (a coordination.k8s.io/v1 Lease's spec), and `endpointsleases` (MultiLock: the Endpoints primary,
 * the Lease secondary, both written; differing holders read as `leaderelection.k8s.io/unknown`).
 *
 * Each lock caches the object of its last get, create or update and sends that object (so its
 * resourceVersion) with the next update: a 409 Conflict means someone else wrote in between, and
 * is reported as such, never retried here. Every call carries the given timeout
 * (max(1 s, renewDeadline/2) from the elector) and the elector's abort signal.
 * The `raw` of a read is the record's bytes plus the object's resourceVersion, so any write counts
 * as a change (see election-core.ts).
 */
import {
  type ApiClient,
  type CallOptions,
  type Endpoints,
  type Event,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type Lease,
  type ResourceClient,
  type ResourceType,
} from '@hakube/api'
import type { LockRead, WriteOutcome } from './election-core.js'
import type { ResourceLockKind } from './flags.js'
import {
  decodeRecord,
  encodeRecord,
  formatMicroTime,
  formatTime,
  LEADER_ANNOTATION,
  type LeaderElectionRecord,
  leaseSpecFromRecord,
  recordFromLeaseSpec,
  UNKNOWN_LEADER,
} from './record.js'

export interface ResourceLock {
  readonly kind: ResourceLockKind
  /** `namespace/name`. */
  describe(): string
  /** The record's time format: seconds for an Endpoints annotation, MicroTime for a Lease. */
  formatTime(ms: number): string
  get(options: CallOptions): Promise<LockRead>
  create(record: LeaderElectionRecord, options: CallOptions): Promise<WriteOutcome>
  update(record: LeaderElectionRecord, options: CallOptions): Promise<WriteOutcome>
  /** Best effort: a v1 Event about the lock object (reason LeaderElection). Never throws. */
  recordEvent(message: string, options: EventOptions): Promise<void>
}

export interface EventOptions extends CallOptions {
  /** `source.component` / `reportingComponent`, e.g. kube-scheduler. */
  component: string
  /** `reportingInstance` (the identity). */
  instance: string
  /** Local time of the event (ms). */
  now: number
}

const ENDPOINTS: ResourceType = { group: '', version: 'v1', plural: 'endpoints', namespaced: true }
const LEASES: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  namespaced: true,
}
const EVENTS: ResourceType = { group: '', version: 'v1', plural: 'events', namespaced: true }

export interface LockIdentity {
  namespace: string
  name: string
  /** The candidate's identity (MultiLock needs it). */
  identity: string
}

/** Creates the lock of `kind` (client-go `resourcelock.New`). */
export function newResourceLock(kind: ResourceLockKind, client: ApiClient, id: LockIdentity): ResourceLock {
  switch (kind) {
    case 'endpoints':
      return new EndpointsLock(client, id)
    case 'leases':
      return new LeaseLock(client, id)
    case 'endpointsleases':
      return new MultiLock(new EndpointsLock(client, id), new LeaseLock(client, id), id.identity)
  }
}

function failure(err: unknown): WriteOutcome {
  const message = err instanceof Error ? err.message : String(err)
  return isConflict(err) || isAlreadyExists(err) ? { kind: 'conflict', message } : { kind: 'error', message }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

abstract class SingleLock<T extends Endpoints | Lease> implements ResourceLock {
  abstract readonly kind: ResourceLockKind
  protected cached: T | undefined
  protected readonly objects: ResourceClient<T>

  constructor(
    protected readonly client: ApiClient,
    protected readonly id: LockIdentity,
    type: ResourceType,
    private readonly objectKind: string,
  ) {
    this.objects = client.resource<T>(type).namespace(id.namespace)
  }

  describe(): string {
    return `${this.id.namespace}/${this.id.name}`
  }

  abstract formatTime(ms: number): string
  protected abstract recordOf(obj: T): { record: LeaderElectionRecord; bytes: string }
  protected abstract withRecord(obj: T | undefined, record: LeaderElectionRecord): T

  /** Get, throwing NotFound and other errors (MultiLock needs them). */
  async read(options: CallOptions): Promise<{ record: LeaderElectionRecord; raw: string; bytes: string }> {
    const obj = await this.objects.get(this.id.name, options)
    this.cached = obj
    const { record, bytes } = this.recordOf(obj)
    return { record, raw: `${bytes}|${obj.metadata?.resourceVersion ?? ''}`, bytes }
  }

  async get(options: CallOptions): Promise<LockRead> {
    try {
      const { record, raw } = await this.read(options)
      return { kind: 'found', record, raw }
    } catch (err) {
      if (isNotFound(err)) return { kind: 'notFound' }
      return { kind: 'error', message: errorText(err) }
    }
  }

  async create(record: LeaderElectionRecord, options: CallOptions): Promise<WriteOutcome> {
    try {
      const obj = await this.objects.create(this.withRecord(undefined, record), options)
      this.cached = obj
      return { kind: 'ok', raw: this.rawOf(obj) }
    } catch (err) {
      return failure(err)
    }
  }

  async update(record: LeaderElectionRecord, options: CallOptions): Promise<WriteOutcome> {
    if (this.cached === undefined) {
      return { kind: 'error', message: `${this.objectKind} not initialized, call get or create first` }
    }
    try {
      const obj = await this.objects.update(this.withRecord(this.cached, record), options)
      this.cached = obj
      return { kind: 'ok', raw: this.rawOf(obj) }
    } catch (err) {
      return failure(err)
    }
  }

  async recordEvent(message: string, options: EventOptions): Promise<void> {
    const obj = this.cached
    const time = formatTime(options.now)
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${this.id.name}.${uniqueSuffix(options.now)}`,
        namespace: this.id.namespace,
      },
      involvedObject: {
        apiVersion: this.kind === 'leases' ? 'coordination.k8s.io/v1' : 'v1',
        kind: this.objectKind,
        namespace: this.id.namespace,
        name: this.id.name,
        ...(obj?.metadata?.uid ? { uid: obj.metadata.uid } : {}),
        ...(obj?.metadata?.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
      },
      reason: 'LeaderElection',
      message,
      source: { component: options.component },
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
      type: 'Normal',
      reportingComponent: options.component,
      reportingInstance: options.instance,
    }
    try {
      await this.client.resource<Event>(EVENTS).namespace(this.id.namespace).create(event, options)
    } catch {
      // Best effort, as client-go's recorder: an event never holds up or fails the election.
    }
  }

  private rawOf(obj: T): string {
    return `${this.recordOf(obj).bytes}|${obj.metadata?.resourceVersion ?? ''}`
  }
}

let eventCounter = 0
/** client-go names events `<object>.<unix nanos in hex>`; a counter keeps ours unique in-process. */
function uniqueSuffix(nowMs: number): string {
  eventCounter = (eventCounter + 1) % 1_000_000
  return (BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(eventCounter)).toString(16)
}

export class EndpointsLock extends SingleLock<Endpoints> {
  readonly kind = 'endpoints' as const

  constructor(client: ApiClient, id: LockIdentity) {
    super(client, id, ENDPOINTS, 'Endpoints')
  }

  formatTime(ms: number): string {
    return formatTime(ms)
  }

  protected recordOf(obj: Endpoints): { record: LeaderElectionRecord; bytes: string } {
    const text = obj.metadata?.annotations?.[LEADER_ANNOTATION]
    // No annotation: an empty record (client-go), which any candidate may take.
    if (text === undefined || text === '') {
      return {
        record: {
          holderIdentity: '',
          leaseDurationSeconds: 0,
          acquireTime: '',
          renewTime: '',
          leaderTransitions: 0,
        },
        bytes: '',
      }
    }
    return { record: decodeRecord(text), bytes: text }
  }

  protected withRecord(obj: Endpoints | undefined, record: LeaderElectionRecord): Endpoints {
    const base: Endpoints = obj ?? {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: this.id.name, namespace: this.id.namespace },
    }
    return {
      ...base,
      metadata: {
        ...base.metadata,
        annotations: { ...base.metadata?.annotations, [LEADER_ANNOTATION]: encodeRecord(record) },
      },
    }
  }
}

export class LeaseLock extends SingleLock<Lease> {
  readonly kind = 'leases' as const

  constructor(client: ApiClient, id: LockIdentity) {
    super(client, id, LEASES, 'Lease')
  }

  formatTime(ms: number): string {
    return formatMicroTime(ms)
  }

  protected recordOf(obj: Lease): { record: LeaderElectionRecord; bytes: string } {
    const record = recordFromLeaseSpec(obj.spec)
    return { record, bytes: encodeRecord(record) }
  }

  protected withRecord(obj: Lease | undefined, record: LeaderElectionRecord): Lease {
    const base: Lease = obj ?? {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.id.name, namespace: this.id.namespace },
    }
    return { ...base, spec: { ...base.spec, ...leaseSpecFromRecord(record) } }
  }
}

/**
 * client-go's MultiLock (v0.23 `multilock.go`): reads the primary then the secondary; a missing
 * secondary while someone else holds the primary reads as the primary (an old client holds it);
 * differing holders read as `leaderelection.k8s.io/unknown`; writes go to the primary first (its
 * resourceVersion decides the race), then create or update the secondary.
 */
export class MultiLock implements ResourceLock {
  readonly kind = 'endpointsleases' as const
  constructor(
    private readonly primary: EndpointsLock,
    private readonly secondary: LeaseLock,
    /** A missing secondary while this identity holds the primary is an error, not an old client. */
    private readonly identity: string,
  ) {}

  describe(): string {
    return this.primary.describe()
  }

  formatTime(ms: number): string {
    return formatTime(ms)
  }

  async get(options: CallOptions): Promise<LockRead> {
    let primary: Awaited<ReturnType<EndpointsLock['read']>>
    try {
      primary = await this.primary.read(options)
    } catch (err) {
      if (isNotFound(err)) return { kind: 'notFound' }
      return { kind: 'error', message: errorText(err) }
    }
    let secondary: Awaited<ReturnType<LeaseLock['read']>>
    try {
      secondary = await this.secondary.read(options)
    } catch (err) {
      if (isNotFound(err) && primary.record.holderIdentity !== this.identity) {
        return { kind: 'found', record: primary.record, raw: primary.raw }
      }
      return { kind: 'error', message: errorText(err) }
    }
    const record =
      primary.record.holderIdentity === secondary.record.holderIdentity
        ? primary.record
        : { ...primary.record, holderIdentity: UNKNOWN_LEADER }
    return { kind: 'found', record, raw: `${primary.raw},${secondary.raw}` }
  }

  async create(record: LeaderElectionRecord, options: CallOptions): Promise<WriteOutcome> {
    // client-go ignores AlreadyExists on the primary and creates the secondary anyway, which can
    // report success while another candidate's primary stands; here a lost primary is a conflict.
    const p = await this.primary.create(record, options)
    if (p.kind !== 'ok') return p
    const s = await this.secondary.create(record, options)
    if (s.kind !== 'ok') return s
    return { kind: 'ok', raw: `${p.raw},${s.raw}` }
  }

  async update(record: LeaderElectionRecord, options: CallOptions): Promise<WriteOutcome> {
    const p = await this.primary.update(record, options)
    if (p.kind !== 'ok') return p
    const s = await this.secondary.get(options)
    const written =
      s.kind === 'notFound'
        ? await this.secondary.create(record, options)
        : s.kind === 'found'
          ? await this.secondary.update(record, options)
          : ({ kind: 'error', message: s.message } as const)
    if (written.kind !== 'ok') return written
    return { kind: 'ok', raw: `${p.raw},${written.raw}` }
  }

  async recordEvent(message: string, options: EventOptions): Promise<void> {
    await this.primary.recordEvent(message, options)
    await this.secondary.recordEvent(message, options)
  }
}
