/**
 * Once per run, before any compose test: the Docker engine, a compose command and kubectl must be
 * there (a clear failure otherwise, never a skip), and the images are built from this checkout
 * (`deploy/docker/build-image.sh`, then the real-etcd image): always, so that the containers run the
 * code under test; unchanged sources make it a cached build of a few seconds.
 */
import { join } from 'node:path'
import { dockerDir, requireDocker, run } from './compose.js'

async function build(script: string): Promise<void> {
  const r = await run(join(dockerDir, script), [], { timeoutMs: 600_000 })
  if (r.code !== 0)
    throw new Error(`${script} exited ${r.code}:\n${r.stderr.trim().split('\n').slice(-20).join('\n')}`)
  console.log(`[compose] ${script}: ${(r.ms / 1000).toFixed(1)} s: ${r.stdout.trim().split('\n').at(-1)}`)
}

export default async function setup(): Promise<void> {
  await requireDocker()
  await build('build-image.sh')
  await build('build-etcd-image.sh')
}
