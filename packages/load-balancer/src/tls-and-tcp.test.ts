/**
 * Goal: with --tls-cert-file the balancer terminates TLS and speaks TLS to https:// backends verified
 * by --backend-ca-file; in --mode tcp the client's TLS goes through untouched to the api-server (the
 * client verifies the backend's own certificate), and a refused backend is skipped. Certificates are
 * made with openssl in a temporary directory.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startBalancer } from './testing/fake-backend.js'

let dir = ''
let ca: Buffer
let cert: Buffer
let key: Buffer
const cleanups: Array<() => unknown> = []

/** Waits for a condition, bounded generously (the machine may be loaded). */
async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hakube-lb-tls-'))
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=hakube-test-ca',
  )
  writeFileSync(
    join(dir, 'san.ext'),
    'subjectAltName=IP:127.0.1.155,IP:127.0.1.156,IP:127.0.1.163,IP:127.0.1.164\n',
  )
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=kube-apiserver',
  )
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  )
  ca = readFileSync(join(dir, 'ca.crt'))
  cert = readFileSync(join(dir, 'server.crt'))
  key = readFileSync(join(dir, 'server.key'))
}, 60_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function httpsBackend(host: string, name: string): Promise<string> {
  const server = https.createServer({ cert, key }, (req, res) => {
    if (req.url === '/readyz') res.end('ok')
    else {
      const delayMs = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? '0')
      setTimeout(
        () => res.end(`${name} tls=${(req.socket as import('node:tls').TLSSocket).encrypted === true}`),
        delayMs,
      )
    }
  })
  await new Promise<void>((r) => server.listen(0, host, r))
  cleanups.push(() => {
    server.closeAllConnections()
    return new Promise((r) => server.close(r))
  })
  return `https://${host}:${(server.address() as AddressInfo).port}`
}

function get(url: string): Promise<{ status: number; body: string; peerCn: string | undefined }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate()
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            peerCn: peer.subject === undefined ? undefined : String(peer.subject.CN),
          }),
        )
      })
      .on('error', reject)
  })
}

describe('TLS', () => {
  it('terminates TLS and speaks TLS to https backends verified by --backend-ca-file', async () => {
    const b = await httpsBackend('127.0.1.155', 'b0')
    const { lb, url } = await startBalancer(
      '127.0.1.163',
      [b],
      [
        `--tls-cert-file=${join(dir, 'server.crt')}`,
        `--tls-private-key-file=${join(dir, 'server.key')}`,
        `--backend-ca-file=${join(dir, 'ca.crt')}`,
      ],
    )
    cleanups.push(() => lb.shutdown(0))
    const a = await get(`${url.replace('http:', 'https:')}/api`)
    expect(a).toMatchObject({ status: 200, body: 'b0 tls=true' })
    expect(lb.pool.stats()[0]?.state).toBe('up')
  })

  it('a slow answer on a pooled TLS connection is not taken for a connect timeout', async () => {
    const b = await httpsBackend('127.0.1.155', 'b0')
    const { lb, url } = await startBalancer(
      '127.0.1.163',
      [b],
      [`--backend-ca-file=${join(dir, 'ca.crt')}`, '--connect-timeout=200ms'],
    )
    cleanups.push(() => lb.shutdown(0))
    const plain = async (path: string) => {
      const r = await fetch(`${url}${path}`)
      return { status: r.status, body: await r.text() }
    }
    expect(await plain('/first')).toEqual({ status: 200, body: 'b0 tls=true' })
    // Same pooled socket to the backend, an answer slower than the connect timeout.
    expect(await plain('/second?delay=500')).toEqual({ status: 200, body: 'b0 tls=true' })
  })

  it('without the CA an https backend fails its checks', async () => {
    const b = await httpsBackend('127.0.1.155', 'b0')
    const { lb } = await startBalancer('127.0.1.163', [b], ['--fall=1', '--health-timeout=5s'])
    cleanups.push(() => lb.shutdown(0))
    await until(() => lb.pool.stats()[0]?.lastCheck !== null)
    expect(lb.pool.stats()[0]).toMatchObject({
      state: 'down',
      lastCheckError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    })
  })
})

describe('--mode tcp', () => {
  it('pipes TLS through untouched, round robin, skipping a refused backend', async () => {
    const b0 = await httpsBackend('127.0.1.155', 'b0')
    const b1 = await httpsBackend('127.0.1.156', 'b1')
    const { lb, url } = await startBalancer(
      '127.0.1.164',
      [b0, 'https://127.0.1.157:1', b1],
      ['--mode=tcp', `--backend-ca-file=${join(dir, 'ca.crt')}`, '--health-interval=1h'],
    )
    cleanups.push(() => lb.shutdown(0))
    const base = url.replace('http:', 'https:')
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await get(`${base}/x`))
    // The certificate the client checked is the api-server's own: TLS was not terminated here.
    expect(answers.every((a) => a.status === 200 && a.peerCn === 'kube-apiserver')).toBe(true)
    expect(answers.map((a) => a.body.split(' ')[0]).sort()).toEqual(['b0', 'b0', 'b1', 'b1'])
    expect(lb.pool.stats()[1]).toMatchObject({ state: 'down' })
  })

  it('checks https backends without verifying them when no --backend-ca-file is given', async () => {
    const b0 = await httpsBackend('127.0.1.155', 'b0')
    const { lb } = await startBalancer('127.0.1.164', [b0], ['--mode=tcp', '--fall=1', '--health-timeout=5s'])
    cleanups.push(() => lb.shutdown(0))
    await until(() => lb.pool.stats()[0]?.lastCheck !== null)
    expect(lb.pool.stats()[0]).toMatchObject({ state: 'up', lastCheckError: null })
  })
})
