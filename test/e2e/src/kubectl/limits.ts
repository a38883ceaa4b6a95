/**
 * kubectl against an api-server whose mutating in-flight limit is 1: a raw HTTP request that has sent
 * its headers but not yet its body holds the only slot, so kubectl's create gets 429 TooManyRequests
 * with `Retry-After: 1`. client-go retries (up to 10 times): the create succeeds when the slot frees in
 * time, and kubectl prints kube's TooManyRequests error when it never does.
 */
import { connect, type Socket } from 'node:net'
import { Kubectl, type KubectlVersion } from '@hakube/api-server/testing'
import { expect, it } from 'vitest'

/** A POST whose body is withheld until `release()`: it holds one mutating in-flight slot. */
class HeldRequest {
  private readonly socket: Socket
  private readonly response: Promise<string>

  constructor(host: string, port: number, path: string, body: string) {
    this.body = body
    this.socket = connect({ host, port })
    this.socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    )
    this.response = new Promise((resolve, reject) => {
      let text = ''
      this.socket.on('data', (b) => {
        text += b.toString()
      })
      this.socket.on('end', () => resolve(text))
      this.socket.on('error', reject)
    })
  }

  private readonly body: string

  /** Sends the body; resolves with the status line of the response. */
  async release(): Promise<string> {
    this.socket.write(this.body)
    return (await this.response).split('\r\n')[0] ?? ''
  }
}

async function metric(base: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  return text
    .split('\n')
    .filter((l) => pattern.test(l))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
}

const configMap = (name: string, ns: string) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { a: 'b' } })

/** The TooManyRequests cases for one kubectl version against `target()` (limit 1, memory backend). */
export function tooManyRequestsSuite(
  version: KubectlVersion,
  target: () => { host: string; port: number },
): void {
  const v = version.replace('.', '')
  const base = () => `http://${target().host}:${target().port}`
  const hold = (name: string) =>
    new HeldRequest(
      target().host,
      target().port,
      '/api/v1/namespaces/default/configmaps',
      configMap(name, 'default'),
    )
  const throttled = () => metric(base(), /^apiserver_request_total\{.*code="429"/)

  it('TooManyRequests: kubectl retries after Retry-After and succeeds once the slot is free', async () => {
    const k = new Kubectl(base(), version)
    k.file('cm.yaml', configMap(`retried-${v}`, 'default'))
    const before = await throttled()
    const held = hold(`holder-${v}`)
    await new Promise((r) => setTimeout(r, 200))
    const run = k.run(['create', '-f', 'cm.yaml', '--validate=false'])
    await new Promise((r) => setTimeout(r, 2_500))
    expect(await held.release()).toBe('HTTP/1.1 201 Created')
    const r = await run
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe(`configmap/retried-${v} created\n`)
    expect(await throttled()).toBeGreaterThan(before)
  }, 60_000)

  it('TooManyRequests: kubectl prints the error when every retry is refused', async () => {
    const k = new Kubectl(base(), version)
    k.file('cm.yaml', configMap(`refused-${v}`, 'default'))
    const before = await throttled()
    const held = hold(`holder2-${v}`)
    await new Promise((r) => setTimeout(r, 200))
    const r = await k.run(['create', '-f', 'cm.yaml', '--validate=false'])
    expect(await held.release()).toBe('HTTP/1.1 201 Created')
    expect(r.code).toBe(1)
    // kube-apiserver's filter answers in plain text, which kubectl words as "the server has received too
    // many requests..."; hakube answers with a Status (issue 4: every error body is one) carrying
    // the filter's text, which kubectl prints as it is.
    expect(r.stderr).toBe(
      'Error from server (TooManyRequests): error when creating "cm.yaml": Too many requests, please try again later.\n',
    )
    // The first request and client-go's 10 retries.
    expect((await throttled()) - before).toBe(11)
  }, 90_000)
}
