/**
 * /healthz, /livez and /readyz as kube-apiserver answers them (k8s.io/apiserver pkg/server/healthz):
 * named checks; `ok` (200) when all pass; otherwise 500 with one `[+]name ok` / `[-]name failed:
 * reason withheld` line per check and `<endpoint> check failed`; `?verbose` lists the checks even when
 * all pass; `?exclude=name` skips one; `/readyz/<name>` runs one check.
 */
import type { FastifyInstance } from 'fastify'

export interface HealthCheck {
  readonly name: string
  /** Resolves with an error message when unhealthy (logged, never shown to clients). */
  check(): Promise<string | undefined>
}

export interface HealthEndpoints {
  healthz: readonly HealthCheck[]
  livez: readonly HealthCheck[]
  readyz: readonly HealthCheck[]
}

export function ping(): HealthCheck {
  return { name: 'ping', check: async () => undefined }
}

export function registerHealth(
  app: FastifyInstance,
  endpoints: HealthEndpoints,
  onFailure: (endpoint: string, check: string, reason: string) => void,
): void {
  for (const [endpoint, checks] of Object.entries(endpoints) as Array<[string, readonly HealthCheck[]]>) {
    app.get(`/${endpoint}`, async (req, reply) => {
      const q = req.query as Record<string, string | string[] | undefined>
      const exclude = new Set([q['exclude'] ?? []].flat())
      const results = await Promise.all(
        checks
          .filter((c) => !exclude.has(c.name))
          .map(async (c) => ({ name: c.name, error: await safeCheck(c) })),
      )
      const failed = results.filter((r) => r.error !== undefined)
      for (const f of failed) onFailure(endpoint, f.name, f.error as string)
      const lines = results.map((r) =>
        r.error === undefined ? `[+]${r.name} ok` : `[-]${r.name} failed: reason withheld`,
      )
      reply.type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff')
      if (failed.length > 0) return reply.code(500).send(`${lines.join('\n')}\n${endpoint} check failed\n`)
      if (q['verbose'] !== undefined) return reply.send(`${lines.join('\n')}\n${endpoint} check passed\n`)
      return reply.send('ok')
    })
    app.get<{ Params: { check: string } }>(`/${endpoint}/:check`, async (req, reply) => {
      const c = checks.find((x) => x.name === req.params.check)
      reply.type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff')
      if (c === undefined) return reply.code(404).send('404 page not found\n')
      const error = await safeCheck(c)
      if (error !== undefined) {
        onFailure(endpoint, c.name, error)
        return reply.code(500).send(`internal server error: ${c.name} check failed\n`)
      }
      return reply.send('ok')
    })
  }
}

async function safeCheck(c: HealthCheck): Promise<string | undefined> {
  try {
    return await c.check()
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
}
