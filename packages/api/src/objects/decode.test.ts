// Decoding as the api-server's JSON decoder: unknown fields per fieldValidation (k8s.io/apiserver
// endpoints/handlers/create.go; `strict decoding error: unknown field "..."`), type mismatches as
// 400 `<Kind> in version "v1" cannot be handled as a <Kind>: ...` (transformDecodeError).
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { decodeObject, MAX_DECODE_DEPTH, parseFieldValidation } from './decode.js'
import { lookupKind } from './registry.js'

const podInfo = lookupKind('v1', 'Pod')!
const body = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'p',
    labels: { a: 'b' },
    managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }],
  },
  spec: {
    containers: [{ name: 'c', image: 'nginx', imagee: 'typo', securityContext: { anything: 1 } }],
    bogus: true,
    nodeName: null,
  },
}

describe('decodeObject', () => {
  it('Warn (the default): drops unknown fields and warns about each, in document order', () => {
    const r = decodeObject(podInfo, body)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.unknownFields).toEqual(['spec.containers[0].imagee', 'spec.bogus'])
    expect(r.warnings).toEqual(['unknown field "spec.containers[0].imagee"', 'unknown field "spec.bogus"'])
    const spec = (r.object as { spec: Record<string, unknown> }).spec
    expect(spec).not.toHaveProperty('bogus')
    expect(spec).not.toHaveProperty('nodeName')
    expect((spec['containers'] as object[])[0]).toEqual({
      name: 'c',
      image: 'nginx',
      securityContext: { anything: 1 },
    })
  })
  it('Strict: 400 naming every unknown field', () => {
    const r = decodeObject(podInfo, body, 'Strict')
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.code).toBe(400)
    expect(r.error.message).toBe(
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagee", unknown field "spec.bogus"',
    )
  })
  it('Ignore: no warnings', () => {
    const r = decodeObject(podInfo, body, 'Ignore')
    expect(r.ok && r.warnings).toEqual([])
  })
  it('type mismatches are 400 BadRequest', () => {
    const r = decodeObject(podInfo, { spec: { containers: 'nginx' } })
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.reason).toBe('BadRequest')
    expect(r.error.message).toBe(
      'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Pod.spec.containers of type array',
    )
    const notObject = decodeObject(podInfo, [1])
    expect(notObject.ok).toBe(false)
  })
  it('fills apiVersion and kind', () => {
    const r = decodeObject(lookupKind('apps/v1', 'Deployment')!, { metadata: { name: 'd' } })
    expect(r.ok && r.object).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' })
  })
  it('parseFieldValidation', () => {
    expect(parseFieldValidation(undefined)).toBe('Warn')
    expect(parseFieldValidation('Strict')).toBe('Strict')
    expect(parseFieldValidation('strict')).toBeUndefined()
  })
})

describe('OpenAPI hooks', () => {
  it('z.toJSONSchema carries the strategic-merge keys kubectl needs', () => {
    const schema = z.toJSONSchema(podInfo.schema, { unrepresentable: 'any' }) as unknown as {
      properties: { spec: { properties: Record<string, Record<string, unknown>> } }
    }
    const spec = schema.properties.spec.properties
    expect(spec['containers']).toMatchObject({
      type: 'array',
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-list-map-keys': ['name'],
    })
    expect(spec['tolerations']).toMatchObject({ 'x-kubernetes-list-type': 'atomic' })
  })
})

describe('decodeObject: bodies no recursive walk can overflow on, and []byte fields', () => {
  const cmInfo = lookupKind('v1', 'ConfigMap')!
  it('a body nested deeper than MAX_DECODE_DEPTH is 400, never a stack overflow', () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { x: deep }
    const r = decodeObject(cmInfo, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, deep })
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.code).toBe(400)
    expect(r.error.message).toBe(
      `ConfigMap in version "v1" cannot be handled as a ConfigMap: json: exceeded max depth of ${MAX_DECODE_DEPTH}`,
    )
  })
  it('binaryData must be base64 (Go decodes it); valid values come back as Go encodes them', () => {
    const bad = decodeObject(cmInfo, { metadata: { name: 'c' }, binaryData: { a: 'YQ==', b: 'no!' } })
    expect(bad.ok).toBe(false)
    if (!bad.ok)
      expect(bad.error.message).toBe(
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: illegal base64 data at input byte 2',
      )
    const good = decodeObject(cmInfo, { metadata: { name: 'c' }, binaryData: { a: 'YR=\n=' } })
    expect(good.ok && (good.object as { binaryData?: unknown }).binaryData).toEqual({ a: 'YQ==' })
  })
})
