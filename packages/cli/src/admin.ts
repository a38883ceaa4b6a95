/**
 * A host's admin endpoint: HTTP over a unix socket in the host's directory, so only local users with
 * access to the cluster's directory reach it and no port is taken.
 *
 *   GET  /status                      the host and its components (HostStatus)
 *   POST /components/NAME/ACTION      kill | stop | start | pause | resume; NAME `*` means every component
 *                                     (stop: reverse start order; start: start order)
 * Errors answer {"error": "..."} with 404 (no such component or path) or 400 (bad action).
 */
import { existsSync, unlinkSync } from 'node:fs'
import http from 'node:http'
import {
  COMPONENT_ACTIONS,
  type ComponentAction,
  type ComponentStatus,
  type Supervisor,
} from './supervisor.js'
import type { Role } from './topology.js'

export interface HostStatus {
  readonly host: string
  readonly role: Role
  readonly address: string
  readonly pid: number
  readonly startedAt: string
  readonly components: readonly ComponentStatus[]
}

/** Linux's limit on a unix socket path (sun_path, 108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107

export async function serveAdmin(
  socketPath: string,
  supervisor: Supervisor,
  identity: Omit<HostStatus, 'components'>,
): Promise<http.Server> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH)
    throw new Error(`admin socket path too long for a unix socket (${socketPath}); use a shorter --dir`)
  const server = http.createServer((req, res) => {
    const send = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(`${JSON.stringify(body)}\n`)
    }
    const url = req.url ?? '/'
    if (req.method === 'GET' && url === '/status') {
      send(200, { ...identity, components: supervisor.status() } satisfies HostStatus)
      return
    }
    const m = /^\/components\/([^/]+)\/([^/]+)$/.exec(url)
    if (req.method !== 'POST' || m === null) {
      send(404, { error: `no route ${req.method} ${url}` })
      return
    }
    const name = decodeURIComponent(m[1] as string)
    const action = m[2] as ComponentAction
    if (!COMPONENT_ACTIONS.includes(action)) {
      send(400, { error: `unknown action ${JSON.stringify(action)} (${COMPONENT_ACTIONS.join(', ')})` })
      return
    }
    const names = supervisor.status().map((s) => s.name)
    if (name !== '*' && !names.includes(name)) {
      send(404, {
        error: `${identity.host} runs no component ${JSON.stringify(name)} (it runs ${names.join(', ')})`,
      })
      return
    }
    const targets = name !== '*' ? [name] : action === 'stop' ? [...names].reverse() : names
    ;(async () => {
      for (const t of targets) await supervisor.act(t, action)
      send(200, { ...identity, components: supervisor.status() })
    })().catch((err: unknown) => send(409, { error: err instanceof Error ? err.message : String(err) }))
  })
  // A socket file left by a supervisor that was SIGKILLed (a killed host) would make listen fail.
  if (existsSync(socketPath)) unlinkSync(socketPath)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}

/** A request to a host's admin socket; rejects when the host does not answer within `timeoutMs`. */
export function adminRequest(
  socketPath: string,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) })
        } catch {
          resolve({ status: res.statusCode ?? 0, body: { error: text } })
        }
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}
