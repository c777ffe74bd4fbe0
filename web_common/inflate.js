// zlib (RFC 1950) around DEFLATE (RFC 1951), decoded in script with an output cap, as the core's
// zlib calls do: credcore.qr.inflate_prefix (PT1: the bytes after the stream are the entropy part)
// and credcore.status_list.inflate (status lists: nothing may follow). DecompressionStream cannot
// say where a stream ends, nor stop at a cap before the whole output exists, hence this module.
//
// Every defect is FormatError 'malformed' (or the caller's code); more output than `cap` bytes is
// 'payload_too_large' as soon as it happens, before any later defect is reached, as with zlib's
// max_length. Code sets are checked as zlib checks them (over-subscribed or incomplete sets are
// refused, except a single distance code).

import { FormatError } from './bytes.js';

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
  131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
  2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

class Bits {
  constructor(data, pos, code) {
    this.data = data;
    this.pos = pos;
    this.bit = 0;
    this.code = code;
  }

  fail(message) {
    throw new FormatError(message, this.code);
  }

  take(count) {
    let value = 0;
    for (let i = 0; i < count; i++) {
      if (this.pos >= this.data.length) this.fail('compressed data is truncated');
      value |= ((this.data[this.pos] >> this.bit) & 1) << i;
      if (++this.bit === 8) {
        this.bit = 0;
        this.pos += 1;
      }
    }
    return value;
  }

  alignToByte() {
    if (this.bit) {
      this.bit = 0;
      this.pos += 1;
    }
  }
}

/** A canonical Huffman decoding table from code lengths; `allowSingle`: one code of length 1 may stand alone. */
function huffman(lengths, bits, what, allowSingle = false) {
  const counts = new Array(16).fill(0);
  for (const length of lengths) counts[length] += 1;
  counts[0] = 0;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = left * 2 - counts[len];
    if (left < 0) bits.fail(`invalid ${what} set (over-subscribed)`);
  }
  const used = lengths.filter((l) => l > 0).length;
  if (left > 0 && !(allowSingle && used === 1 && counts[1] === 1)) bits.fail(`invalid ${what} set (incomplete)`);
  const offsets = new Array(16).fill(0);
  for (let len = 1; len < 15; len++) offsets[len + 1] = offsets[len] + counts[len];
  const symbols = new Array(used);
  lengths.forEach((length, symbol) => {
    if (length) symbols[offsets[length]++] = symbol;
  });
  return { counts, symbols };
}

function decodeSymbol(bits, table) {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len < 16; len++) {
    code |= bits.take(1);
    const count = table.counts[len];
    if (code - first < count) return table.symbols[index + (code - first)];
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  return bits.fail('invalid code');
}

let fixedTables = null;

function fixed(bits) {
  if (!fixedTables) {
    const lengths = new Array(288).fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixedTables = { lit: huffman(lengths, bits, 'fixed'), dist: huffman(new Array(32).fill(5), bits, 'fixed') };
  }
  return fixedTables;
}

function dynamic(bits) {
  const nlen = bits.take(5) + 257;
  const ndist = bits.take(5) + 1;
  const ncode = bits.take(4) + 4;
  if (nlen > 286 || ndist > 30) bits.fail('too many length or distance symbols');
  const codeLengths = new Array(19).fill(0);
  for (let i = 0; i < ncode; i++) codeLengths[CODE_LENGTH_ORDER[i]] = bits.take(3);
  const codeTable = huffman(codeLengths, bits, 'code lengths');
  const lengths = [];
  while (lengths.length < nlen + ndist) {
    const symbol = decodeSymbol(bits, codeTable);
    if (symbol < 16) {
      lengths.push(symbol);
      continue;
    }
    let repeat;
    let value = 0;
    if (symbol === 16) {
      if (!lengths.length) bits.fail('invalid bit length repeat');
      value = lengths[lengths.length - 1];
      repeat = 3 + bits.take(2);
    } else {
      repeat = symbol === 17 ? 3 + bits.take(3) : 11 + bits.take(7);
    }
    if (lengths.length + repeat > nlen + ndist) bits.fail('invalid bit length repeat');
    for (let i = 0; i < repeat; i++) lengths.push(value);
  }
  if (!lengths[256]) bits.fail('invalid code -- missing end-of-block');
  return {
    lit: huffman(lengths.slice(0, nlen), bits, 'literal/lengths'),
    dist: huffman(lengths.slice(nlen), bits, 'distances', true),
  };
}

class Output {
  constructor(cap) {
    this.cap = cap;
    this.buffer = new Uint8Array(Math.min(cap + 1, 64 * 1024));
    this.length = 0;
  }

  push(byte) {
    if (this.length >= this.cap) throw new FormatError('data inflates past the size limit', 'payload_too_large');
    if (this.length === this.buffer.length) {
      const bigger = new Uint8Array(Math.min(this.cap + 1, this.buffer.length * 2));
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer[this.length++] = byte;
  }

  bytes() {
    return this.buffer.slice(0, this.length);
  }
}

function blocks(bits, out) {
  let last = 0;
  while (!last) {
    last = bits.take(1);
    const type = bits.take(2);
    if (type === 0) {
      bits.alignToByte();
      const len = bits.take(16);
      if ((len ^ 0xffff) !== bits.take(16)) bits.fail('invalid stored block lengths');
      for (let i = 0; i < len; i++) out.push(bits.take(8));
      continue;
    }
    if (type === 3) bits.fail('invalid block type');
    const { lit, dist } = type === 1 ? fixed(bits) : dynamic(bits);
    for (;;) {
      const symbol = decodeSymbol(bits, lit);
      if (symbol < 256) {
        out.push(symbol);
        continue;
      }
      if (symbol === 256) break;
      if (symbol > 285) bits.fail('invalid literal/length code');
      const length = LENGTH_BASE[symbol - 257] + bits.take(LENGTH_EXTRA[symbol - 257]);
      const d = decodeSymbol(bits, dist);
      if (d > 29) bits.fail('invalid distance code');
      const distance = DIST_BASE[d] + bits.take(DIST_EXTRA[d]);
      if (distance > out.length) bits.fail('invalid distance too far back');
      for (let i = 0; i < length; i++) out.push(out.buffer[out.length - distance]);
    }
  }
  bits.alignToByte();
}

function adler32(bytes) {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * Inflate the zlib stream at the start of `data`: {data: the output, end: where the stream ends}.
 * `code` is the error code for a defect (the core uses 'malformed', or 'status_invalid' for lists).
 */
export function inflateZlib(data, cap, code = 'malformed') {
  const bits = new Bits(data, 0, code);
  const cmf = bits.take(8);
  const flg = bits.take(8);
  if ((cmf & 0x0f) !== 8 || (cmf >> 4) > 7 || (cmf * 256 + flg) % 31) bits.fail('incorrect header check');
  if (flg & 0x20) bits.fail('need dictionary');
  const out = new Output(cap);
  blocks(bits, out);
  const check = bits.take(32);
  const expected = adler32(out.bytes());
  const stored = (((check & 0xff) << 24) | (((check >> 8) & 0xff) << 16) | (((check >> 16) & 0xff) << 8)
    | ((check >>> 24) & 0xff)) >>> 0;
  if (stored !== expected) bits.fail('incorrect data check');
  return { data: out.bytes(), end: bits.pos };
}

/** A whole zlib stream, nothing after it (credcore.status_list.inflate). */
export function inflateAll(data, cap, code = 'malformed') {
  const { data: out, end } = inflateZlib(data, cap, code);
  if (end !== data.length) throw new FormatError('compressed data has trailing bytes', code);
  return out;
}
