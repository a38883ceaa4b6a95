/** Goal: which requests are watches, and which backends an Endpoints object lists. */
import { describe, expect, it } from 'vitest'
import { endpointsToUrls } from './endpoints-follower.js'
import { isWatchRequest } from './http-balancer.js'

describe('isWatchRequest', () => {
  it.each([
    ['/api/v1/pods?watch=true', true],
    ['/api/v1/namespaces/default/pods?watch=1&resourceVersion=5', true],
    ['/api/v1/watch/pods', true],
    ['/apis/apps/v1/watch/namespaces/x/deployments', true],
    ['/api/v1/pods', false],
    ['/api/v1/pods?watch=false', false],
    ['/api/v1/namespaces/watch/pods', false],
  ])('%s → %s', (url, watch) => {
    expect(isWatchRequest(url)).toBe(watch)
  })
})

describe('endpointsToUrls', () => {
  it('lists every address with the https port, sorted and deduplicated, in the seeds scheme', () => {
    const urls = endpointsToUrls(
      {
        subsets: [
          {
            addresses: [{ ip: '127.0.1.3' }, { ip: '127.0.1.1' }],
            ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
          },
          { addresses: [{ ip: '127.0.1.1' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] },
        ],
      },
      'https:',
    )
    expect(urls.map((u) => u.href)).toEqual(['https://127.0.1.1:6443/', 'https://127.0.1.3:6443/'])
  })

  it('gives nothing for an Endpoints without subsets or ports', () => {
    expect(endpointsToUrls({}, 'http:')).toEqual([])
    expect(endpointsToUrls({ subsets: [{ addresses: [{ ip: '1.2.3.4' }] }] }, 'http:')).toEqual([])
  })
})
