// The OWF OpenID4VCI client (@openid4vc/openid4vci, oid4vc-ts) as an independent wallet: it resolves
// a Puente offer, takes the pre-authorized code with the tx_code, asks for a nonce and redeems with
// one proof JWT per holder key (one key: a single credential; several: a batch).

import crypto from 'node:crypto';
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { setGlobalConfig } from '@openid4vc/utils';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { serve } from './io.mjs';

setGlobalConfig({ allowInsecureUrls: true }); // the test's issuer listens on http://127.0.0.1

const HASHES = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' };

await serve({
  // {offer (openid-credential-offer:// URI), txCode, keys: n} → {credentials: [..], holderJwks: [..], configuration}
  async redeem(req) {
    const holders = [];
    for (let i = 0; i < (req.keys || 1); i++) {
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
      holders.push({ privateKey, publicJwk: await exportJWK(publicKey) });
    }
    const callbacks = {
      fetch,
      hash: (data, alg) => new Uint8Array(crypto.createHash(HASHES[alg.toLowerCase()] || 'sha256').update(data).digest()),
      generateRandom: (n) => new Uint8Array(crypto.randomBytes(n)),
      clientAuthentication: clientAuthenticationAnonymous(),
      signJwt: async (signer, { header, payload }) => {
        const holder = holders.find((h) => h.publicJwk.x === signer.publicJwk.x);
        if (!holder) throw new Error('unknown signer');
        const jwt = await new SignJWT(payload).setProtectedHeader(header).sign(holder.privateKey);
        return { jwt, signerJwk: signer.publicJwk };
      },
    };
    const client = new Openid4vciClient({ callbacks });
    const offer = await client.resolveCredentialOffer(req.offer);
    const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer: offer, issuerMetadata, txCode: req.txCode,
    });
    const configuration = offer.credential_configuration_ids[0];
    const nonce = accessTokenResponse.c_nonce || (await client.requestNonce({ issuerMetadata })).c_nonce;
    const jwts = [];
    for (const holder of holders) {
      const { jwt } = await client.createCredentialRequestJwtProof({
        issuerMetadata, credentialConfigurationId: configuration, nonce, issuedAt: new Date(),
        signer: { method: 'jwk', alg: 'ES256', publicJwk: holder.publicJwk },
      });
      jwts.push(jwt);
    }
    const response = await client.retrieveCredentials({
      issuerMetadata, accessToken: accessTokenResponse.access_token, credentialConfigurationId: configuration,
      proofs: { jwt: jwts }, // OpenID4VCI 1.0: always the proofs object, one JWT per key
    });
    const credentials = response.credentialResponse.credentials.map((c) => c.credential);
    return { credentials, holderJwks: holders.map((h) => h.publicJwk), configuration,
      batchSize: issuerMetadata.credentialIssuer.batch_credential_issuance?.batch_size ?? null };
  },
});
