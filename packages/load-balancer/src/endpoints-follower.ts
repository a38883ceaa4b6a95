/**
 * --backends-from-endpoints: the backends follow the `default/kubernetes` Endpoints that the
 * api-servers keep (one address per live api-server, kube-apiserver's lease endpoint reconciler), so an
 * api-server added later is balanced without a restart and a removed one leaves rotation. The list is
 * read and then watched from the backends themselves (any one up; --backends is the seed list), and
 * re-listed after any break. An Endpoints with no address is ignored: the balancer never empties its
 * own backend list on a transient view.
 */
import http from 'node:http'
import https from 'node:https'
import type { Endpoints } from '@hakube/api'
import type { Logger } from 'pino'
import type { BackendPool } from './backend-pool.js'

const ENDPOINTS_PATH = '/api/v1/namespaces/default/endpoints/kubernetes'
const WATCH_PATH =
  '/api/v1/namespaces/default/endpoints?watch=true&fieldSelector=metadata.name%3Dkubernetes&allowWatchBookmarks=false'

/**
 * The backend URLs an Endpoints object lists: every ready address with the port named `https` (or
 * the subset's only port), in the seeds' scheme. Sorted, so an unchanged set compares equal.
 */
export function endpointsToUrls(ep: Pick<Endpoints, 'subsets'>, scheme: 'http:' | 'https:'): URL[] {
  const out = new Set<string>()
  for (const subset of ep.subsets ?? []) {
    const ports = subset.ports ?? []
    const port = ports.find((p) => p.name === 'https') ?? (ports.length === 1 ? ports[0] : undefined)
    if (port === undefined) continue
    for (const a of subset.addresses ?? []) {
      const host = a.ip.includes(':') ? `[${a.ip}]` : a.ip
      out.add(`${scheme}//${host}:${port.port}`)
    }
  }
  return [...out].sort().map((s) => new URL(s))
}

export interface FollowOptions {
  readonly pool: BackendPool
  readonly seeds: readonly URL[]
  readonly ca: string | Buffer | undefined
  readonly log: Logger
  /** Pause before re-listing after a failure (default 1 s). */
  readonly retryMs?: number
}

export interface Follower {
  stop(): void
}

export function followEndpoints(opts: FollowOptions): Follower {
  const scheme = opts.seeds[0]?.protocol === 'https:' ? 'https:' : 'http:'
  let stopped = false
  let current: http.ClientRequest | undefined
  let timer: NodeJS.Timeout | undefined
  let last = ''
  let failures = 0

  const apply = (ep: Endpoints): void => {
    const urls = endpointsToUrls(ep, scheme)
    if (urls.length === 0) return
    const key = urls.map((u) => u.origin).join(',')
    if (key === last) return
    last = key
    opts.log.info({ backends: urls.map((u) => u.origin) }, 'backends from the kubernetes Endpoints')
    opts.pool.setBackends(urls)
  }

  // Each list+watch cycle has a number; events of an older cycle (a late error, a close) are ignored,
  // so one failure schedules one retry.
  let generation = 0
  const againFor = (gen: number) => (): void => {
    if (stopped || gen !== generation) return
    generation++
    timer = setTimeout(cycle, opts.retryMs ?? 1000)
  }

  const request = (base: URL, path: string): http.ClientRequest => {
    const mod = base.protocol === 'https:' ? https : http
    return mod.request(new URL(path, base), {
      agent: false,
      headers: { accept: 'application/json', 'user-agent': 'hakube-lb/endpoints' },
      ...(opts.ca !== undefined && { ca: opts.ca }),
    })
  }

  const cycle = (): void => {
    if (stopped) return
    current?.destroy()
    const again = againFor(generation)
    const base = opts.pool.pick() ?? opts.seeds[0]
    const url = base instanceof URL ? base : base?.url
    if (url === undefined) {
      again()
      return
    }
    const get = request(url, ENDPOINTS_PATH)
    current = get
    get.on('error', (err) => {
      // The first failure of a streak is a warning (a CA that does not verify the api-servers shows
      // here); the retries after it are debug, so a long outage does not flood the log.
      const level = failures++ === 0 ? 'warn' : 'debug'
      opts.log[level](
        { err: { code: (err as NodeJS.ErrnoException).code, message: err.message }, server: url.origin },
        'reading the kubernetes Endpoints failed',
      )
      again()
    })
    get.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', () => again())
      res.on('end', () => {
        if (res.statusCode !== 200) {
          opts.log.debug(
            { status: res.statusCode, server: url.origin },
            'kubernetes Endpoints not readable yet',
          )
          again()
          return
        }
        let ep: Endpoints
        try {
          ep = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Endpoints
        } catch {
          again()
          return
        }
        failures = 0
        apply(ep)
        watch(url, ep.metadata?.resourceVersion ?? '', again)
      })
    })
    get.end()
  }

  const watch = (url: URL, rv: string, again: () => void): void => {
    if (stopped) return
    const w = request(url, `${WATCH_PATH}${rv === '' ? '' : `&resourceVersion=${encodeURIComponent(rv)}`}`)
    current = w
    w.on('error', () => again())
    w.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        again()
        return
      }
      let buffered = ''
      res.setEncoding('utf8')
      res.on('data', (text: string) => {
        buffered += text
        let nl = buffered.indexOf('\n')
        while (nl >= 0) {
          const line = buffered.slice(0, nl).trim()
          buffered = buffered.slice(nl + 1)
          nl = buffered.indexOf('\n')
          if (line === '') continue
          try {
            const ev = JSON.parse(line) as { type: string; object: Endpoints }
            if (ev.type === 'ADDED' || ev.type === 'MODIFIED') apply(ev.object)
          } catch {
            opts.log.debug({ line }, 'undecodable watch event')
          }
        }
      })
      // Any end (the api-server died, ended the watch, or the balancer moved on): list again.
      res.on('close', () => again())
    })
    w.end()
  }

  timer = setTimeout(cycle, 0)
  return {
    stop(): void {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      current?.destroy()
    },
  }
}
