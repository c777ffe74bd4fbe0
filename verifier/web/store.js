// IndexedDB for the scanning page's offline knowledge: the signed trust list, the type bundle, the
// issuers' signed status lists, the service's limits, and the live-QR nonces already seen on this
// device. Nothing about any person is stored: no QR text, no claims, no result.

const NAME = "puente-verifier";
const VERSION = 1;
export const STORES = ["docs", "status", "nonces"];

let opening = null;

function open() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION);
    request.onupgradeneeded = () => {
      for (const name of STORES) {
        if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name);
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  opening.catch(() => {
    opening = null;
  });
  return opening;
}

async function run(store, mode, action) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(store, mode);
    const request = action(transaction.objectStore(store));
    transaction.oncomplete = () => resolve(request ? request.result : undefined);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

export const get = (store, key) => run(store, "readonly", (s) => s.get(key));
export const put = (store, key, value) => run(store, "readwrite", (s) => s.put(value, key));
export const remove = (store, key) => run(store, "readwrite", (s) => s.delete(key));

/** Every [key, value] of a store. */
export async function entries(store) {
  const [keys, values] = await Promise.all([
    run(store, "readonly", (s) => s.getAllKeys()),
    run(store, "readonly", (s) => s.getAll()),
  ]);
  return keys.map((key, i) => [key, values[i]]);
}

/**
 * The device's replay store for live QR nonces (credcore.ports.NonceStore.consume): false when the
 * key was already used and has not expired. Atomic within this browser (one IndexedDB transaction).
 */
export async function consumeNonce(key, expiresAt, now) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction("nonces", "readwrite");
    const nonces = transaction.objectStore("nonces");
    let fresh = true;
    const request = nonces.get(key);
    request.onsuccess = () => {
      if (request.result !== undefined && request.result >= now) fresh = false;
      else nonces.put(expiresAt, key);
    };
    transaction.oncomplete = () => resolve(fresh);
    transaction.onerror = () => reject(transaction.error);
  });
}

/** Forget nonces whose live QR can no longer verify anyway. */
export async function forgetExpiredNonces(now) {
  for (const [key, expires] of await entries("nonces")) {
    if (expires < now) await remove("nonces", key);
  }
}
