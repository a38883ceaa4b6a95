/**
 * Controller expectations (kube's pkg/controller/controller_utils.go, UIDTrackingControllerExpectations):
 * per controller key, how many creations and which deletions (by pod uid) the controller is still
 * waiting to see in its informer. A key syncs only when its expectations are fulfilled (add ≤ 0 and no
 * deletion pending), expired (5 minutes after being set: a missed watch event never blocks a
 * controller forever), or not recorded at all. So a slow informer never makes the controller create
 * or delete the same pods twice.
 *
 * Pure: time comes from the injected clock.
 */
import type { Clock } from '@hakube/api'

/** kube's ExpectationsTimeout. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000

interface Expectation {
  add: number
  deletes: Set<string>
  setAtMs: number
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>()

  constructor(private readonly clock: Clock) {}

  /** True when the key may sync: fulfilled, expired or never set. */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key)
    if (e === undefined) return true
    if (e.add <= 0 && e.deletes.size === 0) return true
    return this.clock.now() - e.setAtMs > EXPECTATIONS_TIMEOUT_MS
  }

  expectCreations(key: string, count: number): void {
    this.byKey.set(key, { add: count, deletes: new Set(), setAtMs: this.clock.now() })
  }

  expectDeletions(key: string, uids: readonly string[]): void {
    this.byKey.set(key, { add: 0, deletes: new Set(uids), setAtMs: this.clock.now() })
  }

  /** A pod of the key appeared (or a create failed: no pod will appear). */
  creationObserved(key: string): void {
    const e = this.byKey.get(key)
    if (e !== undefined) e.add--
  }

  /** A pod of the key is being deleted or gone (or its delete failed). */
  deletionObserved(key: string, uid: string): void {
    this.byKey.get(key)?.deletes.delete(uid)
  }

  delete(key: string): void {
    this.byKey.delete(key)
  }

  /** The pending counts of a key (tests, logs). */
  pending(key: string): { add: number; deletes: number } | undefined {
    const e = this.byKey.get(key)
    return e === undefined ? undefined : { add: e.add, deletes: e.deletes.size }
  }
}
