// The OWF OpenID4VP client (@openid4vc/openid4vp, oid4vc-ts) as an independent wallet answering a
// Puente request from its QR text: it fetches and verifies the request object (x509_hash: the x5c
// leaf's hash must be the client id; the JWS must verify with that leaf), or reads a redirect_uri
// request passed by value; the presentation is made by sd-jwt-js with a KB-JWT for the request's
// client_id and nonce; the answer is sent as direct_post, or encrypted (direct_post.jwt) when the
// request carries a key.

import crypto from 'node:crypto';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { Openid4vpClient } from '@openid4vc/openid4vp';
import { setGlobalConfig } from '@openid4vc/utils';
import { CompactEncrypt, compactVerify, importJWK, importX509 } from 'jose';
import { serve } from './io.mjs';

setGlobalConfig({ allowInsecureUrls: true }); // the test's verifier listens on http://127.0.0.1

const HASHES = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' };
const pem = (b64) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----`;

const callbacks = {
  fetch,
  hash: (data, alg) => new Uint8Array(crypto.createHash(HASHES[alg.toLowerCase()] || 'sha256').update(data).digest()),
  generateRandom: (n) => new Uint8Array(crypto.randomBytes(n)),
  verifyJwt: async (signer, { compact }) => {
    if (signer.method !== 'x5c') return { verified: false };
    const key = await importX509(pem(signer.x5c[0]), signer.alg);
    try {
      await compactVerify(compact, key);
    } catch {
      return { verified: false };
    }
    return { verified: true, signerJwk: { kty: 'EC' } };
  },
  getX509CertificateMetadata: (certificate) => {
    const cert = new crypto.X509Certificate(Buffer.from(certificate, 'base64'));
    const names = (cert.subjectAltName || '').split(',').map((s) => s.trim());
    return { sanDnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
      sanUriNames: names.filter((n) => n.startsWith('URI:')).map((n) => n.slice(4)) };
  },
  encryptJwe: async (encryptor, data) => {
    const key = await importJWK(encryptor.publicJwk, encryptor.alg);
    const jwe = new CompactEncrypt(new TextEncoder().encode(data))
      .setProtectedHeader({ alg: encryptor.alg, enc: encryptor.enc, kid: encryptor.publicJwk.kid });
    if (encryptor.apu || encryptor.apv) {
      jwe.setKeyManagementParameters({
        ...(encryptor.apu ? { apu: Buffer.from(encryptor.apu, 'base64url') } : {}),
        ...(encryptor.apv ? { apv: Buffer.from(encryptor.apv, 'base64url') } : {}),
      });
    }
    return { jwe: await jwe.encrypt(key), encryptionJwk: encryptor.publicJwk };
  },
};

await serve({
  // {qr, credential, holderPrivateJwk, disclose: [names]} → {clientId, responseMode, clientName, status}
  async answer(req) {
    const client = new Openid4vpClient({ callbacks });
    const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: req.qr });
    const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
    const request = resolved.authorizationRequestPayload;
    const sdjwt = new SDJwtVcInstance({ hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt,
      kbSignAlg: ES256.alg, kbSigner: await ES256.getSigner(req.holderPrivateJwk) });
    const frame = Object.fromEntries(req.disclose.map((name) => [name, true]));
    const presentation = await sdjwt.present(req.credential, frame, {
      kb: { payload: { aud: request.client_id, nonce: request.nonce, iat: Math.floor(Date.now() / 1000) } },
    });
    const queryId = resolved.dcql.query.credentials[0].id;
    const encrypted = request.response_mode === 'direct_post.jwt';
    const response = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: { vp_token: { [queryId]: [presentation] } },
      ...(encrypted ? { jarm: { encryption: { nonce: crypto.randomBytes(16).toString('base64url') },
        serverMetadata: { authorization_signing_alg_values_supported: [],
          authorization_encryption_alg_values_supported: ['ECDH-ES'],
          authorization_encryption_enc_values_supported: [req.enc || 'A128GCM'] } } } : {}),
    });
    const submitted = await client.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request, authorizationResponsePayload: response.authorizationResponsePayload,
      jarm: response.jarm ? { responseJwt: response.jarm.responseJwt } : undefined,
    });
    return { clientId: request.client_id, clientPrefix: resolved.client.prefix ?? resolved.client.scheme,
      responseMode: request.response_mode, clientName: request.client_metadata?.['client_name#es'] ?? null,
      signed: Boolean(resolved.jar), status: submitted.response.status, body: await submitted.response.text() };
  },
});
