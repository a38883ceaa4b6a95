/**
 * undici, imported on first use: a member alone in its cluster never dials a peer, and a member with
 * peers dials them only once it serves, so the binary's start does not load undici's ~750 kB (it pulls
 * in Node's http2, tls and worker_threads internals). In the bundled binary (esbuild) a CommonJS
 * package imported with `import()` has its exports under `default` only; from the sources they are named.
 */
import type * as Undici from 'undici'

/** The parts of undici the peer transport uses. */
export type UndiciApi = Pick<typeof Undici, 'Client' | 'Pool' | 'request'>

let loaded: Promise<UndiciApi> | undefined

export function undici(): Promise<UndiciApi> {
  loaded ??= import('undici').then((mod) => {
    const m = mod as Partial<typeof Undici> & { default?: Partial<typeof Undici> }
    const api = typeof m.Pool === 'function' ? m : m.default
    if (
      typeof api?.Pool !== 'function' ||
      typeof api.Client !== 'function' ||
      typeof api.request !== 'function'
    )
      throw new Error('undici has no Pool, Client or request')
    return api as UndiciApi
  })
  return loaded
}
