// Go's encoding/base64 StdEncoding, case by case (offsets as Go's CorruptInputError reports them).
import { describe, expect, it } from 'vitest'
import { decodeGoBase64 } from './base64.js'

describe('decodeGoBase64', () => {
  it.each([
    ['', ''],
    ['YQ==', 'a'],
    ['YWJj', 'abc'],
    ['YWJjZA==', 'abcd'],
    ['YR==', 'a'], // trailing bits ignored (StdEncoding is not Strict)
    ['YWJ\nj', 'abc'],
    ['YWJjZA=\r\n=', 'abcd'],
    ['YQ==\n', 'a'],
  ])('%j decodes to %j', (text, want) => {
    const r = decodeGoBase64(text)
    expect(r).toEqual({ ok: true, bytes: Buffer.from(want) })
  })

  it.each([
    ['YQ', 0], // padding required: the cut quantum is corrupt where it starts
    ['abc', 0],
    ['!!!!', 0],
    ['YWJj!', 4],
    ['YWJjYQ', 4],
    ['YQ==YQ==', 4], // data after padding
    ['YQ==x', 4],
    ['YQ=', 3], // one '=' of two
    ['YQ=x', 2],
    ['Y===', 1],
    ['=', 0],
    ['é', 0],
    ['not base64', 3],
  ])('%j is illegal at input byte %d', (text, offset) => {
    expect(decodeGoBase64(text)).toEqual({ ok: false, offset })
  })
})
