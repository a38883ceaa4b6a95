/**
 * Probing a compose project while a fault happens: kubectl runs started at a steady pace (probeLoop),
 * each one's request times taken from kubectl's own -v=6 log (kubectlProbe, so a busy machine's
 * kubectl start-up is not counted as the cluster's unavailability), and when the probed operation
 * worked again (recoveredAfter).
 */
import type { ComposeProject } from './compose.js'

/** One kubectl run of a probe loop: when it started and ended, and when its requests went and came. */
export interface Probe {
  readonly index: number
  readonly start: number
  readonly end: number
  readonly ok: boolean
  /** kubectl's error lines of each failed attempt (empty when the first attempt worked). */
  readonly output: string
  /** The first request's sending and the last answer's arrival (the process's times if none logged). */
  readonly sent: number
  readonly answered: number
  /** How many attempts it took (a probe may retry once). */
  readonly attempts: number
}

export type ProbeResult = Omit<Probe, 'index' | 'start' | 'end'>

/**
 * Starts `run` every `everyMs` without waiting for the previous one (a hanging request does not hide
 * the ones after it), but never more than `maxInflight` at once (the probes must not load the machine
 * they measure), until `stop()`, which waits for those in flight and returns them all in start order
 * (`results()`: those done so far).
 */
export function probeLoop(
  everyMs: number,
  maxInflight: number,
  run: (index: number) => Promise<ProbeResult>,
): { results: () => Probe[]; stop: () => Promise<Probe[]> } {
  const probes: Probe[] = []
  const inflight = new Set<Promise<void>>()
  let index = 0
  let stopped = false
  const fire = (): void => {
    if (stopped || inflight.size >= maxInflight) return
    const i = index++
    const start = Date.now()
    const p = run(i)
      .catch((err: unknown): ProbeResult => {
        const now = Date.now()
        return { ok: false, output: String(err), sent: start, answered: now, attempts: 1 }
      })
      .then((r) => {
        probes.push({ ...r, index: i, start, end: Date.now() })
      })
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
  }
  fire()
  const timer = setInterval(fire, everyMs)
  return {
    results: () => [...probes],
    stop: async () => {
      stopped = true
      clearInterval(timer)
      while (inflight.size > 0) await Promise.all([...inflight])
      return probes.sort((a, b) => a.start - b.start)
    },
  }
}

/** A klog line's time (`I1207 14:21:19.082016 ...`, local time) as epoch ms. */
function klogTime(line: string): number | undefined {
  const m = /^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})/.exec(line)
  if (m === null) return undefined
  const [mo, d, h, mi, s, us] = m.slice(1).map(Number) as [number, number, number, number, number, number]
  return new Date(new Date().getFullYear(), mo - 1, d, h, mi, s, us / 1000).getTime()
}

/**
 * `kubectl -v=6 ARGS` through the project's balancer, retried once on failure when `retries` is 1 (as
 * a client would): ok when kubectl exits 0 and `check` accepts its output, or a retry fails with what
 * `retryAccepts` matches. Each `round_trippers` line
 * is logged when its answer came (`GET URL 200 OK in 12 milliseconds`), so it was sent that long before.
 */
export async function kubectlProbe(
  p: ComposeProject,
  args: readonly string[],
  opts: {
    requestTimeoutMs?: number
    retries?: 0 | 1
    check?: (stdout: string) => boolean
    /** A retry's error that means the first attempt did its work (a create's AlreadyExists). */
    retryAccepts?: RegExp
  } = {},
): Promise<ProbeResult> {
  let sent: number | undefined
  let last: ProbeResult | undefined
  const outputs: string[] = []
  for (let attempt = 1; attempt <= 1 + (opts.retries ?? 0); attempt++) {
    const start = Date.now()
    const r = await p.kubectl([...args, '-v=6'], opts.requestTimeoutMs ?? 5_000)
    const times: { sentAt: number; answeredAt: number }[] = []
    for (const line of r.stderr.split('\n')) {
      const at = line.includes('round_trippers.go') ? klogTime(line) : undefined
      const ms = /in (\d+) milliseconds/.exec(line)
      if (at !== undefined && ms !== null) times.push({ sentAt: at - Number(ms[1]), answeredAt: at })
    }
    sent ??= times[0]?.sentAt ?? start
    const ok =
      (r.code === 0 && (opts.check?.(r.stdout) ?? true)) ||
      (attempt > 1 && opts.retryAccepts?.test(r.stderr) === true)
    const errors = r.stderr
      .split('\n')
      .filter((l) => /^error|^Error|^E\d{4}|round_trippers/.test(l) && !/ 20[01] \w+/.test(l))
    if (!ok) outputs.push(errors.join('\n') || `exit ${r.code}`)
    last = {
      ok,
      output: outputs.join('\n'),
      sent,
      answered: times.at(-1)?.answeredAt ?? Date.now(),
      attempts: attempt,
    }
    if (ok) break
  }
  return last as ProbeResult
}

/** A probe's failure in one line: kubectl's last error line, else its last logged answer. */
export function reason(x: Probe): string {
  const lines = x.output.split('\n')
  return lines.filter((l) => /^error|^Error|^E\d{4}/.test(l)).at(-1) ?? lines.at(-1) ?? ''
}

/**
 * When a probed operation works again after a fault at `faultAt`, in ms after it: the answer to the
 * first successful request sent after the fault from which on every request sent succeeded; undefined
 * if the probes never settled.
 */
export function recoveredAfter(probes: readonly Probe[], faultAt: number): number | undefined {
  const after = probes.filter((x) => x.sent >= faultAt).sort((a, b) => a.sent - b.sent)
  const lastFailure = after.findLastIndex((x) => !x.ok)
  const first = after[lastFailure + 1]
  return first === undefined ? undefined : first.answered - faultAt
}

/** Requests as `sent+duration` seconds from `t0` (`!` failed, `r` retried), for the reports. */
export function timeline(probes: readonly Probe[], t0: number, from = -1_000, to = 12_000): string {
  return probes
    .filter((x) => x.sent - t0 >= from && x.sent - t0 <= to)
    .map(
      (x) =>
        `${((x.sent - t0) / 1000).toFixed(1)}+${((x.answered - x.sent) / 1000).toFixed(1)}` +
        `${x.attempts > 1 ? 'r' : ''}${x.ok ? '' : '!'}`,
    )
    .join(' ')
}

export const seconds = (ms: number | undefined): string =>
  ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`
