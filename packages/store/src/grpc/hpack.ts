/**
 * A small HPACK (RFC 7541) decoder and a literal-only encoder, for {@link AuthorityRewriter}: the
 * decoder follows a peer encoder's dynamic table (with eviction and size updates) and decodes
 * Huffman-coded strings; the encoder emits every field as a literal without indexing (never-indexed
 * fields stay never-indexed), so the receiving decoder's dynamic table is never touched.
 */

export class HpackError extends Error {}

/** One decoded header field; `sensitive` is set for the never-indexed representation. */
export interface HeaderField {
  name: string
  value: string
  sensitive?: boolean
}

export interface HeaderBlock {
  /** Dynamic table size updates at the start of the block, in order. */
  sizeUpdates: number[]
  fields: HeaderField[]
}

// RFC 7541 Appendix A.
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
]

// RFC 7541 Appendix B: the code (hex) and bit length of symbols 0..255; symbol 256 (EOS) is 0x3fffffff/30.
const HUFFMAN_CODES =
  '1ff8 7fffd8 fffffe2 fffffe3 fffffe4 fffffe5 fffffe6 fffffe7 fffffe8 ffffea 3ffffffc fffffe9 fffffea ' +
  '3ffffffd fffffeb fffffec fffffed fffffee fffffef ffffff0 ffffff1 ffffff2 3ffffffe ffffff3 ffffff4 ' +
  'ffffff5 ffffff6 ffffff7 ffffff8 ffffff9 ffffffa ffffffb 14 3f8 3f9 ffa 1ff9 15 f8 7fa 3fa 3fb f9 7fb ' +
  'fa 16 17 18 0 1 2 19 1a 1b 1c 1d 1e 1f 5c fb 7ffc 20 ffb 3fc 1ffa 21 5d 5e 5f 60 61 62 63 64 65 66 ' +
  '67 68 69 6a 6b 6c 6d 6e 6f 70 71 72 fc 73 fd 1ffb 7fff0 1ffc 3ffc 22 7ffd 3 23 4 24 5 25 26 27 6 74 ' +
  '75 28 29 2a 7 2b 76 2c 8 9 2d 77 78 79 7a 7b 7ffe 7fc 3ffd 1ffd ffffffc fffe6 3fffd2 fffe7 fffe8 ' +
  '3fffd3 3fffd4 3fffd5 7fffd9 3fffd6 7fffda 7fffdb 7fffdc 7fffdd 7fffde ffffeb 7fffdf ffffec ffffed ' +
  '3fffd7 7fffe0 ffffee 7fffe1 7fffe2 7fffe3 7fffe4 1fffdc 3fffd8 7fffe5 3fffd9 7fffe6 7fffe7 ffffef ' +
  '3fffda 1fffdd fffe9 3fffdb 3fffdc 7fffe8 7fffe9 1fffde 7fffea 3fffdd 3fffde fffff0 1fffdf 3fffdf ' +
  '7fffeb 7fffec 1fffe0 1fffe1 3fffe0 1fffe2 7fffed 3fffe1 7fffee 7fffef fffea 3fffe2 3fffe3 3fffe4 ' +
  '7ffff0 3fffe5 3fffe6 7ffff1 3ffffe0 3ffffe1 fffeb 7fff1 3fffe7 7ffff2 3fffe8 1ffffec 3ffffe2 3ffffe3 ' +
  '3ffffe4 7ffffde 7ffffdf 3ffffe5 fffff1 1ffffed 7fff2 1fffe3 3ffffe6 7ffffe0 7ffffe1 3ffffe7 7ffffe2 ' +
  'fffff2 1fffe4 1fffe5 3ffffe8 3ffffe9 ffffffd 7ffffe3 7ffffe4 7ffffe5 fffec fffff3 fffed 1fffe6 ' +
  '3fffe9 1fffe7 1fffe8 7ffff3 3fffea 3fffeb 1ffffee 1ffffef fffff4 fffff5 3ffffea 7ffff4 3ffffeb ' +
  '7ffffe6 3ffffec 3ffffed 7ffffe7 7ffffe8 7ffffe9 7ffffea 7ffffeb ffffffe 7ffffec 7ffffed 7ffffee ' +
  '7ffffef 7fffff0 3ffffee'
