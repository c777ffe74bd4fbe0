"""Issuers accredited through an X.509 CA: an issuer-signed JWT's ``x5c`` chain is validated to the
CA certificates the trust list names for that issuer (``cryptography``'s X.509 verification API),
and the leaf must match ``iss`` as SD-JWT VC's X.509 rules say (a ``uniformResourceIdentifier``
SAN equal to ``iss``; a ``dNSName`` SAN for an ``iss`` in the DNS URI scheme).

The ``x5c`` header is only ever read for an issuer whose trust-list entry carries CA certificates:
the trust anchor stays the registry-signed list, never a chain the token brings along.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

from credcore.errors import MalformedError, UntrustedIssuerError
from credcore.keys import PublicKey, public_key_from_key

MAX_CHAIN = 5
MAX_CERT_BYTES = 8 * 1024


def load_der_b64(text: Any, *, code: str = "x5c_invalid") -> x509.Certificate:
    """One certificate as standard base64 of its DER (the ``x5c`` encoding, RFC 7515 §4.1.6)."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_CERT_BYTES * 4 // 3 + 4:
        raise MalformedError("certificate must be base64 DER of at most 8 KiB", code=code)
    try:
        der = base64.b64decode(text, validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError("certificate is not base64 DER X.509", code=code) from exc


def der_b64(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")


def _policy_builder(cas: tuple[x509.Certificate, ...], now: int) -> PolicyBuilder:
    # CA certificates follow the Web PKI profile; the leaf is an issuer's signing certificate, not a
    # TLS client: it needs a SAN (the issuer identifier) and nothing about extended key usage.
    ee = ExtensionPolicy.permit_all().require_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    return (PolicyBuilder().store(Store(list(cas))).time(datetime.fromtimestamp(now, UTC))
            .max_chain_depth(MAX_CHAIN)
            .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee))


def _leaf_matches(subjects: list[x509.GeneralName], iss: str) -> bool:
    if iss.startswith("dns:"):
        return x509.DNSName(iss.removeprefix("dns:")) in subjects
    return x509.UniformResourceIdentifier(iss) in subjects


def key_from_x5c(header_x5c: Any, cas: tuple[x509.Certificate, ...], iss: str, *, now: int) -> PublicKey:
    """The leaf's public key once its chain validates to one of ``cas`` at ``now`` and it names ``iss``."""
    if not isinstance(header_x5c, list) or not 0 < len(header_x5c) <= MAX_CHAIN:
        raise MalformedError("x5c must be a list of 1 to 5 certificates", code="x5c_invalid")
    chain = [load_der_b64(item) for item in header_x5c]
    try:
        verified = _policy_builder(cas, now).build_client_verifier().verify(chain[0], chain[1:])
    except VerificationError as exc:
        raise UntrustedIssuerError(f"x5c chain does not validate to the issuer's CA: {str(exc)[:200]}",
                                   code="x5c_untrusted") from exc
    if not _leaf_matches(list(verified.subjects or []), iss):
        raise UntrustedIssuerError("the x5c leaf certificate does not name the issuer", code="x5c_iss_mismatch")
    try:
        return public_key_from_key(chain[0].public_key())
    except MalformedError as exc:
        raise UntrustedIssuerError("the x5c leaf key is not P-256 or Ed25519", code="x5c_untrusted") from exc
