/**
 * Goal: the framework's contract: a term starts with every cached key, keys added while queued are
 * synced once, a failed sync is retried with backoff until it succeeds, `requeueAfterMs` checks again,
 * and aborting the term stops new syncs, aborts the actions' signal and resolves only once the sync
 * in flight has finished; between terms enqueues are dropped.
 * Method: a scripted ControllerSpec and a fake Actions; no sockets.
 */
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { Actions } from './actions.js'
import { Controller, type ControllerSpec, type SyncResult } from './controller.js'
import { FakeActions } from './testing/fake-actions.js'

class ScriptedSpec implements ControllerSpec {
  readonly name = 'test'
  enqueue: (key: string) => void = () => {}
  synced = true
  keys = ['a', 'b']
  readonly log: string[] = []
  failuresLeft = new Map<string, number>()
  requeue = new Map<string, number>()
  gate: Promise<void> | undefined

  register(enqueue: (key: string) => void): void {
    this.enqueue = enqueue
  }
  hasSynced(): boolean {
    return this.synced
  }
  initialKeys(): Iterable<string> {
    return this.keys
  }
  async sync(key: string, _actions: Actions): Promise<SyncResult | undefined> {
    this.log.push(key)
    if (this.gate !== undefined) await this.gate
    const left = this.failuresLeft.get(key) ?? 0
    if (left > 0) {
      this.failuresLeft.set(key, left - 1)
      throw new Error(`${key} failed`)
    }
    const after = this.requeue.get(key)
    if (after !== undefined) {
      this.requeue.delete(key)
      return { requeueAfterMs: after }
    }
    return undefined
  }
}

const until = async (cond: () => boolean, timeoutMs = 3000) => {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met')
    await new Promise((r) => setTimeout(r, 5))
  }
}

function controller(spec: ScriptedSpec, signals: AbortSignal[] = [], workers = 2) {
  return new Controller({
    spec,
    workers,
    log: pino({ level: 'silent' }),
    actionsFor: (signal) => {
      signals.push(signal)
      return new FakeActions()
    },
  })
}

describe('Controller', () => {
  it('syncs every cached key at the start of a term, then each enqueued key; errors retry with backoff', async () => {
    const spec = new ScriptedSpec()
    spec.failuresLeft.set('b', 3)
    spec.requeue.set('a', 20)
    const c = controller(spec)
    spec.enqueue('before') // no term yet: dropped
    const term = new AbortController()
    const running = c.run(term.signal)
    // a twice (requeueAfterMs), b four times (three failures: 5, 10, 20 ms backoff).
    await until(
      () => spec.log.filter((k) => k === 'b').length === 4 && spec.log.filter((k) => k === 'a').length === 2,
    )
    spec.enqueue('c')
    await until(() => spec.log.includes('c'))
    term.abort()
    await running
    expect(spec.log).not.toContain('before')
    expect(spec.log.filter((k) => k === 'c')).toEqual(['c'])
  })

  it('deduplicates a key added many times while it waits', async () => {
    const spec = new ScriptedSpec()
    spec.keys = []
    let release: () => void = () => {}
    spec.gate = new Promise((r) => {
      release = r
    })
    const c = controller(spec, [], 1)
    const term = new AbortController()
    const running = c.run(term.signal)
    await new Promise((r) => setTimeout(r, 20))
    spec.enqueue('busy')
    await until(() => spec.log.length === 1)
    for (let i = 0; i < 5; i++) spec.enqueue('x')
    release()
    spec.gate = undefined
    await until(() => spec.log.includes('x'))
    await new Promise((r) => setTimeout(r, 50))
    expect(spec.log).toEqual(['busy', 'x'])
    term.abort()
    await running
  })

  it('an aborted term aborts the actions, syncs nothing new, and resolves after the sync in flight', async () => {
    const spec = new ScriptedSpec()
    spec.keys = ['slow', 'next']
    let release: () => void = () => {}
    spec.gate = new Promise((r) => {
      release = r
    })
    const signals: AbortSignal[] = []
    const c = controller(spec, signals, 1)
    const term = new AbortController()
    let resolved = false
    const running = c.run(term.signal).then(() => {
      resolved = true
    })
    await until(() => spec.log.length === 1)
    term.abort()
    expect(signals[0]?.aborted).toBe(true)
    await new Promise((r) => setTimeout(r, 30))
    expect(resolved).toBe(false)
    release()
    await running
    expect(spec.log).toEqual(['slow'])
    spec.enqueue('after')
    await new Promise((r) => setTimeout(r, 20))
    expect(spec.log).toEqual(['slow'])
  })

  it('waits for the informers before the first sync, and gives up if the term ends first', async () => {
    const spec = new ScriptedSpec()
    spec.synced = false
    const c = controller(spec)
    const term = new AbortController()
    const running = c.run(term.signal)
    await new Promise((r) => setTimeout(r, 100))
    expect(spec.log).toEqual([])
    term.abort()
    await running
    expect(spec.log).toEqual([])
  })
})
