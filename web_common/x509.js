// Just enough X.509 (DER) for a signed OpenID4VP request: the leaf certificate's public key (to
// check the request's signature) and the organisation it names (what the consent screen shows).
// Nothing here trusts the certificate: the x509_hash client id pins it by its SHA-256 digest.

const MAX_CERT = 16 * 1024;

export class CertError extends Error {}

function tlv(bytes, offset) {
  if (offset + 2 > bytes.length) throw new CertError('truncated');
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 3) throw new CertError('bad length');
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[start + i];
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) throw new CertError('truncated');
  return { tag, offset, start, end };
}

function children(bytes, node) {
  const out = [];
  for (let at = node.start; at < node.end;) {
    const child = tlv(bytes, at);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** Standard base64 (as in x5c) to bytes. */
export function base64Decode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length > MAX_CERT * 2) {
    throw new CertError('not base64');
  }
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const OIDS = { organization: [0x55, 0x04, 0x0a], commonName: [0x55, 0x04, 0x03] };

/** {spki (DER bytes of subjectPublicKeyInfo), organization, commonName} of a DER certificate. */
export function parseCertificate(der) {
  const cert = tlv(der, 0);
  const [tbs] = children(der, cert);
  const fields = children(der, tbs);
  const rest = fields[0].tag === 0xa0 ? fields.slice(1) : fields; // [0] version is optional
  const [, , , , subject, spki] = rest;
  if (!subject || !spki || subject.tag !== 0x30 || spki.tag !== 0x30) throw new CertError('not a certificate');
  const names = {};
  for (const set of children(der, subject)) {
    for (const pair of children(der, set)) {
      const [oid, value] = children(der, pair);
      const id = [...der.slice(oid.start, oid.end)];
      for (const [name, expected] of Object.entries(OIDS)) {
        if (id.length === expected.length && id.every((b, i) => b === expected[i])) {
          names[name] = new TextDecoder().decode(der.slice(value.start, value.end));
        }
      }
    }
  }
  return { spki: der.slice(spki.offset, spki.end), organization: names.organization || null,
    commonName: names.commonName || null };
}
