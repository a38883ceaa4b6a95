/**
 * A control-plane component's plain-HTTP endpoints, as kube-scheduler and kube-controller-manager serve
 * them on their port (component-base's healthz and metrics handlers): `/healthz` and
 * `/livez` (ping and the leader-election watchdog: failing when this instance believes it leads but
 * has not renewed for the lease duration plus a tolerance), `/readyz` (also the informers' first
 * sync), each answering `ok` or, with `?verbose` or on failure, kube's `[+]check ok` list; and
 * `/metrics` (Prometheus text).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export type Check = { name: string; run: () => { ok: true } | { ok: false; reason: string } }

export interface HealthServerOptions {
  host: string
  port: number
  livez: readonly Check[]
  readyz: readonly Check[]
  /** Prometheus text for `/metrics` (a prom-client Registry fits). */
  registry: { readonly contentType: string; metrics(): Promise<string> }
}

function answer(res: http.ServerResponse, checks: readonly Check[], verbose: boolean, what: string): void {
  const lines: string[] = []
  let failed = false
  for (const c of checks) {
    const r = c.run()
    if (r.ok) lines.push(`[+]${c.name} ok`)
    else {
      failed = true
      // kube withholds the reason from the body and logs it.
      lines.push(`[-]${c.name} failed: reason withheld`)
    }
  }
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.setHeader('x-content-type-options', 'nosniff')
  if (failed) {
    res.statusCode = 500
    res.end(`${lines.join('\n')}\n${what} check failed\n`)
  } else if (verbose) res.end(`${lines.join('\n')}\n${what} check passed\n`)
  else res.end('ok')
}

/** Starts listening; resolves with the server and the port bound. */
export async function startHealthServer(
  o: HealthServerOptions,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const verbose = url.searchParams.has('verbose')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405
      res.end()
      return
    }
    switch (url.pathname) {
      case '/healthz':
        answer(res, o.livez, verbose, 'healthz')
        return
      case '/livez':
        answer(res, o.livez, verbose, 'livez')
        return
      case '/readyz':
        answer(res, o.readyz, verbose, 'readyz')
        return
      case '/metrics':
        o.registry.metrics().then(
          (text) => {
            res.setHeader('content-type', o.registry.contentType)
            res.end(text)
          },
          (err: unknown) => {
            res.statusCode = 500
            res.end(String(err))
          },
        )
        return
      default:
        res.statusCode = 404
        res.setHeader('content-type', 'text/plain; charset=utf-8')
        res.end('404 page not found\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return { server, port: (server.address() as AddressInfo).port }
}
