// OWF sd-jwt-js (@sd-jwt/sd-jwt-vc) as an independent peer: it verifies Puente's credentials and
// presentations (status list included), issues credentials Puente must accept, and presents them.

import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { serve } from './io.mjs';

const hasher = (data, alg) => digest(data, alg);

async function instance({ issuerJwk, issuerPrivateJwk, holderPrivateJwk, statusLists } = {}) {
  return new SDJwtVcInstance({
    hasher,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    signAlg: ES256.alg,
    signer: issuerPrivateJwk ? await ES256.getSigner(issuerPrivateJwk) : undefined,
    verifier: issuerJwk ? await ES256.getVerifier(issuerJwk) : undefined,
    kbSignAlg: ES256.alg,
    kbSigner: holderPrivateJwk ? await ES256.getSigner(holderPrivateJwk) : undefined,
    kbVerifier: async (data, signature, payload) => {
      const verify = await ES256.getVerifier(payload.cnf.jwk);
      return verify(data, signature);
    },
    // status lists come from the Puente issuer the test runs (fetched by the test, handed over here)
    statusListFetcher: async (uri) => {
      if (!statusLists || !(uri in statusLists)) throw new Error(`no status list for ${uri}`);
      return statusLists[uri];
    },
  });
}

await serve({
  // {credential, issuerJwk, statusLists, nonce?} → {payload, kb}
  async verify(req) {
    const sdjwt = await instance(req);
    const result = await sdjwt.verify(req.credential, {
      keyBindingNonce: req.nonce, requiredClaimKeys: req.requiredClaimKeys || [],
    });
    const claims = await sdjwt.getClaims(req.credential);
    return { payload: result.payload, kb: result.kb ? result.kb.payload : null, claims };
  },
  // {claims (plain payload with iss, vct, iat, exp, cnf), disclosable: [names], issuerPrivateJwk, header} → {credential}
  async issue(req) {
    const sdjwt = await instance(req);
    const credential = await sdjwt.issue(req.claims, { _sd: req.disclosable }, { header: req.header || {} });
    return { credential };
  },
  // {credential, disclose: [names], holderPrivateJwk, aud, nonce, iat} → {presentation}
  async present(req) {
    const sdjwt = await instance(req);
    const frame = Object.fromEntries(req.disclose.map((name) => [name, true]));
    const presentation = await sdjwt.present(req.credential, frame, {
      kb: { payload: { aud: req.aud, nonce: req.nonce, iat: req.iat } },
    });
    return { presentation };
  },
});
