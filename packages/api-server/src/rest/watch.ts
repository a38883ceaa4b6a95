/**
 * WATCH as kube-apiserver streams it (pkg/endpoints/handlers/watch.go, the watch cache's event
 * filtering in pkg/storage/cacher): one `{"type":...,"object":...}` JSON document per line over a
 * chunked `application/json` response.
 *
 * - `resourceVersion` unset or `0`: the current state first, as ADDED events, then every change;
 *   `N`: every change after N. A compacted N ends the stream with an ERROR event carrying a 410
 *   Expired Status (`too old resource version: N (compacted)`).
 * - Selectors are applied to both sides of a change: an object entering the selection is ADDED, one
 *   leaving it is DELETED (its previous state, at the new revision), as the cacher does.
 * - `allowWatchBookmarks=true`: a BOOKMARK with only `metadata.resourceVersion` every
 *   `bookmarkIntervalMs`, carrying the last revision the stream has caught up to.
 * - `timeoutSeconds` ends the stream (default: a random 30–60 min, as --min-request-timeout does).
 * - Watch-list (`sendInitialEvents`, with `resourceVersionMatch=NotOlderThan`, the WatchList feature
 *   of 1.32): `true` sends the state (at least `resourceVersion`, or the latest for none, any for
 *   `0`) as ADDED events, then a BOOKMARK annotated `k8s.io/initial-events-end: "true"` at the
 *   state's revision when bookmarks are allowed; `false` sends no state. `resourceVersionMatch`
 *   without `sendInitialEvents` is 422, as validateWatchOptions answers.
 * - Backpressure: while the response has 1 MiB buffered the storage handler returns a promise
 *   (settled on 'drain'), so the watch cache holds this watcher's events in its bounded buffer; a watcher the
 *   cache ends as too slow gets its stream ended without an ERROR, as kube closes a slow watcher's
 *   connection: client-go watches again from its last resourceVersion rather than relisting.
 */
import { randomInt } from 'node:crypto'
import { apiVersionOf, type Status, statusErrors } from '@hakube/api'
import {
  isStorageError,
  resourcePrefix,
  type StorageError,
  type Watch,
  type WatchEvent,
} from '@hakube/storage'
import type { FastifyReply } from 'fastify'
import type { ApiServer } from '../server.js'
import { storageCall, toStatus } from './errors.js'
import type { RestContext } from './handlers.js'
import { listOptionsInvalid, parseSelectors, readList, selects } from './list.js'
import { invalidResourceVersion, type Obj, parseResourceVersion, toWire } from './objects.js'
import { boolParam, intParam, type Query, queryParam } from './query.js'
import { watchEncoder } from './table.js'

const TIMER_MS_MAX = 2 ** 31 - 1

/**
 * Bytes a watch response may buffer (beyond what the socket took) before its events are held back:
 * room for a burst to a client that reads (Node's own 16 KB mark would hold every large event).
 */
const WATCH_WRITE_BUFFER_BYTES = 1024 * 1024

/** --min-request-timeout's default (1800 s): watches without timeoutSeconds last 1–2× this. */
const MIN_REQUEST_TIMEOUT_S = 1800

export interface WatchSettings {
  bookmarkIntervalMs: number
}

type Frame = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: Obj | Status }

