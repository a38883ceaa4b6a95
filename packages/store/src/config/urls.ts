/**
 * URL lists and `--initial-cluster` as etcd 3.4 parses them (pkg/types/urls.go NewURLs,
 * pkg/types/urlsmap.go NewURLsMap), with etcd's error texts where it has them.
 */
import { isIP } from 'node:net'

export interface ParsedUrl {
  /** `scheme://host:port`, scheme lower-cased, host as given (etcd compares these strings). */
  readonly href: string
  /** Host without IPv6 brackets. */
  readonly host: string
  readonly port: number
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

const URL_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/

/**
 * One URL of a URL flag. Like etcd: scheme required, `host:port` required, no path. Stricter than
 * etcd: only `http` (hakube-store has no TLS flags, so an https URL could not be served; etcd's
 * unix/unixs sockets are not emulated), no user info, query or fragment, and a numeric port ≤ 65535.
 */
export function parseUrl(input: string): Parsed<ParsedUrl> {
  const s = input.trim()
  const m = URL_RE.exec(s)
  const scheme = m?.[1]?.toLowerCase()
  if (!m || (scheme !== 'http' && scheme !== 'https')) {
    return { ok: false, error: `URL scheme must be http or https: ${s}` }
  }
  if (scheme === 'https') {
    return { ok: false, error: `https needs TLS flags, which hakube-store does not support; use http: ${s}` }
  }
  const authority = m[2] ?? ''
  if ((m[3] ?? '') !== '') return { ok: false, error: `URL must not contain a path: ${s}` }
  if (m[4] !== undefined || m[5] !== undefined) {
    return { ok: false, error: `URL must not contain a query or fragment: ${s}` }
  }
  if (authority.includes('@')) return { ok: false, error: `URL must not contain user info: ${s}` }
  const notHostPort = { ok: false as const, error: `URL address does not have the form "host:port": ${s}` }
  let host: string
  let portText: string
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']')
    if (close < 0 || authority[close + 1] !== ':') return notHostPort
    host = authority.slice(1, close)
    portText = authority.slice(close + 2)
    if (isIP(host) !== 6) return { ok: false, error: `invalid IPv6 address in URL: ${s}` }
  } else {
    const colon = authority.lastIndexOf(':')
    if (colon < 0) return notHostPort
    host = authority.slice(0, colon)
    portText = authority.slice(colon + 1)
    if (host.includes(':')) return notHostPort
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    return { ok: false, error: `URL port must be a number from 0 to 65535: ${s}` }
  }
  return { ok: true, value: { href: `${scheme}://${authority}`, host, port: Number(portText) } }
}

/** A comma-separated URL list, sorted like etcd's types.URLs. */
export function parseUrlList(s: string): Parsed<readonly ParsedUrl[]> {
  const out: ParsedUrl[] = []
  for (const part of s.split(',')) {
    const r = parseUrl(part)
    if (!r.ok) return r
    out.push(r.value)
  }
  out.sort((a, b) => (a.href < b.href ? -1 : a.href > b.href ? 1 : 0))
  return { ok: true, value: out }
}

/**
 * `--initial-cluster`: `name=url,name=url,...`. A name given more than once collects several peer
 * URLs for one member, as in etcd. Stricter than etcd: an entry must have a non-empty name and `=`
 * (etcd turns `n1` into a member with an empty URL and fails later with a less helpful message).
 */
export function parseInitialCluster(s: string): Parsed<Record<string, string[]>> {
  const map = new Map<string, string[]>()
  for (const entry of s.split(',')) {
    if (entry === '') continue
    const eq = entry.indexOf('=')
    if (eq < 0) return { ok: false, error: `"${entry}" is not of the form name=url` }
    const name = entry.slice(0, eq)
    if (name.trim() === '') return { ok: false, error: `"${entry}" has an empty member name` }
    const u = parseUrl(entry.slice(eq + 1))
    if (!u.ok) return u
    const urls = map.get(name) ?? []
    urls.push(u.value.href)
    map.set(name, urls)
  }
  if (map.size === 0) return { ok: false, error: 'expected name=url,... (initial cluster unset)' }
  const sorted = [...map.keys()].sort()
  return { ok: true, value: Object.fromEntries(sorted.map((n) => [n, (map.get(n) ?? []).sort()])) }
}

/** etcd's URLsMap.String(): `name=url` pairs sorted, comma-separated. */
export function clusterString(m: Readonly<Record<string, readonly string[]>>): string {
  const pairs: string[] = []
  for (const [name, urls] of Object.entries(m)) for (const u of urls) pairs.push(`${name}=${u}`)
  return pairs.sort().join(',')
}

/** etcd's checkBindURLs: a listen URL's host must be an IP address or `localhost`. */
export function isBindableHost(host: string): boolean {
  return host === 'localhost' || isIP(host) !== 0
}
