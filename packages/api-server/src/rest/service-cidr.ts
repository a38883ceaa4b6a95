/**
 * `--service-cluster-ip-range` as numbers: parsing and address arithmetic, apart from the allocator
 * (service-ips.ts) so that the flag parser (options.ts) does not load the storage and the API objects
 * the allocator needs (`--help` and `--version` answer without them).
 */

/** An IPv4 CIDR as numbers: the first address and the size. */
export interface ServiceCidr {
  text: string
  base: number
  size: number
}

export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined
    n = n * 256 + Number(p)
  }
  return n
}

export const numberToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')

/** Parses `10.96.0.0/12`; undefined when it is not an IPv4 CIDR with room for services (/8 to /30). */
export function parseServiceCidr(text: string): ServiceCidr | undefined {
  const [ip, bits] = text.split('/')
  const prefix = Number(bits)
  const n = ipToNumber(ip ?? '')
  if (n === undefined || !/^\d+$/.test(bits ?? '') || prefix < 8 || prefix > 30) return undefined
  const size = 2 ** (32 - prefix)
  return { text, base: n - (n % size), size }
}

/** The address of the `kubernetes` Service: the first one of the range. */
export const firstServiceIp = (cidr: ServiceCidr) => numberToIp(cidr.base + 1)
