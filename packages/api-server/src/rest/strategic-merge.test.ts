/**
 * Goal: strategicMergePatch applies patches as k8s.io/apimachinery's strategicpatch does on the
 * server (maps, null deletion, lists merged by key, primitive sets, `$patch`, `$setElementOrder`,
 * `$deleteFromPrimitiveList`, `$retainKeys`, the order of merged lists and the mergepatch errors),
 * and the field metadata read from the zod schemas matches the Go struct tags of the kinds.
 * Method: table cases written for this project after the shapes of apimachinery's patch_test.go
 * (containers, ports, env, tolerations, finalizers), run on a path table and on the real Pod and
 * Deployment schemas.
 */
import { lookupKind } from '@hakube/api'
import { describe, expect, it } from 'vitest'
import {
  noSchemaInfo,
  StrategicMergeError,
  schemaInfoFor,
  schemaInfoFromTable,
  strategicMergePatch,
} from './strategic-merge.js'

const podSchema = lookupKind('v1', 'Pod')!.schema
const deploymentSchema = lookupKind('apps/v1', 'Deployment')!.schema

/** The Go tags of the Pod fields these cases use. */
const table = schemaInfoFromTable({
  'metadata.finalizers': { patchStrategy: 'merge' },
  'spec.containers': { patchStrategy: 'merge', patchMergeKey: 'name' },
  'spec.containers.ports': { patchStrategy: 'merge', patchMergeKey: 'containerPort' },
  'spec.containers.env': { patchStrategy: 'merge', patchMergeKey: 'name' },
  'spec.volumes': { patchStrategy: 'merge,retainKeys', patchMergeKey: 'name' },
})

const c = (name: string, extra: Record<string, unknown> = {}) => ({ name, image: `${name}:1`, ...extra })
const spec = (s: Record<string, unknown>) => ({ spec: s })

interface Case {
  name: string
  original: Record<string, unknown>
  patch: Record<string, unknown>
  result: Record<string, unknown>
}

