/**
 * HTTP/1.1 upgrades through to a backend, byte for byte after the handshake. kubectl exec, attach and
 * port-forward upgrade to SPDY/3.1 (or to WebSocket from 1.30 on); http-proxy's `ws` pass handles only
 * `websocket`, so the upgrade is relayed here: the request goes out with its headers, a 101 answer is
 * written back with the backend's headers and both sockets are piped; any other answer is relayed as
 * an ordinary response and the connection closed.
 */
import http from 'node:http'
import https from 'node:https'
import type { Duplex } from 'node:stream'

export interface UpgradeTarget {
  readonly url: URL
  readonly ca: string | Buffer | undefined
}

export interface UpgradeCallbacks {
  /** The backend could not be reached or failed before answering; `connected` says whether it saw the request. */
  onError(code: string, connected: boolean): void
  /** The client's socket is now tied to this backend socket (cut both to abort). */
  onPiped(backendSocket: Duplex): void
}

function headerBlock(statusLine: string, raw: readonly string[]): string {
  let out = `${statusLine}\r\n`
  for (let i = 0; i + 1 < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`
  return `${out}\r\n`
}

export function proxyUpgrade(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: UpgradeTarget,
  cb: UpgradeCallbacks,
): void {
  const mod = target.url.protocol === 'https:' ? https : http
  const headers: Record<string, string | string[]> = {}
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string
    const value = req.rawHeaders[i + 1] as string
    const prev = headers[name]
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value]
  }
  let connected = false
  let settled = false
  const out = mod.request({
    protocol: target.url.protocol,
    hostname: target.url.hostname,
    port: target.url.port,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    headers,
    agent: false,
    ...(target.ca !== undefined && { ca: target.ca }),
  })
  out.on('socket', (s) => {
    s.once(target.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      connected = true
    })
  })
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (settled) return
    settled = true
    cb.onError(err.code ?? err.message, connected)
  })
  out.on('upgrade', (res, backendSocket, backendHead) => {
    settled = true
    socket.write(
      headerBlock(
        `HTTP/1.1 ${res.statusCode ?? 101} ${res.statusMessage ?? 'Switching Protocols'}`,
        res.rawHeaders,
      ),
    )
    if (backendHead.length > 0) socket.write(backendHead)
    backendSocket.on('error', () => socket.destroy())
    socket.on('error', () => backendSocket.destroy())
    backendSocket.on('close', () => socket.destroy())
    socket.on('close', () => backendSocket.destroy())
    cb.onPiped(backendSocket)
    backendSocket.pipe(socket)
    socket.pipe(backendSocket)
  })
  out.on('response', (res) => {
    // The backend refused the upgrade (401, 404, 400...): relay its answer as is.
    settled = true
    socket.write(headerBlock(`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}`, res.rawHeaders))
    res.pipe(socket)
    res.on('error', () => socket.destroy())
  })
  socket.on('close', () => {
    if (!settled) out.destroy()
  })
  if (head.length > 0) out.write(head)
  out.end()
}
