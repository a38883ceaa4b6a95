/**
 * The api-server contract: one suite of behaviours every storage setup must give the same way,
 * checked through plain HTTP requests and through @hakube/api (ApiClient, ResourceClient,
 * WatchStream, Informer, WorkQueue). Each setup file calls {@link apiServerContract} with a factory
 * for its Storage (memory, etcd3 over hakube-store, etcd3 over a real etcd 3.4); every case group
 * below runs against the same server and client (contract-fixture.ts). Every case uses its own
 * namespace (and node names), so cases are independent.
 *
 * Case groups, together covering issue 4 sections 2 and 3:
 * - contract-core.ts: namespaces, pods, leases, generation, selectors, pagination, watches, 410,
 *   informer, binding and scale, graceful deletion, storage metrics.
 * - contract-resources.ts: every resource with every verb, subresources, 405s, patch types,
 *   create-on-update.
 * - contract-reads.ts: list and watch resourceVersion semantics, bookmarks, watch timeouts,
 *   set-based label selectors and field selectors.
 * - contract-lifecycle.ts: object metadata, defaulting, status/spec separation, finalizers,
 *   propagation policies, delete preconditions, pod deletion events, Terminating namespaces, an
 *   informer feeding a WorkQueue.
 */
import { afterAll, beforeAll, describe } from 'vitest'
import { coreCases } from './contract-core.js'
import { ContractFixture, type ContractSetup } from './contract-fixture.js'
import { lifecycleCases } from './contract-lifecycle.js'
import { readCases } from './contract-reads.js'
import { resourceCases } from './contract-resources.js'

export type { ContractSetup } from './contract-fixture.js'

export function apiServerContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`api-server contract: ${name}`, () => {
    const fx = new ContractFixture()
    beforeAll(() => fx.start(setup), 120_000)
    afterAll(() => fx.stop(), 60_000)
    coreCases(fx)
    resourceCases(fx)
    readCases(fx)
    lifecycleCases(fx)
  })
}
