// Disclosed claims against their credential type, as credcore.credential_types checks them at
// verification: each disclosed claim must be a property of the type's (closed, flat) JSON Schema and
// match its subschema; dates the type says cannot be in the future must not be later than the day the
// credential was issued (security.md #61).
//
// Only the JSON Schema keywords Puente's types use are implemented, with Python jsonschema's meaning
// (integers include 1.0, "$" also matches before a final newline, lengths in code points). A type
// using anything else cannot be checked here: the page then says so instead of guessing.

import { CannotCheck, codePointLength, disclosureInvalid, malformed } from './errors.js';

const FLAT_KEYS = new Set(['$schema', '$id', 'title', 'description', 'type', 'properties', 'additionalProperties', 'required']);
const KEYWORDS = new Set(['type', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'description', 'title']);
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

const isNumber = (v) => typeof v === 'number' || v instanceof Number;
const numberOf = (v) => (v instanceof Number ? v.valueOf() : v);

const TYPES = {
  string: (v) => typeof v === 'string',
  integer: (v) => isNumber(v) && Number.isInteger(numberOf(v)),
  number: isNumber,
  boolean: (v) => typeof v === 'boolean',
  null: (v) => v === null,
  object: (v) => v instanceof Map,
  array: (v) => Array.isArray(v),
};

/** A Python `re.search` pattern as a JS RegExp: a final "$" also matches before one final newline. */
function pythonPattern(pattern) {
  const body = pattern.endsWith('$') && !pattern.endsWith('\\$') ? `${pattern.slice(0, -1)}(?=\\n?$)` : pattern;
  return new RegExp(body, 'u');
}

/** A proleptic Gregorian date "YYYY-MM-DD" that Python's date.fromisoformat accepts: its day number. */
export function isoDay(text) {
  if (typeof text !== 'string' || !DATE.test(text)) return null;
  const [y, m, d] = text.split('-').map(Number);
  if (y < 1) return null;
  const probe = new Date(0);
  probe.setUTCFullYear(y, m - 1, d);
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== d) return null;
  return Math.floor(probe.getTime() / 86_400_000);
}

function compile(subschema) {
  if (!subschema || typeof subschema !== 'object') throw new CannotCheck('type schema not supported offline');
  for (const keyword of Object.keys(subschema)) {
    if (!KEYWORDS.has(keyword)) throw new CannotCheck(`schema keyword ${keyword} not supported offline`);
  }
  if (subschema.format !== undefined && subschema.format !== 'date') throw new CannotCheck('schema format not supported offline');
  const types = subschema.type === undefined ? null : [].concat(subschema.type);
  if (types && !types.every((t) => Object.hasOwn(TYPES, t))) throw new CannotCheck('schema type not supported offline');
  const pattern = typeof subschema.pattern === 'string' ? pythonPattern(subschema.pattern) : null;
  return (value) => {
    if (types && !types.some((t) => TYPES[t](value))) return false;
    if (typeof value === 'string') {
      const length = codePointLength(value);
      if (subschema.minLength !== undefined && length < subschema.minLength) return false;
      if (subschema.maxLength !== undefined && length > subschema.maxLength) return false;
      if (pattern && !pattern.test(value)) return false;
      if (subschema.format === 'date' && isoDay(value) === null) return false;
    }
    if (isNumber(value)) {
      const n = numberOf(value);
      if (subschema.minimum !== undefined && n < subschema.minimum) return false;
      if (subschema.maximum !== undefined && n > subschema.maximum) return false;
    }
    return true;
  };
}

/** The checks of one credential type: {id, vct, name(lang), label(claim, lang), check(claims, iat)}. */
export function compileType(entry) {
  const { schema, metadata } = entry;
  if (Object.keys(schema).some((k) => !FLAT_KEYS.has(k)) || schema.additionalProperties !== false) {
    throw new CannotCheck('type schema not supported offline');
  }
  const validators = new Map(Object.entries(schema.properties || {}).map(([name, sub]) => [name, compile(sub)]));
  const rules = (metadata && metadata['x-puente']) || {};
  const notInFuture = Array.isArray(rules.not_in_future) ? rules.not_in_future : [];
  return {
    id: entry.id,
    vct: entry.vct,
    name: (lang) => display(metadata.display || [], lang, 'name') || entry.id,
    label: (claim, lang) => {
      const found = (metadata.claims || []).find((c) => Array.isArray(c.path) && c.path.length === 1 && c.path[0] === claim);
      return (found && display(found.display || [], lang, 'label')) || claim;
    },
    check(claims, iat) {
      for (const [name, value] of claims) {
        if (!validators.has(name) || !validators.get(name)(value)) {
          disclosureInvalid('claims_invalid', `disclosed claim ${name} does not match the type`);
        }
      }
      const issuedDay = Math.floor(iat / 86_400);
      for (const name of notInFuture) {
        const day = isoDay(claims.get(name));
        if (day !== null && day > issuedDay) disclosureInvalid('claims_invalid', `disclosed claim ${name} is dated after issuance`);
      }
    },
  };
}

function display(entries, lang, key) {
  for (const wanted of [lang, 'es', 'en']) {
    const found = entries.find((e) => e && e.locale === wanted && e[key]);
    if (found) return String(found[key]);
  }
  return null;
}

/** The type registry of a verifier bundle, by vct. */
export function typeRegistry(entries) {
  const byVct = new Map();
  for (const entry of entries) byVct.set(entry.vct, compileType(entry));
  return byVct;
}

export function unknownType() {
  malformed('unknown_type', 'unknown credential type (vct)');
}
