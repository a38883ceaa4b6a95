import { afterEach, describe, expect, it } from 'vitest'
import { call, startTestServer, stopTestServers } from '../testing/harness.js'
import { firstServiceIp, parseServiceCidr } from './service-ips.js'

afterEach(stopTestServers)

const service = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
})

const toNumber = (ip: string) => ip.split('.').reduce((n, p) => n * 256 + Number(p), 0)

describe('parseServiceCidr', () => {
  it('reads IPv4 CIDRs from /8 to /30 and refuses the rest', () => {
    const c = parseServiceCidr('10.96.0.0/12')
    expect(c).toEqual({ text: '10.96.0.0/12', base: toNumber('10.96.0.0'), size: 2 ** 20 })
    expect(c && firstServiceIp(c)).toBe('10.96.0.1')
    expect(parseServiceCidr('10.96.3.7/24')?.base).toBe(toNumber('10.96.3.0'))
    for (const bad of ['10.96.0.0', '10.96.0.0/31', '10.96.0.0/4', '10.300.0.0/16', 'fd00::/108', 'x/24'])
      expect(parseServiceCidr(bad), bad).toBeUndefined()
  })
})

describe('service clusterIP allocation', () => {
  const svcs = (base: string) => `${base}/api/v1/namespaces/default/services`

  it('gives each Service a distinct address of the upper band, IPv4 single stack', async () => {
    const { base } = await startTestServer({ namespaces: ['default'] })
    const ips = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const r = await call('POST', svcs(base), service(`s${i}`))
      expect(r.status).toBe(201)
      const spec = r.body['spec']
      expect(spec.clusterIPs).toEqual([spec.clusterIP])
      expect(spec.ipFamilies).toEqual(['IPv4'])
      expect(spec.ipFamilyPolicy).toBe('SingleStack')
      const n = toNumber(spec.clusterIP)
      // 10.96.0.0/12: the lower 256 addresses are kept for requested ones.
      expect(n).toBeGreaterThan(toNumber('10.96.1.0'))
      expect(n).toBeLessThan(toNumber('10.111.255.255'))
      ips.add(spec.clusterIP)
    }
    expect(ips.size).toBe(20)
  })

  it('a requested address must be free and in range; deleting the Service frees it', async () => {
    const { base } = await startTestServer({ namespaces: ['default'] })
    const a = await call('POST', svcs(base), service('dns', { clusterIP: '10.96.0.10' }))
    expect(a.status).toBe(201)
    expect(a.body['spec'].clusterIP).toBe('10.96.0.10')
    const b = await call('POST', svcs(base), service('other', { clusterIP: '10.96.0.10' }))
    expect(b.status).toBe(422)
    expect(b.body['message']).toBe(
      'Service "other" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated',
    )
    const out = await call('POST', svcs(base), service('out', { clusterIP: '10.0.0.10' }))
    expect(out.status).toBe(422)
    expect(out.body['message']).toContain('the provided IP (10.0.0.10) is not in the valid range')
    // An update without the address keeps it, as kube's patchAllocatedValues.
    const replaced = await call('PUT', `${svcs(base)}/dns`, service('dns', { ports: [{ port: 53 }] }))
    expect(replaced.status).toBe(200)
    expect(replaced.body['spec'].clusterIP).toBe('10.96.0.10')
    expect(replaced.body['spec'].ports[0].port).toBe(53)
    expect((await call('DELETE', `${svcs(base)}/dns`)).status).toBe(200)
    expect((await call('POST', svcs(base), service('other', { clusterIP: '10.96.0.10' }))).status).toBe(201)
  })

  it('headless and ExternalName Services get none; a dry run takes nothing', async () => {
    const { base } = await startTestServer({ namespaces: ['default'] })
    const headless = await call('POST', svcs(base), service('h', { clusterIP: 'None' }))
    expect(headless.body['spec'].clusterIP).toBe('None')
    const ext = await call('POST', svcs(base), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ext' },
      spec: { type: 'ExternalName', externalName: 'example.com' },
    })
    expect(ext.status).toBe(201)
    expect(ext.body['spec'].clusterIP).toBeUndefined()
    const dry = await call('POST', `${svcs(base)}?dryRun=All`, service('dry', { clusterIP: '10.96.0.20' }))
    expect(dry.status).toBe(201)
    expect(dry.body['spec'].clusterIP).toBe('10.96.0.20')
    expect((await call('POST', svcs(base), service('real', { clusterIP: '10.96.0.20' }))).status).toBe(201)
  })
})
