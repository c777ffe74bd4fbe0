// Spanish first, English on request. Strings live in i18n/{es,en}.json; elements carry
// data-i18n (text), data-i18n-label (aria-label) or data-i18n-placeholder.

const LANGUAGES = ['es', 'en'];
const STORAGE_KEY = 'puente.lang';
let language = 'es';
let strings = new Map();

export const currentLanguage = () => language;
export const otherLanguage = () => (language === 'es' ? 'en' : 'es');

export function savedLanguage() {
  try {
    return LANGUAGES.includes(localStorage.getItem(STORAGE_KEY)) ? localStorage.getItem(STORAGE_KEY) : 'es';
  } catch {
    return 'es';
  }
}

export async function setLanguage(lang) {
  const chosen = LANGUAGES.includes(lang) ? lang : 'es';
  const response = await fetch(`/i18n/${chosen}.json`);
  strings = new Map(Object.entries(await response.json()));
  language = chosen;
  document.documentElement.lang = chosen;
  try {
    localStorage.setItem(STORAGE_KEY, chosen);
  } catch {
    // private mode: the choice lasts for this visit
  }
  translate(document);
}

/** The string for `key` with {placeholders} filled in (values are inserted as text). */
export function t(key, values = {}) {
  const template = strings.get(key) ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : ''));
}

export function translate(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) node.setAttribute('placeholder', t(node.dataset.i18nPlaceholder));
  document.title = t('app.title');
}
