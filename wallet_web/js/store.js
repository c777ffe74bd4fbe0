// The wallet's storage (IndexedDB), one shared phone, several people (security.md #121–#125):
//
//   profiles  {id, name, kdf: {salt, iterations}, failures, lockedUntil}   — names are shown to pick one
//   vaults    {profileId, iv, data}   — AES-GCM of {credentials, history} under a key derived from the
//                                       profile's PIN (PBKDF2-SHA256, per-profile salt); the profile id
//                                       is the additional data, so vaults cannot be swapped
//   keys      {id, profileId, privateKey, publicJwk}  — holder keys: non-extractable CryptoKeys
//
// A wrong PIN fails to decrypt the vault. After 5 failures the profile waits 30 s, then twice as
// long after each further failure (at most an hour); the count survives reloads.

import { b64urlEncode, randomBytes, utf8, utf8Decode } from '../common/bytes.js';

const DB_NAME = 'puente-wallet';
export const PIN_ITERATIONS = 310_000;
export const MIN_PIN = 6;
const FREE_ATTEMPTS = 5;
const FIRST_DELAY_MS = 30_000;
const MAX_DELAY_MS = 3_600_000;

let dbPromise = null;

function db() {
  dbPromise ||= new Promise((resolve, reject) => {
    const opening = indexedDB.open(DB_NAME, 1);
    opening.onupgradeneeded = () => {
      const database = opening.result;
      database.createObjectStore('profiles', { keyPath: 'id' });
      database.createObjectStore('vaults', { keyPath: 'profileId' });
      database.createObjectStore('keys', { keyPath: 'id' }).createIndex('profileId', 'profileId');
    };
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  return dbPromise;
}

/** Run `work(stores)` in one transaction; resolves with its result once the transaction commits. */
async function transaction(names, mode, work) {
  const database = await db();
  return new Promise((resolve, reject) => {
    const tx = database.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
    let result;
    Promise.resolve(work(stores)).then((value) => { result = value; }, (error) => { tx.abort(); reject(error); });
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
  });
}

const wrap = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

// ---------------------------------------------------------------------------- encryption

export async function deriveKey(secret, salt, iterations) {
  const material = await crypto.subtle.importKey('raw', utf8(secret), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, material,
    { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

export async function seal(key, value, context) {
  const iv = randomBytes(12);
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(context) }, key,
    utf8(JSON.stringify(value)));
  return { iv, data: new Uint8Array(data) };
}

/** Decrypt and parse, or throw (wrong key, or tampered data). */
export async function unseal(key, sealed, context) {
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.iv, additionalData: utf8(context) }, key, sealed.data);
  return JSON.parse(utf8Decode(new Uint8Array(plain)));
}

const vaultContext = (profileId) => `puente-wallet/vault/v1/${profileId}`;

export const emptyVault = () => ({ version: 1, credentials: [], history: [] });

// ---------------------------------------------------------------------------- profiles

export async function listProfiles() {
  const profiles = await transaction(['profiles'], 'readonly', ({ profiles: store }) => wrap(store.getAll()));
  return profiles.sort((a, b) => a.createdAt - b.createdAt).map(({ id, name }) => ({ id, name }));
}

export async function getProfile(id) {
  return transaction(['profiles'], 'readonly', ({ profiles }) => wrap(profiles.get(id)));
}

/** Create a profile with an empty vault; returns an unlocked session {profile, key, vault}. */
export async function createProfile(name, pin) {
  const profile = {
    id: b64urlEncode(randomBytes(16)), name, createdAt: Date.now(),
    kdf: { salt: randomBytes(16), iterations: PIN_ITERATIONS }, failures: 0, lockedUntil: 0,
  };
  const key = await deriveKey(pin, profile.kdf.salt, profile.kdf.iterations);
  const vault = emptyVault();
  const sealed = await seal(key, vault, vaultContext(profile.id));
  await transaction(['profiles', 'vaults'], 'readwrite', ({ profiles, vaults }) => {
    profiles.add(profile);
    vaults.put({ profileId: profile.id, ...sealed });
  });
  return { profile, key, vault };
}

export function lockoutDelay(failures) {
  if (failures < FREE_ATTEMPTS) return 0;
  return Math.min(FIRST_DELAY_MS * 2 ** (failures - FREE_ATTEMPTS), MAX_DELAY_MS);
}

async function recordAttempt(id, success) {
  return transaction(['profiles'], 'readwrite', async ({ profiles }) => {
    const profile = await wrap(profiles.get(id));
    if (!profile) return null;
    profile.failures = success ? 0 : profile.failures + 1;
    const delay = success ? 0 : lockoutDelay(profile.failures);
    profile.lockedUntil = delay ? Date.now() + delay : 0;
    profiles.put(profile);
    return profile;
  });
}

/**
 * Try a PIN: {ok: true, session} or {ok: false, lockedUntil, failures}. While locked out the PIN is
 * not even tried.
 */
export async function unlock(id, pin) {
  const profile = await getProfile(id);
  if (!profile) return { ok: false, lockedUntil: 0, failures: 0, missing: true };
  if (profile.lockedUntil > Date.now()) return { ok: false, lockedUntil: profile.lockedUntil, failures: profile.failures };
  const key = await deriveKey(pin, profile.kdf.salt, profile.kdf.iterations);
  const sealed = await transaction(['vaults'], 'readonly', ({ vaults }) => wrap(vaults.get(id)));
  let vault;
  try {
    vault = await unseal(key, sealed, vaultContext(id));
  } catch {
    const updated = await recordAttempt(id, false);
    return { ok: false, lockedUntil: updated ? updated.lockedUntil : 0, failures: updated ? updated.failures : 0 };
  }
  const updated = profile.failures ? await recordAttempt(id, true) : profile;
  return { ok: true, session: { profile: updated, key, vault } };
}

/** Encrypt the session's vault again (a fresh IV each time) and store it. */
export async function saveVault(session) {
  const sealed = await seal(session.key, session.vault, vaultContext(session.profile.id));
  await transaction(['vaults'], 'readwrite', ({ vaults }) => { vaults.put({ profileId: session.profile.id, ...sealed }); });
}

/** Delete a profile with its vault and its holder keys (security.md #131: deleting deletes everything). */
export async function deleteProfile(id) {
  await transaction(['profiles', 'vaults', 'keys'], 'readwrite', async ({ profiles, vaults, keys }) => {
    const ids = await wrap(keys.index('profileId').getAllKeys(id));
    for (const keyId of ids) keys.delete(keyId);
    vaults.delete(id);
    profiles.delete(id);
  });
}

// ---------------------------------------------------------------------------- holder keys

export async function storeKey(profileId, { privateKey, publicJwk }) {
  const id = b64urlEncode(randomBytes(16));
  await transaction(['keys'], 'readwrite', ({ keys }) => { keys.add({ id, profileId, privateKey, publicJwk }); });
  return id;
}

/** The holder's private CryptoKey, only if it belongs to this profile. */
export async function getKey(profileId, keyId) {
  const record = await transaction(['keys'], 'readonly', ({ keys }) => wrap(keys.get(keyId)));
  return record && record.profileId === profileId ? record.privateKey : null;
}

export async function deleteKey(profileId, keyId) {
  await transaction(['keys'], 'readwrite', async ({ keys }) => {
    const record = await wrap(keys.get(keyId));
    if (record && record.profileId === profileId) keys.delete(keyId);
  });
}
