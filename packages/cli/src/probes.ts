/**
 * Small HTTP probes of the components, with node:http only (the `hakube` command stays quick to start):
 * a store member's Maintenance.Status through its JSON gateway (hakube-store and etcd both serve
 * POST /v3/maintenance/status), an api-server's /readyz, the balancer's /stats.
 */
import http from 'node:http'

export interface HttpResult {
  readonly status: number
  readonly text: string
}

export function httpRequest(
  url: string,
  opts: { method?: string; body?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? 'GET',
        timeout: opts.timeoutMs ?? 1500,
        headers: opts.body === undefined ? {} : { 'content-type': 'application/json' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs ?? 1500} ms`)))
    req.on('error', reject)
    req.end(opts.body)
  })
}

export interface MemberStatus {
  /** Hex member id, as etcdctl prints it. */
  readonly memberId: string
  /** Hex id of the leader this member knows; "0" for none. */
  readonly leaderId: string
  readonly raftTerm: number
  readonly raftIndex: number
  readonly revision: number
  readonly dbSize: number
  readonly version: string
}

/** uint64 values arrive as decimal strings; ids are shown in hex as etcdctl does. */
function hexId(v: unknown): string {
  if (v === undefined || v === null || v === '') return '0'
  return BigInt(String(v)).toString(16)
}

export async function memberStatus(clientUrl: string, timeoutMs = 1500): Promise<MemberStatus> {
  const res = await httpRequest(`${clientUrl}/v3/maintenance/status`, {
    method: 'POST',
    body: '{}',
    timeoutMs,
  })
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text.trim().slice(0, 200)}`)
  const b = JSON.parse(res.text) as Record<string, unknown> & { header?: Record<string, unknown> }
  return {
    memberId: hexId(b.header?.['member_id']),
    leaderId: hexId(b['leader']),
    raftTerm: Number(b['raftTerm'] ?? b.header?.['raft_term'] ?? 0),
    raftIndex: Number(b['raftIndex'] ?? 0),
    revision: Number(b.header?.['revision'] ?? 0),
    dbSize: Number(b['dbSize'] ?? 0),
    version: String(b['version'] ?? ''),
  }
}

/** True when GET /readyz answers 200; otherwise the reason. */
export async function readyz(baseUrl: string, timeoutMs = 1500): Promise<true | string> {
  try {
    const res = await httpRequest(`${baseUrl}/readyz`, { timeoutMs })
    return res.status === 200 ? true : `HTTP ${res.status} ${res.text.trim().split('\n').at(-1) ?? ''}`.trim()
  } catch (err) {
    return errorText(err)
  }
}

export interface LbBackend {
  readonly url: string
  readonly state: string
  readonly lastCheckError: string | null
  readonly requests: number
  readonly errors: number
}

export async function lbStats(host: string, statsPort: number, timeoutMs = 1500): Promise<LbBackend[]> {
  const res = await httpRequest(`http://${host}:${statsPort}/stats`, { timeoutMs })
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
  const body = JSON.parse(res.text) as { backends?: LbBackend[] }
  return body.backends ?? []
}

export function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  if (e.code === 'ECONNREFUSED') return 'connection refused'
  return err instanceof Error ? err.message : String(err)
}
