/**
 * ClusterIP allocation for Services from `--service-cluster-ip-range`, as kube-apiserver's allocator
 * with IPAddress objects does it (the MultiCIDRServiceAllocator of 1.31+): every allocated address is
 * a key `/registry/ipaddresses/<ip>` written with create-if-absent, so two api-servers of one cluster
 * can never hand out the same address, and releasing it deletes the key.
 *
 * - A Service without `spec.clusterIP` (ClusterIP, NodePort, LoadBalancer) gets a random free address
 *   of the range's upper band; kube keeps the lower band for addresses users ask for, and the first
 *   address for the `kubernetes` Service. An ExternalName Service or a headless one (`None`) gets
 *   none.
 * - An address the user names must lie in the range and be free, or the create is 422 Invalid with
 *   kube's texts.
 * - A dry run picks an address without taking it.
 * - Deleting the Service releases its address (a failure to release leaves a leak that is logged, as
 *   kube's repair loop would find it).
 */
import { fieldErrors, type ResourceInfo, type StatusError, statusErrors } from '@hakube/api'
import { isStorageError, type Storage } from '@hakube/storage'
import { isObject } from './body.js'
import { metaOf, nowRfc3339, type Obj } from './objects.js'
import { ipToNumber, numberToIp, type ServiceCidr } from './service-cidr.js'

export { firstServiceIp, parseServiceCidr, type ServiceCidr } from './service-cidr.js'

const KEY_PREFIX = '/registry/ipaddresses/'

function allocationInvalid(name: string, ip: string, detail: string): StatusError {
  return statusErrors.invalid({ group: '', kind: 'Service' }, name, [
    fieldErrors.invalid('spec.clusterIPs', [ip], `failed to allocate IP ${ip}: ${detail}`),
  ])
}

/**
 * kube's patchAllocatedValues: an update of a Service that leaves out its allocated addresses keeps
 * them (`kubectl replace` of a manifest without clusterIP).
 */
export function keepAllocated(resource: ResourceInfo, old: Obj, next: Obj): void {
  if (resource.kind !== 'Service' || !isObject(old.spec) || !isObject(next.spec)) return
  const o = old.spec
  const n = next.spec
  if (!wantsClusterIp(n)) return
  if ((n['clusterIP'] === undefined || n['clusterIP'] === '') && typeof o['clusterIP'] === 'string') {
    n['clusterIP'] = o['clusterIP']
    if (n['clusterIPs'] === undefined && o['clusterIPs'] !== undefined) n['clusterIPs'] = o['clusterIPs']
  }
  for (const k of ['ipFamilies', 'ipFamilyPolicy']) if (n[k] === undefined && o[k] !== undefined) n[k] = o[k]
}

const wantsClusterIp = (spec: Record<string, unknown>) =>
  spec['type'] !== 'ExternalName' && spec['clusterIP'] !== 'None'

export class ServiceIpAllocator {
  constructor(
    private readonly storage: Storage,
    readonly cidr: ServiceCidr,
  ) {}

  /**
   * Gives a Service about to be created its clusterIP (taking it unless `dryRun`); returns a release
   * function for when the create fails after the address was taken.
   */
  async allocate(resource: ResourceInfo, obj: Obj, dryRun: boolean): Promise<() => Promise<void>> {
    const none = async () => {}
    if (resource.kind !== 'Service' || !isObject(obj.spec) || !wantsClusterIp(obj.spec)) return none
    const spec = obj.spec
    const name = metaOf(obj).name ?? ''
    const asked = typeof spec['clusterIP'] === 'string' ? spec['clusterIP'] : ''
    let ip: string
    if (asked !== '') {
      const n = ipToNumber(asked)
      if (n === undefined || n <= this.cidr.base || n >= this.cidr.base + this.cidr.size - 1)
        throw allocationInvalid(
          name,
          asked,
          `the provided IP (${asked}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`,
        )
      ip = asked
      if (!dryRun && !(await this.take(ip, obj)))
        throw allocationInvalid(name, ip, 'provided IP is already allocated')
    } else {
      ip = await this.pick(obj, dryRun)
    }
    spec['clusterIP'] = ip
    spec['clusterIPs'] = [ip]
    spec['ipFamilies'] ??= ['IPv4']
    spec['ipFamilyPolicy'] ??= 'SingleStack'
    return dryRun ? none : () => this.release(ip)
  }

  /** Releases the address of a deleted Service; a failure is only reported (kube's repair loop). */
  async releaseOf(
    resource: ResourceInfo,
    obj: Obj | undefined,
    onError?: (err: unknown) => void,
  ): Promise<void> {
    if (resource.kind !== 'Service') return
    const ip = isObject(obj?.spec) ? obj.spec['clusterIP'] : undefined
    if (typeof ip !== 'string' || ip === '' || ip === 'None') return
    try {
      await this.release(ip)
    } catch (err) {
      onError?.(err)
    }
  }

  private async pick(obj: Obj, dryRun: boolean): Promise<string> {
    // kube's upper band: the lower 1/16 (at least 16, at most 256 addresses) stays for requested ones.
    const usable = this.cidr.size - 2
    const lower = Math.min(256, Math.max(16, Math.floor(usable / 16)))
    const band = usable > 2 * lower ? lower : 1
    for (let attempt = 0; attempt < 64; attempt++) {
      const ip = numberToIp(this.cidr.base + 1 + band + Math.floor(Math.random() * (usable - band)))
      if (dryRun ? !(await this.taken(ip)) : await this.take(ip, obj)) return ip
    }
    throw statusErrors.internalError(`failed to allocate a serviceIP: range is full (${this.cidr.text})`)
  }

  private async taken(ip: string): Promise<boolean> {
    try {
      await this.storage.get(KEY_PREFIX + ip)
      return true
    } catch (err) {
      if (isStorageError(err, 'NotFound')) return false
      throw err
    }
  }

  private async take(ip: string, service: Obj): Promise<boolean> {
    const m = metaOf(service)
    try {
      await this.storage.create(KEY_PREFIX + ip, {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IPAddress',
        metadata: {
          name: ip,
          labels: { 'ipaddress.kubernetes.io/managed-by': 'ipallocator.k8s.io' },
          creationTimestamp: nowRfc3339(),
        },
        spec: {
          parentRef: { group: '', resource: 'services', namespace: m.namespace ?? '', name: m.name ?? '' },
        },
      })
      return true
    } catch (err) {
      if (isStorageError(err, 'AlreadyExists')) return false
      throw err
    }
  }

  private async release(ip: string): Promise<void> {
    try {
      await this.storage.delete(KEY_PREFIX + ip)
    } catch (err) {
      if (!isStorageError(err, 'NotFound')) throw err
    }
  }
}
