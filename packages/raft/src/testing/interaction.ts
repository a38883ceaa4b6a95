import type { RaftLogger } from '../logger.js'
import { SeededRandom } from '../rand.js'
import type { Ready } from '../raw-node.js'
import { RawNode, raftOf } from '../raw-node.js'
import { MemoryStorage } from '../storage.js'
import type { ConfChange, Entry, Message, NodeId } from '../types.js'
import { decodeConfChange } from '../types.js'

/**
 * Data-driven interaction tests, after etcd-io/raft's `rafttest`: a script of commands, each followed by
 * the exact trace it must produce (Ready batches, messages, raft's own log lines). Scripts live in
 * `testdata/*.txt`; `REWRITE=1` regenerates the expected traces (review the diff before committing it).
 *
 * Script format: a command line, a `----` line, then the expected output up to a blank line.
 * Lines starting with `#` between blocks are comments.
 */

export interface InteractionBlock {
  /** 1-based line of the command in the file. */
  line: number
  command: string
  args: string[]
  /** Raw command line. */
  input: string
  expected: string
}

export function parseScript(text: string): InteractionBlock[] {
  const lines = text.split('\n')
  const blocks: InteractionBlock[] = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (line.trim() === '' || line.startsWith('#')) {
      i++
      continue
    }
    const start = i
    const input = line.trim()
    i++
    if (lines[i] !== '----') throw new Error(`line ${i + 1}: expected ---- after command "${input}"`)
    i++
    const out: string[] = []
    while (i < lines.length && lines[i] !== '') out.push(lines[i++]!)
    const [command, ...args] = input.split(/\s+/)
    blocks.push({ line: start + 1, command: command!, args, input, expected: out.join('\n') })
  }
  return blocks
}

/** Rewrites a script with new expected outputs, keeping comments and layout. */
export function rewriteScript(
  text: string,
  blocks: readonly InteractionBlock[],
  outputs: readonly string[],
): string {
  const lines = text.split('\n')
  const byLine = new Map(blocks.map((b, i) => [b.line, outputs[i] ?? '']))
  const result: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const out = byLine.get(i + 1)
    if (out === undefined) {
      result.push(lines[i]!)
      continue
    }
    result.push(lines[i]!, '----')
    if (out !== '') result.push(...out.split('\n'))
    i += 2
    while (i < lines.length && lines[i] !== '') i++
    i--
  }
  return result.join('\n')
}

const dec = new TextDecoder()
const enc = new TextEncoder()

function fmtData(e: Entry): string {
  if (e.type === 'confChange') {
    const cc = decodeConfChange(e.data)
    return `${cc.type === 'addNode' ? 'v' : cc.type === 'addLearnerNode' ? 'l' : 'r'}${cc.nodeId}`
  }
  return JSON.stringify(dec.decode(e.data))
}

export function fmtEntry(e: Entry): string {
  return `${e.term}/${e.index} ${e.type === 'confChange' ? 'EntryConfChange' : 'EntryNormal'} ${fmtData(e)}`
}

export function fmtMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} Term:${m.term}`
  if (m.type === 'MsgApp' || m.type === 'MsgVote' || m.type === 'MsgPreVote' || m.reject || m.logTerm !== 0) {
    s += ` Log:${m.logTerm}/${m.index}`
  } else if (m.index !== 0) {
    s += ` Index:${m.index}`
  }
  if (m.commit !== 0) s += ` Commit:${m.commit}`
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`
  if (m.entries.length > 0) s += ` Entries:[${m.entries.map(fmtEntry).join(', ')}]`
  if (m.snapshot !== undefined) {
    const md = m.snapshot.metadata
    s += ` Snapshot: Index:${md.index} Term:${md.term} ConfState:Voters:[${md.confState.voters.join(' ')}] Learners:[${md.confState.learners.join(' ')}]`
  }
  if (m.context !== undefined && m.context.length > 0 && m.type !== 'MsgVote' && m.type !== 'MsgPreVote') {
    s += ` Context:${JSON.stringify(dec.decode(m.context))}`
  }
  return s
}

function fmtReady(rd: Ready): string[] {
  const out = [`Ready MustSync=${rd.mustSync}:`]
  if (rd.softState !== undefined) out.push(`Lead:${rd.softState.lead} State:${rd.softState.raftState}`)
  if (rd.hardState !== undefined) {
    out.push(`HardState Term:${rd.hardState.term} Vote:${rd.hardState.vote} Commit:${rd.hardState.commit}`)
  }
  if (rd.entries.length > 0) out.push('Entries:', ...rd.entries.map(fmtEntry))
  if (rd.snapshot !== undefined)
    out.push(`Snapshot Index:${rd.snapshot.metadata.index} Term:${rd.snapshot.metadata.term}`)
  if (rd.committedEntries.length > 0) out.push('CommittedEntries:', ...rd.committedEntries.map(fmtEntry))
  if (rd.messages.length > 0) out.push('Messages:', ...rd.messages.map(fmtMessage))
  if (rd.readStates.length > 0) {
    out.push(
      ...rd.readStates.map(
        (r) => `ReadState Index:${r.index} Ctx:${JSON.stringify(dec.decode(r.requestCtx))}`,
      ),
    )
  }
  return out
}

