// Spanish first, English on request. The words come from Puente's one catalog (web_common/i18n/,
// served as /common/i18n/): the wallet's own (`wallet/<lang>.json`, keys `wallet.<key>`, used here
// without their prefix) and the camera's, shared with the scanning page (`camera/<lang>.json`, used
// with theirs: `camera.torch`). Elements carry data-i18n (text), data-i18n-label (aria-label) or
// data-i18n-placeholder.

const LANGUAGES = ['es', 'en'];
const STORAGE_KEY = 'puente.lang';
const PARTS = ['wallet/', 'camera/'];
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
  const files = await Promise.all(PARTS.map(async (part) => (await fetch(`/common/i18n/${part}${chosen}.json`)).json()));
  strings = new Map(files.flatMap((file) => Object.entries(file)));
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
  const template = strings.get(`wallet.${key}`) ?? strings.get(key) ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : ''));
}

export function translate(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) node.setAttribute('placeholder', t(node.dataset.i18nPlaceholder));
  document.title = t('app.title');
}
