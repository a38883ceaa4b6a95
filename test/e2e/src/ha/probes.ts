/**
 * Probing a cluster while a fault happens: kubectl runs started at a steady pace (probeLoop), each
 * one's request times taken from kubectl's own -v=6 log (kubectlProbe), and when the probed operation
 * worked again (recoveredAfter).
 */
/** What runs kubectl against a cluster (HaCluster does, through its balancer). */
export interface KubectlRunner {
  k(args: readonly string[], timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>
}

/** What one probe reports: success, output, and when its request went out and was answered. */
export interface ProbeResult {
  ok: boolean
  output: string
  /** When the (first) HTTP request was sent and the (last) answer came, if known (kubectl -v=6). */
  sentAt?: number
  answeredAt?: number
  /** kubectl's log line of the last answer, e.g. `POST URL 504 Gateway Timeout in 60012 milliseconds`. */
  lastAnswer?: string
}

/** One run of a probe loop: the process's start and end, and its request's times if known. */
export interface Probe {
  index: number
  start: number
  end: number
  ok: boolean
  output: string
  sent: number
  answered: number
  lastAnswer: string
}

/**
 * Starts `run` every `everyMs` (without waiting for the previous one, so a hanging request does not
 * hide the ones after it, but never more than `maxInflight` at once, so that the probes do not load
 * the machine they measure) until `stop()`; `stop()` waits for those in flight and returns them all,
 * in start order.
 */
export function probeLoop(
  everyMs: number,
  maxInflight: number,
  run: (index: number) => Promise<ProbeResult>,
): { stop: () => Promise<Probe[]> } {
  const probes: Probe[] = []
  const inflight = new Set<Promise<void>>()
  let index = 0
  let stopped = false
  const fire = (): void => {
    if (stopped || inflight.size >= maxInflight) return
    const i = index++
    const start = Date.now()
    const record = (r: ProbeResult): void => {
      const end = Date.now()
      probes.push({
        index: i,
        start,
        end,
        ok: r.ok,
        output: r.output,
        sent: r.sentAt ?? start,
        answered: r.answeredAt ?? end,
        lastAnswer: r.lastAnswer ?? '',
      })
    }
    const p = run(i).then(record, (err: unknown) => record({ ok: false, output: String(err) }))
    inflight.add(p)
    void p.finally(() => {
      inflight.delete(p)
    })
  }
  fire()
  const timer = setInterval(fire, everyMs)
  return {
    stop: async () => {
      stopped = true
      clearInterval(timer)
      while (inflight.size > 0) await Promise.all([...inflight])
      return probes.sort((a, b) => a.start - b.start)
    },
  }
}

/**
 * When a probed operation works again after a fault at `faultAt`, in ms after the fault: the answer
 * to the first successful request sent after the fault from which on every request sent succeeded
 * (request times, not the kubectl process's: its start-up on a busy machine is not the cluster's
 * unavailability); undefined if the probes never settled.
 */
export function recoveredAfter(probes: readonly Probe[], faultAt: number): number | undefined {
  const after = probes.filter((p) => p.sent >= faultAt).sort((a, b) => a.sent - b.sent)
  let lastFailure = -1
  after.forEach((p, i) => {
    if (!p.ok) lastFailure = i
  })
  const first = after[lastFailure + 1]
  return first === undefined ? undefined : first.answered - faultAt
}

/** A klog line's time (`I1207 14:21:19.082016 ...`, local time) as epoch ms. */
function klogTime(line: string): number | undefined {
  const m = /^[IWEF](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})/.exec(line)
  if (m === null) return undefined
  const [mo, d, h, mi, se, us] = m.slice(1).map(Number) as [number, number, number, number, number, number]
  const now = new Date()
  return new Date(now.getFullYear(), mo - 1, d, h, mi, se, us / 1000).getTime()
}

/**
 * The HTTP requests of a `kubectl -v=6` run: each `round_trippers` line is logged when the answer
 * came (`GET URL 200 OK in 12 milliseconds`), so it was sent that long before.
 */
export function kubectlRequests(stderr: string): Array<{ sentAt: number; answeredAt: number; line: string }> {
  const out: Array<{ sentAt: number; answeredAt: number; line: string }> = []
  for (const line of stderr.split('\n')) {
    if (!line.includes('round_trippers.go')) continue
    const at = klogTime(line)
    const ms = /in (\d+) milliseconds/.exec(line)
    if (at === undefined || ms === null) continue
    out.push({ sentAt: at - Number(ms[1]), answeredAt: at, line: line.slice(line.indexOf('] ') + 2) })
  }
  return out
}

/**
 * A kubectl probe: `args` run with -v=6 through the balancer; ok when kubectl exits 0 (and `check`
 * accepts its output). Its request times come from kubectl's own log.
 */
export async function kubectlProbe(
  cluster: KubectlRunner,
  args: readonly string[],
  check: (stdout: string) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<ProbeResult> {
  const r = await cluster.k([...args, '-v=6'], timeoutMs)
  const requests = kubectlRequests(r.stderr)
  const errors = r.stderr
    .split('\n')
    .filter((l) => /^error|^Error|^E\d{4}|round_trippers/.test(l) && !/ 20[01] /.test(l))
    .join('\n')
  return {
    ok: r.code === 0 && check(r.stdout),
    output: errors,
    ...(requests.length > 0 && {
      sentAt: requests[0]!.sentAt,
      answeredAt: requests.at(-1)!.answeredAt,
      lastAnswer: requests.at(-1)!.line,
    }),
  }
}

/** Requests as `sent+duration` offsets from `t0` in seconds (failures marked), for the reports. */
export function timeline(probes: readonly Probe[], t0: number, from = -1000, to = 8000): string {
  return probes
    .filter((p) => p.sent - t0 >= from && p.sent - t0 <= to)
    .map(
      (p) =>
        `${((p.sent - t0) / 1000).toFixed(1)}+${((p.answered - p.sent) / 1000).toFixed(1)}${p.ok ? '' : '!'}`,
    )
    .join(' ')
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