/** A logger that writes raft's own log lines into the trace (info and above by default). */
class TraceLogger implements RaftLogger {
  level: 'debug' | 'info' | 'none' = 'info'
  constructor(private readonly sink: (line: string) => void) {}
  private write(level: string, obj: object, msg: string): void {
    const fields = Object.entries(obj)
      .filter(([k]) => k !== 'id')
      .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(' ')}]` : String(v)}`)
      .join(' ')
    const id = (obj as { id?: number }).id
    this.sink(`${level} ${id ?? '-'} ${msg}${fields ? ` ${fields}` : ''}`)
  }
  debug(obj: object, msg: string): void {
    if (this.level === 'debug') this.write('DEBUG', obj, msg)
  }
  info(obj: object, msg: string): void {
    if (this.level !== 'none') this.write('INFO', obj, msg)
  }
  warn(obj: object, msg: string): void {
    if (this.level !== 'none') this.write('WARN', obj, msg)
  }
  error(obj: object, msg: string): void {
    this.write('ERROR', obj, msg)
  }
}

interface EnvNode {
  node: RawNode
  storage: MemoryStorage
  /** Link blocked in both directions while isolated. */
  isolated: boolean
}

/** Executes interaction scripts against real RawNodes. */
export class InteractionEnv {
  private readonly nodes = new Map<NodeId, EnvNode>()
  /** Messages sent and not yet delivered, in send order. */
  private inflight: Message[] = []
  private out: string[] = []
  private readonly logger = new TraceLogger((l) => this.out.push(l))

  run(block: InteractionBlock): string {
    this.out = []
    try {
      this.handle(block)
    } catch (err) {
      this.out.push(`error: ${(err as Error).message}`)
    }
    // `log-level none` silences whole blocks: setup steps whose trace another script already shows.
    if (this.logger.level === 'none' && !this.out.some((l) => l.startsWith('error:'))) return ''
    return this.out.join('\n')
  }

  private kv(args: string[]): { pos: string[]; opts: Map<string, string> } {
    const pos: string[] = []
    const opts = new Map<string, string>()
    for (const a of args) {
      const eq = a.indexOf('=')
      if (eq > 0) opts.set(a.slice(0, eq), a.slice(eq + 1))
      else pos.push(a)
    }
    return { pos, opts }
  }

  private ids(pos: string[]): NodeId[] {
    if (pos.length === 0) return [...this.nodes.keys()].sort((a, b) => a - b)
    return pos.map((p) => {
      const id = Number(p)
      if (!this.nodes.has(id)) throw new Error(`unknown node ${p}`)
      return id
    })
  }

