// DOM helpers. Text from issuers (claim values, names, labels) only ever reaches the page through
// text nodes and attribute values, never as markup (security.md #119); the page's CSP requires
// Trusted Types, so an accidental innerHTML would throw instead of running.

export const $ = (id) => document.getElementById(id);

/** An element with attributes (strings, set as attribute values) and children (nodes or text). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function setText(id, text) {
  $(id).textContent = text === null || text === undefined ? '' : String(text);
}

const locales = { es: 'es-CO', en: 'en-GB' };

export function formatDate(seconds, lang) {
  return new Intl.DateTimeFormat(locales[lang], { dateStyle: 'long', timeZone: 'America/Bogota' }).format(new Date(seconds * 1000));
}

export function formatDateTime(millis, lang) {
  return new Intl.DateTimeFormat(locales[lang], { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(millis));
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A claim value as text for the holder: ISO dates in words, other scalars as they are. */
export function displayValue(value, lang) {
  if (typeof value === 'string') {
    const match = ISO_DATE.exec(value);
    if (match) {
      const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), 12));
      if (!Number.isNaN(date.getTime())) {
        return new Intl.DateTimeFormat(locales[lang], { dateStyle: 'long', timeZone: 'UTC' }).format(date);
      }
    }
    return value;
  }
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return lang === 'es' ? (value ? 'Sí' : 'No') : (value ? 'Yes' : 'No');
  return JSON.stringify(value);
}

/** WCAG relative luminance contrast of two #rrggbb colours. */
export function contrast(a, b) {
  const luminance = (hex) => {
    const [r, g, bl] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
