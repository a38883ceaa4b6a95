/**
 * Accept header parsing as kube's negotiation does it (goautoneg.ParseAccept): clauses ordered by
 * q-value, concrete types before wildcards, otherwise as the client sent them; media-type parameters
 * (`as`, `g`, `v`, `stream`) kept by name. Discovery, output conversions (Tables) and OpenAPI all
 * negotiate with it.
 */

export interface AcceptClause {
  /** `application`, or `*`. */
  type: string
  /** `json`, or `*`. */
  subtype: string
  q: number
  params: Map<string, string>
}

export function parseAccept(header: string | readonly string[] | undefined): AcceptClause[] {
  const text = Array.isArray(header) ? header.join(',') : ((header as string | undefined) ?? '')
  const clauses: AcceptClause[] = []
  for (const part of text.split(',')) {
    const [range = '', ...rawParams] = part.split(';')
    const slash = range.trim().split('/')
    const type = (slash[0] ?? '').trim().toLowerCase()
    let subtype: string
    if (slash.length === 1 && type === '*') subtype = '*'
    else if (slash.length === 2) subtype = (slash[1] ?? '').trim().toLowerCase()
    else continue
    const params = new Map<string, string>()
    let q = 1
    for (const p of rawParams) {
      const eq = p.indexOf('=')
      if (eq < 0) continue
      const key = p.slice(0, eq).trim().toLowerCase()
      const value = p
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '')
      if (key === 'q') q = Number.parseFloat(value) || 0
      else params.set(key, value)
    }
    clauses.push({ type, subtype, q, params })
  }
  const rank = (c: AcceptClause) => (c.type === '*' ? 2 : c.subtype === '*' ? 1 : 0)
  // Array.prototype.sort is stable: equal clauses keep the client's order.
  return clauses.sort((a, b) => b.q - a.q || rank(a) - rank(b))
}

/** Whether a clause accepts JSON (`application/json`, `application/*`, `*\/*`). */
export function acceptsJson(c: AcceptClause): boolean {
  return (c.type === 'application' && (c.subtype === 'json' || c.subtype === '*')) || c.type === '*'
}
