// Encrypted backup file: the profile's credentials and history, AES-GCM under a key derived from a
// passphrase chosen for the backup (PBKDF2-SHA256, 600,000 iterations, fresh salt). A 6-digit PIN
// would be guessed offline in minutes once the file leaves the phone, so the PIN is not used here.
//
// Holder keys are non-extractable and never leave the browser: a restored credential can be shown
// only where its key still exists; elsewhere the card asks for a new issuance.

import { b64urlDecode, b64urlEncode, randomBytes } from '../common/bytes.js';
import { deriveKey, seal, unseal } from './store.js';

export const FORMAT = 'puente-wallet-backup';
const ITERATIONS = 600_000;
const CONTEXT = 'puente-wallet-backup/v1';
export const MIN_PASSPHRASE = 10;

export async function exportBackup(vault, profileName, passphrase) {
  const salt = randomBytes(16);
  const key = await deriveKey(passphrase, salt, ITERATIONS);
  const { iv, data } = await seal(key, { profileName, credentials: vault.credentials, history: vault.history }, CONTEXT);
  const document = {
    format: FORMAT, version: 1, created: new Date().toISOString(),
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: ITERATIONS, salt: b64urlEncode(salt) },
    cipher: { name: 'AES-GCM', iv: b64urlEncode(iv) },
    ciphertext: b64urlEncode(data),
  };
  return new Blob([JSON.stringify(document, null, 1)], { type: 'application/json' });
}

/** The backup's content, or throws Error('bad_file') / Error('bad_passphrase'). */
export async function readBackup(text, passphrase) {
  let document;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error('bad_file');
  }
  const kdf = document && document.kdf;
  if (!document || document.format !== FORMAT || document.version !== 1 || !kdf || kdf.name !== 'PBKDF2'
      || kdf.hash !== 'SHA-256' || !Number.isInteger(kdf.iterations) || kdf.iterations < 100_000 || kdf.iterations > 10_000_000) {
    throw new Error('bad_file');
  }
  let sealed;
  let salt;
  try {
    salt = b64urlDecode(kdf.salt);
    sealed = { iv: b64urlDecode(document.cipher.iv), data: b64urlDecode(document.ciphertext) };
  } catch {
    throw new Error('bad_file');
  }
  const key = await deriveKey(passphrase, salt, kdf.iterations);
  let content;
  try {
    content = await unseal(key, sealed, CONTEXT);
  } catch {
    throw new Error('bad_passphrase');
  }
  if (!content || !Array.isArray(content.credentials) || !Array.isArray(content.history)) throw new Error('bad_file');
  return content;
}
