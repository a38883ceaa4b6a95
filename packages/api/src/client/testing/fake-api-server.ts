/**
 * A small in-process api-server for one resource (core/v1 `pods`) on 127.0.0.1, for tests of the
 * client, informers and controllers. It keeps resourceVersions, a history for watches, and lets a
 * test inject faults: Status errors, raw bodies, requests that never get an answer, closed watch
 * streams, compaction (410 for too-old resourceVersions), bookmarks, and watch events written in
 * small pieces.
 *
 * Guarantees (what tests may rely on): every request is recorded; resourceVersions are a global
 * counter starting at 100 and rise by one per change; a watch from `resourceVersion` R replays
 * every change after R (R below the compaction point → 410 Expired, as an ERROR event by default or
 * as an HTTP 410); a watch without R (or `0`) starts with ADDED events for the current objects;
 * `close()` ends every stream and socket.
 * Non-guarantees: only equality label selectors (`k=v`, `k!=v`) and the `metadata.name` /
 * `metadata.namespace` field selectors; no namespaces objects (any namespace exists); no admission,
 * defaulting or validation beyond "has a name".
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeObject {
  apiVersion?: string
  kind?: string
  metadata: {
    name?: string
    generateName?: string
    namespace?: string
    uid?: string
    resourceVersion?: string
    labels?: Record<string, string>
    [key: string]: unknown
  }
  spec?: Record<string, unknown>
  status?: Record<string, unknown>
  [key: string]: unknown
}

export interface RecordedRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
  body: string
}

/** What to do with a request a fault matched. */
export type FaultAction =
  | { kind: 'status'; code: number; reason: string; message?: string; retryAfterSeconds?: number }
  | { kind: 'raw'; code: number; body: string; contentType?: string; headers?: Record<string, string> }
  /** Never answer (until close()). */
  | { kind: 'hang' }
  /** Destroy the socket without an answer. */
  | { kind: 'reset' }

interface Fault {
  remaining: number
  match: (req: RecordedRequest) => boolean
  action: FaultAction
}

interface Watcher {
  res: ServerResponse
  namespace: string | undefined
  bookmarks: boolean
  filter: (obj: FakeObject) => boolean
  timer: NodeJS.Timeout | undefined
}

interface HistoryEntry {
  rv: number
  type: 'ADDED' | 'MODIFIED' | 'DELETED'
  obj: FakeObject
}

export interface FakeApiServerOptions {
  /** Answer a too-old watch with an HTTP 410 instead of a 200 stream carrying an ERROR event. */
  watchGoneAsHttp?: boolean
  /** Write each watch event in pieces of this many bytes, a few ms apart. */
  watchChunkBytes?: number
  /** Do not end watches at `timeoutSeconds` (a server or proxy that hangs on to streams). */
  ignoreWatchTimeout?: boolean
}

const apiVersion = 'v1'
const kind = 'Pod'

export class FakeApiServer {
  readonly requests: RecordedRequest[] = []
  private readonly server: Server
  private readonly objects = new Map<string, FakeObject>()
  private readonly history: HistoryEntry[] = []
  private readonly watchers = new Set<Watcher>()
  private readonly hanging = new Set<ServerResponse>()
  private readonly faults: Fault[] = []
  private revision = 100
  private compactedRv = 0
  private baseUrl = ''

