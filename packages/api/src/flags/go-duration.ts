/**
 * Go's time.Duration text form, as Kubernetes components take it on their command lines
 * (`--request-timeout=1m0s`, `--leader-elect-lease-duration=15s`): `time.ParseDuration` and
 * `Duration.String`, in milliseconds. Go's error texts are kept, since they end up in our flag errors
 * the way pflag prints them.
 */

const UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/** Parses `300ms`, `1.5h`, `1m0s`, `-2s`, `0`; throws Go's message on anything else. */
export function parseGoDuration(text: string): number {
  const bad = (): Error => new Error(`time: invalid duration ${JSON.stringify(text)}`)
  let s = text
  let sign = 1
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1
    s = s.slice(1)
  }
  if (s === '0') return 0
  if (s === '') throw bad()
  let total = 0
  while (s !== '') {
    const m = /^(\d*)(\.\d*)?/.exec(s)
    const whole = m?.[1] ?? ''
    const frac = m?.[2] ?? ''
    if (whole === '' && (frac === '' || frac === '.')) throw bad()
    s = s.slice(whole.length + frac.length)
    const unit = /^[^\d.]+/.exec(s)?.[0]
    if (unit === undefined) throw new Error(`time: missing unit in duration ${JSON.stringify(text)}`)
    const scale = UNITS[unit]
    if (scale === undefined)
      throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`)
    s = s.slice(unit.length)
    total += Number(`${whole === '' ? '0' : whole}${frac === '.' ? '' : frac}`) * scale
  }
  return sign * total
}

/** Go's Duration.String for a whole number of milliseconds: `1m0s`, `1.5s`, `300ms`, `0s`. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s'
  const neg = ms < 0
  let rest = Math.abs(ms)
  if (rest < 1000) return `${neg ? '-' : ''}${trim(rest)}ms`
  const h = Math.floor(rest / 3_600_000)
  rest -= h * 3_600_000
  const m = Math.floor(rest / 60_000)
  rest -= m * 60_000
  const s = `${trim(rest / 1000)}s`
  return `${neg ? '-' : ''}${h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m` : ''}${s}`
}

function trim(n: number): string {
  return Number(n.toFixed(9)).toString()
}
