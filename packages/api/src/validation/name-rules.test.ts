// Messages of k8s.io/apimachinery pkg/util/validation/validation.go (v0.32), as printed by a
// real api-server (e.g. `kubectl create ns Foo`).
import { describe, expect, it } from 'vitest'
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
} from './name-rules.js'

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

describe('DNS names', () => {
  it('subdomain', () => {
    expect(isDNS1123Subdomain('example.com')).toEqual([])
    expect(isDNS1123Subdomain('Example')).toEqual([SUBDOMAIN_MSG])
    expect(isDNS1123Subdomain('a'.repeat(254))).toEqual(['must be no more than 253 characters'])
  })
  it('label (with the double space Go leaves between examples)', () => {
    expect(isDNS1123Label('my-ns')).toEqual([])
    expect(isDNS1123Label('Foo')).toEqual([LABEL_MSG])
    expect(isDNS1123Label('a.b')).toEqual(['must not contain dots'])
    expect(isDNS1123Label('a'.repeat(64))).toEqual(['must be no more than 63 characters'])
  })
  it('DNS-1035 label (service names)', () => {
    expect(isDNS1035Label('web')).toEqual([])
    expect(isDNS1035Label('1web')).toEqual([
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ])
  })
})

describe('qualified names and label values', () => {
  it('accepts prefixed keys', () => {
    expect(isQualifiedName('app.kubernetes.io/name')).toEqual([])
  })
  it('reports name and prefix parts', () => {
    expect(isQualifiedName('-a')).toEqual([
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ])
    expect(isQualifiedName('/a')).toEqual(['prefix part must be non-empty'])
    expect(isQualifiedName('a/b/c')[0]).toMatch(
      /^a qualified name must consist of .* with an optional DNS subdomain prefix and '\/' \(e.g. 'example.com\/MyName'\)$/,
    )
  })
  it('label values may be empty but not start with a dash', () => {
    expect(isValidLabelValue('')).toEqual([])
    expect(isValidLabelValue('-x')[0]).toMatch(/^a valid label must be an empty string or consist of/)
  })
  it('port names', () => {
    expect(isValidPortName('http')).toEqual([])
    expect(isValidPortName('80')).toEqual(['must contain at least one letter (a-z)'])
    expect(isValidPortName('a--b')).toEqual(['must not contain consecutive hyphens'])
  })
})
