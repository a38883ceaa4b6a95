// k8s.io/apimachinery pkg/fields/selector.go (v0.32) and the field-label conversions of
// pkg/apis/core/v1/conversion.go; selectable fields as the registries' GetAttrs build them.
import { describe, expect, it } from 'vitest'
import { convertFieldSelector, escapeFieldValue, objectFields, parseFieldSelector } from './field-selector.js'

const pod = {
  metadata: { name: 'nginx', namespace: 'default' },
  spec: { nodeName: 'n1', restartPolicy: 'Always' },
  status: { phase: 'Running', podIPs: [{ ip: '10.0.0.5' }] },
}

describe('field selectors', () => {
  it('matches = == != and treats missing fields as empty', () => {
    const f = objectFields('Pod', pod)
    expect(parseFieldSelector('spec.nodeName=n1').matches(f)).toBe(true)
    expect(parseFieldSelector('spec.nodeName==n2').matches(f)).toBe(false)
    expect(
      parseFieldSelector('spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed').matches(f),
    ).toBe(true)
    expect(parseFieldSelector('status.nominatedNodeName=').matches(f)).toBe(true)
    expect(f['status.podIP']).toBe('10.0.0.5')
    expect(f['spec.hostNetwork']).toBe('false')
  })
  it('terms in any order (kubectl describe), escaped values', () => {
    const ev = objectFields('Event', {
      metadata: { name: 'e', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'nginx', namespace: 'default', uid: 'u-1' },
      source: { component: 'kubelet' },
    })
    const sel = parseFieldSelector(
      'involvedObject.uid=u-1,involvedObject.namespace=default,involvedObject.name=nginx',
    )
    expect(sel.matches(ev)).toBe(true)
    expect(ev['source']).toBe('kubelet')
    expect(parseFieldSelector(`metadata.name=${escapeFieldValue('a,b=c')}`).terms[0]!.value).toBe('a,b=c')
  })
  it('requiresExactMatch', () => {
    expect(parseFieldSelector('metadata.name=x').requiresExactMatch('metadata.name')).toBe('x')
    expect(parseFieldSelector('metadata.name!=x').requiresExactMatch('metadata.name')).toBeUndefined()
  })
  it.each([
    ['foo', "invalid selector: 'foo'; can't understand 'foo'"],
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
  ])('%j fails: %s', (s, message) => {
    expect(() => parseFieldSelector(s)).toThrow(message)
  })
  it('per-kind allowed fields with Kubernetes errors', () => {
    expect(() =>
      convertFieldSelector('Pod', parseFieldSelector('spec.nodeName=n1,status.phase=Running')),
    ).not.toThrow()
    expect(convertFieldSelector('Pod', parseFieldSelector('spec.host=n1')).terms[0]!.field).toBe(
      'spec.nodeName',
    )
    expect(() => convertFieldSelector('Pod', parseFieldSelector('spec.foo=1'))).toThrow(
      'field label not supported: spec.foo',
    )
    expect(() => convertFieldSelector('Node', parseFieldSelector('metadata.namespace=x'))).toThrow(
      'field label not supported: metadata.namespace',
    )
    expect(() => convertFieldSelector('ConfigMap', parseFieldSelector('data.a=1'))).toThrow(
      '"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"',
    )
    expect(() =>
      convertFieldSelector('Event', parseFieldSelector('involvedObject.kind=Pod,type=Warning')),
    ).not.toThrow()
  })
})
