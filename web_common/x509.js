// X.509 (DER) in the browser, as much as Puente needs and no more:
// - a signed OpenID4VP request (wallet): the leaf certificate's public key and the organisation it
//   names; nothing there trusts the certificate, the x509_hash client id pins it by its digest;
// - issuers accredited through an X.509 CA (scanning page, wallet): an issuer-signed JWT's x5c chain
//   validated to the CA certificates the trust list names for that issuer, as credcore.x509_chain
//   does with cryptography's verifier (Web PKI CA rules, a SAN on the leaf naming iss).
//
// The chain check is honest about its reach: it gives a verdict only for certificates in the profile
// it fully understands (ECDSA P-256 with SHA-256 signatures, CAs with critical basicConstraints cA,
// keyCertSign, key identifiers and no other constraining extension, leaves without unknown critical
// extensions). Anything else (RSA or P-384 signatures, name or policy constraints, …) is CannotCheck:
// the page then says it cannot check the credential offline, never a guess.

import { CannotCheck, malformed, untrusted } from './verify/errors.js';

const MAX_CERT = 8 * 1024;
export const MAX_CHAIN = 5;

export class CertError extends Error {}

function tlv(bytes, offset, end = bytes.length) {
  if (offset + 2 > end) throw new CertError('truncated');
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 3 || start + count > end) throw new CertError('bad length');
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[start + i];
    if (length < 0x80 || (count > 1 && length < (1 << (8 * (count - 1))))) throw new CertError('non-minimal length');
    start += count;
  }
  const stop = start + length;
  if (stop > end) throw new CertError('truncated');
  return { tag, offset, start, end: stop };
}

function children(bytes, node) {
  const out = [];
  for (let at = node.start; at < node.end;) {
    const child = tlv(bytes, at, node.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

const body = (bytes, node) => bytes.slice(node.start, node.end);
const whole = (bytes, node) => bytes.slice(node.offset, node.end);
const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Standard base64 (as in x5c and the trust list's x509_cas) to bytes. */
export function base64Decode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0
      || text.length > Math.ceil(MAX_CERT / 3) * 4) {
    throw new CertError('not base64');
  }
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function oidText(bytes) {
  const out = [Math.floor(bytes[0] / 40), bytes[0] % 40];
  let value = 0;
  for (const b of bytes.slice(1)) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      out.push(value);
      value = 0;
    }
  }
  return out.join('.');
}

const OID = {
  organization: '2.5.4.10', commonName: '2.5.4.3',
  ecPublicKey: '1.2.840.10045.2.1', p256: '1.2.840.10045.3.1.7', ed25519: '1.3.101.112',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19', keyUsage: '2.5.29.15', subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14', authorityKeyId: '2.5.29.35', extKeyUsage: '2.5.29.37',
  crlDistribution: '2.5.29.31', authorityInfoAccess: '1.3.6.1.5.5.7.1.1', certificatePolicies: '2.5.29.32',
};
const CA_KNOWN = new Set([OID.basicConstraints, OID.keyUsage, OID.subjectKeyId, OID.authorityKeyId,
  OID.crlDistribution, OID.authorityInfoAccess]);
const LEAF_KNOWN = new Set([...CA_KNOWN, OID.subjectAltName, OID.extKeyUsage, OID.certificatePolicies]);

function time(bytes, node) {
  const text = new TextDecoder().decode(body(bytes, node));
  const m = node.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text)
    : node.tag === 0x18 ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text) : null;
  if (!m) throw new CertError('bad time');
  let year = Number(m[1]);
  if (node.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
}

function names(bytes, subject) {
  const found = {};
  for (const set of children(bytes, subject)) {
    for (const pair of children(bytes, set)) {
      const [oid, value] = children(bytes, pair);
      const id = oidText(body(bytes, oid));
      for (const [name, expected] of [['organization', OID.organization], ['commonName', OID.commonName]]) {
        if (id === expected) found[name] = new TextDecoder().decode(body(bytes, value));
      }
    }
  }
  return found;
}

function extensions(bytes, node) {
  const out = new Map();
  const [sequence] = children(bytes, node);
  for (const ext of children(bytes, sequence)) {
    const parts = children(bytes, ext);
    const id = oidText(body(bytes, parts[0]));
    const critical = parts.length === 3 && parts[1].tag === 0x01 && bytes[parts[1].start] !== 0;
    const value = parts[parts.length - 1];
    if (value.tag !== 0x04 || out.has(id)) throw new CertError('bad extension');
    out.set(id, { critical, der: body(bytes, value) });
  }
  return out;
}

