import type { StoreMember } from '@hakube/store/testing'
import { EtcdClient, type Msg, type Outcome, type Service, type StreamSession } from './client.js'
import { type MemberRole, type NormState, normalize } from './normalize.js'

/**
 * Runs one scenario against one cluster and keeps its transcript: every step's response (or gRPC status,
 * or gateway HTTP status and body), normalized (normalize.ts), under the step's label. The same scenario
 * on two clusters gives two transcripts; the suite asserts they are equal.
 */

export interface ConformanceCluster {
  label: string
  members: StoreMember[]
}

export type Transcript = Array<[string, unknown]>

export interface Scenario {
  name: string
  /** Which member the scenario's requests go to. */
  target: 'leader' | 'follower'
  run(c: Ctx): Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The first key after every key with prefix `p` (etcd's `clientv3.GetPrefixRangeEnd`). */
export function prefixEnd(p: Buffer): Buffer {
  const end = Buffer.from(p)
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] ?? 0) < 0xff) {
      end[i] = (end[i] ?? 0) + 1
      return end.subarray(0, i + 1)
    }
  }
  return Buffer.from([0])
}

/** One client per member endpoint of a cluster, reused by every scenario. */
export class ClusterClients {
  private readonly clients = new Map<string, EtcdClient>()

  constructor(readonly cluster: ConformanceCluster) {}

  of(m: StoreMember): EtcdClient {
    let c = this.clients.get(m.endpoint)
    if (c === undefined) {
      c = new EtcdClient(m.endpoint)
      this.clients.set(m.endpoint, c)
    }
    return c
  }

  /** Each member's id, the leader and the cluster id, from Maintenance.Status on every member. */
  async roles(): Promise<{ leader: StoreMember; ids: Map<StoreMember, string>; clusterId: string }> {
    const ids = new Map<StoreMember, string>()
    let leaderId: string | undefined
    let clusterId = ''
    for (const m of this.cluster.members) {
      const s = await this.of(m).must('Maintenance', 'Status', {}, 5_000)
      const h = s['header'] as Msg
      ids.set(m, String(h['member_id']))
      clusterId = String(h['cluster_id'])
      if (s['leader'] !== '0') leaderId ??= String(s['leader'])
      if (leaderId !== undefined && String(s['leader']) !== leaderId) {
        throw new Error(`${this.cluster.label}: members disagree on the leader`)
      }
    }
    const leader = [...ids].find(([, id]) => id === leaderId)?.[0]
    if (leader === undefined) throw new Error(`${this.cluster.label}: no leader`)
    return { leader, ids, clusterId }
  }

  /** Waits until every member answers Status and one is the leader. */
  async waitReady(timeoutMs: number): Promise<StoreMember> {
    const deadline = Date.now() + timeoutMs
    let last: unknown
    while (Date.now() < deadline) {
      for (const m of this.cluster.members) {
        if (m.proc === undefined) {
          throw new Error(
            `${this.cluster.label} ${m.name} is not running:\n${m.output.join('').slice(-3000)}`,
          )
        }
      }
      try {
        return (await this.roles()).leader
      } catch (err) {
        last = err
      }
      await sleep(200)
    }
    throw new Error(
      `${this.cluster.label}: not ready within ${timeoutMs} ms: ${String(last)}\n${this.logs()}`,
    )
  }

  logs(): string {
    return this.cluster.members.map((m) => `--- ${m.name}\n${m.output.join('').slice(-3000)}`).join('\n')
  }

  close(): void {
    for (const c of this.clients.values()) c.close()
    this.clients.clear()
  }
}

export async function runScenario(clients: ClusterClients, sc: Scenario, index: number): Promise<Transcript> {
  const { leader, ids, clusterId } = await clients.roles()
  const followers = clients.cluster.members.filter((m) => m !== leader)
  const target = sc.target === 'leader' ? leader : followers[0]
  if (target === undefined) throw new Error('no follower')
  const members: MemberRole[] = clients.cluster.members.map((m) => ({
    id: ids.get(m) ?? '?',
    name: m.name,
    host: m.host,
    role: m === leader ? '<leader>' : m === target ? '<target-follower>' : '<follower>',
  }))
  const prefix = `/conf/${String(index).padStart(2, '0')}-${sc.name}/`
  const client = clients.of(target)
  const probe = await client.must('KV', 'Range', { key: Buffer.from(prefix) })
  const base = Number((probe['header'] as Msg)['revision'])
  const st: NormState = { base, clusterId, members, leases: new Map(), explicitLeaseIds: new Set() }
  const ctx = new Ctx(client, target, prefix, st)
  try {
    await sc.run(ctx)
  } finally {
    await ctx.cleanup()
  }
  return ctx.transcript
}

export class Ctx {
  readonly transcript: Transcript = []
  private readonly streams: StreamSession[] = []

  constructor(
    readonly client: EtcdClient,
    readonly member: StoreMember,
    readonly prefix: string,
    private readonly st: NormState,
  ) {}

  /** A key of this scenario, as bytes. */
  k(suffix = ''): Buffer {
    return Buffer.from(this.prefix + suffix)
  }

  /** Base64 of a key of this scenario (gateway bodies). */
  k64(suffix = ''): string {
    return this.k(suffix).toString('base64')
  }

  /** The absolute revision `rel` revisions after the scenario's start. */
  rev(rel: number): string {
    return String(this.st.base + rel)
  }

