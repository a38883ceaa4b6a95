import { describe, expect, it } from 'vitest'
import { decodeInteger, encodeInteger, encodeLiteralBlock, HpackDecoder, huffmanDecode } from './hpack.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const pairs = (d: HpackDecoder, block: string) => d.decode(hex(block)).fields.map((f) => [f.name, f.value])

describe('HPACK (RFC 7541 Appendix C)', () => {
  it('C.1 integers', () => {
    const out: number[] = []
    encodeInteger(out, 10, 5, 0)
    expect(Buffer.from(out).toString('hex')).toBe('0a')
    out.length = 0
    encodeInteger(out, 1337, 5, 0)
    expect(Buffer.from(out).toString('hex')).toBe('1f9a0a')
    out.length = 0
    encodeInteger(out, 42, 8, 0)
    expect(Buffer.from(out).toString('hex')).toBe('2a')
    expect(decodeInteger(hex('1f9a0a'), 0, 5)).toEqual([1337, 3])
    expect(decodeInteger(hex('ea'), 0, 5)).toEqual([10, 1])
    expect(() => decodeInteger(hex('1f9a'), 0, 5)).toThrow(/truncated/)
  })

  it('C.2 literal representations', () => {
    const d = new HpackDecoder()
    expect(pairs(d, '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')).toEqual([
      ['custom-key', 'custom-header'],
    ])
    expect(d.tableSize).toBe(55)
    expect(pairs(d, '040c 2f73 616d 706c 652f 7061 7468')).toEqual([[':path', '/sample/path']])
    const never = d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))
    expect(never.fields).toEqual([{ name: 'password', value: 'secret', sensitive: true }])
    expect(pairs(d, '82')).toEqual([[':method', 'GET']])
    expect(d.tableLength).toBe(1)
  })

  it('C.3 requests without Huffman coding, sharing the dynamic table', () => {
    const d = new HpackDecoder()
    expect(pairs(d, '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ])
    expect(d.tableSize).toBe(57)
    expect(pairs(d, '8286 84be 5808 6e6f 2d63 6163 6865')).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ])
    expect(d.tableSize).toBe(110)
    expect(pairs(d, '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65')).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ])
    expect(d.tableSize).toBe(164)
  })

  it('C.4 requests with Huffman coding', () => {
    const d = new HpackDecoder()
    expect(pairs(d, '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')[3]).toEqual([
      ':authority',
      'www.example.com',
    ])
    expect(pairs(d, '8286 84be 5886 a8eb 1064 9cbf')[4]).toEqual(['cache-control', 'no-cache'])
    expect(pairs(d, '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')[4]).toEqual([
      'custom-key',
      'custom-value',
    ])
    expect(d.tableSize).toBe(164)
  })

  const c5 = [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['location', 'https://www.example.com'],
  ]
  const c53 = [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'],
    ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
  ]

  it('C.5 responses without Huffman coding: eviction in a 256-byte table', () => {
    const d = new HpackDecoder(256)
    expect(
      pairs(
        d,
        '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      ),
    ).toEqual(c5)
    expect(d.tableSize).toBe(222)
    expect(pairs(d, '4803 3330 37c1 c0bf')).toEqual([[':status', '307'], ...c5.slice(1)])
    expect(d.tableSize).toBe(222)
    expect(
      pairs(
        d,
        '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
      ),
    ).toEqual(c53)
    expect(d.tableSize).toBe(215)
    expect(d.tableLength).toBe(3)
  })

  it('C.6 responses with Huffman coding', () => {
    const d = new HpackDecoder(256)
    expect(
      pairs(
        d,
        '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      ),
    ).toEqual(c5)
    expect(pairs(d, '4883 640e ffc1 c0bf')).toEqual([[':status', '307'], ...c5.slice(1)])
    expect(
      pairs(
        d,
        '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
      ),
    ).toEqual(c53)
    expect(d.tableSize).toBe(215)
  })

  it('rejects bad Huffman padding, EOS, bad indexes and late size updates', () => {
    expect(huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f4ff')).toString()).toBe('www.example.com')
    expect(() => huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f4fe'))).toThrow(/padding/)
    expect(() => huffmanDecode(hex('ffffffff'))).toThrow(/EOS|padding/)
    expect(() => huffmanDecode(hex('fffffffc'))).toThrow(/EOS/)
    expect(() => new HpackDecoder().decode(hex('be'))).toThrow(/out of the table/)
    expect(() => new HpackDecoder().decode(hex('80'))).toThrow(/index 0/)
    expect(() => new HpackDecoder().decode(hex('82 20'))).toThrow(/size update/)
  })

  it('size updates evict, and an entry larger than the table empties it', () => {
    const d = new HpackDecoder()
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))
    const b = d.decode(hex('20 3f e1 1f'))
    expect(b.sizeUpdates).toEqual([0, 4096])
    expect(d.tableLength).toBe(0)
    const tiny = new HpackDecoder(40)
    tiny.decode(hex('4003 6162 6301 78')) // abc: x (36 bytes)
    expect(tiny.tableLength).toBe(1)
    tiny.decode(hex('4003 6162 6303 7879 7a')) // abc: xyz (38 bytes): evicts the first
    expect(tiny.tableLength).toBe(1)
    tiny.decode(hex('4003 6162 6306 7878 7878 7878')) // 41 bytes > 40: empties the table
    expect(tiny.tableLength).toBe(0)
  })

  it('encodeLiteralBlock round-trips through a fresh decoder without touching its table', () => {
    const block = {
      sizeUpdates: [4096],
      fields: [
        { name: ':authority', value: '127.0.0.1:2379' },
        { name: 'x-bin', value: '\u0000\u00ff\u0080 é'.normalize() },
        { name: 'authorization', value: 'secret', sensitive: true },
        { name: 'long', value: 'v'.repeat(300) },
      ],
    }
    const d = new HpackDecoder()
    expect(d.decode(encodeLiteralBlock(block))).toEqual(block)
    expect(d.tableLength).toBe(0)
    expect(encodeLiteralBlock({ sizeUpdates: [], fields: [{ name: 'a', value: 'b' }] }).toString('hex')).toBe(
      '0001610162',
    )
  })
})
