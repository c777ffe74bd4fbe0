"""``verify_per_s`` and ``verify_vs_reference``: in-process verification of the reference
presentation by credcore against the OWF reference implementation (``sd-jwt`` on PyPI).

Both sides get exactly the same compact SD-JWT+KB string. The reference (``SDJWTVerifier`` then
``get_verified_payload()``) checks the issuer signature, the KB-JWT (signature, ``typ``, ``aud``,
``nonce``, ``sd_hash``) and unpacks the disclosures. credcore does all of that and also the header
``typ`` and alg allow-list, issuer trust and accreditation from a signed-list model, validity
(``exp``/``iat``), the KB-JWT ``iat`` window, the disclosed claims against the type's JSON Schema,
and the status list (a second signature and inflating a 131,072-entry list).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from bench import BenchmarkError
from bench.fixtures import Reference, build_reference
from bench.timing import paired
from credcore.encoding import b64url_decode
from credcore.key_binding import KeyBindingPolicy
from credcore.verify import VerificationPolicy, VerificationReport, VerifierMemory, verification_report
from testkit.world import REFERENCE_DISCLOSED

GOAL = 2.5  # verify_vs_reference: at least this many times the reference's rate
GOAL_FLOOR = 0.35  # verify_vs_signature_floor
REFERENCE = f"sd-jwt {version('sd-jwt')} SDJWTVerifier on the same presentation string"


def credcore_verifier(ref: Reference, nonce: str | None = None) -> Callable[[], VerificationReport]:
    """Our verifier, set up once as a verifier service would be (trust list, types, status token).

    For the timing loop the KB-JWT nonce is checked against the fixed expected nonce
    (``KeyBindingPolicy(nonce=...)``, the OpenID4VP way) with ``nonce_store=None``. A replay store
    would, by design, reject every call after the first as ``replayed``; the reference has no
    replay store either, and compares the nonce with ``expected_nonce`` just the same."""
    policy = VerificationPolicy(
        key_binding=KeyBindingPolicy(audience=ref.audience, nonce=nonce or ref.nonce),
    )
    world = ref.world
    memory = VerifierMemory()  # kept across calls, as the verifier service keeps its own

    def verify() -> VerificationReport:
        return verification_report(
            ref.presentation, trust=ref.trust, types=world.types, clock=world.clock, policy=policy,
            status_source=ref.status_source, nonce_store=None, memory=memory,
        )

    return verify


def reference_verifier(ref: Reference, nonce: str | None = None) -> Callable[[], dict[str, Any]]:
    """sd-jwt's verifier with a key callback that looks up (iss, kid) among the trusted issuers'
    keys, imported as jwcrypto JWKs once, as our side's trust list is parsed once."""
    keys = {
        (institution.id, institution.key.kid): JWK.from_json(json.dumps(institution.key.public.jwk()))
        for institution in ref.world.institutions
    }

    def issuer_key(issuer: str, header: dict[str, Any]) -> JWK:
        try:
            return keys[issuer, str(header.get("kid"))]
        except KeyError:
            raise ValueError("unknown issuer key") from None

    def verify() -> dict[str, Any]:
        verifier = SDJWTVerifier(ref.presentation, issuer_key, expected_aud=ref.audience,
                                 expected_nonce=nonce or ref.nonce)
        payload: dict[str, Any] = verifier.get_verified_payload()
        return payload

    return verify


def check_both_accept(ref: Reference) -> None:
    """Before timing: both verifiers accept the presentation with the same disclosed claims, and
    both reject it under another nonce (so the KB-JWT is really being checked on both sides)."""
    report = credcore_verifier(ref)()
    if not report.valid or report.credential is None:
        raise BenchmarkError(f"credcore rejected the reference presentation: {report.verdict} {report.error}")
    if report.credential.holder_binding != "verified" or report.credential.status is None:
        raise BenchmarkError("credcore did not check holder binding and status")
    claims = report.credential.claims
    if set(claims) != set(REFERENCE_DISCLOSED):
        raise BenchmarkError(f"credcore disclosed {sorted(claims)}, expected {sorted(REFERENCE_DISCLOSED)}")
    try:
        payload = reference_verifier(ref)()
    except Exception as exc:
        raise BenchmarkError(f"the reference rejected the presentation: {exc!r}") from exc
    if {name: payload.get(name) for name in claims} != claims:
        raise BenchmarkError("the reference disclosed different claim values")
    if credcore_verifier(ref, nonce="another-nonce")().verdict != "key_binding_invalid":
        raise BenchmarkError("credcore accepted a KB-JWT for another nonce")
    try:
        reference_verifier(ref, nonce="another-nonce")()
    except ValueError:
        pass
    else:
        raise BenchmarkError("the reference accepted a KB-JWT for another nonce")


def signature_floor(ref: Reference) -> Callable[[], None]:
    """One ES256 verification as bare as cryptography allows: the issuer JWT's own signing input and
    signature (DER-encoded once), the issuer's key object. A live QR needs two (issuer, KB-JWT)."""
    issuer_jwt = ref.presentation.split("~", 1)[0]
    head, body, signature = issuer_jwt.split(".")
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    message = f"{head}.{body}".encode("ascii")
    key = ref.world.sena.key.public.key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    algorithm = ec.ECDSA(hashes.SHA256())

    def verify() -> None:
        key.verify(der, message, algorithm)

    return verify


def run(*, rounds: int = 9, iterations: int | None = None, batch_seconds: float = 0.25) -> dict[str, float]:
    ref = build_reference()
    check_both_accept(ref)
    ours = credcore_verifier(ref)
    timed = paired(ours, reference_verifier(ref), rounds=rounds, iterations=iterations, batch_seconds=batch_seconds)
    floor = paired(ours, signature_floor(ref), rounds=rounds, iterations=iterations, batch_seconds=batch_seconds)
    return {
        "verify_per_s": timed.ours_median,
        "verify_reference_per_s": timed.baseline_median,
        "verify_vs_reference": timed.ratio_median,
        "es256_verify_per_s": floor.baseline_median,
        # verify_per_s / (es256_verify_per_s / 2), per round: two signatures are the floor of the work
        "verify_vs_signature_floor": statistics.median(2 * ratio for ratio in floor.ratios),
    }
