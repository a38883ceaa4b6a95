/**
 * resource.Quantity parsing (k8s.io/apimachinery pkg/api/resource/quantity.go), enough to check
 * the format and compare requests with limits. Values are returned as plain numbers (base units).
 */

/** The regular expression Kubernetes quotes in its error. */
export const QUANTITY_REGEX_TEXT = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'
export const QUANTITY_FORMAT_ERROR = `quantities must match the regular expression '${QUANTITY_REGEX_TEXT}'`

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
}

/** The quantity's value in base units, or undefined when it is not a valid quantity. */
export function parseQuantity(q: string | number): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined
  const m = /^([+-]?[0-9]*\.?[0-9]*)([eE][-+]?[0-9]+|[a-zA-Z]*)$/.exec(q.trim() === q ? q : '')
  if (!m || m[1] === '' || m[1] === '+' || m[1] === '-' || m[1] === '.') return undefined
  const num = Number(m[1])
  const suffix = m[2] ?? ''
  if (Number.isNaN(num)) return undefined
  if (/^[eE]/.test(suffix)) return num * 10 ** Number(suffix.slice(1))
  const mult = SUFFIX[suffix]
  return mult === undefined ? undefined : num * mult
}