const HUFFMAN_LENGTHS =
  '13 23 28 28 28 28 28 28 28 24 30 28 28 30 28 28 28 28 28 28 28 28 30 28 28 28 28 28 28 28 28 28 ' +
  '6 10 10 12 13 6 8 11 10 10 8 11 8 6 6 6 5 5 5 6 6 6 6 6 6 6 7 8 15 6 12 10 ' +
  '13 6 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 7 8 7 8 13 19 13 14 6 ' +
  '15 5 6 5 6 5 6 6 6 5 7 7 6 6 6 5 6 7 6 5 5 6 7 7 7 7 7 15 11 14 13 28 ' +
  '20 22 20 20 22 22 22 23 22 23 23 23 23 23 24 23 24 24 22 23 24 23 23 23 23 21 22 23 22 23 23 24 ' +
  '22 21 20 22 22 23 23 21 23 22 22 24 21 22 23 23 21 21 22 21 23 22 23 23 20 22 22 22 23 22 22 23 ' +
  '26 26 20 19 22 23 22 25 26 26 26 27 27 26 24 25 19 21 26 27 27 26 27 24 21 21 26 26 28 27 27 27 ' +
  '20 24 20 21 22 21 21 23 22 22 25 25 24 24 26 23 26 27 26 26 27 27 27 27 27 28 27 27 27 27 27 26'

const EOS = 256

/**
 * The Huffman code as a binary tree in a flat array: node n's children are `tree[2n]` (bit 0) and
 * `tree[2n + 1]` (bit 1); a child >= 0 is a node, a child < 0 is the leaf of symbol `-child - 1`.
 */
const HUFFMAN_TREE: Int32Array = (() => {
  const codes = HUFFMAN_CODES.split(' ').map((h) => Number.parseInt(h, 16))
  const lengths = HUFFMAN_LENGTHS.split(' ').map(Number)
  if (codes.length !== 256 || lengths.length !== 256) throw new Error('hpack: bad Huffman table')
  codes.push(0x3fffffff)
  lengths.push(30)
  const tree = new Int32Array(2 * 512).fill(0)
  let nodes = 1
  for (let sym = 0; sym <= EOS; sym++) {
    const code = codes[sym]!
    const len = lengths[sym]!
    let node = 0
    for (let i = len - 1; i >= 0; i--) {
      const slot = 2 * node + ((code >>> i) & 1)
      if (i === 0) tree[slot] = -sym - 1
      else {
        if (tree[slot] === 0) tree[slot] = nodes++
        node = tree[slot]!
      }
    }
  }
  return tree
})()

/** Decodes a Huffman-coded string (RFC 7541 §5.2): EOS inside, or padding over 7 bits or not all ones, is an error. */
export function huffmanDecode(src: Uint8Array): Buffer {
  const out: number[] = []
  let node = 0
  let depth = 0 // bits consumed since the last symbol
  let allOnes = true
  for (const byte of src) {
    for (let i = 7; i >= 0; i--) {
      const bit = (byte >>> i) & 1
      const next = HUFFMAN_TREE[2 * node + bit]!
      depth++
      if (bit === 0) allOnes = false
      if (next < 0) {
        const sym = -next - 1
        if (sym === EOS) throw new HpackError('hpack: EOS in a Huffman string')
        out.push(sym)
        node = 0
        depth = 0
        allOnes = true
      } else node = next
    }
  }
  if (depth > 7 || !allOnes) throw new HpackError('hpack: bad Huffman padding')
  return Buffer.from(out)
}

/** Reads an HPACK integer with an N-bit prefix (RFC 7541 §5.1) at `pos`; returns [value, next pos]. */
export function decodeInteger(buf: Uint8Array, pos: number, prefixBits: number): [number, number] {
  if (pos >= buf.length) throw new HpackError('hpack: truncated integer')
  const max = (1 << prefixBits) - 1
  let value = buf[pos]! & max
  pos++
  if (value < max) return [value, pos]
  let shift = 0
  for (;;) {
    if (pos >= buf.length) throw new HpackError('hpack: truncated integer')
    const b = buf[pos++]!
    value += (b & 0x7f) * 2 ** shift
    shift += 7
    if (value > 0xffffffff) throw new HpackError('hpack: integer overflow')
    if ((b & 0x80) === 0) return [value, pos]
  }
}

/** Appends an HPACK integer with an N-bit prefix; `first` carries the representation's flag bits. */
export function encodeInteger(out: number[], value: number, prefixBits: number, first: number): void {
  const max = (1 << prefixBits) - 1
  if (value < max) {
    out.push(first | value)
    return
  }
  out.push(first | max)
  value -= max
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80)
    value = Math.floor(value / 0x80)
  }
  out.push(value)
}

