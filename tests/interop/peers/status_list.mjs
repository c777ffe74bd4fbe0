// OWF jwt-status-list as an independent reader of Puente's Token Status Lists; the signature is
// checked with jose against the issuer key the registry's trust list names.

import { getListFromStatusListJWT, getStatusListFromJWT } from '@sd-jwt/jwt-status-list';
import { compactVerify, importJWK } from 'jose';
import { serve } from './io.mjs';

await serve({
  // {token, issuerJwk, indexes: [n]} → {header, uri, bits, statuses: {n: value}}
  async read(req) {
    const key = await importJWK(req.issuerJwk, 'ES256');
    const { protectedHeader } = await compactVerify(req.token, key);
    if (protectedHeader.typ !== 'statuslist+jwt') throw new Error(`typ ${protectedHeader.typ}`);
    const list = getListFromStatusListJWT(req.token);
    const statuses = Object.fromEntries(req.indexes.map((idx) => [idx, list.getStatus(idx)]));
    const payload = JSON.parse(Buffer.from(req.token.split('.')[1], 'base64url').toString('utf8'));
    return { header: protectedHeader, sub: payload.sub, bits: list.getBitsPerStatus(), statuses,
      reference: req.reference ? getStatusListFromJWT(req.reference) : null };
  },
});
