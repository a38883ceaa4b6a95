/**
 * undici's `request`, imported on first use: the api-server needs it only to proxy (services,
 * `pods/log`), so its start does not load undici. In the bundled binary (esbuild) a CommonJS package
 * imported with `import()` has its exports under `default` only; from the sources they are named.
 */
import type { request } from 'undici'

let loaded: Promise<typeof request> | undefined

export function undiciRequest(): Promise<typeof request> {
  loaded ??= import('undici').then((mod) => {
    const m = mod as Partial<typeof import('undici')> & { default?: { request?: typeof request } }
    const fn = m.request ?? m.default?.request
    if (typeof fn !== 'function') throw new Error('undici has no request function')
    return fn
  })
  return loaded
}
