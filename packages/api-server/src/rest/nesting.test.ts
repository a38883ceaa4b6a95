// The nesting pre-scan: exact for JSON (strings skipped), never under for YAML.
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { jsonTooDeep, summarizeData, yamlTooDeep } from './nesting.js'

/** An object `depth` levels deep, alternating maps and lists. */
function deep(depth: number): unknown {
  let v: unknown = 'leaf'
  for (let i = 1; i < depth; i++) v = i % 2 === 0 ? { k: v } : [v]
  return { k: v }
}

describe('jsonTooDeep', () => {
  it('finds the opening character one past the limit, and nothing at the limit', () => {
    expect(jsonTooDeep(JSON.stringify(deep(10)), 10)).toBeUndefined()
    expect(jsonTooDeep(JSON.stringify(deep(11)), 10)?.char).toMatch(/^[[{]$/)
    expect(jsonTooDeep('[[[[1]]]]', 3)).toEqual({ char: '[' })
  })
  it('skips brackets inside strings, escaped quotes included', () => {
    expect(jsonTooDeep(JSON.stringify({ a: `"${'['.repeat(50)}\\"{{{` }), 2)).toBeUndefined()
  })
})

describe('yamlTooDeep', () => {
  it.each([1, 2, 4])('block YAML indented by %d is measured at or above its depth', (indent) => {
    const text = stringify(deep(20), { indent, indentSeq: true })
    expect(yamlTooDeep(text, 19)).toBeDefined()
    // Never under, and not wildly over: distinct indentations, not columns.
    expect(yamlTooDeep(text, 45)).toBeUndefined()
  })
  it('counts compact sequences and flow brackets', () => {
    expect(yamlTooDeep(`a:\n${'- '.repeat(30)}x\n`, 25)).toBeDefined()
    expect(yamlTooDeep(`a: ${'['.repeat(30)}${']'.repeat(30)}\n`, 25)).toEqual({ char: '[' })
    expect(yamlTooDeep(`a: ${'['.repeat(20)}${']'.repeat(20)}\n`, 25)).toBeUndefined()
  })
  it('a realistic manifest is shallow', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { a: 'b' } },
      spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }], command: ['a', 'b'] }] },
    }
    expect(yamlTooDeep(stringify(pod), 10)).toBeUndefined()
  })
})

describe('summarizeData', () => {
  it('is the text for a JSON object, hex otherwise, cut at the length with " ..."', () => {
    expect(summarizeData(Buffer.from('{"a":1}'), 30)).toBe('{"a":1}')
    expect(summarizeData(Buffer.from(`{"${'a'.repeat(40)}"}`), 30)).toBe(`{"${'a'.repeat(28)} ...`)
    expect(summarizeData(Buffer.from('ab'), 30)).toBe('6162')
    expect(summarizeData(Buffer.alloc(0), 30)).toBe('<empty>')
  })
})
