/**
 * The simulated containers' output, generated (nothing runs): at the start of a run one line naming
 * the container, image, pod and node, then one line every `intervalMs` while it runs, and one line
 * when it exits. Pure: a run and a window of time in, lines out; the kubelet server streams them.
 *
 * The options are the kubelet's `/containerLogs` query (PodLogOptions): `tailLines`, `sinceSeconds` /
 * `sinceTime`, `timestamps` (RFC 3339 with nanoseconds, a space, the line), `limitBytes`.
 */

export interface LogRun {
  readonly namespace: string
  readonly pod: string
  readonly container: string
  readonly image: string
  readonly node: string
  readonly restartCount: number
  readonly startMs: number
  /** When the run ended, if it did. */
  readonly end: { readonly ms: number; readonly exitCode: number } | undefined
}

export interface LogLine {
  readonly ms: number
  readonly text: string
}

/** The most lines a run keeps (a container runtime rotates its log files). */
export const LOG_LINES_MAX = 10_000

/** Line `k` of a run (k = 0 is the start line). */
export function lineAt(run: LogRun, k: number, intervalMs: number): LogLine {
  if (k === 0)
    return {
      ms: run.startMs,
      text: `hakube-node-sim: started container ${run.container} (image ${run.image}) of pod ${run.namespace}/${run.pod} on node ${run.node}, restart ${run.restartCount}; a simulated container: no process runs`,
    }
  const up = Math.round((k * intervalMs) / 1000)
  return {
    ms: run.startMs + k * intervalMs,
    text: `simulated output ${k} from ${run.container} in ${run.namespace}/${run.pod}: up ${up}s`,
  }
}

/** Every line of the run written by `nowMs`, oldest first (at most LOG_LINES_MAX). */
export function linesUntil(run: LogRun, nowMs: number, intervalMs: number): LogLine[] {
  const until = run.end === undefined ? nowMs : Math.min(nowMs, run.end.ms)
  if (until < run.startMs) return []
  const last = Math.floor((until - run.startMs) / intervalMs)
  const first = Math.max(0, last - LOG_LINES_MAX + 1)
  const out: LogLine[] = []
  for (let k = first; k <= last; k++) {
    const l = lineAt(run, k, intervalMs)
    if (run.end !== undefined && l.ms >= run.end.ms && k > 0) break
    out.push(l)
  }
  if (run.end !== undefined && run.end.ms <= nowMs) out.push(exitLine(run))
  return out
}

export function exitLine(run: LogRun): LogLine {
  const code = run.end?.exitCode ?? 0
  return {
    ms: run.end?.ms ?? run.startMs,
    text: `hakube-node-sim: container ${run.container} exited with code ${code}`,
  }
}

/** RFC 3339 with nanoseconds, as the container runtime's log timestamps. */
export function logTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')
}

export interface LogQuery {
  readonly follow: boolean
  readonly timestamps: boolean
  readonly tailLines: number | undefined
  readonly limitBytes: number | undefined
  /** Only lines at or after this time. */
  readonly sinceMs: number | undefined
  readonly previous: boolean
}

/** The query of a `/containerLogs` request; a bad value is a message for a 400. */
export function parseLogQuery(params: URLSearchParams, nowMs: number): LogQuery | string {
  const bool = (k: string) => {
    const v = params.get(k)
    return v === '1' || v === 'true' || v === 'True' || v === 'TRUE'
  }
  const int = (k: string): number | undefined | string => {
    const v = params.get(k)
    if (v === null || v === '') return undefined
    if (!/^-?\d+$/.test(v)) return `${k}: invalid value ${JSON.stringify(v)}`
    return Number(v)
  }
  const tail = int('tailLines')
  const limit = int('limitBytes')
  const since = int('sinceSeconds')
  for (const v of [tail, limit, since]) if (typeof v === 'string') return v
  if (typeof tail === 'number' && tail < 0) return 'tailLines: must be greater than or equal to 0'
  if (typeof limit === 'number' && limit < 1) return 'limitBytes: must be greater than 0'
  if (typeof since === 'number' && since < 1) return 'sinceSeconds: must be greater than 0'
  let sinceMs = typeof since === 'number' ? nowMs - since * 1000 : undefined
  const sinceTime = params.get('sinceTime')
  if (sinceTime !== null && sinceTime !== '') {
    const t = Date.parse(sinceTime)
    if (Number.isNaN(t)) return `sinceTime: invalid value ${JSON.stringify(sinceTime)}`
    if (sinceMs !== undefined) return 'at most one of sinceTime or sinceSeconds may be specified'
    sinceMs = t
  }
  return {
    follow: bool('follow'),
    timestamps: bool('timestamps'),
    tailLines: tail as number | undefined,
    limitBytes: limit as number | undefined,
    sinceMs,
    previous: bool('previous'),
  }
}

/** The lines a query selects from what was written so far. */
export function selectLines(lines: readonly LogLine[], q: LogQuery): LogLine[] {
  let out = q.sinceMs === undefined ? [...lines] : lines.filter((l) => l.ms >= (q.sinceMs as number))
  if (q.tailLines !== undefined) out = q.tailLines === 0 ? [] : out.slice(-q.tailLines)
  return out
}

export function formatLine(l: LogLine, timestamps: boolean): string {
  return timestamps ? `${logTimestamp(l.ms)} ${l.text}\n` : `${l.text}\n`
}