  private get(id: NodeId): EnvNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`unknown node ${id}`)
    return n
  }

  private handle(b: InteractionBlock): void {
    const { pos, opts } = this.kv(b.args)
    switch (b.command) {
      case 'log-level':
        this.logger.level = (pos[0] as 'debug' | 'info' | 'none') ?? 'info'
        return
      case 'add-nodes':
        this.addNodes(Number(pos[0]), opts)
        return
      case 'campaign':
        this.report(this.get(Number(pos[0])).node.campaign())
        return
      case 'propose':
        this.report(this.get(Number(pos[0])).node.propose(enc.encode(pos[1] ?? '')))
        return
      case 'propose-conf-change':
        this.report(this.get(Number(pos[0])).node.proposeConfChange(parseConfChange(pos[1] ?? '')))
        return
      case 'read-index':
        this.report(this.get(Number(pos[0])).node.readIndex(enc.encode(pos[1] ?? '')))
        return
      case 'transfer-leadership':
        this.get(Number(opts.get('at'))).node.transferLeadership(Number(opts.get('to')))
        return
      case 'tick-election':
        for (const id of this.ids(pos)) {
          const r = raftOf(this.get(id).node)
          for (let i = 0, n = r.randomizedElectionTimeout; i < n; i++) r.tick()
        }
        return
      case 'tick': {
        // tick <id> [n=N] [stabilize=true]: N ticks of one member, optionally stabilizing everyone after each.
        const id = Number(pos[0])
        const n = Number(opts.get('n') ?? '1')
        for (let i = 0; i < n; i++) {
          this.get(id).node.tick()
          if (opts.get('stabilize') === 'true') this.stabilize(this.ids([]))
        }
        return
      }
      case 'tick-heartbeat':
        for (const id of this.ids(pos)) {
          const r = raftOf(this.get(id).node)
          for (let i = 0; i < r.heartbeatTimeout; i++) r.tick()
        }
        return
      case 'process-ready':
        for (const id of this.ids(pos)) this.processReady(id)
        return
      case 'deliver-msgs':
        for (const id of this.ids(pos)) this.deliver(id, opts.get('type'))
        return
      case 'stabilize':
        this.stabilize(this.ids(pos))
        return
      case 'isolate':
        this.get(Number(pos[0])).isolated = true
        return
      case 'heal':
        for (const n of this.nodes.values()) n.isolated = false
        return
      case 'raft-state':
        for (const [id, n] of [...this.nodes].sort((a, b) => a[0] - b[0])) {
          const st = n.node.status()
          this.out.push(
            `${id}: ${st.raftState} Term:${st.term} Lead:${st.lead} Commit:${st.commit} Applied:${st.applied}`,
          )
        }
        return
      case 'raft-log': {
        const n = this.get(Number(pos[0]))
        const ents = n.storage.entries(
          n.storage.firstIndex(),
          n.storage.lastIndex() + 1,
          Number.POSITIVE_INFINITY,
        )
        if (Array.isArray(ents)) for (const e of ents) this.out.push(fmtEntry(e))
        else
          this.out.push(
            `log is empty: first index=${n.storage.firstIndex()}, last index=${n.storage.lastIndex()}`,
          )
        return
      }
      case 'status': {
        const st = this.get(Number(pos[0])).node.status()
        for (const [id, pr] of [...st.progress].sort((a, b) => a[0] - b[0])) {
          this.out.push(
            `${id}: ${pr.state} match=${pr.match} next=${pr.next}${pr.isLearner ? ' learner' : ''}`,
          )
        }
        return
      }
      case 'compact': {
        const n = this.get(Number(pos[0]))
        const index = Number(pos[1])
        n.storage.createSnapshot(index, raftOf(n.node).trk.confState(), new Uint8Array(0))
        n.storage.compact(index)
        return
      }
      default:
        throw new Error(`unknown command ${b.command}`)
    }
  }

  private report(err: Error | undefined): void {
    if (err !== undefined) this.out.push(`raft error: ${err.message}`)
  }

  private addNodes(n: number, opts: Map<string, string>): void {
    const first = Math.max(0, ...this.nodes.keys()) + 1
    const ids = Array.from({ length: n }, (_, i) => first + i)
    const join = opts.get('join') === 'true'
    for (const id of ids) {
      const storage = new MemoryStorage()
      const node = new RawNode({
        id,
        storage,
        electionTick: 10,
        heartbeatTick: 1,
        random: new SeededRandom(id),
        preVote: opts.get('prevote') !== 'false',
        checkQuorum: opts.get('checkquorum') !== 'false',
        logger: this.logger,
      })
      if (!join) node.bootstrap(ids)
      this.nodes.set(id, { node, storage, isolated: false })
    }
  }

  private processReady(id: NodeId): void {
    const n = this.get(id)
    if (!n.node.hasReady()) return
    const rd = n.node.ready()
    this.out.push(`> ${id} handling Ready`)
    for (const line of fmtReady(rd)) this.out.push(`  ${line}`)
    if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot)
    if (rd.entries.length > 0) n.storage.append(rd.entries)
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState)
    for (const m of rd.messages) this.inflight.push(m)
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') {
        const cs = n.node.applyConfChange(decodeConfChange(e.data))
        this.out.push(
          `  applied ${fmtData(e)}: voters=[${cs.voters.join(' ')}] learners=[${cs.learners.join(' ')}]`,
        )
      }
    }
    n.node.advance()
  }

  private deliver(id: NodeId, type: string | undefined): number {
    const keep: Message[] = []
    const now: Message[] = []
    for (const m of this.inflight) {
      if (m.to === id && (type === undefined || m.type === type)) now.push(m)
      else keep.push(m)
    }
    this.inflight = keep
    for (const m of now) {
      const from = this.nodes.get(m.from)
      const to = this.get(m.to)
      if (from?.isolated || to.isolated) {
        this.out.push(`dropped: ${fmtMessage(m)}`)
        continue
      }
      this.out.push(fmtMessage(m))
      const err = to.node.step(m)
      if (err !== undefined) this.out.push(`raft error: ${err.message}`)
    }
    return now.length
  }

  private stabilize(ids: NodeId[]): void {
    for (let round = 0; round < 1000; round++) {
      let done = true
      for (const id of ids) {
        if (this.get(id).node.hasReady()) {
          done = false
          this.processReady(id)
        }
      }
      for (const id of ids) {
        if (this.inflight.some((m) => m.to === id)) {
          done = false
          this.out.push(`> ${id} receiving messages`)
          const before = this.out.length
          this.deliver(id, undefined)
          for (let i = before; i < this.out.length; i++) this.out[i] = `  ${this.out[i]}`
        }
      }
      if (done) return
    }
    throw new Error('stabilize did not converge in 1000 rounds')
  }
}

function parseConfChange(s: string): ConfChange {
  const m = /^([vlr])(\d+)$/.exec(s)
  if (m === null) throw new Error(`conf change must look like v4, l4 or r4, got "${s}"`)
  const type = m[1] === 'v' ? 'addNode' : m[1] === 'l' ? 'addLearnerNode' : 'removeNode'
  return { type, nodeId: Number(m[2]) }
}
