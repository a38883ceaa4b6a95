/**
 * A cluster of in-process {@link StoreServer}s over a {@link MemoryNetwork}, with temp data dirs, for
 * the server's tests. Small timings: heartbeat 10 ms, election timeout 100 ms.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NodeId } from '@hakube/raft'
import { deriveMemberId } from '../member-id.js'
import type { StoreServerOptions } from '../options.js'
import { StoreServer } from '../store-server.js'
import { MemoryNetwork } from './memory-transport.js'

export const HEARTBEAT_MS = 10
export const ELECTION_MS = 100
export const TOKEN = 'test-token'

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
export const dec = (b: Uint8Array | undefined): string => (b === undefined ? '' : new TextDecoder().decode(b))

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Polls `fn` every 5 ms until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

export class TestCluster {
  readonly network = new MemoryNetwork()
  readonly servers = new Map<string, StoreServer>()
  readonly initialCluster: Record<string, string[]> = {}

  private constructor(
    readonly root: string,
    private readonly overrides: Partial<StoreServerOptions>,
  ) {}

  static async start(size: number, overrides: Partial<StoreServerOptions> = {}): Promise<TestCluster> {
    const root = await mkdtemp(join(tmpdir(), 'hakube-store-server-'))
    const c = new TestCluster(root, overrides)
    for (let i = 1; i <= size; i++) c.initialCluster[`m${i}`] = [`http://127.0.1.${i}:2380`]
    await Promise.all(Object.keys(c.initialCluster).map((name) => c.startMember(name, 'new')))
    return c
  }

  idOf(name: string): NodeId {
    return deriveMemberId(this.initialCluster[name] ?? [], TOKEN)
  }

  server(name: string): StoreServer {
    const s = this.servers.get(name)
    if (s === undefined) throw new Error(`no running member ${name}`)
    return s
  }

  running(): StoreServer[] {
    return [...this.servers.values()]
  }

  async startMember(
    name: string,
    state: 'new' | 'existing',
    extra: Partial<StoreServerOptions> = {},
  ): Promise<StoreServer> {
    const id = this.idOf(name)
    const s = await StoreServer.start({
      name,
      dataDir: join(this.root, name),
      initialCluster: { ...this.initialCluster },
      initialClusterToken: TOKEN,
      initialClusterState: state,
      clientUrls: [`http://client.${name}:2379`],
      heartbeatIntervalMs: HEARTBEAT_MS,
      electionTimeoutMs: ELECTION_MS,
      requestTimeoutMs: 1000,
      transport: this.network.transport(id),
      ...this.overrides,
      ...extra,
    })
    this.servers.set(name, s)
    return s
  }

  async crash(name: string): Promise<void> {
    await this.server(name).crash()
    this.servers.delete(name)
  }

  async stop(name: string): Promise<void> {
    await this.server(name).stop()
    this.servers.delete(name)
  }

  /** The member that leads with every running member agreeing, within `timeoutMs`. */
  leader(timeoutMs = 3000): Promise<StoreServer> {
    return until(
      'an agreed leader',
      () => {
        const all = this.running()
        const lead = all[0]?.leader()
        if (lead === undefined || lead === 0 || !all.every((s) => s.leader() === lead)) return undefined
        return all.find((s) => s.memberId === lead)
      },
      timeoutMs,
    )
  }

  async destroy(): Promise<void> {
    await Promise.all(this.running().map((s) => s.crash()))
    this.servers.clear()
    await rm(this.root, { recursive: true, force: true })
  }
}