function basicConstraints(der) {
  const seq = tlv(der, 0);
  const parts = children(der, seq);
  const ca = parts.length > 0 && parts[0].tag === 0x01 && der[parts[0].start] !== 0;
  const len = parts.find((p) => p.tag === 0x02);
  return { ca, pathLen: len ? body(der, len).reduce((n, b) => n * 256 + b, 0) : null };
}

function keyCertSign(der) {
  const bits = tlv(der, 0);
  if (bits.tag !== 0x03 || bits.end - bits.start < 2) return false;
  return Boolean(der[bits.start + 1] & 0x04); // bit 5 of the first byte: keyCertSign
}

function subjectAltNames(der) {
  const out = { uris: [], dns: [] };
  for (const name of children(der, tlv(der, 0))) {
    const text = new TextDecoder().decode(body(der, name));
    if (name.tag === 0x86) out.uris.push(text);
    if (name.tag === 0x82) out.dns.push(text);
  }
  return out;
}

/**
 * A DER certificate: {der, tbs (signed bytes), signatureAlg, signature (DER), issuer and subject
 * (DER of the Names), notBefore, notAfter (seconds), spki (DER), keyAlg, curve, extensions (Map oid →
 * {critical, der}), organization, commonName}. Throws CertError when it is not one.
 */
export function parseCertificate(der) {
  const cert = tlv(der, 0);
  if (cert.tag !== 0x30 || cert.end !== der.length) throw new CertError('not a certificate');
  const top = children(der, cert);
  if (top.length !== 3 || top[0].tag !== 0x30 || top[1].tag !== 0x30 || top[2].tag !== 0x03) throw new CertError('not a certificate');
  const [tbs, outerAlg, signatureBits] = top;
  const fields = children(der, tbs);
  const rest = fields[0] && fields[0].tag === 0xa0 ? fields.slice(1) : fields; // [0] version is optional
  const [serial, innerAlg, issuer, validity, subject, spki, ...more] = rest;
  if (!serial || serial.tag !== 0x02 || !spki || [innerAlg, issuer, validity, subject, spki].some((n) => n.tag !== 0x30)) {
    throw new CertError('not a certificate');
  }
  const [notBefore, notAfter] = children(der, validity);
  const [keyAlg, publicKey] = children(der, spki);
  if (!keyAlg || !publicKey || publicKey.tag !== 0x03) throw new CertError('bad public key');
  const [keyOid, curve] = children(der, keyAlg);
  const extNode = more.find((n) => n.tag === 0xa3);
  const algOf = (node) => oidText(body(der, children(der, node)[0]));
  const subjectNames = names(der, subject);
  return {
    der,
    tbs: whole(der, tbs),
    signatureAlg: algOf(outerAlg),
    innerSignatureAlg: algOf(innerAlg),
    signature: body(der, signatureBits).slice(1),
    issuer: whole(der, issuer),
    subject: whole(der, subject),
    notBefore: time(der, notBefore),
    notAfter: time(der, notAfter),
    spki: whole(der, spki),
    keyAlg: oidText(body(der, keyOid)),
    curve: curve && curve.tag === 0x06 ? oidText(body(der, curve)) : null,
    extensions: extNode ? extensions(der, extNode) : new Map(),
    organization: subjectNames.organization || null,
    commonName: subjectNames.commonName || null,
  };
}

/** An ECDSA DER signature (SEQUENCE of two INTEGERs) as JOSE's raw r||s for P-256, or null. */
function rawSignature(der) {
  try {
    const seq = tlv(der, 0);
    if (seq.tag !== 0x30 || seq.end !== der.length) return null;
    const parts = children(der, seq);
    if (parts.length !== 2 || parts.some((p) => p.tag !== 0x02)) return null;
    const out = new Uint8Array(64);
    for (const [i, p] of parts.entries()) {
      let value = body(der, p);
      while (value.length > 1 && value[0] === 0) value = value.slice(1);
      if (value.length > 32) return null;
      out.set(value, 32 * i + 32 - value.length);
    }
    return out;
  } catch {
    return null;
  }
}

/** Whether `issuer`'s key signed `cert` (ECDSA P-256 / SHA-256 only: anything else cannot be checked here). */
async function signedBy(cert, issuer) {
  if (cert.signatureAlg !== OID.ecdsaSha256 || cert.innerSignatureAlg !== OID.ecdsaSha256
      || issuer.keyAlg !== OID.ecPublicKey || issuer.curve !== OID.p256) {
    throw new CannotCheck('certificate signature algorithm');
  }
  const signature = rawSignature(cert.signature);
  if (!signature) return false;
  try {
    const key = await crypto.subtle.importKey('spki', issuer.spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, cert.tbs);
  } catch {
    return false;
  }
}

const inForce = (cert, now) => cert.notBefore <= now && now <= cert.notAfter;

