// Strict JSON (RFC 8259) as credcore.encoding.loads_strict reads it, for verification in the browser.
//
// JSON.parse is lenient where attackers like it: it keeps the last of two members with the same name,
// turns 1e400 into Infinity and accepts lone surrogates. This parser refuses those with the core's
// codes (duplicate_member, malformed, payload_too_large for nesting deeper than 32), and keeps what
// the core can tell apart: objects become Maps (member order kept, no prototype games with names
// such as "__proto__"), and a number written with a fraction or exponent whose value is whole (1.0,
// 1e3) becomes a Number object, so that `Number.isInteger` refuses it as Python's isinstance(int) does.

import { FormatError } from './bytes.js';

export const MAX_JSON_DEPTH = 32;
const PYTHON_RECURSION = 900; // deeper than this, CPython's json gives up before looking further
const PYTHON_MAX_DIGITS = 4300; // CPython refuses to read longer integers (sys.get_int_max_str_digits)
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  constructor(text) {
    this.text = text;
    this.pos = 0;
    this.deepest = 0; // deepest value of any kind
    this.deepestContainer = 0; // deepest object or array
  }

  fail(message = 'invalid JSON', code = 'malformed') {
    throw new FormatError(message, code);
  }

  space() {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.exec(this.text);
    this.pos = WHITESPACE.lastIndex;
  }

  value(depth) {
    if (depth > this.deepest) this.deepest = depth;
    if (depth > PYTHON_RECURSION) this.fail('JSON nested too deeply', 'payload_too_large');
    this.space();
    const c = this.text[this.pos];
    if ((c === '{' || c === '[') && depth > this.deepestContainer) this.deepestContainer = depth;
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]]) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.number();
  }

  object(depth) {
    this.pos += 1;
    const out = new Map();
    this.space();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return out;
    }
    const names = [];
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') this.fail();
      const name = this.string();
      this.space();
      if (this.text[this.pos] !== ':') this.fail();
      this.pos += 1;
      const value = this.value(depth + 1);
      names.push(name);
      out.set(name, value);
      this.space();
      const c = this.text[this.pos++];
      if (c === '}') break;
      if (c !== ',') this.fail();
    }
    // As Python's object_pairs_hook: checked when the object is complete, innermost first.
    if (out.size !== names.length) this.fail('duplicate member name', 'duplicate_member');
    return out;
  }

  array(depth) {
    this.pos += 1;
    const out = [];
    this.space();
    if (this.text[this.pos] === ']') {
      this.pos += 1;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.space();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') this.fail();
    }
  }

  string() {
    this.pos += 1;
    let out = '';
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail();
      if (c === '"') {
        this.pos += 1;
        return out;
      }
      if (c < ' ') this.fail('control character in a JSON string');
      if (c !== '\\') {
        out += c;
        this.pos += 1;
        continue;
      }
      const e = this.text[this.pos + 1];
      if (e === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail();
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.pos += 6;
      } else if (Object.hasOwn(ESCAPES, e)) {
        out += ESCAPES[e];
        this.pos += 2;
      } else {
        this.fail();
      }
    }
  }

  number() {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail();
    this.pos = NUMBER.lastIndex;
    if (!match[1] && !match[2] && match[0].replace('-', '').length > PYTHON_MAX_DIGITS) this.fail('integer too long');
    const value = Number(match[0]);
    // Python keeps huge integers exact (and range checks then refuse them): Infinity refuses the same.
    if (!Number.isFinite(value) && (match[1] || match[2])) this.fail('JSON number out of range');
    // eslint-disable-next-line no-new-wrappers
    return (match[1] || match[2]) && Number.isInteger(value) ? new Number(value) : value;
  }
}

function checkStrings(value) {
  const stack = [value];
  while (stack.length) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (!item.isWellFormed()) throw new FormatError('lone surrogate in JSON string');
    } else if (item instanceof Map) {
      for (const [name, child] of item) {
        if (!name.isWellFormed()) throw new FormatError('lone surrogate in JSON string');
        stack.push(child);
      }
    } else if (Array.isArray(item)) {
      stack.push(...item);
    }
  }
}

/** Parse JSON text (a string, or UTF-8 bytes decoded strictly); errors are FormatErrors with the core's codes. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // a BOM stays, and is not JSON

export function parseStrict(input) {
  let text = input;
  if (typeof input !== 'string') {
    try {
      text = UTF8.decode(input);
    } catch {
      throw new FormatError('JSON is not UTF-8');
    }
  }
  const parser = new Parser(text);
  const value = parser.value(1);
  parser.space();
  if (parser.pos !== text.length) parser.fail('extra data after JSON');
  // The core counts scalars too only when the text escapes a surrogate (it then walks every string).
  const deepest = /\\u[dD][89a-fA-F]/.test(text) ? parser.deepest : parser.deepestContainer;
  if (deepest > MAX_JSON_DEPTH) parser.fail('JSON nested too deeply', 'payload_too_large');
  checkStrings(value);
  return value;
}

/** A JSON object (Map) or a FormatError. */
export function parseObject(input, message = 'not a JSON object') {
  const value = parseStrict(input);
  if (!(value instanceof Map)) throw new FormatError(message);
  return value;
}

/** Whole numbers as Python's isinstance(value, int) sees them: no booleans, no 1.0. */
export const isInt = (value) => typeof value === 'number' && Number.isInteger(value);

/** A Map/array tree as plain JSON-able values (for display and for JSON.stringify). */
export function toPlain(value) {
  if (value instanceof Map) {
    const out = Object.create(null);
    for (const [name, child] of value) out[name] = toPlain(child);
    return out;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Number) return value.valueOf();
  return value;
}