const cases: Case[] = [
  {
    name: 'maps merge recursively and null deletes a key',
    original: { metadata: { labels: { app: 'web', tier: 'fe' }, annotations: { a: '1' } } },
    patch: { metadata: { labels: { tier: null, v: '2' } } },
    result: { metadata: { labels: { app: 'web', v: '2' }, annotations: { a: '1' } } },
  },
  {
    name: 'a null for a missing key is dropped, nulls inside new maps too',
    original: { metadata: {} },
    patch: { metadata: { labels: { gone: null, x: 'y' }, missing: null } },
    result: { metadata: { labels: { x: 'y' } } },
  },
  {
    name: "one container's image by name keeps the others",
    original: spec({ containers: [c('a'), c('b'), c('c')] }),
    patch: spec({ containers: [{ name: 'b', image: 'b:2' }] }),
    result: spec({ containers: [c('a'), c('b', { image: 'b:2' }), c('c')] }),
  },
  {
    // Without $setElementOrder, items the live list lacks come before live-only ones
    // (apimachinery's mergeSortedSlice takes the patch item when it cannot compare the two).
    name: 'a new container goes before the live-only ones',
    original: spec({ containers: [c('a')] }),
    patch: spec({ containers: [c('z')] }),
    result: spec({ containers: [c('z'), c('a')] }),
  },
  {
    name: 'a new container at the end when $setElementOrder says so',
    original: spec({ containers: [c('a')] }),
    patch: spec({ '$setElementOrder/containers': [{ name: 'a' }, { name: 'z' }], containers: [c('z')] }),
    result: spec({ containers: [c('a'), c('z')] }),
  },
  {
    name: 'patch order takes precedence over live order',
    original: spec({ containers: [c('a'), c('b')] }),
    patch: spec({ containers: [c('c'), { name: 'a', image: 'a:2' }] }),
    result: spec({ containers: [c('c'), c('a', { image: 'a:2' }), c('b')] }),
  },
  {
    name: '$patch: delete removes the item with that key',
    original: spec({ containers: [c('a'), c('b')] }),
    patch: spec({ containers: [{ name: 'a', $patch: 'delete' }] }),
    result: spec({ containers: [c('b')] }),
  },
  {
    name: '$patch: replace in a list replaces the live list',
    original: spec({ containers: [c('a'), c('b')] }),
    patch: spec({ containers: [c('x'), { $patch: 'replace' }] }),
    result: spec({ containers: [c('x')] }),
  },
  {
    name: '$patch: replace on a map replaces it',
    original: { metadata: { labels: { a: '1', b: '2' } } },
    patch: { metadata: { labels: { $patch: 'replace', c: '3' } } },
    result: { metadata: { labels: { c: '3' } } },
  },
  {
    name: '$patch: delete on a map empties it',
    original: { metadata: { labels: { a: '1' } }, spec: { nodeName: 'n' } },
    patch: { metadata: { labels: { $patch: 'delete' } } },
    result: { metadata: { labels: {} }, spec: { nodeName: 'n' } },
  },
  {
    name: 'ports merge by containerPort inside a merged container',
    original: spec({
      containers: [c('a', { ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] })],
    }),
    patch: spec({
      containers: [{ name: 'a', ports: [{ containerPort: 443, name: 'https' }, { containerPort: 9090 }] }],
    }),
    result: spec({
      containers: [
        c('a', {
          ports: [
            { containerPort: 80, name: 'http' },
            { containerPort: 443, name: 'https' },
            { containerPort: 9090 },
          ],
        }),
      ],
    }),
  },
  {
    name: 'env merges by name; a null inside an item removes that field',
    original: spec({
      containers: [
        c('a', {
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
        }),
      ],
    }),
    patch: spec({
      containers: [
        {
          name: 'a',
          env: [
            { name: 'B', value: null, valueFrom: { fieldRef: { fieldPath: 'x' } } },
            { name: 'C', value: '3' },
          ],
        },
      ],
    }),
    result: spec({
      containers: [
        c('a', {
          env: [
            { name: 'A', value: '1' },
            { name: 'B', valueFrom: { fieldRef: { fieldPath: 'x' } } },
            { name: 'C', value: '3' },
          ],
        }),
      ],
    }),
  },
  {
    name: 'tolerations have no merge key: the patch list replaces the live one',
    original: spec({ tolerations: [{ key: 'a', operator: 'Exists' }] }),
    patch: spec({ tolerations: [{ key: 'b', operator: 'Equal', value: 'v', effect: 'NoSchedule' }] }),
    result: spec({ tolerations: [{ key: 'b', operator: 'Equal', value: 'v', effect: 'NoSchedule' }] }),
  },
  {
    name: 'finalizers merge as a set',
    original: { metadata: { finalizers: ['a', 'b'] } },
    patch: { metadata: { finalizers: ['b', 'c'] } },
    result: { metadata: { finalizers: ['a', 'b', 'c'] } },
  },
  {
    name: '$deleteFromPrimitiveList removes values from a primitive list',
    original: { metadata: { finalizers: ['a', 'b', 'c'] } },
    patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], finalizers: ['d'] } },
    result: { metadata: { finalizers: ['d', 'a', 'c'] } },
  },
  {
    name: '$setElementOrder reorders the live list without changing items',
    original: spec({ containers: [c('a'), c('b'), c('c')] }),
    patch: spec({ '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }] }),
    result: spec({ containers: [c('c'), c('a'), c('b')] }),
  },
  {
    name: '$setElementOrder with a change (what kubectl apply sends)',
    original: spec({ containers: [c('a'), c('b')] }),
    patch: spec({
      '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
      containers: [{ name: 'a', image: 'a:2' }],
    }),
    result: spec({ containers: [c('b'), c('a', { image: 'a:2' })] }),
  },
  {
    name: '$setElementOrder keeps server-only items where the live list had them',
    original: spec({ containers: [c('a'), c('b'), c('c')] }),
    patch: spec({ '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }] }),
    result: spec({ containers: [c('b'), c('c'), c('a')] }),
  },
  {
    name: '$setElementOrder of a primitive list',
    original: { metadata: { finalizers: ['a', 'b'] } },
    patch: { metadata: { '$setElementOrder/finalizers': ['b', 'x', 'a'], finalizers: ['x'] } },
    result: { metadata: { finalizers: ['b', 'x', 'a'] } },
  },
  {
    name: '$retainKeys clears the keys it does not list',
    original: spec({ volumes: [{ name: 'v', hostPath: { path: '/a' } }] }),
    patch: spec({ volumes: [{ name: 'v', $retainKeys: ['name', 'emptyDir'], emptyDir: {} }] }),
    result: spec({ volumes: [{ name: 'v', emptyDir: {} }] }),
  },
  {
    name: 'a value of another type replaces the live one',
    original: spec({ containers: [c('a')], nodeSelector: { a: 'b' } }),
    patch: spec({ containers: { bogus: true }, nodeSelector: 'x' }),
    result: spec({ containers: { bogus: true }, nodeSelector: 'x' }),
  },
  {
    name: 'a new merging list has its directives resolved',
    original: spec({}),
    patch: spec({ containers: [c('a'), { name: 'b', $patch: 'delete' }] }),
    result: spec({ containers: [c('a')] }),
  },
]

describe('strategicMergePatch on a field table', () => {
  it.each(cases)('$name', ({ original, patch, result }) => {
    const o = structuredClone(original)
    const p = structuredClone(patch)
    expect(strategicMergePatch(o, p, table)).toEqual(result)
    // Neither input is modified.
    expect(o).toEqual(original)
    expect(p).toEqual(patch)
  })
})

describe('strategicMergePatch on the zod schemas', () => {
  it.each(cases)('$name (Pod schema)', ({ original, patch, result }) => {
    expect(strategicMergePatch(original, patch, schemaInfoFor(podSchema))).toEqual(result)
  })

  it('without field metadata lists are replaced and maps merge', () => {
    expect(
      strategicMergePatch(
        spec({ containers: [c('a'), c('b')], nodeSelector: { a: '1' } }),
        spec({ containers: [c('b', { image: 'b:2' })], nodeSelector: { b: '2' } }),
        noSchemaInfo,
      ),
    ).toEqual(spec({ containers: [c('b', { image: 'b:2' })], nodeSelector: { a: '1', b: '2' } }))
  })

  it('reads the Go struct tags of Pod and Deployment fields from .meta()', () => {
    const pod = schemaInfoFor(podSchema)
    expect(pod(['spec', 'containers'])).toEqual({ patchStrategy: 'merge', patchMergeKey: 'name' })
    expect(pod(['spec', 'containers', 'ports'])).toEqual({
      patchStrategy: 'merge',
      patchMergeKey: 'containerPort',
    })
    expect(pod(['spec', 'containers', 'env'])).toEqual({ patchStrategy: 'merge', patchMergeKey: 'name' })
    expect(pod(['spec', 'volumes'])).toMatchObject({ patchMergeKey: 'name' })
    expect(pod(['metadata', 'finalizers'])).toEqual({ patchStrategy: 'merge' })
    expect(pod(['spec', 'tolerations'])).toBeUndefined()
    expect(pod(['metadata', 'labels', 'app'])).toBeUndefined()
    expect(pod(['no', 'such', 'field'])).toBeUndefined()
    const deploy = schemaInfoFor(deploymentSchema)
    expect(deploy(['spec', 'template', 'spec', 'containers'])).toEqual({
      patchStrategy: 'merge',
      patchMergeKey: 'name',
    })
    expect(deploy(['spec', 'strategy'])).toEqual({ patchStrategy: 'retainKeys' })
    expect(schemaInfoFor(podSchema)).toBe(pod)
  })

  it('$retainKeys on the Deployment strategy (kubectl apply switching to Recreate)', () => {
    const live = {
      spec: {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      },
    }
    const patch = { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } }
    expect(strategicMergePatch(live, patch, schemaInfoFor(deploymentSchema))).toEqual({
      spec: { strategy: { type: 'Recreate' } },
    })
  })
})

describe('strategicMergePatch errors (mergepatch texts, kube-apiserver codes)', () => {
  const fails = (original: unknown, patch: unknown): StrategicMergeError => {
    try {
      strategicMergePatch(original, patch, table)
    } catch (e) {
      if (e instanceof StrategicMergeError) return e
      throw e
    }
    throw new Error('the patch applied')
  }
  it.each([
    {
      name: 'a merging list item without its merge key',
      original: spec({ containers: [c('a')] }),
      patch: spec({ containers: [{ image: 'x' }] }),
      code: 500,
      message: 'map: map[image:x] does not contain declared merge key: name',
    },
    {
      name: 'a delete directive without the merge key',
      original: spec({ containers: [c('a')] }),
      patch: spec({ containers: [{ $patch: 'delete' }] }),
      code: 500,
      message: 'map: map[$patch:delete] does not contain declared merge key: name',
    },
    {
      name: 'an unknown $patch on a map',
      original: { metadata: { labels: { a: 'b' } } },
      patch: { metadata: { labels: { $patch: 'bogus' } } },
      code: 500,
      message: 'unknown patch type: bogus in map: map[$patch:bogus]',
    },
    {
      name: '$retainKeys that is not a list',
      original: { metadata: {} },
      patch: { metadata: { $retainKeys: 'name' } },
      code: 400,
      message: 'invalid patch format of retainKeys',
    },
    {
      name: '$retainKeys not listing a patched key',
      original: { metadata: {} },
      patch: { metadata: { $retainKeys: ['name'], labels: { a: 'b' } } },
      code: 400,
      message: 'invalid patch format of retainKeys',
    },
    {
      name: '$setElementOrder with no field name',
      original: spec({}),
      patch: spec({ '$setElementOrder/': [] }),
      code: 400,
      message: 'invalid patch format of setElementOrder list',
    },
    {
      name: '$deleteFromPrimitiveList with no field name',
      original: { metadata: { finalizers: ['a'] } },
      patch: { metadata: { '$deleteFromPrimitiveList/': ['a'] } },
      code: 400,
      message: 'invalid patch format of primitive list',
    },
    {
      name: 'a list of lists in a merging list',
      original: { metadata: { finalizers: ['a'] } },
      patch: { metadata: { finalizers: [['b']] } },
      code: 422,
      message: 'lists of lists are not supported',
    },
    {
      name: 'a patch list ordered against its $setElementOrder',
      original: spec({ containers: [c('a'), c('b')] }),
      patch: spec({
        '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
        containers: [c('b'), c('a')],
      }),
      code: 500,
      message:
        "The order in patch list:\n[map[image:b:1 name:b] map[image:a:1 name:a]]\n doesn't match $setElementOrder list:\n[map[name:a] map[name:b]]\n",
    },
  ])('$name', ({ original, patch, code, message }) => {
    const err = fails(original, patch)
    expect(err.code).toBe(code)
    expect(err.message).toBe(message)
  })

  it('a patch that is not a JSON object', () => {
    expect(fails({}, [1]).message).toBe(
      'json: cannot unmarshal array into Go value of type map[string]interface {}',
    )
  })
})