function decodeString(buf: Uint8Array, pos: number): [string, number] {
  if (pos >= buf.length) throw new HpackError('hpack: truncated string')
  const huffman = (buf[pos]! & 0x80) !== 0
  const [len, start] = decodeInteger(buf, pos, 7)
  const end = start + len
  if (end > buf.length) throw new HpackError('hpack: truncated string')
  const raw = buf.subarray(start, end)
  const bytes = huffman ? huffmanDecode(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  // latin1 keeps every byte as one code unit, so a re-encoded string is byte-identical.
  return [bytes.toString('latin1'), end]
}

/** Decodes a sequence of header blocks from one peer encoder, tracking its dynamic table (RFC 7541 §4). */
export class HpackDecoder {
  /** Newest first. */
  private readonly dynamic: Array<[string, string]> = []
  private size = 0

  /** `maxSize`: the initial dynamic table size (4096 in HTTP/2) and the cap on size updates. */
  constructor(
    private maxSize = 4096,
    private readonly sizeLimit = 1 << 30,
  ) {}

  get tableSize(): number {
    return this.size
  }

  get tableLength(): number {
    return this.dynamic.length
  }

  decode(block: Uint8Array): HeaderBlock {
    const fields: HeaderField[] = []
    const sizeUpdates: number[] = []
    let pos = 0
    while (pos < block.length) {
      const b = block[pos]!
      if (b & 0x80) {
        // Indexed header field.
        const [index, next] = decodeInteger(block, pos, 7)
        pos = next
        const [name, value] = this.lookup(index)
        fields.push({ name, value })
      } else if (b & 0x40) {
        // Literal with incremental indexing.
        const [name, value, next] = this.literal(block, pos, 6)
        pos = next
        fields.push({ name, value })
        this.insert(name, value)
      } else if (b & 0x20) {
        // Dynamic table size update: only before the first field.
        if (fields.length > 0) throw new HpackError('hpack: table size update after a field')
        const [size, next] = decodeInteger(block, pos, 5)
        pos = next
        if (size > this.sizeLimit) throw new HpackError('hpack: table size update over the limit')
        this.maxSize = size
        this.evict(0)
        sizeUpdates.push(size)
      } else {
        // Literal without indexing (0000xxxx) or never indexed (0001xxxx).
        const [name, value, next] = this.literal(block, pos, 4)
        pos = next
        fields.push((b & 0x10) !== 0 ? { name, value, sensitive: true } : { name, value })
      }
    }
    return { sizeUpdates, fields }
  }

  private literal(block: Uint8Array, pos: number, prefixBits: number): [string, string, number] {
    const [index, afterIndex] = decodeInteger(block, pos, prefixBits)
    let name: string
    pos = afterIndex
    if (index === 0) [name, pos] = decodeString(block, pos)
    else name = this.lookup(index)[0]
    const [value, next] = decodeString(block, pos)
    return [name, value, next]
  }

  private lookup(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('hpack: index 0')
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!
    const entry = this.dynamic[index - STATIC_TABLE.length - 1]
    if (entry === undefined) throw new HpackError(`hpack: index ${index} out of the table`)
    return entry
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + 32
    if (size > this.maxSize) {
      // RFC 7541 §4.4: an entry larger than the table empties it and is not added.
      this.dynamic.length = 0
      this.size = 0
      return
    }
    this.evict(size)
    this.dynamic.unshift([name, value])
    this.size += size
  }

  private evict(room: number): void {
    while (this.size + room > this.maxSize) {
      const last = this.dynamic.pop()
      if (last === undefined) break
      this.size -= last[0].length + last[1].length + 32
    }
  }
}

function pushString(out: number[], s: string): void {
  encodeInteger(out, s.length, 7, 0)
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff)
}

/**
 * Encodes a header block of size updates and fields, each field as a literal with a literal name,
 * without indexing (never indexed when `sensitive`), strings not Huffman-coded.
 */
export function encodeLiteralBlock(block: HeaderBlock): Buffer {
  const out: number[] = []
  for (const size of block.sizeUpdates) encodeInteger(out, size, 5, 0x20)
  for (const f of block.fields) {
    out.push(f.sensitive ? 0x10 : 0x00)
    pushString(out, f.name)
    pushString(out, f.value)
  }
  return Buffer.from(out)
}
