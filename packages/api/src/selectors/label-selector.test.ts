// Behaviour and parse errors of k8s.io/apimachinery pkg/labels/selector.go (v0.32).
import { describe, expect, it } from 'vitest'
import { labelSelectorAsSelector, parseLabelSelector } from './label-selector.js'

const labels = { app: 'web', tier: 'fe', n: '5' }

describe('parseLabelSelector', () => {
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web,db)', true],
    ['app notin (web)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app=web,tier=fe', true],
    ['app=web, tier=be', false],
    ['n>4', true],
    ['n<4', false],
    ['app=', false],
    ['missing=', false],
  ])('%j matches: %s', (sel, expected) => {
    expect(parseLabelSelector(sel).matches(labels)).toBe(expected)
  })

  it('canonical string is sorted by key', () => {
    expect(parseLabelSelector('tier in (b,a),app=web').toString()).toBe('app=web,tier in (a,b)')
  })

  it.each([
    ['app web', "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt"],
    ['app=web,', "found '', expected: identifier after ','"],
    ['=web', "found '=', expected: !, identifier, or 'end of string'"],
    ['app in web', "unable to parse requirement: found 'web' expected: '('"],
    ['app in (a', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['app=a=b', "found '=', expected: ',' or 'end of string'"],
    [
      'a/b/c=x',
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    [
      'app=-x',
      `unable to parse requirement: values[0][app]: Invalid value: "-x": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    ],
  ])('%j fails: %s', (sel, message) => {
    expect(() => parseLabelSelector(sel)).toThrow(message)
  })
})

describe('labelSelectorAsSelector', () => {
  it('nil matches nothing, {} everything', () => {
    expect(labelSelectorAsSelector(undefined).matches(labels)).toBe(false)
    expect(labelSelectorAsSelector({}).matches(labels)).toBe(true)
  })
  it('matchLabels and matchExpressions are ANDed', () => {
    const sel = labelSelectorAsSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['fe', 'be'] },
        { key: 'x', operator: 'DoesNotExist' },
      ],
    })
    expect(sel.matches(labels)).toBe(true)
    expect(sel.matches({ app: 'web', tier: 'db' })).toBe(false)
    expect(sel.toString()).toBe('app=web,tier in (be,fe),!x')
  })
  it('rejects unknown operators', () => {
    expect(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Foo' }] })).toThrow(
      '"Foo" is not a valid label selector operator',
    )
  })
})