  private constructor(readonly options: FakeApiServerOptions) {
    this.server = createServer((req, res) => this.handle(req, res))
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const fake = new FakeApiServer(options)
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve))
    const { port } = fake.server.address() as AddressInfo
    fake.baseUrl = `http://127.0.0.1:${port}`
    return fake
  }

  get url(): string {
    return this.baseUrl
  }

  get resourceVersion(): string {
    return String(this.revision)
  }

  /** Open watch streams right now. */
  get watchCount(): number {
    return this.watchers.size
  }

  /** Makes the next `times` requests matching `match` (default: all) get `action`. */
  inject(action: FaultAction, times = 1, match: (req: RecordedRequest) => boolean = () => true): void {
    this.faults.push({ remaining: times, match, action })
  }

  /** Creates or replaces an object directly, notifying watchers (ADDED or MODIFIED). */
  upsert(obj: FakeObject): FakeObject {
    const ns = obj.metadata.namespace ?? 'default'
    const name = obj.metadata.name ?? ''
    const key = `${ns}/${name}`
    const old = this.objects.get(key)
    const stored: FakeObject = structuredClone({
      ...obj,
      apiVersion,
      kind,
      metadata: {
        ...obj.metadata,
        namespace: ns,
        uid: old?.metadata.uid ?? obj.metadata.uid ?? randomUUID(),
      },
    })
    this.commit(key, old === undefined ? 'ADDED' : 'MODIFIED', stored)
    return stored
  }

  /** Deletes an object directly; `silent` changes the revision but tells no watcher (a lost event). */
  remove(namespace: string, name: string, options: { silent?: boolean } = {}): void {
    const key = `${namespace}/${name}`
    const old = this.objects.get(key)
    if (old === undefined) return
    if (options.silent === true) {
      this.objects.delete(key)
      this.revision++
      return
    }
    this.commit(key, 'DELETED', old)
  }

  /** Forgets history: watches from a resourceVersion below the current one get 410. */
  compact(): void {
    this.compactedRv = this.revision
    this.history.length = 0
  }

  /** Sends a BOOKMARK at the current revision to every watcher that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (w.bookmarks) {
        this.send(w.res, {
          type: 'BOOKMARK',
          object: { apiVersion, kind, metadata: { resourceVersion: this.resourceVersion } },
        })
      }
    }
  }

  /** Ends every open watch stream normally (as an api-server's timeout or restart would). */
  closeWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w)
  }

  get(namespace: string, name: string): FakeObject | undefined {
    return this.objects.get(`${namespace}/${name}`)
  }

  async close(): Promise<void> {
    this.closeWatches()
    for (const res of this.hanging) res.destroy()
    this.hanging.clear()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private commit(key: string, type: HistoryEntry['type'], obj: FakeObject): void {
    this.revision++
    const stored: FakeObject = {
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: this.resourceVersion },
    }
    if (type === 'DELETED') this.objects.delete(key)
    else this.objects.set(key, stored)
    this.history.push({ rv: this.revision, type, obj: stored })
    for (const w of this.watchers) {
      if (this.visible(w, stored)) this.send(w.res, { type, object: stored })
    }
  }

  private visible(w: Watcher, obj: FakeObject): boolean {
    return (w.namespace === undefined || obj.metadata.namespace === w.namespace) && w.filter(obj)
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake')
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      this.requests.push(rec)
      const fault = this.faults.find((f) => f.remaining > 0 && f.match(rec))
      if (fault !== undefined) {
        fault.remaining--
        this.applyFault(fault.action, res)
        return
      }
      try {
        this.route(rec, res)
      } catch (err) {
        this.status(res, 500, 'InternalError', String(err))
      }
    })
  }

  private applyFault(action: FaultAction, res: ServerResponse): void {
    switch (action.kind) {
      case 'status': {
        const details =
          action.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: action.retryAfterSeconds }
        if (action.retryAfterSeconds !== undefined)
          res.setHeader('retry-after', String(action.retryAfterSeconds))
        this.status(res, action.code, action.reason, action.message ?? action.reason, details)
        return
      }
      case 'raw':
        res.writeHead(action.code, { 'content-type': action.contentType ?? 'text/plain', ...action.headers })
        res.end(action.body)
        return
      case 'hang':
        this.hanging.add(res)
        res.on('close', () => this.hanging.delete(res))
        return
      case 'reset':
        res.socket?.destroy()
        return
    }
  }

  private route(req: RecordedRequest, res: ServerResponse): void {
    const m = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/pods(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(req.path)
    if (m === null) {
      this.status(res, 404, 'NotFound', 'the server could not find the requested resource')
      return
    }
    const ns = m[1] === undefined ? undefined : decodeURIComponent(m[1])
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2])
    const sub = m[3]
    if (name === undefined) {
      if (req.method === 'GET' && req.query.get('watch') !== null) this.watch(req, res, ns)
      else if (req.method === 'GET') this.list(req, res, ns)
      else if (req.method === 'POST' && ns !== undefined) this.create(req, res, ns)
      else if (req.method === 'DELETE' && ns !== undefined) this.deleteCollection(req, res, ns)
      else this.status(res, 405, 'MethodNotAllowed', `${req.method} is not allowed here`)
      return
    }
    if (ns === undefined) {
      this.status(res, 404, 'NotFound', 'pods are namespaced')
      return
    }
    const key = `${ns}/${name}`
    const current = this.objects.get(key)
    if (current === undefined && !(req.method === 'POST' && sub === 'binding')) {
      this.status(res, 404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' })
      return
    }
    if (sub === undefined) this.object(req, res, key, current!)
    else if (sub === 'status') this.statusSub(req, res, key, current!)
    else if (sub === 'binding' && req.method === 'POST') this.binding(req, res, key, current, name)
    else this.status(res, 404, 'NotFound', `pods/${sub} not found`)
  }

  private object(req: RecordedRequest, res: ServerResponse, key: string, current: FakeObject): void {
    const name = current.metadata.name ?? ''
    switch (req.method) {
      case 'GET':
        this.json(res, 200, current)
        return
      case 'PUT': {
        const body = parseBody(req)
        const rv = body.metadata?.resourceVersion
        if (rv !== undefined && rv !== current.metadata.resourceVersion) {
          this.conflict(res, name)
          return
        }
        this.commit(key, 'MODIFIED', {
          ...body,
          status: current.status,
          metadata: { ...current.metadata, ...body.metadata },
        })
        this.json(res, 200, this.objects.get(key))
        return
      }
      case 'PATCH': {
        const type = req.headers['content-type'] ?? ''
        const patch = JSON.parse(req.body) as unknown
        let next: FakeObject
        if (type === 'application/json-patch+json') next = applyJsonPatch(current, patch as JsonPatchOp[])
        else if (
          type === 'application/merge-patch+json' ||
          type === 'application/strategic-merge-patch+json'
        ) {
          next = mergePatch(current, patch) as FakeObject
        } else {
          this.status(res, 415, 'UnsupportedMediaType', `the media type "${type}" is not supported`)
          return
        }
        this.commit(key, 'MODIFIED', next)
        this.json(res, 200, this.objects.get(key))
        return
      }
      case 'DELETE': {
        const opts =
          req.body === ''
            ? {}
            : (JSON.parse(req.body) as { preconditions?: { uid?: string; resourceVersion?: string } })
        const pre = opts.preconditions
        if (
          (pre?.uid !== undefined && pre.uid !== current.metadata.uid) ||
          (pre?.resourceVersion !== undefined && pre.resourceVersion !== current.metadata.resourceVersion)
        ) {
          this.conflict(res, name)
          return
        }
        this.commit(key, 'DELETED', current)
        this.json(res, 200, current)
        return
      }
      default:
        this.status(res, 405, 'MethodNotAllowed', `${req.method} is not allowed here`)
    }
  }

  private statusSub(req: RecordedRequest, res: ServerResponse, key: string, current: FakeObject): void {
    if (req.method === 'GET') {
      this.json(res, 200, current)
    } else if (req.method === 'PUT') {
      const body = parseBody(req)
      const rv = body.metadata?.resourceVersion
      if (rv !== undefined && rv !== current.metadata.resourceVersion) {
        this.conflict(res, current.metadata.name ?? '')
        return
      }
      this.commit(key, 'MODIFIED', { ...current, status: body.status })
      this.json(res, 200, this.objects.get(key))
    } else {
      this.status(res, 405, 'MethodNotAllowed', `${req.method} is not allowed here`)
    }
  }

  private binding(
    req: RecordedRequest,
    res: ServerResponse,
    key: string,
    current: FakeObject | undefined,
    name: string,
  ): void {
    if (current === undefined) {
      this.status(res, 404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' })
      return
    }
    const node = (parseBody(req) as { target?: { name?: string } }).target?.name
    const bound = current.spec?.['nodeName']
    if (typeof bound === 'string' && bound !== '') {
      this.status(res, 409, 'Conflict', `pod ${name} is already assigned to node "${bound}"`, {
        name,
        kind: 'pods',
      })
      return
    }
    this.commit(key, 'MODIFIED', { ...current, spec: { ...current.spec, nodeName: node } })
    this.json(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 })
  }

  private create(req: RecordedRequest, res: ServerResponse, ns: string): void {
    const body = parseBody(req)
    let name = body.metadata?.name
    if ((name === undefined || name === '') && body.metadata?.generateName !== undefined) {
      name = body.metadata.generateName + randomUUID().slice(0, 5)
    }
    if (name === undefined || name === '') {
      this.status(res, 422, 'Invalid', 'Pod "" is invalid: metadata.name: Required value', {
        kind: 'Pod',
        causes: [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value' }],
      })
      return
    }
    const key = `${ns}/${name}`
    if (this.objects.has(key)) {
      this.status(res, 409, 'AlreadyExists', `pods "${name}" already exists`, { name, kind: 'pods' })
      return
    }
    if (req.query.get('dryRun') === 'All') {
      this.json(res, 201, { ...body, metadata: { ...body.metadata, name, namespace: ns } })
      return
    }
    this.commit(key, 'ADDED', {
      ...body,
      apiVersion,
      kind,
      metadata: {
        ...body.metadata,
        name,
        namespace: ns,
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString(),
      },
    })
    this.json(res, 201, this.objects.get(key))
  }

  private selected(req: RecordedRequest, ns: string | undefined): FakeObject[] {
    const filter = selectorFilter(req.query)
    return [...this.objects.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => obj)
      .filter((obj) => (ns === undefined || obj.metadata.namespace === ns) && filter(obj))
  }

  private list(req: RecordedRequest, res: ServerResponse, ns: string | undefined): void {
    let items = this.selected(req, ns)
    let listRv = this.revision
    let offset = 0
    const token = req.query.get('continue')
    if (token !== null && token !== '') {
      const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
        rv: number
        offset: number
      }
      if (parsed.rv < this.compactedRv) {
        this.status(res, 410, 'Expired', 'The provided continue parameter is too old')
        return
      }
      listRv = parsed.rv
      offset = parsed.offset
    }
    const limit = Number.parseInt(req.query.get('limit') ?? '0', 10)
    items = items.slice(offset)
    let next: string | undefined
    if (limit > 0 && items.length > limit) {
      items = items.slice(0, limit)
      next = Buffer.from(JSON.stringify({ rv: listRv, offset: offset + limit })).toString('base64')
    }
    this.json(res, 200, {
      apiVersion,
      kind: 'PodList',
      metadata: { resourceVersion: String(listRv), ...(next === undefined ? {} : { continue: next }) },
      items,
    })
  }

  private deleteCollection(req: RecordedRequest, res: ServerResponse, ns: string): void {
    const items = this.selected(req, ns)
    for (const obj of items) this.commit(`${ns}/${obj.metadata.name}`, 'DELETED', obj)
    this.json(res, 200, {
      apiVersion,
      kind: 'PodList',
      metadata: { resourceVersion: this.resourceVersion },
      items,
    })
  }

  private watch(req: RecordedRequest, res: ServerResponse, ns: string | undefined): void {
    const rvParam = req.query.get('resourceVersion')
    const from =
      rvParam === null || rvParam === '' || rvParam === '0' ? undefined : Number.parseInt(rvParam, 10)
    if (from !== undefined && from < this.compactedRv) {
      const gone = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${from} (${this.compactedRv})`,
        reason: 'Expired',
        code: 410,
      }
      if (this.options.watchGoneAsHttp === true) {
        this.json(res, 410, gone)
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`)
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    res.flushHeaders()
    const w: Watcher = {
      res,
      namespace: ns,
      bookmarks: req.query.get('allowWatchBookmarks') === 'true',
      filter: selectorFilter(req.query),
      timer: undefined,
    }
    this.watchers.add(w)
    res.on('close', () => this.endWatch(w))
    const timeoutSeconds = req.query.get('timeoutSeconds')
    if (timeoutSeconds !== null && this.options.ignoreWatchTimeout !== true) {
      w.timer = setTimeout(() => this.endWatch(w), Number.parseInt(timeoutSeconds, 10) * 1000)
    }
    if (from === undefined) {
      for (const obj of this.selected(req, ns)) this.send(res, { type: 'ADDED', object: obj })
    } else {
      for (const h of this.history) {
        if (h.rv > from && this.visible(w, h.obj)) this.send(res, { type: h.type, object: h.obj })
      }
    }
  }

  private endWatch(w: Watcher): void {
    if (!this.watchers.delete(w)) return
    if (w.timer !== undefined) clearTimeout(w.timer)
    if (!w.res.writableEnded) w.res.end()
  }

  private send(res: ServerResponse, event: unknown): void {
    const line = `${JSON.stringify(event)}\n`
    const size = this.options.watchChunkBytes
    if (size === undefined) {
      res.write(line)
      return
    }
    const bytes = Buffer.from(line, 'utf8')
    for (let i = 0; i < bytes.length; i += size) res.write(bytes.subarray(i, i + size))
  }

  private conflict(res: ServerResponse, name: string): void {
    this.status(
      res,
      409,
      'Conflict',
      `Operation cannot be fulfilled on pods "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, kind: 'pods' },
    )
  }

  private status(
    res: ServerResponse,
    code: number,
    reason: string,
    message: string,
    details: Record<string, unknown> = {},
  ): void {
    this.json(res, code, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      details,
      code,
    })
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
}

function parseBody(req: RecordedRequest): FakeObject {
  const body = JSON.parse(req.body) as FakeObject
  return { ...body, metadata: body.metadata ?? {} }
}

function selectorFilter(query: URLSearchParams): (obj: FakeObject) => boolean {
  const terms: ((obj: FakeObject) => boolean)[] = []
  for (const term of (query.get('labelSelector') ?? '').split(',').filter((t) => t !== '')) {
    const [k = '', v = ''] = term.split(/!?=/)
    const negate = term.includes('!=')
    terms.push((obj) => (obj.metadata.labels?.[k] === v) !== negate)
  }
  for (const term of (query.get('fieldSelector') ?? '').split(',').filter((t) => t !== '')) {
    const [k = '', v = ''] = term.split('=')
    if (k === 'metadata.name') terms.push((obj) => obj.metadata.name === v)
    else if (k === 'metadata.namespace') terms.push((obj) => obj.metadata.namespace === v)
  }
  return (obj) => terms.every((t) => t(obj))
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove'
  path: string
  value?: unknown
}

/** RFC 6902 add / replace / remove on object members (enough for tests). */
function applyJsonPatch(target: FakeObject, ops: JsonPatchOp[]): FakeObject {
  const doc = structuredClone(target) as unknown as Record<string, unknown>
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    const last = parts.pop() ?? ''
    let node: Record<string, unknown> = doc
    for (const p of parts) node = node[p] as Record<string, unknown>
    if (op.op === 'remove') delete node[last]
    else node[last] = op.value
  }
  return doc as unknown as FakeObject
}