export async function serveWatch(
  server: ApiServer,
  ctx: RestContext,
  name: string,
  query: Query,
  reply: FastifyReply,
  settings: WatchSettings,
): Promise<void> {
  const { resource, storage } = ctx
  // Everything that can fail with a plain HTTP error is checked before the stream starts.
  const sel = parseSelectors(resource, query, name)
  // Tables and PartialObjectMetadata per event (table.ts); 406/400 before the stream starts.
  const encode = watchEncoder(resource, reply.request.headers.accept, query)
  const rvText = queryParam(query, 'resourceVersion')
  const rv = parseResourceVersion(rvText)
  if (rv !== undefined && Number.isNaN(rv)) throw invalidResourceVersion(rvText)
  // 0 means unset, as ListResource reads it.
  const timeoutS =
    intParam(query, 'timeoutSeconds') || randomInt(MIN_REQUEST_TIMEOUT_S, 2 * MIN_REQUEST_TIMEOUT_S)
  const bookmarks = boolParam(query, 'allowWatchBookmarks')
  const sendInitialEvents = watchListMode(query)
  const initial: Obj[] = []
  let startRevision = rv ?? 0
  if (sendInitialEvents === true || (sendInitialEvents === undefined && (rv === undefined || rv === 0))) {
    const state = await readList(storage, resource, ctx.namespace, sel, {
      consistency: rv === 0 ? 'any' : 'quorum',
      limit: 0,
      fromContinue: false,
      ...(rv !== undefined && rv > 0 && { notOlderThan: rv }),
    })
    initial.push(...state.items)
    startRevision = state.revision
  } else if (sendInitialEvents === false && rv === undefined) {
    startRevision = await storageCall(ctx.gr, '', () => storage.currentRevision())
  }

  reply.hijack()
  const res = reply.raw
  res.writeHead(200, {
    'content-type': 'application/json',
    'transfer-encoding': 'chunked',
    'cache-control': 'no-cache, private',
  })
  // Clients wait for the response headers; send them before any event exists.
  res.flushHeaders()
  server.trackLongRunning(reply)
  let ended = false
  let lastRevision = startRevision
  let watch: Watch | undefined
  const timers: NodeJS.Timeout[] = []
  // Backpressure: once this response has buffered WATCH_WRITE_BUFFER_BYTES, the storage handler gets
  // a promise that settles on 'drain' (or when the stream ends), so the watch cache queues this
  // watcher's events, bounded, and ends it as too slow instead of this process buffering without
  // limit.
  let drained: Promise<void> | undefined
  const send = (frame: Frame): void => {
    if (ended) return
    res.write(`${JSON.stringify(encode(frame))}\n`)
    if (drained !== undefined || res.writableLength < WATCH_WRITE_BUFFER_BYTES) return
    drained = new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done)
        res.off('close', done)
        drained = undefined
        resolve()
      }
      res.on('drain', done)
      res.on('close', done)
    })
  }
  const end = (): void => {
    if (ended) return
    ended = true
    for (const t of timers) clearTimeout(t)
    watch?.close()
    res.end()
  }
  res.once('close', end)
  const fail = (err: StorageError | unknown): void => {
    // A watcher the cache ended as too slow: the stream just ends, as kube closes a slow watcher's
    // connection, so client-go watches again from its last revision (an ERROR would make it relist).
    if (isSlowWatcher(err)) {
      end()
      return
    }
    const status =
      (err as StorageError)?.code === 'TooOld'
        ? statusErrors.tooOldResourceVersion(rv ?? startRevision, (err as StorageError).revision ?? '')
        : toStatusSafe(err, ctx)
    send({ type: 'ERROR', object: status.toJSON() })
    end()
  }
  for (const obj of initial) send({ type: 'ADDED', object: obj })
  if (sendInitialEvents === true && bookmarks)
    send({
      type: 'BOOKMARK',
      object: {
        kind: resource.kind,
        apiVersion: apiVersionOf(resource),
        metadata: {
          resourceVersion: String(startRevision),
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      },
    })

  // Node's timers overflow past 2^31-1 ms (and then fire at once): a longer timeout is that long.
  timers.push(setTimeout(end, Math.min(timeoutS * 1000, TIMER_MS_MAX)))
  if (bookmarks) {
    const tick = setInterval(() => {
      send({
        type: 'BOOKMARK',
        object: {
          kind: resource.kind,
          apiVersion: apiVersionOf(resource),
          metadata: { resourceVersion: String(lastRevision) },
        },
      })
    }, settings.bookmarkIntervalMs)
    timers.push(tick)
  }
  // A promise while the socket is full (see send): the storage holds later events until it settles.
  const handler = (ev: WatchEvent<unknown>): Promise<void> | undefined => {
    deliver(ev)
    return ended ? undefined : drained
  }
  const deliver = (ev: WatchEvent<unknown>): void => {
    if (ended) return
    if (ev.type === 'ERROR') {
      fail(ev.error)
      return
    }
    lastRevision = Math.max(lastRevision, ev.revision)
    if (ev.type === 'BOOKMARK') return
    const cur = toWire(resource, ev.object)
    if (ev.type === 'ADDED') {
      if (selects(resource, sel, cur)) send({ type: 'ADDED', object: cur })
      return
    }
    const prev = ev.prevObject === undefined ? undefined : toWire(resource, ev.prevObject)
    if (prev !== undefined && prev.metadata !== undefined) prev.metadata.resourceVersion = String(ev.revision)
    if (ev.type === 'DELETED') {
      const gone = prev ?? cur
      if (selects(resource, sel, gone)) send({ type: 'DELETED', object: gone })
      return
    }
    const now = selects(resource, sel, cur)
    const before = prev === undefined ? now : selects(resource, sel, prev)
    if (now && before) send({ type: 'MODIFIED', object: cur })
    else if (now) send({ type: 'ADDED', object: cur })
    else if (before && prev !== undefined) send({ type: 'DELETED', object: prev })
  }
  try {
    const w = await storage.watch(
      {
        prefix: resourcePrefix(resource.plural, ctx.namespace),
        afterRevision: startRevision,
        prevKv: true,
        progressNotify: bookmarks,
      },
      handler,
    )
    if (ended) w.close()
    else watch = w
  } catch (err) {
    fail(err)
  }
}

/** The watch cache's "watcher too slow" end (packages/storage/src/cache/watcher.ts). */
function isSlowWatcher(err: unknown): boolean {
  return isStorageError(err, 'Unavailable') && err.slowWatcher
}

/** `sendInitialEvents` (undefined when absent), checked as validateWatchOptions does. */
function watchListMode(query: Query): boolean | undefined {
  const match = queryParam(query, 'resourceVersionMatch') ?? ''
  const text = queryParam(query, 'sendInitialEvents')
  const mode = text === undefined || text === '' ? undefined : text === 'true' || text === '1'
  if (mode !== undefined && match !== 'NotOlderThan')
    throw listOptionsInvalid(
      'resourceVersionMatch',
      'FieldValueForbidden',
      'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    )
  if (match !== '' && mode === undefined)
    throw listOptionsInvalid(
      'resourceVersionMatch',
      'FieldValueForbidden',
      'Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    )
  return mode
}

function toStatusSafe(err: unknown, ctx: RestContext) {
  try {
    return toStatus(err, ctx.gr, '')
  } catch {
    return statusErrors.internalError(err instanceof Error ? err.message : String(err))
  }
}
