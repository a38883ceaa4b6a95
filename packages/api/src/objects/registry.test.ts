// Names, scopes, verbs and subresources as `kubectl api-resources -o wide` shows them for a real
// kube-apiserver 1.32 (and shared/reference/kubectl-wire.md §2).
import { describe, expect, it } from 'vitest'
import {
  lookupKind,
  lookupResource,
  qualifiedKind,
  qualifiedResource,
  RESOURCES,
  resolveResource,
  resourcesInCategory,
} from './registry.js'

describe('resource registry', () => {
  it.each([
    ['namespaces', '', false, ['ns']],
    ['nodes', '', false, ['no']],
    ['pods', '', true, ['po']],
    ['services', '', true, ['svc']],
    ['endpoints', '', true, ['ep']],
    ['events', '', true, ['ev']],
    ['configmaps', '', true, ['cm']],
    ['secrets', '', true, []],
    ['serviceaccounts', '', true, ['sa']],
    ['deployments', 'apps', true, ['deploy']],
    ['replicasets', 'apps', true, ['rs']],
    ['leases', 'coordination.k8s.io', true, []],
  ])('%s', (plural, group, namespaced, shortNames) => {
    const r = lookupResource(group, 'v1', plural)
    expect(r).toBeDefined()
    expect(r!.namespaced).toBe(namespaced)
    expect(r!.shortNames).toEqual(shortNames)
    expect(r!.listKind).toBe(`${r!.kind}List`)
  })
  it('has unique names', () => {
    const shorts = RESOURCES.flatMap((r) => r.shortNames)
    expect(new Set(shorts).size).toBe(shorts.length)
    expect(new Set(RESOURCES.map((r) => `${r.group}/${r.plural}`)).size).toBe(RESOURCES.length)
  })
  it('subresources and verbs', () => {
    const pods = lookupResource('', 'v1', 'pods')!
    expect(pods.subresources.map((s) => s.name)).toEqual(['binding', 'log', 'status'])
    expect(pods.verbs).toContain('deletecollection')
    expect(lookupResource('', 'v1', 'namespaces')!.verbs).not.toContain('deletecollection')
    const scale = lookupKind('apps/v1', 'Deployment')!.subresources.find((s) => s.name === 'scale')!
    expect(scale.responseKind).toEqual({ group: 'autoscaling', version: 'v1', kind: 'Scale' })
    expect(scale.verbs).toEqual(['get', 'patch', 'update'])
  })
  it('category all', () => {
    expect(resourcesInCategory('all').map((r) => r.plural)).toEqual([
      'pods',
      'services',
      'deployments',
      'replicasets',
    ])
  })
  it('resolves what users type', () => {
    expect(resolveResource('po')?.plural).toBe('pods')
    expect(resolveResource('Deployment')?.plural).toBe('deployments')
    expect(resolveResource('deployments.apps')?.kind).toBe('Deployment')
    expect(resolveResource('foos')).toBeUndefined()
  })
  it('qualified names for Status messages', () => {
    const d = lookupKind('apps/v1', 'Deployment')!
    expect(qualifiedResource(d)).toBe('deployments.apps')
    expect(qualifiedKind(d)).toBe('Deployment.apps')
    expect(qualifiedResource(lookupKind('v1', 'Pod')!)).toBe('pods')
  })
})
