"""X.509 CAs and issuer certificates for tests (Web PKI shaped: key usage, key identifiers, SANs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from credcore.keys import SigningKey
from credcore.x509_chain import der_b64

START = datetime(2026, 1, 1, tzinfo=UTC)  # before tests' fixed clocks and the real one


@dataclass
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def b64(self) -> str:
        return der_b64(self.cert)


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text[:64])])


def _builder(subject: str, public: ec.EllipticCurvePublicKey, issuer: Authority | None, *, days: int,
             not_before: datetime | None) -> x509.CertificateBuilder:
    start = not_before or START
    builder = (x509.CertificateBuilder().subject_name(_name(subject))
               .issuer_name(issuer.cert.subject if issuer else _name(subject)).public_key(public)
               .serial_number(x509.random_serial_number()).not_valid_before(start)
               .not_valid_after(start + timedelta(days=days))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    return builder


def make_ca(name: str, parent: Authority | None = None) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(name, key.public_key(), parent, days=3650, not_before=None)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign((parent or Authority(key, None)).key, hashes.SHA256()))  # type: ignore[arg-type]
    return Authority(key, cert)


def make_leaf(ca: Authority, *, uri: str | None = None, dns: str | None = None, days: int = 1000,
              not_before: datetime | None = None) -> tuple[SigningKey, x509.Certificate]:
    """An issuer's signing key and its certificate, naming it by a URI (or DNS) SAN."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    if uri:
        names.append(x509.UniformResourceIdentifier(uri))
    if dns:
        names.append(x509.DNSName(dns))
    cert = (_builder("issuer signing key", key.public_key(), ca, days=days, not_before=not_before)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return SigningKey(key, "ES256"), cert
