/**
 * Requests waiting for their own entry to be applied on this member, by request id, each with its
 * timeout. Also the encoding of results sent back over peer calls (`transport.call`).
 */
import { StoreError } from '../errors.js'
import type { Result } from '../mvcc/index.js'
import { decodeJson, encodeJson } from './codec.js'

export class PendingRequests {
  private readonly pending = new Map<string, (r: Result<unknown>) => void>()

  get size(): number {
    return this.pending.size
  }

  /** Registers `id`; resolves with its applied result, or with `onTimeout()` after `timeoutMs`. */
  wait<T>(id: string, timeoutMs: number, onTimeout: () => StoreError): Promise<Result<T>> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        resolve({ ok: false, error: onTimeout() })
      }, timeoutMs)
      this.pending.set(id, (r) => {
        clearTimeout(timer)
        resolve(r as Result<T>)
      })
    })
  }

  finish(id: string, result: Result<unknown>): void {
    const resolve = this.pending.get(id)
    if (resolve === undefined) return
    this.pending.delete(id)
    resolve(result)
  }

  failAll(error: StoreError): void {
    for (const id of [...this.pending.keys()]) this.finish(id, { ok: false, error })
  }
}

type RemoteResult = { ok: true; response: unknown } | { ok: false; code: StoreError['code'] }

export function encodeRemoteResult(r: Result<unknown>): Uint8Array {
  return encodeJson(r.ok ? r : { ok: false, code: r.error.code })
}

export function decodeRemoteResult<T>(bytes: Uint8Array): Result<T> {
  const r = decodeJson<RemoteResult>(bytes)
  return r.ok ? { ok: true, response: r.response as T } : { ok: false, error: new StoreError(r.code) }
}