  /** The server-chosen lease id named `sym` (L1, L2…) in this scenario's transcript. */
  lease(sym: string): string {
    for (const [id, s] of this.st.leases) if (s === sym) return id
    throw new Error(`no lease ${sym} yet`)
  }

  /** A lease id the client chooses: kept literally in the transcript (same on both clusters). */
  explicitLease(id: bigint): string {
    const s = id.toString()
    this.st.explicitLeaseIds.add(s)
    return s
  }

  record(label: string, value: unknown): void {
    this.transcript.push([label, normalize(value, this.st)])
  }

  /** Sends a unary request and records its response or status. */
  async call(label: string, service: Service, method: string, req: Msg): Promise<Outcome> {
    const o = await this.client.unary(service, method, req)
    this.record(label, o.ok ? o.res : { code: o.code, message: o.message })
    return o
  }

  kv(label: string, method: 'Range' | 'Put' | 'DeleteRange' | 'Txn' | 'Compact', req: Msg): Promise<Outcome> {
    return this.call(label, 'KV', method, req)
  }

  /** A request whose answer is not compared (setup); it must succeed. */
  silent(service: Service, method: string, req: Msg): Promise<Msg> {
    return this.client.must(service, method, req)
  }

  /** A Watch stream whose responses are recorded under `label`. */
  watch(label: string): StreamRec {
    return this.stream(label, 'Watch', 'Watch')
  }

  /** A LeaseKeepAlive stream whose responses are recorded under `label`. */
  keepAlive(label: string): StreamRec {
    return this.stream(label, 'Lease', 'LeaseKeepAlive')
  }

  private stream(label: string, service: 'Watch' | 'Lease', method: 'Watch' | 'LeaseKeepAlive'): StreamRec {
    const s = this.client.stream(service, method)
    this.streams.push(s)
    return new StreamRec(this, label, s)
  }

  /** POSTs a JSON body to the member's gateway and records the HTTP status and the parsed body. */
  gw(label: string, path: string, body: unknown): Promise<unknown> {
    return this.gwRaw(label, path, JSON.stringify(body))
  }

  /** As {@link gw} with the body's exact text (malformed input, numbers beyond 2^53). */
  async gwRaw(label: string, path: string, body: string): Promise<unknown> {
    const res = await fetch(`${this.member.clientUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(20_000),
    })
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = { unparsable: text }
    }
    this.record(label, { status: res.status, body: parsed })
    return parsed
  }

  /**
   * POSTs to a streaming gateway route (/v3/watch, /v3/lease/keepalive) and records the HTTP status and
   * the first `n` newline-delimited JSON values (fewer if the stream ends or 10 s pass), then aborts.
   */
  async gwStream(label: string, path: string, body: string, n: number): Promise<unknown[]> {
    const ctl = new AbortController()
    const timer = setTimeout(() => ctl.abort(), 10_000)
    const lines: unknown[] = []
    let status = 0
    try {
      const res = await fetch(`${this.member.clientUrl}${path}`, { method: 'POST', body, signal: ctl.signal })
      status = res.status
      const reader = res.body?.getReader()
      let text = ''
      while (reader !== undefined && lines.length < n) {
        const chunk = await reader.read()
        if (chunk.done) break
        text += Buffer.from(chunk.value).toString()
        const parts = text.split('\n')
        text = parts.pop() ?? ''
        for (const p of parts) if (p !== '') lines.push(JSON.parse(p))
      }
      if (text !== '' && lines.length < n) lines.push(JSON.parse(text))
    } catch (err) {
      lines.push(`stream failed: ${err instanceof Error ? err.name : String(err)}`)
    } finally {
      clearTimeout(timer)
      ctl.abort()
    }
    this.record(label, { status, lines })
    return lines
  }

  sleep(ms: number): Promise<void> {
    return sleep(ms)
  }

  /** Closes the scenario's streams and revokes every lease it saw (results not compared). */
  async cleanup(): Promise<void> {
    for (const s of this.streams) s.close()
    for (const id of [...this.st.leases.keys(), ...this.st.explicitLeaseIds]) {
      await this.client.unary('Lease', 'LeaseRevoke', { ID: id })
    }
  }
}

export class StreamRec {
  private n = 0

  constructor(
    private readonly ctx: Ctx,
    private readonly label: string,
    private readonly session: StreamSession,
  ) {}

  send(req: Msg): void {
    this.session.send(req)
  }

  /** Records the next `count` responses (a marker if fewer arrive). */
  async expect(count: number, what = ''): Promise<Array<Msg | string>> {
    const got = await this.session.next(count)
    // Responses of different watches to one write may come in any order (etcd keeps watchers in a map).
    const id = (r: Msg | string): number =>
      typeof r === 'string' ? Number.POSITIVE_INFINITY : Number(r['watch_id'])
    got.sort((a, b) => id(a) - id(b))
    for (const r of got) this.ctx.record(`${this.label} #${this.n++}${what === '' ? '' : ` ${what}`}`, r)
    return got
  }

  /** Everything received and not yet taken, unrecorded (the caller records a summary). */
  async take(): Promise<Msg[]> {
    return this.session.extra(0)
  }

  /** Records whatever arrives unasked within `ms` (expected: nothing). */
  async quiet(ms = 300): Promise<void> {
    const rest = await this.session.extra(ms)
    this.ctx.record(`${this.label} unexpected`, rest)
  }
}
