// The page's words, Spanish first, from Puente's one catalog (web_common/i18n/, served as
// /common/i18n/): the same entries the verifier's Python answers with. `scan.<key>` are the
// page's own words, `verdict.<verdict>` the result titles, `code.<code>` the reason for a code.
// Texts that come from a verification (the reason, claim labels, the credential's name, check labels)
// arrive from the API in the language of the request.

export const LANGUAGES = ["es", "en"];
export const DEFAULT_LANGUAGE = "es";

// The page reads two files of the catalog per language: its own words with the codes', verdicts' and
// checks' (`<lang>.json`) and the camera's words it shares with the wallet (`camera/<lang>.json`).
const PARTS = ["", "camera/"];

async function loadFile(path) {
  try {
    const response = await fetch(path);
    return response.ok ? await response.json() : {};
  } catch {
    return {};  // no connection and nothing kept: keys stand in for words
  }
}

async function load(lang) {
  const files = await Promise.all(PARTS.map((part) => loadFile(`/common/i18n/${part}${lang}.json`)));
  return Object.assign({}, ...files);
}

const CATALOGS = Object.fromEntries(await Promise.all(LANGUAGES.map(async (lang) => [lang, await load(lang)])));

export function isLanguage(value) {
  return LANGUAGES.includes(value);
}

function entry(lang, key) {
  const table = CATALOGS[isLanguage(lang) ? lang : DEFAULT_LANGUAGE];
  return Object.hasOwn(table, key) ? table[key] : CATALOGS[DEFAULT_LANGUAGE][key];
}

/** The page's string for `key` in `lang` (`scan.<key>`, or a whole key such as `camera.torch`), with
 * `{name}` placeholders filled from `values`. */
export function t(lang, key, values = {}) {
  const text = entry(lang, key.includes(".") ? key : `scan.${key}`) ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export function verdictTitle(lang, verdict) {
  return entry(lang, `verdict.${verdict}`) ?? entry(lang, "verdict.other");
}

/** What the catalog says for error code `code` (the reason of a result), or undefined. */
export function codeMessage(lang, code) {
  return entry(lang, `code.${code}`);
}

/** The catalog's codes and check names as reportJson takes them: {code: [es, en]}. */
export function reportLabels() {
  const pairs = (prefix) => Object.fromEntries(Object.keys(CATALOGS.es)
    .filter((key) => key.startsWith(prefix) && !key.slice(prefix.length).includes("."))
    .map((key) => [key.slice(prefix.length), [CATALOGS.es[key], CATALOGS.en[key] ?? CATALOGS.es[key]]]));
  return { messages: pairs("code."), checkNames: pairs("check.") };
}
