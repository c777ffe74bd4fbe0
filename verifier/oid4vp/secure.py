"""Signed requests and encrypted answers (OpenID4VP 1.0 §5.9.3, §8.3; HAIP 1.0).

- The verifier's identity: an X.509 certificate chain and its private key from configuration
  (``PUENTE_VP_CERTIFICATE_FILE``, ``PUENTE_VP_KEY_FILE``). Its client identifier is
  ``x509_hash:<base64url SHA-256 of the leaf's DER>`` or ``x509_san_dns:<the leaf's DNS SAN>``, and
  the request object is a JWS (``oauth-authz-req+jwt``) signed by that key with the chain in ``x5c``.
- ``direct_post.jwt``: every request carries a fresh ephemeral P-256 key in
  ``client_metadata.jwks``; the wallet answers with a compact JWE (``ECDH-ES``, ``A128GCM`` or
  ``A256GCM``) whose plaintext is the JSON of the usual parameters. The private half lives only in
  the transaction and dies with it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from credcore import jws
from credcore.encoding import b64url_decode, b64url_encode, loads_strict
from credcore.errors import CredentialError
from credcore.keys import SigningKey, load_private_pem
from verifier.oid4vp.transactions import ResponseRejected

ENCRYPTION_VALUES = ("A128GCM", "A256GCM")
KEY_BITS = {"A128GCM": 128, "A256GCM": 256}
PREFIXES = ("x509_hash", "x509_san_dns")
MAX_JWE = 64 * 1024


class IdentityError(Exception):
    """The configured certificate chain and key cannot serve as the verifier's identity."""


@dataclass(frozen=True)
class VerifierIdentity:
    key: SigningKey
    chain: tuple[x509.Certificate, ...]
    prefix: str

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def dns_names(self) -> list[str]:
        try:
            san = self.leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return []
        return [str(name) for name in san.get_values_for_type(x509.DNSName)]

    @property
    def client_id(self) -> str:
        if self.prefix == "x509_hash":
            return "x509_hash:" + b64url_encode(hashlib.sha256(self.leaf.public_bytes(serialization.Encoding.DER))
                                                .digest())
        return "x509_san_dns:" + self.dns_names[0]

    @property
    def x5c(self) -> list[str]:
        return [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in self.chain]

    @property
    def certified_name(self) -> str:
        """The organisation (else common name) the certificate names: what a wallet shows."""
        for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
            found = self.leaf.subject.get_attributes_for_oid(oid)
            if found:
                return str(found[0].value)
        return self.client_id

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        return jws.sign(payload, self.key, {"typ": typ, "x5c": self.x5c}, include_kid=False)


def load_identity(certificate_file: Path, key_file: Path, prefix: str) -> VerifierIdentity:
    if prefix not in PREFIXES:
        raise IdentityError(f"client id prefix must be one of {', '.join(PREFIXES)}")
    try:
        chain = tuple(x509.load_pem_x509_certificates(Path(certificate_file).read_bytes()))
        key = load_private_pem(Path(key_file).read_bytes())
    except (OSError, ValueError, CredentialError) as exc:
        raise IdentityError(f"cannot read the verifier certificate or key: {exc}") from None
    if key.alg != "ES256" or chain[0].public_key() != key.key.public_key():
        raise IdentityError("the verifier key must be the P-256 key of the first certificate")
    identity = VerifierIdentity(key, chain, prefix)
    if prefix == "x509_san_dns" and not identity.dns_names:
        raise IdentityError("x509_san_dns needs a DNS name in the certificate's subjectAltName")
    return identity


def self_signed_identity(name: str, dns_name: str, key: SigningKey | None = None,
                         prefix: str = "x509_hash") -> tuple[VerifierIdentity, bytes, bytes]:
    """A self-signed certificate naming the verifier (for the demo): the identity, its PEM and key PEM."""
    from datetime import UTC, datetime, timedelta

    from credcore.keys import generate_key, private_key_to_pem

    signing = key or generate_key("ES256")
    assert isinstance(signing.key, ec.EllipticCurvePrivateKey)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, name[:64]),
                         x509.NameAttribute(NameOID.COMMON_NAME, dns_name[:64])])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(signing.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(signing.key, hashes.SHA256()))
    return (VerifierIdentity(signing, (cert,), prefix), cert.public_bytes(serialization.Encoding.PEM),
            private_key_to_pem(signing))