/** The Web PKI CA rules the subset checks; a CA outside the understood profile cannot be checked. */
function caProblem(cert, below) {
  for (const [id, ext] of cert.extensions) {
    if (!CA_KNOWN.has(id)) throw new CannotCheck('CA certificate extension');
    if (ext.critical && ![OID.basicConstraints, OID.keyUsage].includes(id)) throw new CannotCheck('critical CA extension');
  }
  const bc = cert.extensions.get(OID.basicConstraints);
  if (!bc || !bc.critical) return 'basicConstraints';
  const { ca, pathLen } = basicConstraints(bc.der);
  if (!ca) return 'not a CA';
  if (pathLen !== null && below > pathLen) return 'path length';
  const ku = cert.extensions.get(OID.keyUsage);
  if (ku && !keyCertSign(ku.der)) return 'keyCertSign';
  if (!cert.extensions.has(OID.subjectKeyId)) throw new CannotCheck('CA without a subject key identifier');
  return null;
}

async function buildPath(cert, intermediates, anchors, now, depth, used) {
  for (const anchor of anchors) {
    if (!sameBytes(anchor.subject, cert.issuer)) continue;
    if (!inForce(anchor, now) || caProblem(anchor, depth) || !(await signedBy(cert, anchor))) continue;
    return true;
  }
  if (depth >= MAX_CHAIN - 1) return false;
  for (const [i, candidate] of intermediates.entries()) {
    if (used.has(i) || !sameBytes(candidate.subject, cert.issuer)) continue;
    if (!inForce(candidate, now) || caProblem(candidate, depth) || !(await signedBy(cert, candidate))) continue;
    if (await buildPath(candidate, intermediates, anchors, now, depth + 1, new Set([...used, i]))) return true;
  }
  return false;
}

/** The leaf names `iss` as SD-JWT VC's X.509 rules say: a URI SAN equal to iss; a DNS SAN for "dns:" issuers. */
function leafNames(leaf, iss) {
  const san = subjectAltNames(leaf.extensions.get(OID.subjectAltName).der);
  return iss.startsWith('dns:') ? san.dns.includes(iss.slice(4)) : san.uris.includes(iss);
}

async function leafKey(leaf) {
  if (leaf.keyAlg === OID.ecPublicKey && leaf.curve === OID.p256) {
    return { alg: 'ES256', kid: null, key: await crypto.subtle.importKey('spki', leaf.spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']) };
  }
  if (leaf.keyAlg === OID.ed25519) {
    try {
      return { alg: 'EdDSA', kid: null, key: await crypto.subtle.importKey('spki', leaf.spki, { name: 'Ed25519' }, false, ['verify']) };
    } catch (error) {
      if (error && error.name === 'NotSupportedError') return { alg: 'EdDSA', kid: null, key: null };
      throw error;
    }
  }
  return untrusted('x5c_untrusted', 'the x5c leaf key is not P-256 or Ed25519');
}

function load(text, code) {
  if (typeof text !== 'string' || !text.length || text.length > Math.floor((MAX_CERT * 4) / 3) + 4) {
    malformed(code, 'certificate must be base64 DER of at most 8 KiB');
  }
  try {
    return parseCertificate(base64Decode(text));
  } catch (error) {
    if (error instanceof CertError || error instanceof RangeError || error instanceof TypeError) {
      return malformed(code, 'certificate is not base64 DER X.509');
    }
    throw error;
  }
}

/** A CA certificate of the trust list (credcore.trust: trust_list_invalid when it is not one). */
export const loadCa = (text) => load(text, 'trust_list_invalid');

/**
 * credcore.x509_chain.key_from_x5c: the leaf's public key ({alg, kid: null, key}) once the chain
 * validates to one of `cas` (parsed CA certificates) at `now` and the leaf names `iss`.
 */
export async function keyFromX5c(x5c, cas, iss, now) {
  if (!Array.isArray(x5c) || x5c.length < 1 || x5c.length > MAX_CHAIN) malformed('x5c_invalid', 'x5c must be a list of 1 to 5 certificates');
  const [leaf, ...intermediates] = x5c.map((text) => load(text, 'x5c_invalid'));
  for (const [id, ext] of leaf.extensions) {
    if (ext.critical && !LEAF_KNOWN.has(id)) throw new CannotCheck('critical leaf extension');
  }
  if (!cas.length) untrusted('x5c_untrusted', 'no CA for this issuer');
  if (!inForce(leaf, now) || !leaf.extensions.has(OID.subjectAltName)
      || !(await buildPath(leaf, intermediates, cas, now, 0, new Set()))) {
    untrusted('x5c_untrusted', "x5c chain does not validate to the issuer's CA");
  }
  if (!leafNames(leaf, iss)) untrusted('x5c_iss_mismatch', 'the x5c leaf certificate does not name the issuer');
  return leafKey(leaf);
}
