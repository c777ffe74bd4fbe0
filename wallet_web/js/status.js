// The credential's own status (IETF Token Status List, standards.md §3), fetched while online and
// read by the scanning page's code (common/verify/status.js: the issuer's signature, typ, sub,
// exp or iat, bits, capped inflation, the entry): one reading of status lists for both front ends.
// The list's key is the one the trust list names for the issuer, or without a trust list the
// issuer's published keys.

import { parseObject } from '../common/json_strict.js';
import { CannotCheck, CredentialError } from '../common/verify/errors.js';
import { parseJws, claimsOf, publicKeyFromJwk } from '../common/verify/jose.js';
import { checkStatus, hostedBy, reference } from '../common/verify/status.js';
import { request, safeUrl } from './net.js';
import { issuerKeys } from './oid4vci.js';
import { splitCompact } from '../common/sdjwt.js';

/** The key among the issuer's published JWKS `keys` with the header's kid (an issuer's ordinary kid allowed). */
export async function publishedKey(keys, header) {
  const kid = header.get('kid');
  const jwk = typeof kid === 'string' && Array.isArray(keys) ? keys.find((k) => k && typeof k === 'object' && k.kid === kid) : null;
  if (!jwk) throw new CredentialError('untrusted_issuer', 'key_untrusted', 'not a key the issuer publishes');
  return publicKeyFromJwk(parseObject(JSON.stringify(jwk)), true);
}

/**
 * 'valid' | 'revoked' | 'suspended' from the issuer's list now, or null if that cannot be known.
 * `list` is the verified trust list ({trust}) or null.
 */
export async function fetchStatus(sdJwt, list, now = Math.floor(Date.now() / 1000)) {
  try {
    const claims = claimsOf(parseJws(splitCompact(sdJwt).issuerJwt));
    const iss = claims.get('iss');
    const ref = reference(claims);
    if (!ref || typeof iss !== 'string') return null;
    const [uri, idx] = ref;
    if (!safeUrl(uri) || !hostedBy(uri, iss)) return null;
    const { status, text } = await request(uri);
    if (status !== 200) return null;
    const resolveKey = list ? null : async (header) => publishedKey(await issuerKeys(iss), header);
    await checkStatus(text.trim(), { uri, idx, iss, trust: list && list.trust, now, resolveKey });
    return 'valid';
  } catch (error) {
    if (error instanceof CredentialError && ['revoked', 'suspended'].includes(error.verdict)) return error.verdict;
    if (error instanceof CredentialError || error instanceof CannotCheck) return null;
    return null;
  }
}