# ----------------------------------------------------------------------------- encrypted answers


def new_encryption_key() -> tuple[dict[str, str], dict[str, str]]:
    """A fresh ephemeral P-256 key: (private JWK kept in the transaction, public JWK for the request)."""
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.private_numbers()
    public = {"kty": "EC", "crv": "P-256", "x": b64url_encode(numbers.public_numbers.x.to_bytes(32, "big")),
              "y": b64url_encode(numbers.public_numbers.y.to_bytes(32, "big")), "use": "enc", "alg": "ECDH-ES",
              "kid": secrets.token_urlsafe(12)}
    return {**public, "d": b64url_encode(numbers.private_value.to_bytes(32, "big"))}, public


def _concat_kdf(shared: bytes, enc: str, apu: bytes, apv: bytes) -> bytes:
    """RFC 7518 §4.6.2 with SHA-256, for ECDH-ES direct key agreement (AlgorithmID = enc)."""
    bits = KEY_BITS[enc]

    def field(data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + data

    other = field(enc.encode("ascii")) + field(apu) + field(apv) + bits.to_bytes(4, "big")
    return hashlib.sha256((1).to_bytes(4, "big") + shared + other).digest()[: bits // 8]


def _point(jwk: Any) -> ec.EllipticCurvePublicKey:
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ResponseRejected("the JWE epk must be a P-256 public key")
    try:
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("coordinate length")
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()
    except (KeyError, ValueError, TypeError, CredentialError):
        raise ResponseRejected("the JWE epk is not a valid P-256 point") from None


def decrypt_response(text: str, private_jwk: dict[str, str]) -> dict[str, Any]:
    """The parameters of a ``direct_post.jwt`` answer: a compact JWE to the request's ephemeral key."""
    if not isinstance(text, str) or len(text) > MAX_JWE or text.count(".") != 4:
        raise ResponseRejected("response must be a compact JWE")
    head, encrypted_key, iv, ciphertext, tag = text.split(".")
    try:
        header = loads_strict(b64url_decode(head))
        if not isinstance(header, dict):
            raise ResponseRejected("the JWE header is not an object")
        if header.get("alg") != "ECDH-ES" or header.get("enc") not in ENCRYPTION_VALUES or "zip" in header \
                or "crit" in header or encrypted_key:
            raise ResponseRejected("the JWE must use ECDH-ES with A128GCM or A256GCM, no zip, no crit")
        if "kid" in header and header["kid"] != private_jwk["kid"]:
            raise ResponseRejected("the JWE is for another key")
        apu = b64url_decode(header["apu"]) if "apu" in header else b""
        apv = b64url_decode(header["apv"]) if "apv" in header else b""
        nonce, sealed = b64url_decode(iv), b64url_decode(ciphertext) + b64url_decode(tag)
    except CredentialError:
        raise ResponseRejected("the JWE is not well-formed base64url JSON") from None
    if len(nonce) != 12:
        raise ResponseRejected("the JWE iv must be 96 bits")
    private = ec.derive_private_key(int.from_bytes(b64url_decode(private_jwk["d"]), "big"), ec.SECP256R1())
    shared = private.exchange(ec.ECDH(), _point(header.get("epk")))
    try:
        plain = AESGCM(_concat_kdf(shared, header["enc"], apu, apv)).decrypt(nonce, sealed, head.encode("ascii"))
        value = loads_strict(plain)
    except Exception:  # InvalidTag, bad JSON: the same answer, nothing about which
        raise ResponseRejected("the JWE does not decrypt with this request's key") from None
    if not isinstance(value, dict):
        raise ResponseRejected("the decrypted response is not a JSON object")
    return value
