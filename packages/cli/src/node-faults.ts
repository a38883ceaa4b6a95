/**
 * `hakube fail-node NODE...` and `hakube recover-node NODE...`: a simulated node's failure, as a
 * kubelet that stops heartbeating. The worker host that simulates NODE is found in cluster.json (else
 * by asking each worker's `GET /admin/nodes`), and its node simulator is told through its admin
 * endpoint (`POST /admin/nodes/NODE/fail|recover`) to stop or resume renewing the node's Lease in
 * kube-node-lease and updating its status. The node's pods stay as they were: evicting them is the
 * node lifecycle controller's job, not the kubelet's.
 */
import { resolve } from 'node:path'
import { workerNodes } from './cluster-api.js'
import { requireState, UserError } from './cluster-state.js'
import { flag, flagUsages, parseFlags } from './flags.js'
import { errorText, httpRequest } from './probes.js'
import type { WorkerPlan } from './topology.js'

export type NodeFault = 'fail' | 'recover'

const FLAGS = { dir: flag({ kind: 'string', default: '.hakube', usage: "The cluster's directory." }) }

/** The worker that simulates `node`: from the plan, else the first whose admin endpoint lists it. */
export async function findWorker(workers: readonly WorkerPlan[], node: string): Promise<WorkerPlan> {
  const planned = workers.find((w) => w.nodes.includes(node))
  if (planned !== undefined) return planned
  const listed = await Promise.all(
    workers.map((w) =>
      workerNodes(w.url, 1500).then(
        (nodes) => nodes.map((n) => n.name),
        () => [] as string[],
      ),
    ),
  )
  const i = listed.findIndex((names) => names.includes(node))
  if (i >= 0) return workers[i] as WorkerPlan
  const known = [...new Set([...workers.flatMap((w) => w.nodes), ...listed.flat()])]
  throw new UserError(
    known.length === 0
      ? `no node ${JSON.stringify(node)}: this cluster has no workers (\`hakube up --workers N\`)`
      : `no node ${JSON.stringify(node)} in this cluster (nodes: ${known.join(', ')})`,
  )
}

export async function runNodeFault(
  action: NodeFault,
  argv: readonly string[],
  out: NodeJS.WritableStream,
): Promise<number> {
  const command = `${action}-node`
  const p = parseFlags(FLAGS, argv)
  if (!p.ok) throw new UserError(p.error)
  if (p.help) {
    out.write(
      `hakube ${command} NODE... ${action === 'fail' ? 'stops' : 'resumes'} a simulated node's heartbeat (its Lease in kube-node-lease and its status).\n\nFlags:\n${flagUsages(FLAGS)}\n`,
    )
    return 0
  }
  if (p.args.length === 0)
    throw new UserError(`hakube ${command} needs a NODE (\`kubectl get nodes\` lists them)`)
  const state = requireState(resolve(p.values.dir))
  const workers = state.plan.workers ?? []
  for (const node of p.args) {
    const worker = await findWorker(workers, node)
    let res: { status: number; text: string }
    try {
      res = await httpRequest(`${worker.url}/admin/nodes/${encodeURIComponent(node)}/${action}`, {
        method: 'POST',
        timeoutMs: 5000,
      })
    } catch (err) {
      throw new UserError(
        `node ${node}: its worker host ${worker.host} does not answer (${errorText(err)}); is it up? \`hakube start ${worker.host}\``,
      )
    }
    if (res.status < 200 || res.status >= 300) {
      let message = res.text.trim()
      try {
        const body = JSON.parse(res.text) as { error?: string; message?: string }
        message = body.error ?? body.message ?? message
      } catch {
        // plain text
      }
      throw new UserError(`node ${node} (on ${worker.host}): HTTP ${res.status}: ${message}`)
    }
    out.write(
      action === 'fail'
        ? `${node} (on ${worker.host}): heartbeat stopped: its Lease in kube-node-lease is no longer renewed nor its status updated; its pods stay as they are. \`hakube recover-node ${node}\` resumes it\n`
        : `${node} (on ${worker.host}): heartbeat resumed: its Lease is renewed and its status updated again\n`,
    )
  }
  return 0
}
